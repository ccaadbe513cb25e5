/**
 * Argument checks without synchronous reads.
 *
 * A distribution validates its parameters (and the values given to `logProb`, `cdf`, ...) against
 * their constraints. Values given as JavaScript numbers or arrays ("host values") are checked on
 * the host at once, and a bad one throws at construction. Values already in tensors ("device
 * values") are checked on the device: the check is queued here as a boolean tensor, and its
 * verdict is read at the next awaited read, which every dlvm function that reads does through
 * {@link checkArgs} (each `fit` step, every evaluation, saving, pictures). A failed check then
 * throws the same message a synchronous check would: the function, the argument, the constraint
 * and the offending values.
 *
 * Why: reading a tensor synchronously (`dataSync`) throws on WebGPU in Node and stalls the
 * pipeline on every backend; TensorFlow Probability's `validate_args` likewise adds assertions to
 * the computation rather than reading values in Python.
 *
 * Memory: a queued check keeps its boolean tensor and a reference-counted clone of the checked
 * value (no copy) until it is read. At most {@link MAX_PENDING} checks keep their values; beyond
 * that they are folded into one boolean (the message then names the first folded check without
 * values). `await checkArgs()` frees them all.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DlvmError } from '../errors.js';
import { allTrue, broadcastTo } from '../math/ops.js';

/** Checks that keep their values for the error message; more are folded into one verdict. */
export const MAX_PENDING = 256;

interface Pending {
  /** Start of the message: `Normal: argument 'scale' (Tensor of shape [2, 3]) must ...`. */
  head: string;
  /** Elementwise verdicts of the entries the message lists (bool). */
  ok: tf.Tensor;
  /** The checked value (a clone) and how many rightmost dims one listed entry covers. */
  value: tf.Tensor;
  eventDim: number;
}

let pending: Pending[] = [];
let folded: { ok: tf.Tensor; head: string; count: number } | null = null;

/**
 * Queues a device check. `ok` holds the elementwise verdicts (bool, shape `value.shape` less
 * `eventDim` rightmost dims); `head` begins the message. Safe inside `tf.tidy`: the tensors kept
 * here survive it.
 */
export function deferCheck(head: string, value: tf.Tensor, ok: tf.Tensor, eventDim: number): void {
  if (pending.length < MAX_PENDING) {
    pending.push({ head, ok: tf.keep(ok.dtype === 'bool' ? tf.clone(ok) : tf.cast(ok, 'bool')), value: tf.keep(tf.clone(value)), eventDim });
    return;
  }
  const all = tf.tidy(() => allTrue(ok));
  if (folded === null) {
    folded = { ok: tf.keep(all), head, count: 1 };
  } else {
    const prev = folded.ok;
    folded = { ok: tf.keep(tf.logicalAnd(prev, all)), head: folded.head, count: folded.count + 1 };
    prev.dispose();
    all.dispose();
  }
}

/** Warnings waiting for their verdict: `warn` (a bool scalar) true means print `message`. */
let warnings: Array<{ warn: tf.Tensor; message: string }> = [];
/** Messages already printed: each warning is printed once per process. */
const printed = new Set<string>();

/**
 * Queues a warning decided on the device: when `warn` (a bool scalar) turns out true at the next
 * awaited read ({@link checkArgs}), `message` is printed with console.warn, once per process. For
 * suspicious but legal values (a decoder whose logits all look like probabilities); never throws.
 * Takes `warn` (a bool scalar made for this); safe inside `tf.tidy`.
 */
export function deferWarning(message: string, warn: tf.Tensor): void {
  if (printed.has(message)) {
    warn.dispose();
    return;
  }
  warnings.push({ warn: tf.keep(warn), message });
}

/** The number of device checks waiting to be read. */
export function pendingArgChecks(): number {
  return pending.length + (folded?.count ?? 0);
}

