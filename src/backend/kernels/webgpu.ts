/**
 * dlvm's fixes for tfjs-backend-webgpu 4.22 (see the table in register.ts).
 *
 * Four stock shaders are wrong, and the kernels that run them also call them internally (every
 * reduction over a non-innermost axis transposes first; ArgMax, ArgMin, Cumsum, Cumprod,
 * UnsortedSegmentSum, Einsum and BatchToSpaceND call the stock `transpose` function directly),
 * so replacing registered kernels cannot reach them; so are snippets shared by many programs (the
 * activation bodies and the matmul reads of b, the last two items). dlvm therefore wraps
 * `WebGPUBackend.prototype.runWebGPUProgram` and swaps those programs before they compile:
 * - TransposeProgram on int32 / bool data passes the i32 element to the f32 `setOutputAtIndex`:
 *   the WGSL does not compile, Dawn only logs a validation error and the output buffer is left
 *   as it was (zeros or a previous result). TransposeSharedProgram (2-D `[1, 0]`) goes through
 *   an f32 tile, rounding integers above 2^24. Both are replaced by an i32 copy for int/bool
 *   input; float32 transposes keep the stock programs.
 * - ArgMinMaxProgram's workgroup reduction (rows of 32 or more) breaks ties by thread rather
 *   than by index, and skips a leading NaN: argMax of a row with repeated maxima returned a
 *   later index than the cpu backend's first one. Replaced by the same reduction with ties to
 *   the lower index and the cpu backend's NaN rule.
 * - UnsortedSegmentSumProgram on int32 data adds the bit patterns of the elements read as f32
 *   (`bitcast<i32>`), not their values: sums came out near 2^31. Replaced by an i32 body.
 * - CumProgram with `reverse` bakes the row length into the shader but not into its cache key,
 *   so a reverse cumsum reused the pipeline of an earlier one of the same rank: the key gets the
 *   length.
 * - The relu and relu6 bodies (`select(a, 0.0, a < 0.0)`, `clamp(a, 0.0, 6.0)`), in the Relu and
 *   Relu6 programs and in every fused program (matmul, conv2d, depthwise conv2d, bias +
 *   activation), return 0 for NaN where the driver compiles them as max / min (Mesa does; WGSL
 *   lets implementations assume there is no NaN), and the vec4 leakyrelu / prelu bodies compute
 *   `(a < 0) * (alpha a) + (1 - (a < 0)) * a`, NaN for infinite a under IEEE arithmetic (Mesa
 *   happens to fold the products away, so llvmpipe does not show it). Each is replaced by a
 *   select with the prelude's bit-pattern `isnan` (which no fast-math rule folds), so NaN and
 *   infinities come out as on the cpu backend.
 * - The matmul programs read b without bounds: with transposeB, reads past the end of a row of b
 *   took the next row's elements, and otherwise reads past the inner size ran off the buffer
 *   (robust access clamps them to its last element). Both were multiplied by the zero padding of
 *   a, so one infinite or NaN element of b made whole columns, or the whole product, NaN (0 * inf).
 *   The read is bounded as the read of a already is. MatMulSplitKProgram (batch 1, few output
 *   tiles, inner size >= 2000) with transposeB and vec4 elements read four inner elements of one
 *   row of b where it needed one element of four rows: the product was wrong (errors of 3 on
 *   sums of 2000 terms of size 1); dlvm gathers the right four.
 * The wrapper is installed on the class the backend instances share, and taken off again by
 * `restoreStockKernels`.
 *
 * The stock Cast kernel is wrong too, and is replaced: from int32 or bool to float32 it returns
 * the input's buffer relabelled (tfjs's "no encoding loss" shortcut), but the buffer holds i32
 * elements and stays marked int32 / bool in the backend, while the tensor says float32. Programs
 * that read through the generated getters convert, but the stock TransposeProgram (so every
 * reduction over a non-innermost axis) passes the i32 element to the f32 output: the WGSL does
 * not compile, Dawn drops the whole command buffer it was batched in, and the transpose and the
 * other results of that batch came out as zeros or stale buffer contents (1.4e-42, NaN). The
 * IntTransposeProgram fix does not apply, as the tensor says float32. dlvm's Cast converts
 * such tensors (`f32(A[i])` on the GPU; on the CPU while their data is small and still there)
 * and leaves every other cast to the stock kernel.
 */
