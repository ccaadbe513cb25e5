/**
 * The base class of every dlvm distribution (torch.distributions.Distribution).
 *
 * Public methods validate and convert their input, then call a protected method that computes
 * (`logProb` -> `_logProb`, `sample` -> `_sample`, ...). Subclasses declare their parameters'
 * constraints in `argConstraints` and their values' constraint in `support`; the base class
 * checks both, so no family hand-codes validation.
 *
 * Shapes: `sample(sampleShape)` returns `[...sampleShape, ...batchShape, ...eventShape]`;
 * `logProb(value)` returns the value's shape without the event dimensions (broadcast against
 * `batchShape`).
 *
 * Memory: a distribution never disposes tensors it was given. Tensors it makes itself (from
 * arrays, broadcasts, probabilities from logits) are freed by `dispose()`, or by an enclosing
 * `tf.tidy`. Every method returns a new tensor that the caller owns.
 */
import * as tf from '@tensorflow/tfjs-core';
import { broadcastTo, emptyShape } from '../math/ops.js';
import { DlvmError, argError } from '../errors.js';
import type { Constraint } from './constraints.js';
import { unitInterval } from './constraints.js';
import { deferCheck } from './pending_checks.js';
import { broadcastShapes, checkSampleShape, hostValuesOf, shareHostValues, stopGradient, sumRightmost, toFloat, type TensorInput } from './util.js';

/** The trailing options object every distribution constructor takes. */
export interface DistributionOptions {
  /** Check parameters and values (default: the global default, initially true, as in torch). */
  validateArgs?: boolean;
}

/**
 * Options a family passes to the distribution it is built on (LogNormal on Normal, the relaxed
 * families on their logit / log-space bases): `reportAs` is the name its messages give, so a bad
 * parameter of `LogNormal(0, -1)` is reported as LogNormal's. Not part of the public API.
 */
export interface BaseOptions extends DistributionOptions {
  reportAs?: string;
}

/** The name messages give for a distribution of class `own` built with `options`. */
export function reportName(options: DistributionOptions | undefined, own: string): string {
  return (options as BaseOptions | undefined)?.reportAs ?? own;
}

let defaultValidateArgs = true;

/**
 * Turns argument validation on or off for distributions created afterwards without an explicit
 * `validateArgs` (torch's `Distribution.set_default_validate_args`). Validation reads values back
 * from the backend; switch it off in hot training loops once the code is known to be right.
 */
export function setDefaultValidateArgs(value: boolean): void {
  if (typeof value !== 'boolean') throw argError('setDefaultValidateArgs', 'value', 'a boolean', value);
  defaultValidateArgs = value;
}

/** The current global default for `validateArgs`. */
export function getDefaultValidateArgs(): boolean {
  return defaultValidateArgs;
}

/** Converted parameters, ready for a constructor's `super(...)`. */
export interface PreparedParams<K extends string> {
  values: Record<K, tf.Tensor>;
  created: tf.Tensor[];
  batchShape: number[];
}

/**
 * Converts parameters to float32 tensors and broadcasts their batch parts to one batch shape
 * (torch's `broadcast_all`). `eventRanks[name]` is the number of rightmost dimensions of that
 * parameter that are not batch dimensions (1 for logits of a Categorical, 2 for a scale_tril).
 */
export function prepareParams<K extends string>(fn: string, params: Record<K, unknown>, eventRanks: Partial<Record<K, number>> = {}): PreparedParams<K> {
  const created: tf.Tensor[] = [];
  const converted = {} as Record<K, tf.Tensor>;
  try {
    for (const name of Object.keys(params) as K[]) {
      const { tensor, created: made } = toFloat(fn, name, params[name]);
      if (made) created.push(tensor);
      const rank = eventRanks[name] ?? 0;
      if (tensor.rank < rank) {
        throw argError(fn, name, `a tensor of rank >= ${rank}`, tensor);
      }
      converted[name] = tensor;
    }
    const names = Object.keys(converted) as K[];
    const batchShape = broadcastShapes(
      fn,
      names.map((n) => [n, converted[n].shape.slice(0, converted[n].rank - (eventRanks[n] ?? 0))]),
    );
    for (const n of names) {
      const t = converted[n];
      const full = [...batchShape, ...t.shape.slice(t.rank - (eventRanks[n] ?? 0))];
      if (!tf.util.arraysEqual(full, t.shape)) {
        converted[n] = broadcastTo(t, full);
        shareHostValues(t, converted[n]);
        created.push(converted[n]);
      }
    }
    return { values: converted, created, batchShape };
  } catch (e) {
    tf.dispose(created);
    throw e;
  }
}

