/**
 * The committed wasm SIMD modules (src/backend/kernels/simd/module.ts, built by
 * scripts/build-simd.mjs): they are instantiated on tfjs-backend-wasm's own heap, so they may
 * import nothing but that memory and must write nothing at instantiation (no data, no start).
 * The kernels' results are tested against the cpu backend in kernels.bernoulli, optimizer and
 * kernels (matMul); here `matmul` is also checked to the bit against a brute-force float32 sum.
 */
import { describe, expect, it } from 'vitest';
import { SIMD_MODULE_PLAIN, SIMD_MODULE_SHARED } from '../src/backend/kernels/simd/module.js';
import { disableSimdKernels, type SimdKernels } from '../src/backend/kernels/simd.js';

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
      expect(bytes.length).toBeLessThan(12 * 1024);
      const module = new WebAssembly.Module(bytes);
      expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
      expect(WebAssembly.Module.exports(module).map((e) => e.name)).toEqual(['adam_update', 'bernoulli_log_prob', 'bernoulli_log_prob_grad_logits', 'matmul']);
      const ids = sectionIds(bytes);
      for (const forbidden of [8, 11, 12]) expect(ids, `section ${forbidden} (start, data, data count)`).not.toContain(forbidden);
      // It instantiates on a memory of its kind and leaves every byte as it was.
      const memory = new WebAssembly.Memory(shared ? { initial: 4, maximum: 65536, shared: true } : { initial: 4 });
      new Uint8Array(memory.buffer).fill(0xa5);
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      expect(Object.keys(instance.exports)).toHaveLength(4);
      expect(new Uint8Array(memory.buffer).every((b) => b === 0xa5)).toBe(true);

      // A call writes its outputs and nothing else (no shadow stack, no scratch): arrays of 7
      // floats (four lanes and a tail of 3) at scattered offsets, every other byte checked.
      const k = instance.exports as unknown as SimdKernels;
      const n = 7;
      const at = (i: number): number => 4096 + i * 1024; // byte offset of array i
      const f32 = new Float32Array(memory.buffer);
      for (let i = 0; i < 8; i++)
        f32.set(
          Float32Array.from({ length: n }, (_, j) => 0.1 * (j + 1) + 0.01 * i),
          at(i) / 4,
        );
      const calls: [string, () => void, number[]][] = [
        ['adam_update', () => k.adam_update(at(0), at(1), at(2), at(3), at(4), at(5), at(6), n, 0.9, 0.999, 0.1, 0.001, 0.1, 0.001, 1e-7, -0.01), [4, 5, 6]],
        ['bernoulli_log_prob', () => k.bernoulli_log_prob(at(0), at(1), at(7), n), [7]],
        ['bernoulli_log_prob_grad_logits', () => k.bernoulli_log_prob_grad_logits(at(0), at(1), at(2), at(7), n), [7]],
        // 1 x 7 = (1 x 7) (7 x 7) would read past b's 7 floats: a 7 x 1 by 1 x 7 product instead,
        // through the 4 x 4 block, the 1 x 4 block and the single-column tail.
        ['matmul', () => k.matmul(at(0), at(1), at(2), at(7), 7, 1, 7, 1, 7), []],
      ];
      for (const [fn, call, outputs] of calls) {
        const before = new Uint8Array(memory.buffer).slice();
        call();
        const after = new Uint8Array(memory.buffer);
        const size = fn === 'matmul' ? 49 : n;
        if (fn === 'matmul') outputs.push(7);
        const written = (byte: number): boolean => outputs.some((o) => byte >= at(o) && byte < at(o) + 4 * size);
        const stray = after.findIndex((b, i) => b !== before[i] && !written(i));
        expect(stray, `${fn} wrote byte ${stray}`).toBe(-1);
        for (const o of outputs) expect(Array.from(f32.subarray(at(o) / 4, at(o) / 4 + size)).every(Number.isFinite), `${fn} output ${o}`).toBe(true);
      }
    });
  }

  it('matmul equals a brute-force float32 sum in order, to the bit, for every block and tail, both layouts of a, with and without bias', () => {
    const memory = new WebAssembly.Memory({ initial: 64 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(Buffer.from(SIMD_MODULE_PLAIN, 'base64'))), { env: { memory } })
      .exports as unknown as SimdKernels;
    const f32 = new Float32Array(memory.buffer);
    const fr = Math.fround;
    let seed = 1;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648 - 0.5;
    };
    let cases = 0;
    for (const m of [1, 3, 4, 5, 9]) {
      for (const n of [1, 3, 4, 5, 8, 11, 12, 17]) {
        for (const kk of [1, 6, 300]) {
          // 300: two passes over k (KC = 256)
          for (const transposed of [false, true]) {
            for (const withBias of [false, true]) {
              // a at float 16, b at 8192, bias at 16384, c at 20480 (byte offsets 4x).
              const A = Float32Array.from({ length: m * kk }, next);
              const B = Float32Array.from({ length: kk * n }, next);
              const bias = Float32Array.from({ length: n }, next);
              f32.set(A, 16); // not at offset 0: pointer 0 means "no bias"
              f32.set(B, 8192);
              f32.set(bias, 16384);
              f32.fill(NaN, 20480, 20480 + m * n + 8); // every output written, nothing past it
              const [sai, sak] = transposed ? [1, m] : [kk, 1];
              k.matmul(64, 8192 * 4, withBias ? 16384 * 4 : 0, 20480 * 4, m, kk, n, sai, sak);
              for (let i = 0; i < m; i++) {
                for (let j = 0; j < n; j++) {
                  let s = withBias ? bias[j]! : 0;
                  for (let p = 0; p < kk; p++) s = fr(s + fr(A[i * sai + p * sak]! * B[p * n + j]!));
                  expect(f32[20480 + i * n + j], `m ${m} n ${n} k ${kk} transposed ${transposed} bias ${withBias} at ${i},${j}`).toBe(s);
                }
              }
              expect(Number.isNaN(f32[20480 + m * n]!)).toBe(true);
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(5 * 8 * 3 * 2 * 2);
  });

  it('disableSimdKernels rejects a non-boolean, naming the function and argument', () => {
    expect(() => disableSimdKernels('yes' as unknown as boolean)).toThrow(/disableSimdKernels: argument 'off' must be a boolean, but got .*yes/);
    expect(disableSimdKernels(false)).toBe(false); // unchanged by the refused call
  });
});