import {
  _FusedMatMul,
  AddN,
  ArgMax,
  ArgMin,
  BatchMatMul,
  Cast,
  Cumprod,
  Cumsum,
  FusedConv2D,
  FusedDepthwiseConv2D,
  Prelu,
  Relu,
  Relu6,
  Transpose,
  UnsortedSegmentSum,
  type CastAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { makeWebGpuMathKernels } from './webgpu_math.js';
import { COORD_NAMES, coordsType, flatProgram, type WebGpuBackendLike, type WebGpuProgram } from './webgpu_program.js';

/** A program with one input `A` and a flat output of `outputShape`, 64 invocations per workgroup. */
abstract class FlatProgramOfA implements WebGpuProgram {
  variableNames = ['A'];
  size = true;
  workgroupSize: [number, number, number] = [64, 1, 1];
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  abstract shaderKey: string;

  protected constructor(outputShape: number[]) {
    ({ outputShape: this.outputShape, dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatProgram(outputShape, this.workgroupSize));
  }

  abstract getUserCode(): string;
}

/** A transpose of int32 / bool data that copies i32 elements (no f32 round trip). */
class IntTransposeProgram extends FlatProgramOfA {
  shaderKey: string;

  constructor(
    aShape: number[],
    private readonly perm: number[],
  ) {
    super(perm.map((p) => aShape[p]!));
    this.shaderKey = `dlvm_transpose_i32_${perm.join(',')}`;
  }

  getUserCode(): string {
    const rank = this.outputShape.length;
    // Input coordinate perm[i] is output coordinate i.
    const switched = new Array<string>(rank);
    this.perm.forEach((p, i) => (switched[p] = rank === 1 ? 'coords' : `coords.${COORD_NAMES[i]}`));
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    let coords = getCoordsFromIndex(index);
    setOutputAtIndexI32(index, A[getIndexFromCoords${rank}D(${coordsType(rank)}(${switched.join(', ')}), uniforms.aShape)]);
  }
}`;
  }
}

/** int32 / bool to float32 by value: each i32 element converted with `f32()`. */
class IntToFloatProgram extends FlatProgramOfA {
  shaderKey = 'dlvm_cast_i32_f32';

  constructor(shape: number[]) {
    super(shape);
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    setOutputAtIndex(index, f32(A[index]));
  }
}`;
  }
}

/**
 * ArgMax / ArgMin along the innermost axis, one workgroup per output: each invocation scans a
 * strided share of the row, then a tree reduction keeps the better value, ties to the lower
 * index. NaN is skipped except at index 0, where it wins (the cpu backend starts from element 0
 * and replaces it only by a strictly better value).
 */
class ArgMinMaxProgram implements WebGpuProgram {
  variableNames = ['x'];
  // Declared as the stock program does: the stock kernel passes its value.
  uniforms = 'infinityValue : f32,';
  size = true;
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey: string;

  constructor(
    private readonly inputShape: number[],
    private readonly op: '<' | '>',
    public outputShape: number[],
  ) {
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [outputShape.reduce((a, b) => a * b, 1), 1, 1];
    this.shaderKey = `dlvm_argMinMax_${op === '<' ? 'min' : 'max'}`;
  }

