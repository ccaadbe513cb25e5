/**
 * How the benchmarks name a WebGPU adapter in their tables, from dlvm's `BackendInfo.adapter`:
 * `vendor / architecture / device (software|hardware; feature level; driver description)`, with
 * `-` for a field the driver leaves empty (Dawn's OpenGL ES backend reports only the device).
 */
import type { AdapterInfo } from 'dlvm';

export function adapterLabel(a: AdapterInfo): string {
  const name = [a.vendor, a.architecture, a.device].map((s) => s || '-').join(' / ');
  const detail = [a.software ? 'software' : 'hardware', a.featureLevel, a.description].filter((s) => s !== '');
  return `${name} (${detail.join('; ')})`;
}
