/**
 * Test helpers shared by every sculpt package: `import { expectNoLeak } from '@sculpt/core/testing'`.
 * @packageDocumentation
 */
export { disposeAll, expectNoLeak } from './leaks.js';
export type { ExpectNoLeakOptions } from './leaks.js';
export { checkGradients } from './gradcheck.js';
export type { CheckGradientsOptions, GradientCheckReport } from './gradcheck.js';
