/*
 * dlvm's wasm SIMD kernels (build: `npm run build:simd`, scripts/build-simd.mjs, which writes
 * module.ts beside this file).
 *
 * They run on tfjs-backend-wasm's own heap: the module imports the backend's WebAssembly.Memory
 * and every argument is a byte offset into it (the tensors' memory), so nothing is copied. The
 * module has no data, no stack use and no start function, so instantiating it writes nothing
 * into that memory (the build script checks for data and start sections and stack use).
 *
 * Float32 throughout, each operation rounded (no fast-math, and wasm has no fused multiply-add),
 * four lanes at a time. Adam's tail of 1 to 3 elements is scalar code doing the same operations;
 * the Bernoulli kernels run theirs through the four-lane body, loaded and stored lane by lane.
 */
#include <wasm_simd128.h>

typedef float f32;
typedef unsigned int u32;

/*
 * Adam's update, tfjs's operations in tfjs's order (src/backend/kernels/adam.ts):
 *   m' = m b1 + g ob1,  v' = v b2 + (g g) ob2,  x' = ((m' / c1) / (sqrt(v' / c2) + eps)) negLr + x
 */
__attribute__((export_name("adam_update"))) void adam_update(const f32 *x, const f32 *g, const f32 *m, const f32 *v, f32 *x1, f32 *m1,
                                                          f32 *v1, int n, f32 b1, f32 b2, f32 ob1, f32 ob2, f32 c1, f32 c2,
                                                          f32 eps, f32 negLr) {
  int i = 0;
  const v128_t B1 = wasm_f32x4_splat(b1), B2 = wasm_f32x4_splat(b2), OB1 = wasm_f32x4_splat(ob1), OB2 = wasm_f32x4_splat(ob2);
  const v128_t C1 = wasm_f32x4_splat(c1), C2 = wasm_f32x4_splat(c2), EPS = wasm_f32x4_splat(eps), LR = wasm_f32x4_splat(negLr);
  for (; i + 4 <= n; i += 4) {
    const v128_t gi = wasm_v128_load(g + i);
    const v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), B1), wasm_f32x4_mul(gi, OB1));
    const v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), B2), wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), OB2));
    wasm_v128_store(m1 + i, mi);
    wasm_v128_store(v1 + i, vi);
    const v128_t den = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(vi, C2)), EPS);
    const v128_t step = wasm_f32x4_mul(wasm_f32x4_div(wasm_f32x4_div(mi, C1), den), LR);
    wasm_v128_store(x1 + i, wasm_f32x4_add(step, wasm_v128_load(x + i)));
  }
  for (; i < n; i++) {
    const f32 gi = g[i];
    const f32 mi = m[i] * b1 + gi * ob1;
    const f32 vi = v[i] * b2 + (gi * gi) * ob2;
    m1[i] = mi;
    v1[i] = vi;
    x1[i] = ((mi / c1) / (__builtin_sqrtf(vi / c2) + eps)) * negLr + x[i];
  }
}

/*
 * exp(-a) for a >= 0 (NaN stays NaN), in four lanes: Cephes' expf (range reduction by ln 2 in
 * two parts, a degree-5 polynomial, 2^n from the exponent bits), about 1 ulp. Below e^-87 (where
 * 2^n leaves the normal range) it returns 0: the callers add it to 1 or to at least 87.
 */
static inline v128_t exp_neg(v128_t a) {
  const v128_t x = wasm_f32x4_neg(wasm_f32x4_min(a, wasm_f32x4_splat(87.0f)));
  const v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
  p = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(p, wasm_f32x4_mul(r, r)), r), wasm_f32x4_splat(1.0f));
  const v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  const v128_t e = wasm_f32x4_mul(p, scale);
  return wasm_v128_andnot(e, wasm_f32x4_gt(a, wasm_f32x4_splat(87.0f)));
}

/*
 * log(u) for u in [1, 2] (Cephes' logf: the mantissa folded into [sqrt(1/2), sqrt(2)), a degree-9
 * polynomial, ln 2 in two parts), about 1 ulp.
 */
