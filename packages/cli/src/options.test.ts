import { describe, expect, it } from 'vitest';
import { parseDataSpec } from './data.js';
import { describeFailure, EXIT, UsageError } from './errors.js';
import { intInRange, numberInRange, parseLabels } from './options.js';
import { formatDuration } from './progress.js';

describe('flag parsers', () => {
  it('accept values in range and refuse the rest with the range in the message', () => {
    const steps = intInRange('--steps', 1, 100);
    expect(steps('1')).toBe(1);
    expect(steps('100')).toBe(100);
    for (const bad of ['0', '101', '1.5', 'abc', '', '1e2'])
      expect(() => steps(bad)).toThrow(/--steps must be an integer in \[1, 100\]/);
    const minutes = numberInRange('--minutes', 0, 10, true);
    expect(minutes('0.5')).toBe(0.5);
    expect(() => minutes('0')).toThrow(/\(0, 10\]/);
    expect(() => minutes('NaN')).toThrow();
  });

  it('parse labels as lists, ranges and all', () => {
    expect(parseLabels('3,3,7')).toEqual([3, 3, 7]);
    expect(parseLabels('0-3')).toEqual([0, 1, 2, 3]);
    expect(parseLabels('1,4-5')).toEqual([1, 4, 5]);
    expect(parseLabels('ALL')).toBe('all');
    expect(() => parseLabels('cat')).toThrow(/class indices/);
    expect(() => parseLabels('5-2')).toThrow(/low ≤ high/);
  });

  it('parse --data forms and refuse unknown names', () => {
    expect(parseDataSpec('mnist')).toMatchObject({ source: 'mnist', kind: 'images' });
    expect(parseDataSpec('moby-dick')).toMatchObject({ kind: 'text' });
    expect(parseDataSpec('images:some/dir')).toMatchObject({ source: 'images', kind: 'images' });
    expect(parseDataSpec('text:a.txt')).toMatchObject({ source: 'text', kind: 'text' });
    expect(() => parseDataSpec('cifar')).toThrow(UsageError);
  });
});

describe('describeFailure', () => {
  it('gives one line and status 2 for user errors, status 1 with a hint for bugs', () => {
    const user = describeFailure(new UsageError('sculpt train', 'expected x', 'got y', 'do z'));
    expect(user).toEqual({
      line: 'sculpt train: expected x, got y. Fix: do z.',
      status: EXIT.usage,
    });
    const bug = describeFailure(new TypeError('boom\nat line'));
    expect(bug.status).toBe(EXIT.internal);
    expect(bug.line).not.toContain('\n');
    expect(bug.line).toMatch(/SCULPT_DEBUG=1/);
  });

  it('gives one line and status 2 when the disk is full or read-only (not an internal error)', () => {
    for (const code of ['ENOSPC', 'EROFS', 'EACCES']) {
      const error = Object.assign(new Error(`${code}: open 'run/log.jsonl'`), {
        code,
        path: 'run/log.jsonl',
      });
      const { line, status } = describeFailure(error);
      expect(status).toBe(EXIT.usage);
      expect(line).toMatch(
        new RegExp(`^sculpt: could not write run/log.jsonl: .*\\(${code}\\)\\. Fix: `),
      );
      expect(line).not.toContain('\n');
    }
  });
});

describe('formatDuration', () => {
  it('formats seconds, minutes and hours', () => {
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(83)).toBe('1m23s');
    expect(formatDuration(3700)).toBe('1h01m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});