  getUserCode(): string {
    const rank = this.inputShape.length;
    const n = this.workgroupSize[0];
    const reduceLength = rank === 1 ? 'uniforms.xShape' : `uniforms.xShape.${COORD_NAMES[rank - 1]}`;
    const outer =
      rank === 1
        ? ''
        : rank === 2
          ? 'outputCoords, '
          : COORD_NAMES.slice(0, rank - 1)
              .map((c) => `outputCoords.${c}, `)
              .join('');
    const op = this.op;
    return `
var<workgroup> bestIndex : array<i32, ${n}>;
var<workgroup> bestValue : array<f32, ${n}>;
fn main(index : i32) {
  let outputIndex = index / ${n};
  let tid = i32(localId.x);
  let reduceLength = ${reduceLength};
  var bi = -1;
  var bv = 0.0;
  if (outputIndex < uniforms.size) {
    let outputCoords = getCoordsFromIndex(outputIndex);
    for (var k = tid; k < reduceLength; k = k + ${n}) {
      let v = getX(${outer}k);
      if (!isnan(v) && (bi < 0 || v ${op} bv)) {
        bv = v;
        bi = k;
      }
    }
  }
  bestIndex[localId.x] = bi;
  bestValue[localId.x] = bv;
  workgroupBarrier();
  for (var s = ${n / 2}u; s > 0u; s = s >> 1u) {
    if (localId.x < s) {
      let oi = bestIndex[localId.x + s];
      let ov = bestValue[localId.x + s];
      let mi = bestIndex[localId.x];
      let mv = bestValue[localId.x];
      if (oi >= 0 && (mi < 0 || ov ${op} mv || (ov == mv && oi < mi))) {
        bestIndex[localId.x] = oi;
        bestValue[localId.x] = ov;
      }
    }
    workgroupBarrier();
  }
  if (localId.x == 0u && outputIndex < uniforms.size) {
    let outputCoords = getCoordsFromIndex(outputIndex);
    let first = getX(${outer}0);
    setOutputAtIndexI32(outputIndex, select(bestIndex[0], 0, isnan(first) || bestIndex[0] < 0));
  }
}`;
  }
}

/**
 * UnsortedSegmentSumProgram's body for int32 data: the stock one adds `bitcast<i32>` of the f32
 * element (its bit pattern, not its value). `x` is the contiguous [rows, inSize] input, so
 * `x[index]` is the element at (b, inCol), read as i32.
 */
const INT_SEGMENT_SUM = `
fn main(index : i32) {
  if (index < uniforms.xSize) {
    let coords = getXCoordsFromIndex(index);
    let b = coords[0];
    let inCol = coords[1];
    let segmentId = i32(getSegmentIds(inCol));
    if (segmentId >= 0) {
      let flatIndex = b * uniforms.numSegments + segmentId % uniforms.numSegments;
      atomicAdd(&result[flatIndex], x[index]);
    }
  }
}`;

/** The program to run instead of `program` (itself when it is fine). */
function fixProgram(program: WebGpuProgram, inputs: TensorInfo[]): WebGpuProgram {
  const key = program.shaderKey;
  if (typeof key !== 'string') return program;
  const p = program as WebGpuProgram & {
    newDim?: unknown;
    type?: unknown;
    inputShape?: unknown;
    op?: unknown;
    reverse?: unknown;
    fitInner?: unknown;
    fitBOuter?: unknown;
    transposeB?: unknown;
    outputComponent?: unknown;
  };
  if (key === 'transposeShared' || (key.startsWith('transpose_') && Array.isArray(p.newDim))) {
    const x = inputs[0];
    if (x != null && x.dtype !== 'float32') {
      return new IntTransposeProgram(x.shape, key === 'transposeShared' ? [1, 0] : (p.newDim as number[]));
    }
  } else if (key.startsWith('argMinMax_') && p.type === 'shared' && Array.isArray(p.inputShape)) {
    return new ArgMinMaxProgram(p.inputShape as number[], p.op === '<' ? '<' : '>', program.outputShape);
  } else if (key === 'unsortedSegmentSum' && p.type === 'int32') {
    return { ...program, shaderKey: 'dlvm_unsortedSegmentSum_i32', getUserCode: () => INT_SEGMENT_SUM };
  } else if (key.startsWith('cum_') && p.reverse === true) {
    program.shaderKey = `${key}_n${program.outputShape[program.outputShape.length - 1]}`;
  }
  const edits: [string, string][] = [];
  let suffix = '';
  if (dropsNaN(program)) {
    edits.push(...NAN_SAFE_BODIES);
    suffix += '_dlvmNaN';
  }
  if (key.startsWith('matMulSplitK_') && p.transposeB === true && p.outputComponent === 4) {
    edits.push(SPLIT_K_TRANSPOSED_B_READ);
    suffix += '_dlvmGatherB';
  } else if (key.startsWith('matMul') && !(p.fitInner === true && p.fitBOuter === true)) {
    edits.push(...BOUNDED_B_READS);
    suffix += '_dlvmBoundedB';
  }
  if (edits.length > 0 && !(EDITED in program)) {
    const stockCode = program.getUserCode.bind(program);
    program.getUserCode = () => edits.reduce((code, [from, to]) => code.split(from).join(to), stockCode());
    program.shaderKey = `${program.shaderKey}${suffix}`;
    Object.defineProperty(program, EDITED, { value: true });
  }
  return program;
}