static inline v128_t log_1_2(v128_t u) {
  const v128_t big = wasm_f32x4_gt(u, wasm_f32x4_splat(1.41421356237f));
  const v128_t e = wasm_v128_and(big, wasm_f32x4_splat(1.0f));
  const v128_t f = wasm_f32x4_sub(wasm_v128_bitselect(wasm_f32x4_mul(u, wasm_f32x4_splat(0.5f)), u, big), wasm_f32x4_splat(1.0f));
  const v128_t z = wasm_f32x4_mul(f, f);
  v128_t y = wasm_f32x4_splat(7.0376836292e-2f);
  y = wasm_f32x4_add(wasm_f32x4_mul(y, f), wasm_f32x4_splat(-1.1514610310e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, f), wasm_f32x4_splat(1.1676998740e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, f), wasm_f32x4_splat(-1.2420140846e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, f), wasm_f32x4_splat(1.4249322787e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, f), wasm_f32x4_splat(-1.6668057665e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, f), wasm_f32x4_splat(2.0000714765e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, f), wasm_f32x4_splat(-2.4999993993e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, f), wasm_f32x4_splat(3.3333331174e-1f));
  y = wasm_f32x4_mul(wasm_f32x4_mul(y, f), z);
  y = wasm_f32x4_add(y, wasm_f32x4_mul(e, wasm_f32x4_splat(-2.12194440e-4f)));
  y = wasm_f32x4_sub(y, wasm_f32x4_mul(z, wasm_f32x4_splat(0.5f)));
  return wasm_f32x4_add(wasm_f32x4_add(f, y), wasm_f32x4_mul(e, wasm_f32x4_splat(0.693359375f)));
}

/* log1p(t) for t in [0, 1]: log(u) t / (u - 1) with u = 1 + t rounded (Goldberg), t where u is 1. */
static inline v128_t log1p_01(v128_t t) {
  const v128_t u = wasm_f32x4_add(wasm_f32x4_splat(1.0f), t);
  const v128_t d = wasm_f32x4_sub(u, wasm_f32x4_splat(1.0f));
  const v128_t one = wasm_f32x4_eq(d, wasm_f32x4_splat(0.0f));
  const v128_t q = wasm_f32x4_div(t, wasm_v128_bitselect(wasm_f32x4_splat(1.0f), d, one));
  return wasm_v128_bitselect(t, wasm_f32x4_mul(log_1_2(u), q), one);
}

/* Lanes where l is +inf or -inf. */
static inline v128_t is_inf(v128_t l) { return wasm_f32x4_eq(wasm_f32x4_abs(l), wasm_f32x4_splat(__builtin_inff())); }

/*
 * The Bernoulli log-density x l - softplus(l), softplus(l) = max(l, 0) + log1p(exp(-|l|)), as
 * (x l - max(l, 0)) - log1p(exp(-|l|)) so the sure outcome of a confident logit keeps -exp(-|l|);
 * at infinite l the limit: 0 where x is the sure outcome (1 for +inf, 0 for -inf), else -inf.
 */
__attribute__((noinline)) static v128_t bernoulli_lp4(v128_t l, v128_t x) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  const v128_t lp = wasm_f32x4_sub(wasm_f32x4_sub(wasm_f32x4_mul(x, l), wasm_f32x4_max(l, zero)), log1p_01(exp_neg(wasm_f32x4_abs(l))));
  const v128_t sure = wasm_f32x4_eq(x, wasm_v128_and(wasm_f32x4_gt(l, zero), wasm_f32x4_splat(1.0f)));
  const v128_t limit = wasm_v128_andnot(wasm_f32x4_splat(-__builtin_inff()), sure);
  return wasm_v128_bitselect(limit, lp, is_inf(l));
}

/* dy (x - sigmoid(l)), sigmoid(l) = 1 / (1 + t) for l >= 0 and t / (1 + t) below (t = exp(-|l|)); 0 at infinite l. */
__attribute__((noinline)) static v128_t bernoulli_grad4(v128_t dy, v128_t l, v128_t x) {
  const v128_t t = exp_neg(wasm_f32x4_abs(l));
  const v128_t num = wasm_v128_bitselect(wasm_f32x4_splat(1.0f), t, wasm_f32x4_ge(l, wasm_f32x4_splat(0.0f)));
  const v128_t s = wasm_f32x4_div(num, wasm_f32x4_add(wasm_f32x4_splat(1.0f), t));
  return wasm_v128_andnot(wasm_f32x4_mul(dy, wasm_f32x4_sub(x, s)), is_inf(l));
}

