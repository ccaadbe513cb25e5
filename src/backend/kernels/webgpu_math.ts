/**
 * Accurate elementwise math for the webgpu backend. tfjs-backend-webgpu 4.22 evaluates these with
 * WGSL built-ins, whose accuracy the WGSL spec leaves loose (`log` is 2^-21 absolute on
 * [0.5, 2]; `exp` is 3 + 2|x| ulp) and with textbook formulas that cancel (`log(1 + a)`,
 * `exp(a) - 1`, `log(exp(a) + 1)`, `(1 - e^-2|a|) / (1 + e^-2|a|)`). Measured on Dawn over
 * llvmpipe against the cpu backend: log(1 - 2^-24) 73% off, log1p(3e-8) 240%, expm1(1e-7) and
 * tanh(1e-10) wrong in every digit, softplus(-13) 4%, erf(1e-9) 58x, sinh(89) infinite.
 *
 * Each kernel here runs one WGSL function built from two exact-ish primitives:
 * - `dlvm_log`: the exponent is taken from the bits, the significand m is brought to
 *   [sqrt(1/2), sqrt(2)] and log(m) = log1p(f), f = m - 1 exactly, is 2 atanh(f / (2 + f)) by
 *   its odd series (fdlibm's `log1pf` layout), plus k ln 2 in two parts (Cody and Waite).
 * - `dlvm_exp`: k = round(x / ln 2), r = x - k ln 2 in two parts, e^r by its Taylor series to
 *   r^7, and 2^k applied in two halves so neither power overflows.
 * Every function checks NaN on the bits first (Mesa may fold comparisons with NaN).
 *
 * Small tensors whose data is still on the CPU are computed there in double precision, as the
 * stock kernels that hand off to the CPU do.
 */
