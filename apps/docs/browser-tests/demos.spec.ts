// Every docs page with a live demo, tested in Debian's Chromium once per
// Playwright project (= tfjs backend: webgpu, webgl, wasm; see
// playwright.config.ts). Each demo's checks live in a module under scripts/
// that exports `(page, t) => results` (the toolkit `t` is in fixtures.ts);
// a new demo joins with one line in DEMOS. Each test prints its measurements
// (in-page timings, tokens per second, losses) as one JSON line, attaches them
// to the report and writes them to screenshots/results-<demo>-<backend>.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Backend, type DemoTest, test } from './fixtures';

interface Demo {
  /** The test's title (and the name of its results file). */
  title: string;
  /** Module under apps/docs/scripts/ that holds the demo's checks. */
  file: string;
  /** Its exported test function: `(page, t) => Promise<results>`. */
  run: string;
  /** Backends the default run (`pnpm test`, CI) checks it on; SCULPT_DOCS_ALL=1 runs every backend. */
  ciOn: Backend[];
}

// webgpu is what the pages pick by themselves here; wasm is where 'auto' lands
// without a GPU, so the demos users most often open there run on it too.
const DEMOS: Demo[] = [
  { title: 'site', file: 'browser-test-site.mjs', run: 'testSite', ciOn: ['webgpu'] },
  {
    title: 'denoising',
    file: 'browser-test-diffusion.mjs',
    run: 'testDenoising',
    ciOn: ['webgpu'],
  },
  { title: 'samplers', file: 'browser-test-diffusion.mjs', run: 'testSamplers', ciOn: ['webgpu'] },
  { title: 'gpt', file: 'browser-test-gpt.mjs', run: 'testGpt', ciOn: ['webgpu', 'wasm'] },
  { title: 'vae-explorer', file: 'browser-test-vae.mjs', run: 'testVaeExplorer', ciOn: ['webgpu'] },
  {
    title: 'vae-train',
    file: 'browser-test-vae.mjs',
    run: 'testVaeTrain',
    ciOn: ['webgpu', 'wasm'],
  },
  { title: 'gan', file: 'browser-test-gan.mjs', run: 'testGanDemo', ciOn: ['webgpu', 'wasm'] },
  // On a machine without a GPU, WebGPU is SwiftShader: its first text-to-image
  // batch compiles shaders for minutes, so the default run checks wasm only.
  { title: 'latent', file: 'browser-test-latent.mjs', run: 'testLatentDemo', ciOn: ['wasm'] },
];

/** Imports `demo.run` from its module, with an error that names what is missing. */
async function load(demo: Demo): Promise<DemoTest> {
  const module: Record<string, unknown> = await import(`../scripts/${demo.file}`);
  const run = module[demo.run];
  if (typeof run !== 'function')
    throw new Error(
      `demos.spec: expected scripts/${demo.file} to export a function ${demo.run}(page, t), ` +
        `got ${typeof run}. Fix: export it, or correct the entry '${demo.title}' in DEMOS`,
    );
  return run as DemoTest;
}

for (const demo of DEMOS) {
  test(demo.title, { tag: demo.ciOn.map((b) => `@${b}`) }, async ({ page, t }, testInfo) => {
    const results = await (await load(demo))(page, t);
    const json = JSON.stringify(results);
    console.log(`${demo.title} on ${t.backend}: ${json}`);
    await testInfo.attach('results', { body: json, contentType: 'application/json' });
    writeFileSync(join(t.shots, `results-${demo.title}-${t.backend}.json`), `${json}\n`);
  });
}
