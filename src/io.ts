/**
 * Small file helpers (Node only; Node modules load lazily).
 */
import { argError } from './errors.js';

/** Writes bytes to `path` atomically (a temporary file renamed), creating folders. Node only. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  if (typeof path !== 'string' || path === '') throw argError('writeFileAtomic', 'path', 'a file path', path);
  const fs = await import('node:fs/promises');
  const p = await import('node:path');
  await fs.mkdir(p.dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.part`;
  await fs.writeFile(tmp, bytes);
  await fs.rename(tmp, path);
}
