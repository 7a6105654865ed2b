/**
 * Test helpers for code built on @sculpt/autoregressive: `import { … } from '@sculpt/autoregressive/testing'`
 * (tiny presets, fixtures). Core's leak check is re-exported for convenience.
 * @packageDocumentation
 */
export { expectNoLeak } from '@sculpt/core/testing';