/** Marks a program whose code dlvm has edited (so that a program run twice is edited once). */
const EDITED = Symbol('dlvm: edited WGSL');

/** tfjs-backend-webgpu 4.22's `UnaryOpType.RELU`, `UnaryOpType.RELU6` and `BinaryOpType.PRELU`. */
const UNARY_RELU = 23;
const UNARY_RELU6 = 24;
const BINARY_PRELU = 20;

/** Activations whose stock WGSL bodies lose NaN or make one (see the note at the top). */
const CLAMPING_ACTIVATIONS = ['relu', 'relu6', 'leakyrelu', 'prelu'];

/** Whether `program` runs one of the stock relu, relu6, vec4 leakyrelu or vec4 prelu bodies. */
function dropsNaN(program: WebGpuProgram): boolean {
  const p = program as WebGpuProgram & { activation?: unknown; op?: unknown; outputComponent?: unknown };
  if (typeof p.activation === 'string') return CLAMPING_ACTIVATIONS.includes(p.activation);
  const key = program.shaderKey;
  if (key === `unary_${UNARY_RELU}` || key === `unary_${UNARY_RELU6}`) return true;
  return key.startsWith(`binary_${BINARY_PRELU}_`) && p.op === BINARY_PRELU && p.outputComponent === 4;
}

/**
 * The stock activation bodies (tfjs-backend-webgpu 4.22 `unary_op_util`, `binary_op_util`) and
 * their replacements: each keeps the stock expression and returns `a` itself where it is NaN;
 * the vec4 leakyrelu / prelu become selects (`alpha * a` for a < 0, else a).
 */
const NAN_SAFE_BODIES: [string, string][] = [
  ['return select(a, 0.0, a < 0.0);', 'return select(select(a, 0.0, a < 0.0), a, isnan(a));'],
  ['return select(a, vec4<f32>(0.0), a < vec4<f32>(0.0));', 'return select(select(a, vec4<f32>(0.0), a < vec4<f32>(0.0)), a, isnanVec4(a));'],
  ['return clamp(a, 0.0, 6.0);', 'return select(clamp(a, 0.0, 6.0), a, isnan(a));'],
  [
    'return clamp(a, vec4<f32>(0.0, 0.0, 0.0, 0.0), vec4<f32>(6.0, 6.0, 6.0, 6.0));',
    'return select(clamp(a, vec4<f32>(0.0), vec4<f32>(6.0)), a, isnanVec4(a));',
  ],
  [
    'return (aLessThanZero * (uniforms.alpha * a)) + ((vec4<f32>(1.0) - aLessThanZero) * a);',
    'return select(select(a, uniforms.alpha * a, a < vec4<f32>(0.0)), a, isnanVec4(a));',
  ],
  ['return (aLessThanZero * (b * a)) + ((vec4<f32>(1.0) - aLessThanZero) * a);', 'return select(select(a, b * a, a < vec4<f32>(0.0)), a, isnanVec4(a));'],
];

/**
 * The matmul programs' unbounded reads of b (`mm_readB`; b is [batch, inner, outer], or
 * [batch, outer, inner] with transposeB), bounded like the reads of a: outside, the value is 0.
 */
const BOUNDED_B_READS: [string, string][] = [
  ['value = getB(batch, col, row);', 'if (row < uniforms.dimInner && col < uniforms.dimBOuter) { value = getB(batch, col, row); }'],
  ['value = getB(batch, row, col);', 'if (row < uniforms.dimInner && col < uniforms.dimBOuter) { value = getB(batch, row, col); }'],
];

/**
 * MatMulSplitKProgram's read of b with transposeB and vec4 elements: the stock read returns four
 * consecutive elements of a row of b ([batch, outer, inner]: four inner indices), where the
 * product needs four outer indices at one inner index. This gathers those four (stride: the
 * inner size) from the vec4 array, within bounds.
 */
const SPLIT_K_TRANSPOSED_B_READ: [string, string] = [
  'value = getB(batch, col, row);',
  `if (row < uniforms.dimInner && col < uniforms.dimBOuter) {
      let i = getIndexFromCoords3D(vec3<i32>(batch, col, row), uniforms.bShape);
      let s = uniforms.bShape[2];
      value = vec4<f32>(B[i / 4][i % 4], B[(i + s) / 4][(i + s) % 4], B[(i + 2 * s) / 4][(i + 2 * s) % 4], B[(i + 3 * s) / 4][(i + 3 * s) % 4]);
    }`,
];

