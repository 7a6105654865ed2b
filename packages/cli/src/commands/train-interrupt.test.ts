import { describe, expect, it } from 'vitest';
import { interruptClassifier, REPEATED_INTERRUPT_MS } from './train.js';

describe('interruptClassifier', () => {
  it('saves on the first SIGINT, ignores the same signal delivered twice, quits on a later one', () => {
    let t = 5000;
    const classify = interruptClassifier(() => t);
    expect(classify()).toBe('save');
    // `timeout -s INT` signals the process and its group: both land after the running step.
    expect(classify()).toBe('duplicate');
    t += REPEATED_INTERRUPT_MS - 1;
    expect(classify()).toBe('duplicate');
    t += 1;
    expect(classify()).toBe('quit');
  });
});