/* The first k (1 to 3) elements at p as a vector, the rest 0: lane by lane, no stack. */
static inline v128_t load_tail(const f32 *p, int k) {
  return wasm_f32x4_make(p[0], k > 1 ? p[1] : 0.0f, k > 2 ? p[2] : 0.0f, 0.0f);
}
static inline void store_tail(f32 *p, int k, v128_t v) {
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (k > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (k > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

__attribute__((export_name("bernoulli_log_prob"))) void bernoulli_log_prob(const f32 *l, const f32 *x, f32 *out, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(out + i, bernoulli_lp4(wasm_v128_load(l + i), wasm_v128_load(x + i)));
  if (i < n) store_tail(out + i, n - i, bernoulli_lp4(load_tail(l + i, n - i), load_tail(x + i, n - i)));
}

__attribute__((export_name("bernoulli_log_prob_grad_logits"))) void bernoulli_log_prob_grad_logits(const f32 *dy, const f32 *l, const f32 *x,
                                                                                                f32 *out, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(out + i, bernoulli_grad4(wasm_v128_load(dy + i), wasm_v128_load(l + i), wasm_v128_load(x + i)));
  }
  if (i < n) {
    const int k = n - i;
    store_tail(out + i, k, bernoulli_grad4(load_tail(dy + i, k), load_tail(l + i, k), load_tail(x + i, k)));
  }
}

/*
 * Matrix product C = A B (+ bias), float32, row-major, for the dense layers' products forward and
 * backward. A is m x k with element (i, p) at a[i sai + p sak]: sai = k, sak = 1 for A as stored,
 * sai = 1, sak = m when the stored matrix is A's transpose (so A^T B needs no transpose). B is
 * k x n, C is m x n, both contiguous; bias is 0 (none) or n values added to every row of C.
 *
 * C[i, j] = (((bias[j] + A[i, 0] B[0, j]) + A[i, 1] B[1, j]) + ...), each product and sum rounded
 * to float32, in this order whatever the blocking (test/kernels.simd.test.ts checks it to the bit
 * against a brute-force sum).
 *
 * Blocking (GotoBLAS's loops): the sum runs over KC rows of B at a time, continuing from the
 * partial sums in C. Within such a pass, MC rows of A at a time are packed into the workspace as
 * groups of four rows interleaved ([kc][4]: the four values a step needs side by side), then each
 * strip of eight columns of B is packed there too ([kc][8], so that B's row stride, 2 KB at n = 512,
 * never maps a strip onto a few cache sets), and every 4 x 8 block of C is eight four-lane
 * accumulators fed by one pointer into each panel: no address arithmetic per step but the two
 * increments (V8 emits none of its own: the constant offsets are the loads' immediates). Columns
 * past the last strip of 8 go as one strip of 4, then one at a time; rows past the last group of
 * 4 (m mod 4) are read in place, one at a time.
 *
 * ws: MATMUL_WS floats of the caller's (one workspace per thread), never read before written.
 */
#define ACC(c, s, b) c = wasm_f32x4_add(c, wasm_f32x4_mul(s, b))
#define KC 256
#define MC 64
#define MATMUL_WS (MC * KC + 8 * KC)

__attribute__((export_name("matmul_workspace_bytes"))) int matmul_workspace_bytes(void) { return 4 * MATMUL_WS; }

/* The starting values of four columns j.. of a row: the bias (or 0) for the first pass over k, else the partial sums at c. */
static inline v128_t start4(const f32 *bias, int j, const f32 *c, int first) {
  if (!first) return wasm_v128_load(c);
  return bias ? wasm_v128_load(bias + j) : wasm_f32x4_splat(0.0f);
}

/* Rows 4 g .. 4 g + 3 of A (g < groups) over k columns into w as [groups][k][4]: w[(g k + p) 4 + r] = A[4 g + r, p]. */
static void pack_a(const f32 *a, int sai, int sak, int groups, int k, f32 *w) {
  for (int g = 0; g < groups; g++, w += 4 * k) {
    const f32 *a0 = a + 4 * g * sai;
    if (sai == 1) {
      // A stored transposed: the four values of a step lie side by side already.
      for (int p = 0; p < k; p++) wasm_v128_store(w + 4 * p, wasm_v128_load(a0 + p * sak));
    } else if (sak == 1) {
      // Four rows, four steps at a time: a 4 x 4 transpose in registers.
      const f32 *a1 = a0 + sai, *a2 = a1 + sai, *a3 = a2 + sai;
      int p = 0;
      for (; p + 4 <= k; p += 4) {
        const v128_t r0 = wasm_v128_load(a0 + p), r1 = wasm_v128_load(a1 + p), r2 = wasm_v128_load(a2 + p), r3 = wasm_v128_load(a3 + p);
        const v128_t lo01 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), lo23 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
        const v128_t hi01 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7), hi23 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
        wasm_v128_store(w + 4 * p, wasm_i64x2_shuffle(lo01, lo23, 0, 2));
        wasm_v128_store(w + 4 * p + 4, wasm_i64x2_shuffle(lo01, lo23, 1, 3));
        wasm_v128_store(w + 4 * p + 8, wasm_i64x2_shuffle(hi01, hi23, 0, 2));
        wasm_v128_store(w + 4 * p + 12, wasm_i64x2_shuffle(hi01, hi23, 1, 3));
      }
      for (; p < k; p++) {
        w[4 * p] = a0[p];
        w[4 * p + 1] = a1[p];
        w[4 * p + 2] = a2[p];
        w[4 * p + 3] = a3[p];
      }
    } else {
      for (int p = 0; p < k; p++)
        for (int r = 0; r < 4; r++) w[4 * p + r] = a0[r * sai + p * sak];
    }
  }
}

