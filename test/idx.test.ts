/** IDX reading: the real MNIST files (checked against their published sizes) and broken files. */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isGzip, parseIdx, readIdx } from '../src/index.js';

const MNIST = join(__dirname, '..', '..', 'shared', 'data', 'mnist');

function idx(shape: number[], values: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  const view = new DataView(header.buffer);
  shape.forEach((s, i) => view.setUint32(4 + 4 * i, s, false));
  return new Uint8Array([...header, ...values]);
}

describe('IDX', () => {
  it('parses a hand-made file', () => {
    const parsed = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]));
    expect(parsed.shape).toEqual([2, 3]);
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads plain and gzipped files from disk', async () => {
    expect(isGzip(gzipSync(new Uint8Array([1])))).toBe(true);
    expect(isGzip(new Uint8Array([0, 0, 8, 1]))).toBe(false);
    expect(isGzip(new Uint8Array([0x1f]))).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-idx-'));
    const bytes = idx([3], [7, 8, 9]);
    writeFileSync(join(dir, 'a.idx'), bytes);
    writeFileSync(join(dir, 'a.idx.gz'), gzipSync(bytes));
    for (const f of ['a.idx', 'a.idx.gz']) {
      const r = await readIdx(join(dir, f));
      expect(r.shape).toEqual([3]);
      expect(Array.from(r.data)).toEqual([7, 8, 9]);
    }
  });

  it.runIf(existsSync(MNIST))('reads the real MNIST test set: 10000 images of 28x28 and 10000 labels in 0..9', async () => {
    const images = await readIdx(join(MNIST, 't10k-images-idx3-ubyte.gz'));
    const labels = await readIdx(join(MNIST, 't10k-labels-idx1-ubyte.gz'));
    expect(images.shape).toEqual([10000, 28, 28]);
    expect(labels.shape).toEqual([10000]);
    expect(Math.max(...labels.data)).toBe(9);
    // The first test digit of MNIST is a 7 (LeCun et al.'s published ordering).
    expect(labels.data[0]).toBe(7);
  });

  it('names the file and the problem for broken input', async () => {
    expect(() => parseIdx(new Uint8Array([1, 2, 3, 4]), 'x.idx')).toThrow(/parseIdx: x.idx is not an IDX file/);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), 'f.idx')).toThrow(/f.idx holds IDX type 0xd, only 0x08/);
    expect(() => parseIdx(idx([2, 3], [1, 2, 3]), 't.idx')).toThrow(/t.idx is truncated: shape \[2, 3\] needs 6 data bytes, found 3/);
    expect(() => parseIdx(idx([1], [1, 2]), 'x.idx')).toThrow(/1 unexpected bytes after the data/);
    await expect(readIdx('/nonexistent/file.idx')).rejects.toThrow(/readIdx: cannot read \/nonexistent\/file.idx/);
    const dir = mkdtempSync(join(tmpdir(), 'dlvm-idx-'));
    const gz = gzipSync(idx([100], new Array(100).fill(1)));
    writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length - 10));
    await expect(readIdx(join(dir, 'cut.gz'))).rejects.toThrow(/cut.gz is a corrupt or truncated gzip file/);
    await expect(readIdx('' as string)).rejects.toThrow(/readIdx: argument 'path' must be a non-empty string, but got ""/);
  });
});
