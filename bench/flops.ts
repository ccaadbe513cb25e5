/** FLOPs of tfjs kernel launches from their shapes, for bench/profile.ts. */
const size = (s: number[] | null | undefined): number => (s ? s.reduce((a, b) => a * b, 1) : 0);

/**
 * FLOPs of one kernel launch from its shapes (2 per multiply-add): a matrix product [.., m, k] x
 * [.., k, n] -> [.., m, n] is 2 * size(out) * k with k = size(a) / rows(out); a convolution is 2 *
 * size(out) * (kh kw Cin) with kh kw Cin = size(filter) / Cout. Other kernels count 0.
 */
export function kernelFlops(name: string, inputs: Array<number[] | null>, outputs: number[][]): number {
  const out = outputs[0];
  if (!out) return 0;
  if (name === 'BatchMatMul' || name === '_FusedMatMul') {
    const n = out[out.length - 1]!;
    return 2 * n * size(inputs[0]);
  }
  if (name === 'Conv2D' || name === 'FusedConv2D') {
    const f = inputs[1]!;
    return (2 * size(out) * size(f)) / f[f.length - 1]!;
  }
  if (name === 'Conv2DBackpropInput') {
    // inputs: dy [B, oh, ow, Cout], filter [kh, kw, Cin, Cout]; the same products as the forward.
    const dy = inputs[0]!;
    const f = inputs[1]!;
    return (2 * size(dy) * size(f)) / f[f.length - 1]!;
  }
  if (name === 'Conv2DBackpropFilter') {
    // inputs: x, dy [B, oh, ow, Cout]; output the filter [kh, kw, Cin, Cout].
    const dy = inputs[1]!;
    return (2 * size(dy) * size(out)) / out[out.length - 1]!;
  }
  return 0;
}