/* The 4 x 8 block of C at c (row stride n, columns j..) from a packed group wa ([k][4]) and a packed strip wb ([k][8]). */
static void panel_4x8(const f32 *wa, const f32 *wb, int n, int k, const f32 *bias, int j, f32 *c, int first) {
  v128_t c00 = start4(bias, j, c, first), c01 = start4(bias, j + 4, c + 4, first);
  v128_t c10 = start4(bias, j, c + n, first), c11 = start4(bias, j + 4, c + n + 4, first);
  v128_t c20 = start4(bias, j, c + 2 * n, first), c21 = start4(bias, j + 4, c + 2 * n + 4, first);
  v128_t c30 = start4(bias, j, c + 3 * n, first), c31 = start4(bias, j + 4, c + 3 * n + 4, first);
  for (int p = 0; p < k; p++, wa += 4, wb += 8) {
    const v128_t b0 = wasm_v128_load(wb), b1 = wasm_v128_load(wb + 4);
    const v128_t s0 = wasm_v128_load32_splat(wa), s1 = wasm_v128_load32_splat(wa + 1);
    const v128_t s2 = wasm_v128_load32_splat(wa + 2), s3 = wasm_v128_load32_splat(wa + 3);
    ACC(c00, s0, b0);
    ACC(c01, s0, b1);
    ACC(c10, s1, b0);
    ACC(c11, s1, b1);
    ACC(c20, s2, b0);
    ACC(c21, s2, b1);
    ACC(c30, s3, b0);
    ACC(c31, s3, b1);
  }
  wasm_v128_store(c, c00);
  wasm_v128_store(c + 4, c01);
  c += n;
  wasm_v128_store(c, c10);
  wasm_v128_store(c + 4, c11);
  c += n;
  wasm_v128_store(c, c20);
  wasm_v128_store(c + 4, c21);
  c += n;
  wasm_v128_store(c, c30);
  wasm_v128_store(c + 4, c31);
}

/* The 4 x 4 block of C at c from a packed group wa ([k][4]) and four columns of B in place (row stride n). */
static void panel_4x4(const f32 *wa, const f32 *b, int n, int k, const f32 *bias, int j, f32 *c, int first) {
  v128_t c0 = start4(bias, j, c, first), c1 = start4(bias, j, c + n, first);
  v128_t c2 = start4(bias, j, c + 2 * n, first), c3 = start4(bias, j, c + 3 * n, first);
  for (int p = 0; p < k; p++, wa += 4, b += n) {
    const v128_t b0 = wasm_v128_load(b);
    ACC(c0, wasm_v128_load32_splat(wa), b0);
    ACC(c1, wasm_v128_load32_splat(wa + 1), b0);
    ACC(c2, wasm_v128_load32_splat(wa + 2), b0);
    ACC(c3, wasm_v128_load32_splat(wa + 3), b0);
  }
  wasm_v128_store(c, c0);
  wasm_v128_store(c + n, c1);
  wasm_v128_store(c + 2 * n, c2);
  wasm_v128_store(c + 3 * n, c3);
}

/* One row of C, columns j .. j + 7, from A's row in place (step sak). */
static void row_1x8(const f32 *a, int sak, const f32 *b, int n, int k, const f32 *bias, int j, f32 *c, int first) {
  v128_t c0 = start4(bias, j, c, first), c1 = start4(bias, j + 4, c + 4, first);
  for (int p = 0; p < k; p++, a += sak, b += n) {
    const v128_t s = wasm_v128_load32_splat(a);
    ACC(c0, s, wasm_v128_load(b));
    ACC(c1, s, wasm_v128_load(b + 4));
  }
  wasm_v128_store(c, c0);
  wasm_v128_store(c + 4, c1);
}