type RunProgram = WebGpuBackendLike['runWebGPUProgram'];

const ORIGINAL = Symbol('dlvm: stock runWebGPUProgram');

interface Patchable {
  runWebGPUProgram: RunProgram;
  [ORIGINAL]?: RunProgram;
}

/** Prototypes dlvm has seen (kept after removal so that re-installing finds them again). */
const known = new Set<Patchable>();

/** The object in `target`'s prototype chain (or a class's prototype) that defines runWebGPUProgram. */
function owner(target: object): Patchable | null {
  let o: object | null = typeof target === 'function' ? ((target as { prototype?: object }).prototype ?? null) : target;
  while (o != null && !Object.prototype.hasOwnProperty.call(o, 'runWebGPUProgram')) o = Object.getPrototypeOf(o) as object | null;
  return o != null && typeof (o as Patchable).runWebGPUProgram === 'function' ? (o as Patchable) : null;
}

/**
 * Installs dlvm's program fixes (int/bool transposes, ArgMax/ArgMin ties, int32
 * UnsortedSegmentSum, reverse cumsum, NaN through relu / relu6 / leakyrelu / prelu, bounded
 * matmul reads of b) on tfjs-backend-webgpu's `WebGPUBackend`, and on every class it was
 * installed on before and then removed from. Idempotent.
 *
 * @param target the `WebGPUBackend` class or a backend instance; omitted: only re-installs.
 * @returns whether any class now carries the fixes.
 */
export function installWebGpuProgramFixes(target?: object): boolean {
  if (target != null) {
    const proto = owner(target);
    if (proto != null && !known.has(proto)) known.add(proto);
  }
  for (const proto of known) {
    if (proto[ORIGINAL] != null) continue;
    const stock = proto.runWebGPUProgram;
    proto[ORIGINAL] = stock;
    proto.runWebGPUProgram = function (this: WebGpuBackendLike, program, inputs, outputDtype, uniforms, output) {
      return stock.call(this, fixProgram(program, inputs), inputs, outputDtype, uniforms, output);
    };
  }
  return known.size > 0;
}

/** Takes dlvm's program fixes off again (stock tfjs-backend-webgpu behaviour). */
export function removeWebGpuProgramFixes(): void {
  for (const proto of known) {
    const stock = proto[ORIGINAL];
    if (stock == null) continue;
    proto.runWebGPUProgram = stock;
    delete proto[ORIGINAL];
  }
}

/**
 * dlvm's webgpu Cast: int32 / bool to float32 (and to complex64, whose real part it converts
 * first) is a conversion by value, where the stock kernel relabels the i32 buffer as float32.
 * Data still on the CPU and small enough for the backend's CPU hand-off is converted there;
 * anything else runs {@link IntToFloatProgram} (uploading CPU data first). Every other cast
 * (float32 to int32 / bool and int32 to bool run programs; bool to int32 keeps the i32 buffer,
 * which is right; same dtype, complex64 and string) goes to the stock kernel.
 *
 * @param stock the stock webgpu Cast config.
 * @param onCall run before every call with the backend (dlvm uses it to install its program fixes).
 */
export function makeWebGpuCastKernel(stock: KernelConfig, onCall: (backend: WebGpuBackendLike) => void = () => {}): KernelConfig {
  const toFloat = (x: TensorInfo, backend: WebGpuBackendLike): TensorInfo => {
    if (backend.shouldExecuteOnCPU([x])) {
      const values = backend.tensorMap.get(x.dataId)?.values;
      if (values instanceof Int32Array || values instanceof Uint8Array) {
        return backend.makeTensorInfo(x.shape, 'float32', Float32Array.from(values));
      }
    }
    return backend.runWebGPUProgram(new IntToFloatProgram(x.shape), [x], 'float32');
  };
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const { dtype } = args.attrs as unknown as CastAttrs;
    const backend = args.backend as WebGpuBackendLike;
    onCall(backend);
    if (x.dtype !== 'int32' && x.dtype !== 'bool') return stock.kernelFunc(args);
    if (dtype === 'float32') return toFloat(x, backend);
    if (dtype === 'complex64') {
      const real = toFloat(x, backend);
      try {
        return stock.kernelFunc({ ...args, inputs: { x: real } });
      } finally {
        backend.disposeData(real.dataId);
      }
    }
    return stock.kernelFunc(args);
  };
  return { kernelName: Cast, backendName: 'webgpu', kernelFunc: kernelFunc as KernelFunc };
}

