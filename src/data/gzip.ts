/**
 * Gzipped or plain files: the data loaders read either (Node only; Node modules are imported
 * lazily so that browser bundles leave them out).
 */
import { DlvmError } from '../errors.js';

const GZIP_MAGIC = [0x1f, 0x8b];

/** True when `bytes` start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/** Reads a file, gunzipping it when it starts with the gzip magic number. */
export async function readMaybeGzip(fn: string, path: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  let raw: Uint8Array;
  try {
    raw = await readFile(path);
  } catch (err) {
    throw new DlvmError(`${fn}: cannot read ${path}: ${(err as Error).message}`);
  }
  return gunzipIfNeeded(fn, path, raw);
}

/** `raw` gunzipped when it is gzip, else as it is; a corrupt gzip file is named (`path`, `fn`). */
export async function gunzipIfNeeded(fn: string, path: string, raw: Uint8Array): Promise<Uint8Array> {
  if (!isGzip(raw)) return raw;
  const { gunzipSync } = await import('node:zlib');
  try {
    return gunzipSync(raw);
  } catch (err) {
    throw new DlvmError(`${fn}: ${path} is a corrupt or truncated gzip file: ${(err as Error).message}`);
  }
}