static void row_1x4(const f32 *a, int sak, const f32 *b, int n, int k, const f32 *bias, int j, f32 *c, int first) {
  v128_t c0 = start4(bias, j, c, first);
  for (int p = 0; p < k; p++, a += sak, b += n) ACC(c0, wasm_v128_load32_splat(a), wasm_v128_load(b));
  wasm_v128_store(c, c0);
}

/* C[i, j] over k rows of B, one column j at a time, A's row i read with step sak from ai. */
static inline f32 dot_column(const f32 *ai, int sak, const f32 *b, int n, int k, f32 s) {
  for (int p = 0; p < k; p++) s += ai[p * sak] * b[p * n];
  return s;
}

/* C over rows p0 .. p0 + k - 1 of B (first: the first such pass, which starts from the bias). */
static void matmul_pass(const f32 *a, const f32 *b, const f32 *bias, f32 *c, int m, int k, int n, int sai, int sak, int first, f32 *ws) {
  const int m4 = m & ~3;
  f32 *wb = ws + MC * KC;
  for (int i0 = 0; i0 < m4; i0 += MC) {
    const int groups = (m4 - i0 < MC ? m4 - i0 : MC) / 4;
    pack_a(a + i0 * sai, sai, sak, groups, k, ws);
    f32 *c0 = c + i0 * n;
    int j = 0;
    for (; j + 8 <= n; j += 8) {
      for (int p = 0; p < k; p++) {
        wasm_v128_store(wb + 8 * p, wasm_v128_load(b + p * n + j));
        wasm_v128_store(wb + 8 * p + 4, wasm_v128_load(b + p * n + j + 4));
      }
      for (int g = 0; g < groups; g++) panel_4x8(ws + 4 * g * k, wb, n, k, bias, j, c0 + 4 * g * n + j, first);
    }
    if (j + 4 <= n) {
      for (int g = 0; g < groups; g++) panel_4x4(ws + 4 * g * k, b + j, n, k, bias, j, c0 + 4 * g * n + j, first);
      j += 4;
    }
    for (; j < n; j++) {
      for (int r = 0; r < 4 * groups; r++) {
        const f32 s = first ? (bias ? bias[j] : 0.0f) : c0[r * n + j];
        c0[r * n + j] = dot_column(ws + 4 * (r / 4) * k + (r & 3), 4, b + j, n, k, s);
      }
    }
  }
  for (int i = m4; i < m; i++) {
    const f32 *ai = a + i * sai;
    f32 *ci = c + i * n;
    int j = 0;
    for (; j + 8 <= n; j += 8) row_1x8(ai, sak, b + j, n, k, bias, j, ci + j, first);
    if (j + 4 <= n) {
      row_1x4(ai, sak, b + j, n, k, bias, j, ci + j, first);
      j += 4;
    }
    for (; j < n; j++) ci[j] = dot_column(ai, sak, b + j, n, k, first ? (bias ? bias[j] : 0.0f) : ci[j]);
  }
}

__attribute__((export_name("matmul"))) void matmul(const f32 *a, const f32 *b, const f32 *bias, f32 *c, int m, int k, int n, int sai, int sak, f32 *ws) {
  for (int p0 = 0; p0 < k; p0 += KC) {
    const int kc = k - p0 < KC ? k - p0 : KC;
    matmul_pass(a + p0 * sak, b + p0 * n, bias, c, m, kc, n, sai, sak, p0 == 0, ws);
  }
}

/*
 * The rows of one product shared out among threads that each call this (the caller and dlvm's
 * helper threads, simd_helper.ts): C's rows in chunks of `rows` (the last one shorter), which each
 * thread claims one at a time from the counter at ctr until none is left, so that a thread the
 * system holds back takes fewer. ctr[0] is gen 4096 + the next chunk (the caller writes gen 4096
 * before it hands the product out: a thread still holding the arguments of an earlier product
 * finds another generation there and claims nothing); ctr[1] counts the chunks finished, and a
 * waiting caller is woken when it changes. Each element is computed by one thread in the kernel's
 * order: the same bits as one call of matmul.
 */
