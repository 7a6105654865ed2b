/**
 * The one error base class of sculpt. Every error a sculpt package throws is a
 * `SculptError` (or a subclass), and its message names the function, what was
 * expected, what arrived and the fix:
 *
 * ```ts
 * throw new SculptError('sampleEuler', 'sigmas must end with 0', 'got 0.03', 'use appendZero');
 * // → "sampleEuler: sigmas must end with 0, got 0.03. Fix: use appendZero."
 * ```
 */
export class SculptError extends Error {
  override name = 'SculptError';
  /** The function or method that raised the error. */
  readonly where: string;

  /**
   * @param where - the function that raised it, e.g. `'Rng.normal'`.
   * @param expected - what was expected, e.g. `'shape must be non-negative integers'`.
   * @param got - what arrived, e.g. `'got [2, -1]'` (optional).
   * @param fix - how to fix it (optional).
   */
  constructor(where: string, expected: string, got?: string, fix?: string) {
    let message = `${where}: ${expected}`;
    if (got) message += `, ${got}`;
    message += '.';
    if (fix) message += ` Fix: ${fix}.`;
    super(message);
    this.where = where;
  }
}

/** Raised when a checkpoint or safetensors file is truncated, corrupt or does not match the model. */
export class CheckpointError extends SculptError {
  override name = 'CheckpointError';
}

/** Raised by the training loop when a loss or gradient becomes NaN or infinite. */
export class NonFiniteLossError extends SculptError {
  override name = 'NonFiniteLossError';
}

/** Raised when a requested backend cannot be initialised. */
export class BackendError extends SculptError {
  override name = 'BackendError';
}

/** Raised when an AbortSignal stops a training loop or sampler. */
export class AbortError extends SculptError {
  override name = 'AbortError';
}

/** Formats a shape as `[2, 3, 4]` for error messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * A value as short JSON for error messages: at most `max` characters, and
 * never a throw (a cycle or a nesting too deep for `JSON.stringify` becomes a
 * description instead of a RangeError).
 *
 * @example `preview({ a: [1, 2, 3] }, 8) // '{"a":[1,…'`
 */
export function preview(value: unknown, max = 60): string {
  let text: string | undefined;
  try {
    text =
      typeof value === 'string' && value.length > 4 * max
        ? JSON.stringify(value.slice(0, max))
        : JSON.stringify(value);
  } catch {
    text = `a ${Array.isArray(value) ? 'array' : typeof value} too deep or cyclic to print`;
  }
  if (text === undefined) return String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
