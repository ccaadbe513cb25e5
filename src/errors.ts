/**
 * Error helpers shared by every public entry point.
 *
 * Every message names the function, the argument, what was expected and what was found, so a
 * person can act on it without reading dlvm's source (the tfjs and torch convention).
 */

/** Error thrown by dlvm for bad input or an unusable environment. */
export class DlvmError extends Error {
  override name = 'DlvmError';
}

/** A description already written in words (printed as is, without quotes). */
export class Described {
  constructor(readonly text: string) {}
}

/** Short, printable description of any value for error messages. */
export function describeValue(value: unknown): string {
  if (value instanceof Described) return value.text;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (Array.isArray(value)) {
    const head = value.slice(0, 6).map(describeValue).join(', ');
    return `[${head}${value.length > 6 ? ', ...' : ''}] (array of length ${value.length})`;
  }
  if (typeof value === 'object') {
    const ctor = (value as object).constructor?.name;
    const shape = (value as { shape?: unknown }).shape;
    if (Array.isArray(shape)) return `${ctor ?? 'object'} of shape [${shape.join(', ')}]`;
    if (ctor && ctor !== 'Object') return `a ${ctor}`;
    // A plain object: its keys say what it is (e.g. a hand-built prior missing a method).
    const keys = Object.keys(value as object);
    if (keys.length === 0) return 'an empty object {}';
    return `an object with keys { ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', ...' : ''} }`;
  }
  if (typeof value === 'function') return value.name ? `the function ${value.name}` : 'a function';
  return typeof value;
}

/**
 * Builds the standard bad-argument error:
 * `fn: argument 'arg' must be <expected>, but got <found>`.
 */
export function argError(fn: string, arg: string, expected: string, found: unknown): DlvmError {
  return new DlvmError(`${fn}: argument '${arg}' must be ${expected}, but got ${describeValue(found)}.`);
}

/**
 * Throws `fn: argument 'arg' must be a positive integer, but got <shown>` unless `value` is an
 * integer >= 1 (`shown` is what the message describes, by default `value`): the one home of
 * dlvm's positive-integer checks.
 */
export function positiveInteger(fn: string, arg: string, value: unknown, shown: unknown = value): asserts value is number {
  if (!Number.isInteger(value) || (value as number) < 1) throw argError(fn, arg, 'a positive integer', shown);
}

/**
 * Checks the options of a model's `loss(x, options)` and returns them with the step (default 0).
 * A number in their place is the signature before dlvm 0.2 (`loss(x, step, y)`), named as such.
 */
export function lossOptions<T extends { step?: number }>(fn: string, options: T | undefined): T & { step: number } {
  if (typeof options === 'number') {
    throw argError(fn, 'options', 'an object { step, y, labelled } (loss(x, step, y, labelled) became loss(x, { step, y, labelled }) in dlvm 0.2)', options);
  }
  if (options !== undefined && (options === null || typeof options !== 'object')) throw argError(fn, 'options', 'an object { step, y, labelled }', options);
  const step = options?.step ?? 0;
  if (!Number.isInteger(step) || step < 0) throw argError(fn, 'options.step', 'a nonnegative integer', step);
  return { ...(options ?? ({} as T)), step };
}

/** The shapes `checkExamples` accepts for examples of shape `itemShape`, the model's own first. */
function acceptedItemShapes(itemShape: readonly number[]): number[][] {
  const size = itemShape.reduce((a, b) => a * b, 1);
  const forms = [[...itemShape], trimUnitAxes(itemShape), [size]];
  return forms.filter((f, i) => forms.findIndex((g) => g.join() === f.join()) === i);
}

/** `shape` without its trailing unit axes ([28, 28, 1] -> [28, 28]; a shape of ones keeps one). */
function trimUnitAxes(shape: readonly number[]): number[] {
  let end = shape.length;
  while (end > 1 && shape[end - 1] === 1) end--;
  return shape.slice(0, end);
}

/** Whether examples of shape `found` fit a model whose examples have shape `want` (see `checkExamples`). */
function fitsItemShape(found: readonly number[], want: readonly number[]): boolean {
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  if (size(found) !== size(want)) return false;
  // A flat model takes any layout of its D values; flat data meets any model of D values.
  if (want.length === 1 || found.length === 1) return true;
  return trimUnitAxes(found).join() === trimUnitAxes(want).join();
}

/**
 * Checks data against the shape of one example that a model takes, from shapes alone (it never
 * reads a tensor's values). `data` is a batch, a tensor `[B, ...itemShape]`, or a data set with
 * an `itemShape` (an ArrayDataset). Its examples fit when they have the model's `itemShape`, the
 * same values flat (`[D]`, D = prod(itemShape)), or the same shape with or without trailing unit
 * axes (`[28, 28]` and `[28, 28, 1]`); a model whose examples are flat (`[D]`) takes any shape
 * with D values. With `itemShape` null (a model built from parts that do not say) only the batch
 * axis is checked. `batch` names the batch axis in the message ('B', or 'N' for a data set).
 *
 * @throws DlvmError `fn: argument 'arg' must be a tensor [B, 28, 28] or [B, 784], but got Tensor of shape [5, 27, 27].`
 */
export function checkExamples(fn: string, arg: string, data: unknown, itemShape: readonly number[] | null | undefined, batch = 'B'): void {
  const shape = (data as { shape?: unknown } | null)?.shape;
  const setShape = (data as { itemShape?: unknown } | null)?.itemShape;
  const isTensor = Array.isArray(shape) && shape.every((d) => Number.isInteger(d));
  const isSet = !isTensor && Array.isArray(setShape) && setShape.every((d) => Number.isInteger(d));
  const want = itemShape ?? null;
  if (isTensor && shape.length >= 2 && (want === null || fitsItemShape(shape.slice(1) as number[], want))) return;
  if (isSet && (want === null || fitsItemShape(setShape as number[], want))) return;
  const forms = want === null ? null : acceptedItemShapes(want);
  const anyLayout = want !== null && want.length === 1 ? ` (or any shape with ${want[0]} values per example)` : '';
  const either = (shapes: string[]) => (shapes.length === 1 ? shapes[0]! : `${shapes.slice(0, -1).join(', ')} or ${shapes[shapes.length - 1]}`);
  const expected = isSet
    ? `a data set of examples ${either(forms!.map((f) => `[${f.join(', ')}]`))}${anyLayout}`
    : forms === null
      ? `a tensor [${batch}, ...] of examples`
      : `a tensor ${either(forms.map((f) => `[${batch}, ${f.join(', ')}]`))}${anyLayout}`;
  const found = isSet ? new Described(`${(data as object).constructor?.name ?? 'a data set'} of examples [${(setShape as number[]).join(', ')}]`) : data;
  throw argError(fn, arg, expected, found);
}

/**
 * Checks class labels held in a JavaScript array (a data set's labels, never a tensor) against
 * `numClasses` classes; `owner` says whose classes they are, e.g. "the model's 10 classes".
 *
 * @throws DlvmError `fn: argument 'arg' must be labelled with classes in 0..9 (the model's 10 classes), but got the label 12 (example 4).`
 */
export function checkLabels(fn: string, arg: string, labels: ArrayLike<number>, numClasses: number, owner: string): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < numClasses)) {
      throw argError(fn, arg, `labelled with classes in 0..${numClasses - 1} (${owner})`, new Described(`the label ${v} (example ${i})`));
    }
  }
}
