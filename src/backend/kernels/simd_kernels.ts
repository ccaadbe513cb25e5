/**
 * dlvm's wasm SIMD kernels (simd/kernels.c) as the backend's kernels call them: every pointer is
 * a byte offset into the backend's memory. Its own file so that simd.ts and simd_helper.ts, which
 * both use it, do not import each other.
 */
export interface SimdKernels {
  adam_update(
    x: number,
    g: number,
    m: number,
    v: number,
    x1: number,
    m1: number,
    v1: number,
    n: number,
    b1: number,
    b2: number,
    ob1: number,
    ob2: number,
    c1: number,
    c2: number,
    eps: number,
    negLr: number,
  ): void;
  bernoulli_log_prob(l: number, x: number, out: number, n: number): void;
  bernoulli_log_prob_grad_logits(dy: number, l: number, x: number, out: number, n: number): void;
  /**
   * c = a b (+ bias): a m x k with element (i, p) at a + 4 (i sai + p sak), b k x n, c m x n; bias 0
   * or n values. The workspace it packs a and b into is the instance's own (see {@link SimdModule}).
   */
  matmul(a: number, b: number, bias: number, c: number, m: number, k: number, n: number, sai: number, sak: number): void;
  /** The patches of x [batch, h, w, ch] as rows of col [batch oh ow, fh fw ch] (zeros over the padding). */
  im2col(
    x: number,
    col: number,
    batch: number,
    h: number,
    w: number,
    ch: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
  ): void;
  /** The adjoint of im2col: x = 0, then each row of col added back onto the positions its patch covers. */
  col2im(
    col: number,
    x: number,
    batch: number,
    h: number,
    w: number,
    ch: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
  ): void;
  /** y[b] = x[b]^T for `batch` row-major rows x cols matrices. */
  transpose(x: number, y: number, batch: number, rows: number, cols: number): void;
  /** out[a, j] = sum over i of x[a, i, j] for x [outer, r, inner], columns j0 <= j < j1. */
  reduce_sum(x: number, out: number, outer: number, r: number, inner: number, j0: number, j1: number): void;
  /** out = max(0, x) with NaN kept (the cpu backend's relu), n elements. */
  relu(x: number, out: number, n: number): void;
  /** out = dy step(x) (relu's gradient; NaN where x is NaN), n elements. */
  relu_grad(dy: number, x: number, out: number, n: number): void;
  /** out[r] = sum of the Bernoulli log-density over the r-th run of `len` elements of l and x. */
  bernoulli_log_prob_sum(l: number, x: number, out: number, rows: number, len: number): void;
}

/**
 * The module's exports as instantiated: as {@link SimdKernels}, but `matmul` takes the byte offset
 * of a workspace of `matmul_workspace_bytes()` bytes on the same heap, one per thread running it
 * at a time, which it overwrites.
 */
export interface SimdModule extends Omit<SimdKernels, 'matmul'> {
  matmul(a: number, b: number, bias: number, c: number, m: number, k: number, n: number, sai: number, sak: number, ws: number): void;
  matmul_workspace_bytes(): number;
  /**
   * matmul's rows in chunks of `rows`, claimed one at a time by each thread calling it from the
   * counter at `ctr` (two int32: generation 4096 + next chunk, chunks finished); see kernels.c.
   */
  matmul_chunks(
    a: number,
    b: number,
    bias: number,
    c: number,
    m: number,
    k: number,
    n: number,
    sai: number,
    sak: number,
    ws: number,
    ctr: number,
    rows: number,
    gen: number,
  ): void;
}
