/**
 * Test helpers shared by every sculpt package: `import { expectNoLeak } from '@sculpt/core/testing'`.
 * @packageDocumentation
 */

export type { CheckGradientsOptions, GradientCheckReport } from './gradcheck.js';
export { checkGradients } from './gradcheck.js';
export type { ExpectNoLeakOptions } from './leaks.js';
export { disposeAll, expectNoLeak } from './leaks.js';
