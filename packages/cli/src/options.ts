// Parsers for numeric flags: each checks its range and says what to pass instead.
import { InvalidArgumentError } from 'commander';

/** A commander argument parser for an integer in `[min, max]`. */
export function intInRange(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `${name} must be an integer in [${min}, ${max}], got '${value}'.`,
      );
    }
    return n;
  };
}

/** A commander argument parser for a finite number in `[min, max]` (or `(min, max]` when `exclusiveMin`). */
export function numberInRange(
  name: string,
  min: number,
  max: number,
  exclusiveMin = false,
): (value: string) => number {
  return (value) => {
    const n = Number(value);
    const low = exclusiveMin ? n > min : n >= min;
    if (value.trim() === '' || !Number.isFinite(n) || !low || n > max) {
      const range = `${exclusiveMin ? '(' : '['}${min}, ${max}]`;
      throw new InvalidArgumentError(`${name} must be a number in ${range}, got '${value}'.`);
    }
    return n;
  };
}

/**
 * Parses `--labels`: a comma list of class indices (`3,3,7`), a range
 * (`0-9`) or `all`. Ranges against the model's class count are checked later.
 */
export function parseLabels(value: string): number[] | 'all' {
  const v = value.trim().toLowerCase();
  if (v === 'all') return 'all';
  const out: number[] = [];
  for (const part of v.split(',')) {
    const range = /^(\d+)-(\d+)$/.exec(part.trim());
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (b < a || b - a > 10_000)
        throw new InvalidArgumentError(`labels range '${part}' must be low-high with low ≤ high.`);
      for (let i = a; i <= b; i++) out.push(i);
    } else if (/^\d+$/.test(part.trim())) {
      out.push(Number(part.trim()));
    } else {
      throw new InvalidArgumentError(
        `labels must be class indices like 3,3,7 or a range 0-9 or 'all', got '${value}'.`,
      );
    }
  }
  return out;
}
