/**
 * IDX files (the MNIST / Fashion-MNIST format), plain or gzipped.
 *
 * Layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions d, then
 * d big-endian int32 sizes, then the data in row-major order.
 */
import { argError, DlvmError } from '../errors.js';
import { readMaybeGzip } from './gzip.js';

/** A decoded IDX array: its dimensions and its unsigned-byte data (row-major). */
export interface IdxArray {
  /** Sizes, outermost first (MNIST images: [N, 28, 28]; labels: [N]). */
  shape: number[];
  /** The values, row-major; length is the product of `shape`. */
  data: Uint8Array;
}

/**
 * Decodes an (uncompressed) IDX buffer of unsigned bytes.
 *
 * @param bytes the file's bytes.
 * @param name the file's name, used in error messages.
 * @throws DlvmError naming the file when the header is malformed or the data is truncated.
 */
export function parseIdx(bytes: Uint8Array, name = 'IDX data'): IdxArray {
  if (!(bytes instanceof Uint8Array)) throw argError('parseIdx', 'bytes', 'a Uint8Array', bytes);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DlvmError(`parseIdx: ${name} is not an IDX file (its first bytes are not 0x00 0x00 <type> <ndims>).`);
  }
  const type = bytes[2]!;
  const ndims = bytes[3]!;
  if (type !== 0x08) {
    throw new DlvmError(`parseIdx: ${name} holds IDX type 0x${type.toString(16)}, only 0x08 (unsigned byte) is supported.`);
  }
  const headerBytes = 4 + 4 * ndims;
  if (ndims === 0 || bytes.length < headerBytes) {
    throw new DlvmError(`parseIdx: ${name} has a truncated header (${bytes.length} bytes for ${ndims} dimensions).`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = shape.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerBytes;
  if (available < size) {
    throw new DlvmError(`parseIdx: ${name} is truncated: shape [${shape.join(', ')}] needs ${size} data bytes, found ${available}.`);
  }
  if (available > size) {
    throw new DlvmError(`parseIdx: ${name} has ${available - size} unexpected bytes after the data of shape [${shape.join(', ')}].`);
  }
  return { shape, data: bytes.subarray(headerBytes, headerBytes + size) };
}

/**
 * Reads an IDX file from disk (Node only), gunzipping it when it is gzipped.
 *
 * @param path the file's path.
 * @example
 * ```ts
 * const images = await readIdx('data/train-images-idx3-ubyte.gz'); // shape [60000, 28, 28]
 * ```
 */
export async function readIdx(path: string): Promise<IdxArray> {
  if (typeof path !== 'string' || path === '') throw argError('readIdx', 'path', 'a non-empty string', path);
  return parseIdx(await readMaybeGzip('readIdx', path), path);
}
