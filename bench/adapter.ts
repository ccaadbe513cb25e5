/**
 * How the benchmarks name a WebGPU adapter in their tables, from dlvm's `BackendInfo.adapter`:
 * `vendor / architecture / device (software|hardware; feature level; driver description)`, with
 * `-` for a field the driver leaves empty (Dawn's OpenGL ES backend reports only the device).
 */
import os from 'node:os';
import type { AdapterInfo } from 'dlvm';

export function adapterLabel(a: AdapterInfo): string {
  const name = [a.vendor, a.architecture, a.device].map((s) => s || '-').join(' / ');
  const detail = [a.software ? 'software' : 'hardware', a.featureLevel, a.description].filter((s) => s !== '');
  return `${name} (${detail.join('; ')})`;
}

/** The machine a benchmark ran on, for the head of its JSON report. */
export function machineInfo(version: string): { date: string; dlvm: string; node: string; cpus: number; cpuModel: string | undefined } {
  const cpus = os.cpus();
  return { date: new Date().toISOString(), dlvm: version, node: process.version, cpus: cpus.length, cpuModel: cpus[0]?.model };
}