/** Lists up to `limit` entries of `value` where `ok` is false (async reads). */
async function invalidEntries(value: tf.Tensor, ok: tf.Tensor, eventDim: number, limit = 4): Promise<string> {
  const rows2d = tf.tidy(() => {
    const eventShape = value.shape.slice(value.rank - eventDim);
    return broadcastTo(value, [...ok.shape, ...eventShape]).reshape([Math.max(1, ok.size), -1]);
  });
  try {
    const [okData, rows] = await Promise.all([ok.data(), rows2d.array() as Promise<number[][]>]);
    const bad: string[] = [];
    for (let i = 0; i < okData.length && bad.length < limit; i++) {
      if (!okData[i]) {
        const row = rows[i]!;
        bad.push(eventDim === 0 ? String(row[0]) : `[${row.slice(0, 8).join(', ')}${row.length > 8 ? ', ...' : ''}]`);
      }
    }
    return `${bad.join(', ')}${bad.length === limit ? ', ...' : ''}`;
  } finally {
    rows2d.dispose();
  }
}

/**
 * Reads the verdicts of every queued device check (one read) and throws the first failure's
 * error, naming the distribution, the argument, the constraint and the offending values. Frees
 * the queue either way. dlvm's reading functions (fit, the evaluation functions, saving,
 * pictures) call it; call it yourself after building distributions from tensors outside them.
 *
 * @example
 * const q = new Normal(mu, sigma); // sigma: a tensor with a negative entry
 * await checkArgs();                // DlvmError: Normal: argument 'scale' (Tensor of shape [3]) must ...
 */
export async function checkArgs(): Promise<void> {
  if (warnings.length > 0) await readWarnings();
  if (pending.length === 0 && folded === null) return;
  const entries = pending;
  const fold = folded;
  pending = [];
  folded = null;
  try {
    const verdicts = tf.tidy(() => tf.stack([...entries.map((e) => allTrue(e.ok)), ...(fold ? [fold.ok] : [])]));
    let flags: Uint8Array | Int32Array | Float32Array;
    try {
      flags = (await verdicts.data()) as Uint8Array;
    } finally {
      verdicts.dispose();
    }
    const first = Array.prototype.findIndex.call(flags, (f: number) => !f);
    if (first < 0) return;
    if (first < entries.length) {
      const e = entries[first]!;
      throw new DlvmError(`${e.head}, but found invalid values ${await invalidEntries(e.value, e.ok, e.eventDim)}.`);
    }
    throw new DlvmError(
      `${fold!.head}, but found invalid values (or one of the ${fold!.count - 1} checks queued after it did; ` +
        `their values were not kept because more than ${MAX_PENDING} checks were waiting: await checkArgs() more often).`,
    );
  } finally {
    for (const e of entries) tf.dispose([e.ok, e.value]);
    fold?.ok.dispose();
  }
}

/** Reads the queued warnings' verdicts (one read) and prints those that hold. */
async function readWarnings(): Promise<void> {
  const queued = warnings;
  warnings = [];
  const flags = tf.tidy(() => tf.stack(queued.map((w) => w.warn)));
  try {
    const values = await flags.data();
    queued.forEach((w, i) => {
      if (values[i] && !printed.has(w.message)) {
        printed.add(w.message);
        console.warn(w.message);
      }
    });
  } finally {
    flags.dispose();
    for (const w of queued) w.warn.dispose();
  }
}

/**
 * Reads `t` (freed afterwards, also on error) together with the pending argument checks, so a
 * bad parameter met while computing `t` throws its own message.
 */
export async function readAndFree<T extends tf.Tensor>(t: T): Promise<Float32Array | Int32Array | Uint8Array> {
  try {
    const [values] = await Promise.all([t.data(), checkArgs()]);
    return values as Float32Array | Int32Array | Uint8Array;
  } finally {
    t.dispose();
  }
}

/** Drops every queued check unread (for tests and after a backend reset). */
export function discardArgChecks(): void {
  for (const e of pending) tf.dispose([e.ok, e.value]);
  folded?.ok.dispose();
  pending = [];
  folded = null;
}