__attribute__((export_name("matmul_chunks"))) void matmul_chunks(const f32 *a, const f32 *b, const f32 *bias, f32 *c, int m, int k, int n, int sai,
                                                              int sak, f32 *ws, int *ctr, int rows, int gen) {
  const int chunks = (m + rows - 1) / rows;
  for (;;) {
    int v = __atomic_load_n(ctr, __ATOMIC_SEQ_CST);
    if ((v >> 12) != gen || (v & 4095) >= chunks) return;
    if (!__atomic_compare_exchange_n(ctr, &v, v + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) continue;
    const int i = (v & 4095) * rows;
    matmul(a + i * sai, b, bias, c + i * n, m - i < rows ? m - i : rows, k, n, sai, sak, ws);
    __atomic_fetch_add(ctr + 1, 1, __ATOMIC_SEQ_CST);
#ifdef __wasm_atomics__
    __builtin_wasm_memory_atomic_notify(ctr + 1, 1u << 30);
#endif
  }
}

/*
 * Convolutions as matrix products (NHWC, dilation 1): im2col gathers the patches of x into the rows
 * of col, one row per output position (n, i, j), one column per filter tap and input channel
 * (p, q, c), zeros where the patch overhangs the padding:
 *   col[((n oh + i) ow + j), ((p fw + q) ch + c)] = x[n, i sh + p - pt, j sw + q - pl, c]
 * so that conv(x, w) = col w with the filter [fh, fw, ch, co] read as (fh fw ch) x co. col2im is
 * its adjoint: it sums the columns of a patch matrix back onto the positions they were read from
 * (dx = col2im(dy w^T)), adding in the order of the loops.
 */
static inline void copy_run(f32 *dst, const f32 *src, int len) {
  int c = 0;
  for (; c + 4 <= len; c += 4) wasm_v128_store(dst + c, wasm_v128_load(src + c));
  for (; c < len; c++) dst[c] = src[c];
}
static inline void zero_run(f32 *dst, int len) {
  int c = 0;
  for (; c + 4 <= len; c += 4) wasm_v128_store(dst + c, wasm_f32x4_splat(0.0f));
  for (; c < len; c++) dst[c] = 0.0f;
}
static inline void add_run(f32 *dst, const f32 *src, int len) {
  int c = 0;
  for (; c + 4 <= len; c += 4) wasm_v128_store(dst + c, wasm_f32x4_add(wasm_v128_load(dst + c), wasm_v128_load(src + c)));
  for (; c < len; c++) dst[c] += src[c];
}

/* A run of n floats copied (n small, as a 1-channel patch row of 3: no vector loop). */
static inline void copy_short(f32 *dst, const f32 *src, int n) {
  if (n >= 4) {
    copy_run(dst, src, n);
    return;
  }
  for (int c = 0; c < n; c++) dst[c] = src[c];
}
static inline void add_short(f32 *dst, const f32 *src, int n) {
  if (n >= 4) {
    add_run(dst, src, n);
    return;
  }
  for (int c = 0; c < n; c++) dst[c] += src[c];
}

/*
 * One patch row p of output position (i, j): the fw ch values of input row r from column s0 on.
 * Inside the image they are contiguous in x (one run); at the edges, tap by tap.
 */
__attribute__((export_name("im2col"))) void im2col(const f32 *x, f32 *col, int batch, int h, int w, int ch, int oh, int ow, int fh, int fw, int sh,
                                                int sw, int pt, int pl) {
  const int run = fw * ch;
  for (int n = 0; n < batch; n++) {
    const f32 *xn = x + n * h * w * ch;
    for (int i = 0; i < oh; i++) {
      for (int j = 0; j < ow; j++) {
        const int s0 = j * sw - pl;
        const int inside = s0 >= 0 && s0 + fw <= w;
        for (int p = 0; p < fh; p++) {
          const int r = i * sh + p - pt;
          if (r < 0 || r >= h) {
            zero_run(col, run);
          } else if (inside) {
            copy_short(col, xn + (r * w + s0) * ch, run);
          } else {
            for (int q = 0; q < fw; q++) {
              const int s = s0 + q;
              if (s >= 0 && s < w) copy_short(col + q * ch, xn + (r * w + s) * ch, ch);
              else zero_run(col + q * ch, ch);
            }
          }
          col += run;
        }
      }
    }
  }
}

__attribute__((export_name("col2im"))) void col2im(const f32 *col, f32 *x, int batch, int h, int w, int ch, int oh, int ow, int fh, int fw, int sh,
                                                int sw, int pt, int pl) {
  const int run = fw * ch;
  zero_run(x, batch * h * w * ch);
  for (int n = 0; n < batch; n++) {
    f32 *xn = x + n * h * w * ch;
    for (int i = 0; i < oh; i++) {
      for (int j = 0; j < ow; j++) {
        const int s0 = j * sw - pl;
        const int inside = s0 >= 0 && s0 + fw <= w;
        for (int p = 0; p < fh; p++) {
          const int r = i * sh + p - pt;
          if (r >= 0 && r < h) {
            if (inside) {
              add_short(xn + (r * w + s0) * ch, col, run);
            } else {
              for (int q = 0; q < fw; q++) {
                const int s = s0 + q;
                if (s >= 0 && s < w) add_short(xn + (r * w + s) * ch, col + q * ch, ch);
              }
            }
          }
          col += run;
        }
      }
    }
  }
}

/*
 * y[b] = x[b]^T for `batch` row-major rows x cols matrices (y[b] is cols x rows), in tiles of
 * 16 x 16 (so the output rows a tile writes stay in the cache: untiled, a 512 x 784 transpose
 * wrote at a 2 KB stride and took 1.3 ns an element, tiled 0.24; tiles of 8, 32 and 64 were
 * slower), each in 4 x 4
 * blocks transposed in registers, the edges one element at a time. The right operand of A B^T is
 * transposed once so the product reads it in rows (tfjs's Transpose took 2 ns an element).
 */
#define TILE 16
__attribute__((export_name("transpose"))) void transpose(const f32 *x, f32 *y, int batch, int rows, int cols) {
  for (int b = 0; b < batch; b++, x += rows * cols, y += rows * cols) {
    for (int i0 = 0; i0 < rows; i0 += TILE) {
      const int i1 = i0 + TILE < rows ? i0 + TILE : rows;
      for (int j0 = 0; j0 < cols; j0 += TILE) {
        const int j1 = j0 + TILE < cols ? j0 + TILE : cols;
        int i = i0;
        for (; i + 4 <= i1; i += 4) {
          int j = j0;
          for (; j + 4 <= j1; j += 4) {
            const f32 *s = x + i * cols + j;
            const v128_t r0 = wasm_v128_load(s), r1 = wasm_v128_load(s + cols), r2 = wasm_v128_load(s + 2 * cols), r3 = wasm_v128_load(s + 3 * cols);
            const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);
            const v128_t t2 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
            f32 *d = y + j * rows + i;
            wasm_v128_store(d, wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5));
            wasm_v128_store(d + rows, wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7));
            wasm_v128_store(d + 2 * rows, wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5));
            wasm_v128_store(d + 3 * rows, wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7));
          }
          for (; j < j1; j++) {
            for (int r = i; r < i + 4; r++) y[j * rows + r] = x[r * cols + j];
          }
        }
        for (; i < i1; i++) {
          for (int j = j0; j < j1; j++) y[j * rows + i] = x[i * cols + j];
        }
      }
    }
  }
}