/** Kernels whose stock programs the fixes replace; dlvm wraps them to make sure the fixes are on. */
const FIXED_BY_PROGRAM = [
  Transpose,
  ArgMax,
  ArgMin,
  Cumsum,
  Cumprod,
  UnsortedSegmentSum,
  Relu,
  Relu6,
  Prelu,
  BatchMatMul,
  _FusedMatMul,
  FusedConv2D,
  FusedDepthwiseConv2D,
];

/**
 * AddN whose inputs never exceed what one shader may bind. The stock program binds every input
 * as a storage buffer and silently sums only part of them past the device's
 * maxStorageBuffersPerShaderStage - 1 (7 on the default limits: tf.addN of 8 tensors of ones gave 4).
 * Larger lists are summed in groups of that size, then the group sums, as a tree; the partial
 * sums are freed.
 */
function makeWebGpuAddNKernel(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]) => {
    const inputs = args.inputs as unknown as TensorInfo[];
    const backend = args.backend as unknown as WebGpuBackendLike & { device: { limits: { maxStorageBuffersPerShaderStage: number } } };
    const group = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
    if (inputs.length <= group) return stock.kernelFunc(args);
    const partial: TensorInfo[] = [];
    let level = inputs;
    while (level.length > group) {
      const next: TensorInfo[] = [];
      for (let i = 0; i < level.length; i += group) {
        const part = level.slice(i, i + group);
        if (part.length === 1) next.push(part[0]!);
        else {
          const sum = stock.kernelFunc({ ...args, inputs: part as unknown as typeof args.inputs }) as TensorInfo;
          partial.push(sum);
          next.push(sum);
        }
      }
      level = next;
    }
    const out = stock.kernelFunc({ ...args, inputs: level as unknown as typeof args.inputs }) as TensorInfo;
    for (const t of partial) backend.disposeData(t.dataId);
    return out;
  };
  return { kernelName: AddN, backendName: 'webgpu', kernelFunc: kernelFunc as KernelFunc };
}

/**
 * dlvm's webgpu kernel configs: Transpose, ArgMax, ArgMin, Cumsum, Cumprod,
 * UnsortedSegmentSum, Relu, Relu6, Prelu, BatchMatMul, _FusedMatMul, FusedConv2D and
 * FusedDepthwiseConv2D (the stock kernels, run with the program fixes installed on the backend
 * they are given), Cast
 * ({@link makeWebGpuCastKernel}) and the accurate math kernels of webgpu_math.ts. Each config
 * makes sure the program fixes are installed on the backend it runs on, so they hold even for a
 * backend dlvm was not shown.
 *
 * @param stock the stock webgpu config of a kernel name (undefined: that kernel is skipped).
 */
export function makeWebGpuKernels(stock: (kernelName: string) => KernelConfig | undefined): KernelConfig[] {
  const ensureFixes = (backend: object): void => {
    const proto = owner(backend);
    if (proto != null && proto[ORIGINAL] == null) installWebGpuProgramFixes(backend);
  };
  const wrapped: KernelConfig[] = [];
  for (const kernelName of FIXED_BY_PROGRAM) {
    const original = stock(kernelName);
    if (original == null) continue;
    const kernelFunc = (args: Parameters<KernelFunc>[0]) => {
      ensureFixes(args.backend);
      return original.kernelFunc(args);
    };
    wrapped.push({ kernelName, backendName: 'webgpu', kernelFunc: kernelFunc as KernelFunc });
  }
  const stockCast = stock(Cast);
  if (stockCast != null) wrapped.push(makeWebGpuCastKernel(stockCast, ensureFixes));
  const stockAddN = stock(AddN);
  if (stockAddN != null) wrapped.push(makeWebGpuAddNKernel(stockAddN));
  return [...wrapped, ...makeWebGpuMathKernels(stock, ensureFixes)];
}