/** Lists up to `limit` host entries where `ok` is 0, for error messages. */
function invalidHostEntries(values: Float32Array, ok: Uint8Array, limit = 4): string {
  const size = ok.length === 0 ? 0 : values.length / ok.length;
  const bad: string[] = [];
  for (let i = 0; i < ok.length && bad.length < limit; i++) {
    if (!ok[i]) {
      const row = Array.from(values.subarray(i * size, (i + 1) * size));
      bad.push(size === 1 ? String(row[0]) : `[${row.slice(0, 8).join(', ')}${row.length > 8 ? ', ...' : ''}]`);
    }
  }
  return `${bad.join(', ')}${bad.length === limit ? ', ...' : ''}`;
}

/**
 * Checks `value` against `constraint` without a synchronous read: host values (a tensor made
 * from JavaScript numbers or arrays) are tested at once and a failure throws here; device values
 * are tested on the device and the verdict is read at the next {@link checkArgs} (see
 * pending_checks.ts). Either way the message lists offending entries.
 */
export function checkConstraint(fn: string, arg: string, value: tf.Tensor, constraint: Constraint, expectation: string): void {
  const head = `${fn}: argument '${arg}' (Tensor of shape [${value.shape.join(', ')}]) must ${expectation}`;
  // For independent(base, n), list the offending scalars rather than whole events.
  const shown = constraint.base ?? constraint;
  const host = hostValuesOf(value);
  const ok = host && shown.checkHost ? shown.checkHost(host.values, host.shape) : null;
  if (ok !== null) {
    if (ok.every((f) => f === 1)) return;
    throw new DlvmError(`${head}, but found invalid values ${invalidHostEntries(host!.values, ok)}.`);
  }
  tf.tidy(() => deferCheck(head, value, shown.check(value), shown.eventDim));
}

/** Base class of all distributions; see the module documentation. */
export abstract class Distribution {
  /** Shape of independent, possibly non-identical draws: the leading dims of parameters. */
  readonly batchShape: number[];
  /** Shape of a single draw. */
  readonly eventShape: number[];
  /** Whether parameters and values are checked. */
  readonly validateArgs: boolean;
  private readonly owned: tf.Tensor[] = [];
  private isDisposedFlag = false;
  private readonly reportAs: string | undefined;