/*
 * Sums over the middle axis: out[a, j] = sum over i of x[a, i, j] for x [outer, r, inner], output
 * columns j in [j0, j1) (threads take column ranges or ranges of a). With inner > 1 each output
 * is the ordered float32 sum over i (the same bits as a sequential loop): columns in registers,
 * 16 at a time, where inner is at most 64; otherwise whole rows added onto the output in turn.
 * With inner = 1 (a sum of contiguous runs) each run is summed in 16 lanes (4 vectors, element e
 * in lane e mod 16), then the lanes in order, then the tail.
 */
static inline f32 lanes_sum(v128_t v) {
  return ((wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + wasm_f32x4_extract_lane(v, 2)) + wasm_f32x4_extract_lane(v, 3);
}
static f32 run_sum(const f32 *x, int r) {
  v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
  int i = 0;
  for (; i + 16 <= r; i += 16) {
    s0 = wasm_f32x4_add(s0, wasm_v128_load(x + i));
    s1 = wasm_f32x4_add(s1, wasm_v128_load(x + i + 4));
    s2 = wasm_f32x4_add(s2, wasm_v128_load(x + i + 8));
    s3 = wasm_f32x4_add(s3, wasm_v128_load(x + i + 12));
  }
  f32 s = lanes_sum(wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3)));
  for (; i < r; i++) s += x[i];
  return s;
}

