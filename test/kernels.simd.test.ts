/**
 * The committed wasm SIMD modules (src/backend/kernels/simd/module.ts, built by
 * scripts/build-simd.mjs): they are instantiated on tfjs-backend-wasm's own heap, so they may
 * import nothing but that memory and must write nothing at instantiation (no data, no start).
 * The kernels' results are tested against the cpu backend in kernels.bernoulli, optimizer and
 * kernels (matMul); here `matmul` is also checked to the bit against a brute-force float32 sum.
 */
import { describe, expect, it } from 'vitest';
import { SIMD_MODULE_PLAIN, SIMD_MODULE_SHARED } from '../src/backend/kernels/simd/module.js';
import { disableSimdKernels, type SimdModule } from '../src/backend/kernels/simd.js';

/** Section ids of a wasm binary, in order. */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let p = 8;
  while (p < bytes.length) {
    ids.push(bytes[p++]!);
    let length = 0;
    let shift = 0;
    let b: number;
    do {
      b = bytes[p++]!;
      length |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    p += length;
  }
  return ids;
}

describe('wasm SIMD modules', () => {
  for (const [name, base64, shared] of [
    ['plain', SIMD_MODULE_PLAIN, false],
    ['shared', SIMD_MODULE_SHARED, true],
  ] as const) {
    it(`${name}: imports only the backend memory, writes nothing at instantiation, exports the kernels`, () => {
      const bytes = new Uint8Array(Buffer.from(base64, 'base64'));
      // Small: it travels as base64 in the package (initBackend compiles it asynchronously, so
      // the 4 KB limit of older Chrome on synchronous main-thread compiles does not bind).
      expect(bytes.length).toBeLessThan(32 * 1024);
      const module = new WebAssembly.Module(bytes);
      expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
      expect(WebAssembly.Module.exports(module).map((e) => e.name)).toEqual([
        'adam_update',
        'bernoulli_log_prob',
        'bernoulli_log_prob_grad_logits',
        'matmul_workspace_bytes',
        'matmul',
        'matmul_chunks',
        'im2col',
        'col2im',
        'transpose',
        'reduce_sum',
        'relu',
        'bernoulli_log_prob_sum',
        'relu_grad',
      ]);
      const ids = sectionIds(bytes);
      for (const forbidden of [8, 11, 12]) expect(ids, `section ${forbidden} (start, data, data count)`).not.toContain(forbidden);
      // It instantiates on a memory of its kind and leaves every byte as it was.
      const memory = new WebAssembly.Memory(shared ? { initial: 4, maximum: 65536, shared: true } : { initial: 4 });
      new Uint8Array(memory.buffer).fill(0xa5);
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      expect(Object.keys(instance.exports)).toHaveLength(13);
      expect(new Uint8Array(memory.buffer).every((b) => b === 0xa5)).toBe(true);

      // A call writes its outputs and nothing else (no shadow stack, no scratch but matmul's
      // workspace): arrays of 7 floats (four lanes and a tail of 3) at scattered offsets, every
      // other byte checked.
      const k = instance.exports as unknown as SimdModule;
      const wsBytes = k.matmul_workspace_bytes();
      expect(wsBytes).toBe(4 * (64 * 256 + 8 * 256)); // MC x KC of a, KC x 8 of b
      const ws = 4096 + 9 * 1024; // array 9 on: the workspace (the memory has 4 pages)
      expect(ws + wsBytes).toBeLessThanOrEqual(memory.buffer.byteLength);
      const n = 7;
      const at = (i: number): number => 4096 + i * 1024; // byte offset of array i
      const f32 = new Float32Array(memory.buffer);
      for (let i = 0; i < 8; i++)
        f32.set(
          Float32Array.from({ length: n }, (_, j) => 0.1 * (j + 1) + 0.01 * i),
          at(i) / 4,
        );
      // [name, call, output arrays, floats written to each]
      const calls: [string, () => void, number[], number][] = [
        ['adam_update', () => k.adam_update(at(0), at(1), at(2), at(3), at(4), at(5), at(6), n, 0.9, 0.999, 0.1, 0.001, 0.1, 0.001, 1e-7, -0.01), [4, 5, 6], n],
        ['bernoulli_log_prob', () => k.bernoulli_log_prob(at(0), at(1), at(7), n), [7], n],
        ['bernoulli_log_prob_grad_logits', () => k.bernoulli_log_prob_grad_logits(at(0), at(1), at(2), at(7), n), [7], n],
        // 1 x 7 = (1 x 7) (7 x 7) would read past b's 7 floats: a 7 x 1 by 1 x 7 product instead,
        // through the 4 x 4 block, the 1 x 4 block and the single-column tail.
        ['matmul', () => k.matmul(at(0), at(1), at(2), at(7), 7, 1, 7, 1, 7, ws), [7], 49],
        // The same in chunks of 4 rows, claimed from the counters at array 8 (generation 3).
        [
          'matmul',
          () => {
            new Int32Array(memory.buffer, at(8), 2).set([3 * 4096, 0]);
            k.matmul_chunks(at(0), at(1), at(2), at(7), 7, 1, 7, 1, 7, ws, at(8), 4, 3);
          },
          [7, 8],
          49,
        ],
        // x [1, 1, 7, 1], a 1 x 3 filter at stride 2 with one column of padding on each side: 4
        // output positions of 3 taps, overhanging at both ends.
        ['im2col', () => k.im2col(at(0), at(7), 1, 1, 7, 1, 1, 4, 1, 3, 1, 2, 0, 1), [7], 12],
        ['col2im', () => k.col2im(at(0), at(7), 1, 1, 7, 1, 1, 4, 1, 3, 1, 2, 0, 1), [7], 7],
        // Two 5 x 6 matrices: one 4 x 4 block, and edges of rows and columns.
        ['transpose', () => k.transpose(at(0), at(7), 2, 5, 6), [7], 60],
        // x [1, 7, 1] (a contiguous run), then [1, 1, 7] over the middle axis: columns 2 to 6.
        ['reduce_sum', () => k.reduce_sum(at(0), at(7), 1, 7, 1, 0, 1), [7], 1],
        ['reduce_sum', () => k.reduce_sum(at(0), at(7) - 8, 1, 1, 7, 2, 7), [7], 5],
        ['relu', () => k.relu(at(0), at(7), n), [7], n],
        ['relu_grad', () => k.relu_grad(at(0), at(1), at(7), n), [7], n],
        // Two runs of 3: the four-lane tail with its padding masked.
        ['bernoulli_log_prob_sum', () => k.bernoulli_log_prob_sum(at(0), at(1), at(7), 2, 3), [7], 2],
      ];
      for (const [fn, call, outputs, size] of calls) {
        const before = new Uint8Array(memory.buffer).slice();
        call();
        const after = new Uint8Array(memory.buffer);
        const written = (byte: number): boolean =>
          outputs.some((o) => byte >= at(o) && byte < at(o) + 4 * size) || (fn === 'matmul' && byte >= ws && byte < ws + wsBytes);
        const stray = after.findIndex((b, i) => b !== before[i] && !written(i));
        expect(stray, `${fn} wrote byte ${stray}`).toBe(-1);
        for (const o of outputs) expect(Array.from(f32.subarray(at(o) / 4, at(o) / 4 + size)).every(Number.isFinite), `${fn} output ${o}`).toBe(true);
      }
    });
  }

  it('matmul equals a brute-force float32 sum in order, to the bit, for every block and tail, every layout of a, with and without bias', () => {
    const memory = new WebAssembly.Memory({ initial: 64 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(Buffer.from(SIMD_MODULE_PLAIN, 'base64'))), { env: { memory } })
      .exports as unknown as SimdModule;
    const f32 = new Float32Array(memory.buffer);
    const fr = Math.fround;
    let seed = 1;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648 - 0.5;
    };
    // Float offsets: a at 16 (not 0: pointer 0 means "no bias"), b, bias, c, the workspace.
    const [PA, PB, PBIAS, PC, PWS] = [16, 65536, 131072, 139264, 262144];
    let cases = 0;
    // m 70: a full block of 64 rows packed, then a block of 4, then 2 rows read in place.
    for (const m of [1, 3, 4, 5, 9, 70]) {
      for (const n of [1, 3, 4, 5, 8, 11, 12, 17]) {
        for (const kk of [1, 6, 300]) {
          // 300: two passes over k (KC = 256)
          // a as stored (m x k), stored transposed (k x m), and every other element of a
          // transposed store of 2m rows (neither step 1: the kernel's general packing).
          for (const layout of ['stored', 'transposed', 'strided'] as const) {
            for (const withBias of [false, true]) {
              const [sai, sak] = layout === 'stored' ? [kk, 1] : layout === 'transposed' ? [1, m] : [2, 2 * m];
              const A = Float32Array.from({ length: layout === 'strided' ? 2 * m * kk : m * kk }, next);
              const B = Float32Array.from({ length: kk * n }, next);
              const bias = Float32Array.from({ length: n }, next);
              f32.set(A, PA);
              f32.set(B, PB);
              f32.set(bias, PBIAS);
              f32.fill(NaN, PC, PC + m * n + 8); // every output written, nothing past it
              f32.fill(NaN, PWS, PWS + k.matmul_workspace_bytes() / 4); // read only where written
              k.matmul(4 * PA, 4 * PB, withBias ? 4 * PBIAS : 0, 4 * PC, m, kk, n, sai, sak, 4 * PWS);
              for (let i = 0; i < m; i++) {
                for (let j = 0; j < n; j++) {
                  let s = withBias ? bias[j]! : 0;
                  for (let p = 0; p < kk; p++) s = fr(s + fr(A[i * sai + p * sak]! * B[p * n + j]!));
                  expect(f32[PC + i * n + j], `m ${m} n ${n} k ${kk} ${layout} bias ${withBias} at ${i},${j}`).toBe(s);
                }
              }
              expect(Number.isNaN(f32[PC + m * n]!)).toBe(true);
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(6 * 8 * 3 * 3 * 2);
  });

  it('matmul_chunks claims every chunk of its generation once (the same bits as matmul) and none of another', () => {
    const memory = new WebAssembly.Memory({ initial: 64 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(Buffer.from(SIMD_MODULE_PLAIN, 'base64'))), { env: { memory } })
      .exports as unknown as SimdModule;
    const f32 = new Float32Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    const [m, kk, n] = [70, 300, 13];
    const [PA, PB, PC, PD, PWS, PCTR] = [16, 32768, 65536, 98304, 131072, 262144];
    for (let i = 0; i < m * kk; i++) f32[PA + i] = Math.sin(i);
    for (let i = 0; i < kk * n; i++) f32[PB + i] = Math.cos(i);
    k.matmul(4 * PA, 4 * PB, 0, 4 * PC, m, kk, n, kk, 1, 4 * PWS);
    // Chunks of 32 rows: 32, 32, 6.
    i32.set([7 * 4096, 0], PCTR);
    f32.fill(NaN, PD, PD + m * n);
    k.matmul_chunks(4 * PA, 4 * PB, 0, 4 * PD, m, kk, n, kk, 1, 4 * PWS, 4 * PCTR, 32, 7);
    expect([i32[PCTR], i32[PCTR + 1]]).toEqual([7 * 4096 + 3, 3]);
    expect(Array.from(f32.subarray(PD, PD + m * n))).toEqual(Array.from(f32.subarray(PC, PC + m * n)));
    // A caller of generation 6 (an earlier product's arguments) claims nothing and writes nothing.
    f32.fill(NaN, PD, PD + m * n);
    i32.set([7 * 4096, 0], PCTR);
    k.matmul_chunks(4 * PA, 4 * PB, 0, 4 * PD, m, kk, n, kk, 1, 4 * PWS, 4 * PCTR, 32, 6);
    expect([i32[PCTR], i32[PCTR + 1]]).toEqual([7 * 4096, 0]);
    expect(f32.subarray(PD, PD + m * n).every(Number.isNaN)).toBe(true);
  });

  it('transpose moves every element of every batch entry to its place, for tiles, blocks and edges', () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(Buffer.from(SIMD_MODULE_PLAIN, 'base64'))), { env: { memory } })
      .exports as unknown as SimdModule;
    const f32 = new Float32Array(memory.buffer);
    for (const [batch, rows, cols] of [
      [1, 4, 4],
      [3, 5, 7],
      [2, 1, 9],
      [1, 9, 1],
      [2, 8, 12],
      // Several 16 x 16 tiles with edges of every kind.
      [1, 37, 50],
      [2, 33, 17],
      [1, 16, 16],
    ] as const) {
      const size = batch * rows * cols;
      for (let i = 0; i < size; i++) f32[16 + i] = i + 0.5;
      f32.fill(NaN, 4096, 4096 + size + 4);
      k.transpose(64, 4096 * 4, batch, rows, cols);
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < rows; i++)
          for (let j = 0; j < cols; j++)
            expect(f32[4096 + b * rows * cols + j * rows + i], `${batch} x ${rows} x ${cols} at ${b},${i},${j}`).toBe(b * rows * cols + i * cols + j + 0.5);
      expect(Number.isNaN(f32[4096 + size]!)).toBe(true);
    }
  });

  it('im2col gathers each patch as the index formula says (zeros over the padding), and col2im is its adjoint', () => {
    const memory = new WebAssembly.Memory({ initial: 16 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(Buffer.from(SIMD_MODULE_PLAIN, 'base64'))), { env: { memory } })
      .exports as unknown as SimdModule;
    const f32 = new Float32Array(memory.buffer);
    // [batch, h, w, ch, fh, fw, sh, sw, pt, pl]: channel runs of 1, 4 and 6 (vector body and tail),
    // strides above the filter size, padding on both sides.
    const geometries = [
      [2, 5, 4, 3, 3, 2, 2, 1, 1, 0],
      [1, 6, 6, 4, 3, 3, 2, 2, 1, 1],
      [3, 4, 7, 1, 2, 3, 3, 2, 0, 2],
      [1, 3, 3, 6, 3, 3, 1, 1, 1, 1],
    ];
    for (const [batch, h, w, ch, fh, fw, sh, sw, pt, pl] of geometries as number[][] as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ][]) {
      const oh = Math.floor((h + 2 * pt - fh) / sh) + 1;
      const ow = Math.floor((w + 2 * pl - fw) / sw) + 1;
      const xSize = batch * h * w * ch;
      const colSize = batch * oh * ow * fh * fw * ch;
      const X = 16; // float offsets: x, col, y (a patch matrix), x' = col2im(y)
      const COL = X + xSize + 16;
      const Y = COL + colSize + 16;
      const X2 = Y + colSize + 16;
      for (let i = 0; i < xSize; i++) f32[X + i] = Math.sin(i + 1);
      for (let i = 0; i < colSize; i++) f32[Y + i] = Math.cos(3 * i + 1);
      f32.fill(NaN, COL, COL + colSize);
      f32.fill(NaN, X2, X2 + xSize);
      k.im2col(4 * X, 4 * COL, batch, h, w, ch, oh, ow, fh, fw, sh, sw, pt, pl);
      k.col2im(4 * Y, 4 * X2, batch, h, w, ch, oh, ow, fh, fw, sh, sw, pt, pl);
      const label = `geometry ${[batch, h, w, ch, fh, fw, sh, sw, pt, pl]}`;
      let colDotY = 0;
      for (let n = 0, row = 0; n < batch; n++) {
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < ow; j++, row++) {
            for (let p = 0; p < fh; p++) {
              for (let q = 0; q < fw; q++) {
                for (let c = 0; c < ch; c++) {
                  const r = i * sh + p - pt;
                  const t = j * sw + q - pl;
                  const inside = r >= 0 && r < h && t >= 0 && t < w;
                  const at = row * fh * fw * ch + (p * fw + q) * ch + c;
                  const expected = inside ? f32[X + ((n * h + r) * w + t) * ch + c]! : 0;
                  expect(f32[COL + at], `${label} col[${row}, ${(p * fw + q) * ch + c}]`).toBe(expected);
                  colDotY += expected * f32[Y + at]!;
                }
              }
            }
          }
        }
      }
      // <im2col(x), y> = <x, col2im(y)>, in float64.
      let xDotCol2im = 0;
      for (let i = 0; i < xSize; i++) xDotCol2im += f32[X + i]! * f32[X2 + i]!;
      expect(Math.abs(colDotY - xDotCol2im), label).toBeLessThan(1e-4 * (1 + Math.abs(colDotY)));
    }
  });

  it('disableSimdKernels rejects a non-boolean, naming the function and argument', () => {
    expect(() => disableSimdKernels('yes' as unknown as boolean)).toThrow(/disableSimdKernels: argument 'off' must be a boolean, but got .*yes/);
    expect(disableSimdKernels(false)).toBe(false); // unchanged by the refused call
  });
});
