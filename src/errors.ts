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
    return ctor && ctor !== 'Object' ? `a ${ctor}` : 'an object';
  }
  return typeof value;
}

/**
 * Builds the standard bad-argument error:
 * `fn: argument 'arg' must be <expected>, but got <found>`.
 */
export function argError(fn: string, arg: string, expected: string, found: unknown): DlvmError {
  return new DlvmError(`${fn}: argument '${arg}' must be ${expected}, but got ${describeValue(found)}.`);
}