  protected constructor(batchShape: number[], eventShape: number[], options: DistributionOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw argError(this.constructor.name, 'options', 'an object such as { validateArgs: false }', options);
    }
    this.batchShape = [...batchShape];
    this.eventShape = [...eventShape];
    this.validateArgs = options.validateArgs ?? defaultValidateArgs;
    this.reportAs = (options as BaseOptions).reportAs;
  }

  /** Constraints of the parameters, by name (torch's `arg_constraints`). */
  abstract get argConstraints(): Readonly<Record<string, Constraint>>;

  /** The set of values with positive density or mass. */
  abstract get support(): Constraint;

  /** True when `rsample` gives samples that carry gradients to the parameters. */
  get hasRsample(): boolean {
    return false;
  }

  /** True when the support is finite and {@link enumerateSupport} lists it (torch's `has_enumerate_support`). */
  get hasEnumerateSupport(): boolean {
    return false;
  }

  /** Options for a derived distribution (expand): the same validation setting. */
  protected options(): DistributionOptions {
    return { validateArgs: this.validateArgs };
  }

  /** Name used in messages: the class name (`Normal`, ...). */
  get name(): string {
    return this.reportAs ?? this.constructor.name;
  }

  /**
   * Takes ownership of tensors this distribution made and validates the parameters against
   * `argConstraints`. Subclass constructors call it once their fields are set; on failure the
   * owned tensors are freed before the error propagates.
   */
  protected init(created: tf.Tensor[], params: Record<string, tf.Tensor>): void {
    this.owned.push(...created);
    if (!this.validateArgs) return;
    try {
      const constraints = this.argConstraints;
      for (const [key, value] of Object.entries(params)) {
        const c = constraints[key];
        if (c) checkConstraint(this.name, key, value, c, `satisfy the constraint ${c.name}`);
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Registers further tensors made by the subclass (derived parameters) for `dispose()`. */
  protected own<T extends tf.Tensor>(t: T): T {
    this.owned.push(t);
    return t;
  }

  /**
   * Gives `d` the tensors in `made`, to be freed by `d.dispose()`, and returns `d`. For code that
   * computes a distribution's parameters and returns the distribution (an encoder, a decoder, a
   * prior of your own): the caller then frees everything with one `dispose()`. Pass only
   * tensors made for `d`, never variables or tensors that live on.
   *
   * @example
   * posterior(x) {
   *   const [loc, scale] = tf.tidy(() => { const out = net.apply(x); return [out.slice(...), ...]; });
   *   return Distribution.owning(new Independent(new Normal(loc, scale), 1), [loc, scale]);
   * }
   */
  static owning<D extends Distribution>(d: D, made: tf.Tensor[]): D {
    if (!(d instanceof Distribution)) throw argError('Distribution.owning', 'd', 'a Distribution', d);
    if (!Array.isArray(made) || !made.every((t) => t instanceof tf.Tensor)) throw argError('Distribution.owning', 'made', 'an array of tensors', made);
    if (made.some((t) => t instanceof tf.Variable)) throw argError('Distribution.owning', 'made', 'tensors made for the distribution, not variables', made);
    d.owned.push(...made);
    return d;
  }

  /** Frees the tensors this distribution made. Tensors given to it are not touched. */
  dispose(): void {
    tf.dispose(this.owned);
    this.owned.length = 0;
    this.isDisposedFlag = true;
  }

  /** True after `dispose()`. */
  get isDisposed(): boolean {
    return this.isDisposedFlag;
  }

  /**
   * Draws without gradients. Returns `[...sampleShape, ...batchShape, ...eventShape]`.
   */
  sample(sampleShape: number[] = []): tf.Tensor {
    const shape = this.start('sample', sampleShape);
    return tf.tidy(() => stopGradient(this._sample(shape)));
  }

  /**
   * Reparameterised draws: gradients flow to the parameters. Returns
   * `[...sampleShape, ...batchShape, ...eventShape]`. Throws when `hasRsample` is false.
   */
  rsample(sampleShape: number[] = []): tf.Tensor {
    const shape = this.start('rsample', sampleShape);
    if (!this.hasRsample) throw new DlvmError(this.noRsampleMessage());
    return tf.tidy(() => this._rsample(shape));
  }

  /** Log density or log mass of `value`. Returns `[...sampleShape, ...batchShape]`. */
  logProb(value: TensorInput): tf.Tensor {
    this.assertLive('logProb');
    return tf.tidy(() => {
      const x = this.checkValue('logProb', value);
      return this.emptyResult('_logProb', [x.shape.slice(0, x.rank - this.eventShape.length), this.batchShape]) ?? this._logProb(x);
    });
  }

  /**
   * `logProb(value)` summed over its rightmost `n` dims: Independent's logProb of this base.
   * Families with a fused form (Bernoulli: one pass, the elementwise values never written)
   * override `_logProbSumRightmost`; the result is the same sum either way.
   *
   * @example
   * const px = new Bernoulli({ logits }); // [B, 784]
   * px.logProbSumRightmost(x, 1);         // [B], as new Independent(px, 1).logProb(x)
   */
  logProbSumRightmost(value: TensorInput, n: number): tf.Tensor {
    this.assertLive('logProbSumRightmost');
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw argError(`${this.name}.logProbSumRightmost`, 'n', 'a nonnegative integer (the rightmost dims to sum)', n);
    }
    return tf.tidy(() => {
      const x = this.checkValue('logProb', value);
      const dims = x.rank - this.eventShape.length;
      if (n > dims) throw argError(`${this.name}.logProbSumRightmost`, 'n', `at most ${dims}, the dims of logProb's result for this value`, n);
      const empty = this.emptyResult('_logProb', [x.shape.slice(0, x.rank - this.eventShape.length), this.batchShape]);
      return empty != null ? sumRightmost(empty, n) : this._logProbSumRightmost(x, n);
    });
  }

  /** Cumulative distribution function. Returns the (broadcast) shape of `value`. */
  cdf(value: TensorInput): tf.Tensor {
    this.assertLive('cdf');
    return tf.tidy(() => {
      const x = this.checkValue('cdf', value);
      return this.emptyResult('_cdf', [x.shape, this.batchShape]) ?? this._cdf(x);
    });
  }

  /** Inverse CDF of probabilities in [0, 1]. Returns the (broadcast) shape of `value`. */
  icdf(value: TensorInput): tf.Tensor {
    this.assertLive('icdf');
    return tf.tidy(() => {
      const { tensor } = toFloat(`${this.name}.icdf`, 'value', value);
      if (this.validateArgs) {
        checkConstraint(`${this.name}.icdf`, 'value', tensor, unitInterval, `be a probability in ${unitInterval.name}`);
      }
      return this.emptyResult('_icdf', [tensor.shape, this.batchShape]) ?? this._icdf(tensor);
    });
  }

  /**
   * Every value of a finite support, along a new leading axis (torch's `enumerate_support`):
   * `[n, ...batchShape, ...eventShape]`, or with `expand = false` `[n, 1, ..., 1, ...eventShape]`
   * (one 1 per batch dimension) to broadcast against the batch. Throws when
   * `hasEnumerateSupport` is false.
   *
   * @example
   * // Exact marginalisation over a discrete latent y: log p(x) = logsumexp_y log p(x, y).
   * const ys = new Categorical({ logits }).enumerateSupport(); // [K, B]
   */
  enumerateSupport(expand = true): tf.Tensor {
    const fn = `${this.name}.enumerateSupport`;
    this.assertLive('enumerateSupport');
    if (typeof expand !== 'boolean') throw argError(fn, 'expand', 'a boolean', expand);
    if (!this.hasEnumerateSupport) {
      throw new DlvmError(`${fn}: ${this.name} has no finite support to enumerate (hasEnumerateSupport is false), as in torch.distributions.`);
    }
    return tf.tidy(() => {
      const values = this._enumerateSupport(); // [n, ...eventShape]
      const n = values.shape[0]!;
      const lifted = tf.reshape(values, [n, ...this.batchShape.map(() => 1), ...this.eventShape]);
      return expand ? broadcastTo(lifted, [n, ...this.batchShape, ...this.eventShape]) : lifted;
    });
  }

  /** exp(entropy): the effective number of equally likely values. Returns `batchShape`. */
  perplexity(): tf.Tensor {
    this.assertLive('perplexity');
    return tf.tidy(() => tf.exp(this.entropy()));
  }

  /** Entropy in nats. Returns `batchShape`. */
  entropy(): tf.Tensor {
    this.assertLive('entropy');
    return tf.tidy(() => this.emptyResult('_entropy', [this.batchShape]) ?? this._entropy());
  }

  /** Mean, `[...batchShape, ...eventShape]`. */
  get mean(): tf.Tensor {
    this.assertLive('mean');
    return tf.tidy(() => this.emptyResult('_mean', [[...this.batchShape, ...this.eventShape]]) ?? this._mean());
  }

  /** Mode, `[...batchShape, ...eventShape]`. */
  get mode(): tf.Tensor {
    this.assertLive('mode');
    return tf.tidy(() => this.emptyResult('_mode', [[...this.batchShape, ...this.eventShape]]) ?? this._mode());
  }

  /** Variance, `[...batchShape, ...eventShape]`. */
  get variance(): tf.Tensor {
    this.assertLive('variance');
    return tf.tidy(() => this.emptyResult('_variance', [[...this.batchShape, ...this.eventShape]]) ?? this._variance());
  }

  /** Standard deviation, `[...batchShape, ...eventShape]`. */
  get stddev(): tf.Tensor {
    this.assertLive('stddev');
    return tf.tidy(() => this.emptyResult('_variance', [[...this.batchShape, ...this.eventShape]]) ?? tf.sqrt(this._variance()));
  }

  /**
   * A new distribution whose parameters are broadcast to `batchShape` (torch's `expand`). The
   * new distribution owns its broadcast parameters; this one is unchanged.
   */
  abstract expand(batchShape: number[]): Distribution;

  /**
   * Shared body of `expand`: checks `batchShape` against this batch shape (torch's rules: the
   * new shape is right-aligned and each existing dimension is 1 or equal), then calls `build`
   * with a function that broadcasts a parameter (with `eventRank` non-batch rightmost dims) to the
   * new batch shape. The built distribution owns those broadcasts.
   */
  protected expandWith<D extends Distribution>(batchShape: unknown, build: (broadcast: (t: tf.Tensor, eventRank?: number) => tf.Tensor) => D): D {
    const fn = `${this.name}.expand`;
    this.assertLive('expand');
    const shape = checkSampleShape(fn, batchShape);
    const own = this.batchShape;
    const fits = shape.length >= own.length && own.every((d, i) => d === 1 || d === shape[shape.length - own.length + i]);
    if (!fits) {
      throw argError(fn, 'batchShape', `a shape that [${own.join(', ')}] (the batch shape) broadcasts to`, shape);
    }
    const made: tf.Tensor[] = [];
    const broadcast = (t: tf.Tensor, eventRank = 0): tf.Tensor => {
      const out = broadcastTo(t, [...shape, ...t.shape.slice(t.rank - eventRank)]);
      if (out !== t) shareHostValues(t, out);
      made.push(out);
      return out;
    };
    try {
      const d = build(broadcast);
      d.owned.push(...made);
      return d;
    } catch (e) {
      tf.dispose(made);
      throw e;
    }
  }

  /**
   * The result of a method when it has no values: zeros of the broadcast of `shapes` when that
   * holds a 0 and the family implements `method` (torch gives such empty results; tfjs's kernels
   * mishandle empty tensors, see math/ops.ts), else null (compute it, or let the method say it
   * is not defined, or let the shapes' mismatch be reported by the computation).
   */
  private emptyResult(method: '_logProb' | '_cdf' | '_icdf' | '_entropy' | '_mean' | '_mode' | '_variance', shapes: number[][]): tf.Tensor | null {
    const shape = emptyShape(shapes);
    if (shape === null || this[method] === Distribution.prototype[method]) return null;
    return tf.zeros(shape);
  }

  /** `Normal(loc: [2, 3], scale: [2, 3])`. */
  toString(): string {
    if (this.isDisposedFlag) return `${this.name}(disposed)`;
    // Some parameters are getters that compute a tensor (covarianceMatrix); tidy frees those.
    return tf.tidy(() => {
      const parts = Object.keys(this.argConstraints)
        .map((k) => [k, (this as unknown as Record<string, unknown>)[k]] as const)
        .filter(([, v]) => v instanceof tf.Tensor)
        .map(([k, v]) => `${k}: [${(v as tf.Tensor).shape.join(', ')}]`);
      return `${this.name}(${parts.join(', ')})`;
    });
  }

  // ---- computing side, implemented by subclasses -------------------------------------------

  /** Draws; the default uses `_rsample` (its gradient is stopped by `sample`). */
  protected _sample(sampleShape: number[]): tf.Tensor {
    if (this.hasRsample) return this._rsample(sampleShape);
    throw this.notDefined('sample');
  }
  /** log p(x) summed over the rightmost `n` dims of x's batch part (x checked). */
  protected _logProbSumRightmost(x: tf.Tensor, n: number): tf.Tensor {
    return sumRightmost(this._logProb(x), n);
  }
  protected _rsample(_sampleShape: number[]): tf.Tensor {
    throw new DlvmError(this.noRsampleMessage());
  }
  /** The values of a finite support, `[n, ...eventShape]` (families with `hasEnumerateSupport`). */
  protected _enumerateSupport(): tf.Tensor {
    throw this.notDefined('enumerateSupport');
  }
  protected _logProb(_value: tf.Tensor): tf.Tensor {
    throw this.notDefined('logProb');
  }
  protected _cdf(_value: tf.Tensor): tf.Tensor {
    throw this.notDefined('cdf');
  }
  protected _icdf(_value: tf.Tensor): tf.Tensor {
    throw this.notDefined('icdf');
  }
  protected _entropy(): tf.Tensor {
    throw this.notDefined('entropy');
  }
  protected _mean(): tf.Tensor {
    throw this.notDefined('mean');
  }
  protected _mode(): tf.Tensor {
    throw this.notDefined('mode');
  }
  protected _variance(): tf.Tensor {
    throw this.notDefined('variance');
  }

  /** The error for a method this family does not define (torch does not define it either). */
  protected notDefined(method: string): DlvmError {
    return new DlvmError(`${this.name}.${method}: not defined for ${this.name} (torch.distributions does not define it either).`);
  }

  /** Message for `rsample` on a family without reparameterised sampling. */
  protected noRsampleMessage(): string {
    return `${this.name}.rsample: ${this.name} has no reparameterised sampler (hasRsample is false), so samples cannot carry gradients. Use sample() for draws without gradients; for discrete latents use a relaxed distribution (RelaxedBernoulli, RelaxedOneHotCategorical).`;
  }

  /** Shared start of the sampling methods: liveness and the sample shape. */
  private start(method: string, sampleShape: unknown): number[] {
    this.assertLive(method);
    return checkSampleShape(`${this.name}.${method}`, sampleShape);
  }

  /** Throws when the distribution was disposed. */
  protected assertLive(method: string): void {
    if (this.isDisposedFlag) {
      throw new DlvmError(`${this.name}.${method}: this distribution was disposed; create a new one.`);
    }
  }

  /**
   * Converts a value and, when validating, checks its event shape, that it broadcasts against
   * `[...batchShape, ...eventShape]`, and that it lies in the support (torch's `_validate_sample`).
   * Call inside `tf.tidy`.
   */
  protected checkValue(method: string, value: TensorInput): tf.Tensor {
    const fn = `${this.name}.${method}`;
    const { tensor } = toFloat(fn, 'value', value);
    if (!this.validateArgs) return tensor;
    const ev = this.eventShape;
    const tail = tensor.shape.slice(tensor.rank - ev.length);
    if (tensor.rank < ev.length || !tf.util.arraysEqual(tail, ev)) {
      throw argError(fn, 'value', `a tensor whose rightmost dimensions are the event shape [${ev.join(', ')}]`, tensor);
    }
    const expected = [...this.batchShape, ...ev];
    try {
      broadcastShapes(fn, [
        ['value', tensor.shape],
        ['batchShape + eventShape', expected],
      ]);
    } catch {
      throw argError(fn, 'value', `broadcastable with [${expected.join(', ')}] (batchShape + eventShape)`, tensor);
    }
    const support = this.support;
    checkConstraint(fn, 'value', tensor, support, `be within the support ${support.name} of ${this.name}${support.hint ? ` (${support.hint})` : ''}`);
    return tensor;
  }
}