__attribute__((export_name("reduce_sum"))) void reduce_sum(const f32 *x, f32 *out, int outer, int r, int inner, int j0, int j1) {
  for (int a = 0; a < outer; a++, x += r * inner, out += inner) {
    if (inner == 1) {
      out[0] = run_sum(x, r);
      continue;
    }
    if (inner > 64) {
      copy_run(out + j0, x + j0, j1 - j0);
      for (int i = 1; i < r; i++) add_run(out + j0, x + i * inner + j0, j1 - j0);
      continue;
    }
    int j = j0;
    for (; j + 16 <= j1; j += 16) {
      v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
      for (int i = 0; i < r; i++) {
        const f32 *row = x + i * inner + j;
        s0 = wasm_f32x4_add(s0, wasm_v128_load(row));
        s1 = wasm_f32x4_add(s1, wasm_v128_load(row + 4));
        s2 = wasm_f32x4_add(s2, wasm_v128_load(row + 8));
        s3 = wasm_f32x4_add(s3, wasm_v128_load(row + 12));
      }
      wasm_v128_store(out + j, s0);
      wasm_v128_store(out + j + 4, s1);
      wasm_v128_store(out + j + 8, s2);
      wasm_v128_store(out + j + 12, s3);
    }
    for (; j + 4 <= j1; j += 4) {
      v128_t s = wasm_f32x4_splat(0.0f);
      for (int i = 0; i < r; i++) s = wasm_f32x4_add(s, wasm_v128_load(x + i * inner + j));
      wasm_v128_store(out + j, s);
    }
    for (; j < j1; j++) {
      f32 s = 0.0f;
      for (int i = 0; i < r; i++) s += x[i * inner + j];
      out[j] = s;
    }
  }
}

/* relu as the cpu backend computes it, max(0, x) with NaN kept: x where x > 0 or x is NaN, else +0. */
__attribute__((export_name("relu"))) void relu(const f32 *x, f32 *out, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    wasm_v128_store(out + i, wasm_v128_and(v, wasm_v128_or(wasm_f32x4_gt(v, wasm_f32x4_splat(0.0f)), wasm_f32x4_ne(v, v))));
  }
  for (; i < n; i++) out[i] = (x[i] > 0.0f || x[i] != x[i]) ? x[i] : 0.0f;
}

/*
 * The Bernoulli log-density summed over runs of `len` elements: out[r] = sum over e of
 * lp(l[r len + e], x[r len + e]) (an Independent Bernoulli's logProb, as in IWAE's decoder),
 * without writing the elementwise values. Each run's terms are summed in 4 lanes (element e in
 * lane e mod 4; a tail of 1 to 3 through the four-lane body, its padding lanes masked to 0), then
 * the lanes in order.
 */
__attribute__((export_name("bernoulli_log_prob_sum"))) void bernoulli_log_prob_sum(const f32 *l, const f32 *x, f32 *out, int rows, int len) {
  for (int r = 0; r < rows; r++, l += len, x += len) {
    v128_t s = wasm_f32x4_splat(0.0f);
    int e = 0;
    for (; e + 4 <= len; e += 4) s = wasm_f32x4_add(s, bernoulli_lp4(wasm_v128_load(l + e), wasm_v128_load(x + e)));
    if (e < len) {
      const int k = len - e;
      const v128_t lane = wasm_i32x4_make(0, 1, 2, 3);
      const v128_t live = wasm_i32x4_lt(lane, wasm_i32x4_splat(k));
      s = wasm_f32x4_add(s, wasm_v128_and(bernoulli_lp4(load_tail(l + e, k), load_tail(x + e, k)), live));
    }
    out[r] = lanes_sum(s);
  }
}

/*
 * relu's gradient, dy step(x) as tfjs-core's composite computes it (step(x) = 1 for x > 0, 0
 * otherwise, NaN for NaN): one pass where the composite is Step, Cast and Multiply. The same bits:
 * dy 1 = dy, dy 0 = +-0 (NaN for infinite dy), dy NaN = NaN.
 */
__attribute__((export_name("relu_grad"))) void relu_grad(const f32 *dy, const f32 *x, f32 *out, int n) {
  int i = 0;
  const v128_t one = wasm_f32x4_splat(1.0f), zero = wasm_f32x4_splat(0.0f);
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    const v128_t step = wasm_v128_bitselect(v, wasm_v128_bitselect(one, zero, wasm_f32x4_gt(v, zero)), wasm_f32x4_ne(v, v));
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(dy + i), step));
  }
  for (; i < n; i++) out[i] = dy[i] * (x[i] != x[i] ? x[i] : x[i] > 0.0f ? 1.0f : 0.0f);
}