import {
  backend_util,
  Cosh,
  Elu,
  Erf,
  Exp,
  Expm1,
  Log,
  Log1p,
  Selu,
  Sigmoid,
  Sinh,
  Softplus,
  Tanh,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { flatProgram, type WebGpuBackendLike, type WebGpuProgram } from './webgpu_program.js';

/** WGSL literal for a float constant (always with a decimal point or exponent, so it is f32). */
function lit(v: number): string {
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

const { ERF_P, ERF_A1, ERF_A2, ERF_A3, ERF_A4, ERF_A5, SELU_SCALE, SELU_SCALEALPHA } = backend_util;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** A WGSL function and the library functions it calls. */
interface WgslFn {
  deps: string[];
  code: string;
}

const LIB: Record<string, WgslFn> = {
  dlvm_log1p_core: {
    deps: [],
    code: `
// log(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1], f exact: with s = f / (2 + f),
// log(1 + f) = 2 atanh(s) = f - (hfsq - s (hfsq + R)), R = 2 atanh(s) / s - 2 = 2z/3 + 2z^2/5 + ...
fn dlvm_log1p_core(f : f32) -> f32 {
  let s = f / (2.0 + f);
  let z = s * s;
  let R = z * (${lit(2 / 3)} + z * (0.4 + z * (${lit(2 / 7)} + z * ${lit(2 / 9)})));
  let hfsq = 0.5 * f * f;
  return f - (hfsq - s * (hfsq + R));
}`,
  },
  dlvm_log: {
    deps: ['dlvm_log1p_core'],
    code: `
fn dlvm_log(x : f32) -> f32 {
  var bits = bitcast<u32>(x);
  let mag = bits & 0x7fffffffu;
  if (mag > 0x7f800000u || bits == 0x7f800000u) { return x; }   // NaN, +inf
  if (mag == 0u) { return -uniforms.INFINITY; }
  if (bits >= 0x80000000u) { return uniforms.NAN; }
  var e = i32(bits >> 23u) - 127;
  if (e == -127) {
    // Subnormal (decoded from the bits, so hardware that flushes subnormals agrees with the cpu).
    let shift = 23u - firstLeadingBit(bits);
    bits = bits << shift;
    e = -126 - i32(shift);
  }
  var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
  if (m > 1.41421356) {
    m = 0.5 * m;
    e = e + 1;
  }
  let k = f32(e);
  // ln 2 = LN2_HI + LN2_LO; LN2_HI has 16 significant bits, so k * LN2_HI is exact.
  return k * bitcast<f32>(0x3f317180u) + (dlvm_log1p_core(m - 1.0) + k * bitcast<f32>(0x3717f7d1u));
}`,
  },
  dlvm_log1p: {
    deps: ['dlvm_log1p_core', 'dlvm_log'],
    code: `
fn dlvm_log1p(a : f32) -> f32 {
  if (isnan(a) || a == uniforms.INFINITY) { return a; }
  if (a > -0.29289321 && a < 0.41421356) { return dlvm_log1p_core(a); }
  if (a <= -1.0) { return select(uniforms.NAN, -uniforms.INFINITY, a == -1.0); }
  let u = 1.0 + a;
  // c = (1 + a) - u exactly (Fast2Sum, larger operand first); log(1 + a) = log(u) + c / u.
  let c = select(a - (u - 1.0), 1.0 - (u - a), a > 1.0);
  return dlvm_log(u) + c / u;
}`,
  },
  dlvm_exp: {
    deps: [],
    code: `
fn dlvm_exp(x : f32) -> f32 {
  if (isnan(x)) { return x; }
  if (x >= 88.72283935546875) { return uniforms.INFINITY; }
  if (x < -103.972084) { return 0.0; }
  let k = round(x * ${lit(Math.LOG2E)});
  // r = x - k ln 2 with ln 2 = 0x3f317200 + 0x35bfbe8e (k * hi exact for |k| < 512); |r| <= ln(2)/2.
  let r = (x - k * bitcast<f32>(0x3f317200u)) - k * bitcast<f32>(0x35bfbe8eu);
  let p = 1.0 + (r + r * r * (0.5 + r * (${lit(1 / 6)} + r * (${lit(1 / 24)} + r * (${lit(1 / 120)} + r * (${lit(1 / 720)} + r * ${lit(1 / 5040)}))))));
  // 2^k in two factors, each a normal float for k in [-150, 128].
  let ki = i32(k);
  let k1 = ki >> 1u;
  let k2 = ki - k1;
  return (p * bitcast<f32>(u32(k1 + 127) << 23u)) * bitcast<f32>(u32(k2 + 127) << 23u);
}`,
  },
  dlvm_expm1: {
    deps: ['dlvm_exp'],
    code: `
fn dlvm_expm1(a : f32) -> f32 {
  if (abs(a) < 0.34657359) {
    // |a| < ln(2)/2: Taylor series to a^8/8! (next term below 1e-9 relative).
    return a + a * a * (0.5 + a * (${lit(1 / 6)} + a * (${lit(1 / 24)} + a * (${lit(1 / 120)} + a * (${lit(1 / 720)} + a * (${lit(1 / 5040)} + a * ${lit(1 / 40320)}))))));
  }
  return dlvm_exp(a) - 1.0;
}`,
  },
  dlvm_softplus: {
    deps: ['dlvm_exp', 'dlvm_log1p'],
    code: `
fn dlvm_softplus(a : f32) -> f32 {
  if (isnan(a)) { return a; }
  // max(a, 0) + log1p(e^-|a|): exp never overflows and log1p keeps the small tail exact.
  return max(a, 0.0) + dlvm_log1p(dlvm_exp(-abs(a)));
}`,
  },
  dlvm_sigmoid: {
    deps: ['dlvm_exp'],
    code: `
fn dlvm_sigmoid(a : f32) -> f32 {
  if (isnan(a)) { return a; }
  let e = dlvm_exp(-abs(a));
  let r = 1.0 / (1.0 + e);
  return select(r, e * r, a < 0.0);
}`,
  },
  dlvm_tanh: {
    deps: ['dlvm_expm1'],
    code: `
fn dlvm_tanh(a : f32) -> f32 {
  if (isnan(a)) { return a; }
  let t = dlvm_expm1(-2.0 * abs(a));
  let r = -t / (2.0 + t);
  return select(r, -r, a < 0.0);
}`,
  },
  dlvm_sinh: {
    deps: ['dlvm_exp', 'dlvm_expm1'],
    code: `
fn dlvm_sinh(a : f32) -> f32 {
  if (isnan(a)) { return a; }
  let x = abs(a);
  var r : f32;
  if (x < 1.0) {
    let e = dlvm_expm1(x);
    r = 0.5 * (e + e / (e + 1.0));
  } else if (x < 10.0) {
    let e = dlvm_exp(x);
    r = 0.5 * (e - 1.0 / e);
  } else {
    // e^x / 2 as (e^(x/2) / 2) e^(x/2), finite up to the largest float.
    let h = dlvm_exp(0.5 * x);
    r = (0.5 * h) * h;
  }
  return select(r, -r, a < 0.0);
}`,
  },
  dlvm_cosh: {
    deps: ['dlvm_exp'],
    code: `
fn dlvm_cosh(a : f32) -> f32 {
  if (isnan(a)) { return a; }
  let x = abs(a);
  if (x < 10.0) {
    let e = dlvm_exp(x);
    return 0.5 * (e + 1.0 / e);
  }
  let h = dlvm_exp(0.5 * x);
  return (0.5 * h) * h;
}`,
  },
  dlvm_erf: {
    deps: ['dlvm_exp'],
    code: `
fn dlvm_erf(a : f32) -> f32 {
  if (isnan(a)) { return a; }
  let x = abs(a);
  if (x < 0.5) {
    // Maclaurin series 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1)), to x^13.
    let z = x * x;
    let r = x * (${lit(TWO_OVER_SQRT_PI)} + z * (${lit(-TWO_OVER_SQRT_PI / 3)} + z * (${lit(TWO_OVER_SQRT_PI / 10)} + z * (${lit(-TWO_OVER_SQRT_PI / 42)} + z * (${lit(TWO_OVER_SQRT_PI / 216)} + z * (${lit(-TWO_OVER_SQRT_PI / 1320)} + z * ${lit(TWO_OVER_SQRT_PI / 9360)}))))));
    return select(r, -r, a < 0.0);
  }
  // Abramowitz and Stegun 7.1.26, as the cpu backend computes it.
  let t = 1.0 / (1.0 + ${lit(ERF_P)} * x);
  let poly = ((((${lit(ERF_A5)} * t + ${lit(ERF_A4)}) * t + ${lit(ERF_A3)}) * t + ${lit(ERF_A2)}) * t + ${lit(ERF_A1)}) * t;
  let r = 1.0 - poly * dlvm_exp(-x * x);
  return select(r, -r, a < 0.0);
}`,
  },
  dlvm_elu: {
    deps: ['dlvm_expm1'],
    code: `
fn dlvm_elu(a : f32) -> f32 {
  if (isnan(a)) { return a; }
  return select(dlvm_expm1(a), a, a >= 0.0);
}`,
  },
  dlvm_selu: {
    deps: ['dlvm_expm1'],
    code: `
fn dlvm_selu(a : f32) -> f32 {
  if (isnan(a)) { return a; }
  return select(${lit(SELU_SCALEALPHA)} * dlvm_expm1(a), ${lit(SELU_SCALE)} * a, a >= 0.0);
}`,
  },
};

/** The WGSL source of `name` and everything it calls, each function once. */
export function wgslLibrary(name: string): string {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    const fn = LIB[n];
    if (fn == null) throw new Error(`wgslLibrary: no WGSL function '${n}'`);
    fn.deps.forEach(visit);
    out.push(fn.code);
  };
  visit(name);
  return out.join('\n');
}

/** One WGSL function applied elementwise to a float32 tensor. */
class UnaryMathProgram implements WebGpuProgram {
  variableNames = ['A'];
  size = true;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [128, 1, 1];
  shaderKey: string;

  constructor(
    shape: number[],
    private readonly fn: string,
  ) {
    ({ outputShape: this.outputShape, dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatProgram(shape, this.workgroupSize));
    this.shaderKey = `dlvm_unary_${fn}`;
  }

  getUserCode(): string {
    return `
${wgslLibrary(this.fn)}
fn main(index : i32) {
  if (index < uniforms.size) {
    setOutputAtIndex(index, ${this.fn}(getAByOutputIndex(index)));
  }
}`;
  }
}

/** cpu-side versions (double precision, rounded once) for tensors whose data is on the CPU. */
function erfNumber(xi: number): number {
  const x = Math.abs(xi);
  let r: number;
  if (x < 0.5) {
    const z = x * x;
    let s = 0;
    let term = x;
    for (let n = 0; n < 12; n++) {
      s += term / (2 * n + 1);
      term *= -z / (n + 1);
    }
    r = TWO_OVER_SQRT_PI * s;
  } else {
    const t = 1 / (1 + ERF_P * x);
    r = 1 - ((((ERF_A5 * t + ERF_A4) * t + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t * Math.exp(-x * x);
  }
  return xi < 0 ? -r : Number.isNaN(xi) ? NaN : r;
}

/** A dlvm webgpu math kernel: which tfjs kernel, its WGSL function, its double-precision twin. */
interface MathOp {
  kernelName: string;
  fn: string;
  cpu: (x: number) => number;
}

const MATH_OPS: MathOp[] = [
  { kernelName: Exp, fn: 'dlvm_exp', cpu: Math.exp },
  { kernelName: Log, fn: 'dlvm_log', cpu: Math.log },
  { kernelName: Log1p, fn: 'dlvm_log1p', cpu: Math.log1p },
  { kernelName: Expm1, fn: 'dlvm_expm1', cpu: Math.expm1 },
  { kernelName: Softplus, fn: 'dlvm_softplus', cpu: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))) },
  { kernelName: Sigmoid, fn: 'dlvm_sigmoid', cpu: (x) => 1 / (1 + Math.exp(-x)) },
  { kernelName: Tanh, fn: 'dlvm_tanh', cpu: Math.tanh },
  { kernelName: Sinh, fn: 'dlvm_sinh', cpu: Math.sinh },
  { kernelName: Cosh, fn: 'dlvm_cosh', cpu: Math.cosh },
  { kernelName: Erf, fn: 'dlvm_erf', cpu: erfNumber },
  { kernelName: Elu, fn: 'dlvm_elu', cpu: (x) => (x >= 0 ? x : Math.expm1(x)) },
  { kernelName: Selu, fn: 'dlvm_selu', cpu: (x) => (x >= 0 ? SELU_SCALE * x : SELU_SCALEALPHA * Math.expm1(x)) },
];

/**
 * The accurate webgpu math kernels (Exp, Log, Log1p, Expm1, Softplus, Sigmoid, Tanh, Sinh,
 * Cosh, Erf, Elu, Selu). Non-float32 inputs go to the stock kernel. Gradients are tfjs-core's,
 * defined per kernel name, so they are unchanged.
 *
 * @param stock the stock webgpu config of a kernel name (undefined: that kernel is skipped).
 * @param onCall run before every call with the backend (dlvm uses it to install its program fixes).
 */
export function makeWebGpuMathKernels(
  stock: (kernelName: string) => KernelConfig | undefined,
  onCall: (backend: WebGpuBackendLike) => void = () => {},
): KernelConfig[] {
  const configs: KernelConfig[] = [];
  for (const op of MATH_OPS) {
    const original = stock(op.kernelName);
    if (original == null) continue;
    const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
      const { x } = args.inputs as { x: TensorInfo };
      const backend = args.backend as WebGpuBackendLike;
      onCall(backend);
      if (x.dtype !== 'float32') return original.kernelFunc(args);
      if (backend.shouldExecuteOnCPU([x])) {
        const values = backend.tensorMap.get(x.dataId)?.values;
        if (values instanceof Float32Array) {
          const out = new Float32Array(values.length);
          for (let i = 0; i < out.length; i++) out[i] = op.cpu(values[i]!);
          return backend.makeTensorInfo(x.shape, 'float32', out);
        }
      }
      return backend.runWebGPUProgram(new UnaryMathProgram(x.shape, op.fn), [x], 'float32');
    };
    configs.push({ kernelName: op.kernelName, backendName: 'webgpu', kernelFunc: kernelFunc as KernelFunc });
  }
  return configs;
}
