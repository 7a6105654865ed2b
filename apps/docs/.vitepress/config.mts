import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type DefaultTheme, defineConfig } from 'vitepress';

// The API sidebar is written by TypeDoc (scripts/prepare.mjs → `typedoc`).
const apiSidebarFile = fileURLToPath(new URL('../api/typedoc-sidebar.json', import.meta.url));
const apiSidebar: DefaultTheme.SidebarItem[] = existsSync(apiSidebarFile)
  ? JSON.parse(readFileSync(apiSidebarFile, 'utf8'))
  : [];

export default defineConfig({
  title: 'sculpt',
  description: 'Train and sample generative models with TensorFlow.js, in Node and in the browser.',
  cleanUrls: true,
  head: [['link', { rel: 'icon', href: 'data:,' }]], // no favicon request (a 404 in every page's console)
  lastUpdated: false,
  // README.md files copied or mirrored elsewhere are not pages of their own.
  srcExclude: ['README.md', 'screenshots/**', 'scripts/**', 'test-results/**'],
  markdown: {
    math: true, // markdown-it-mathjax3: $…$ and $$…$$ render to SVG at build time
  },
  vite: {
    optimizeDeps: {
      include: [
        '@tensorflow/tfjs-core',
        '@tensorflow/tfjs-layers',
        '@tensorflow/tfjs-backend-webgpu',
        '@tensorflow/tfjs-backend-webgl',
        '@tensorflow/tfjs-backend-wasm',
        '@tensorflow/tfjs-backend-cpu',
      ],
    },
    build: {
      chunkSizeWarningLimit: 4096,
      rollupOptions: {
        // core and datasets reach Node built-ins (fs, path, module) only through
        // dynamic imports on their Node paths; in the browser those resolve to
        // Vite's empty stub, which is right. Keep the build log about real problems.
        onwarn(warning, warn) {
          if (
            /externalized for browser compatibility|__vite-browser-external/.test(warning.message)
          )
            return;
          warn(warning);
        },
      },
    },
  },
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/guide/getting-started' },
      { text: 'Math', link: '/math' },
      { text: 'Demos', link: '/demos/denoising' },
      { text: 'API', link: '/api/' },
    ],
    sidebar: {
      '/api/': [{ text: 'API reference', link: '/api/', items: apiSidebar }],
      '/': [
        {
          text: 'Guide',
          items: [
            { text: 'Getting started', link: '/guide/getting-started' },
            { text: '@sculpt/core', link: '/guide/core' },
            { text: '@sculpt/samplers', link: '/guide/samplers' },
            { text: '@sculpt/diffusion', link: '/guide/diffusion' },
            { text: '@sculpt/gan', link: '/guide/gan' },
            { text: '@sculpt/vae', link: '/guide/vae' },
            { text: '@sculpt/datasets', link: '/guide/datasets' },
            { text: '@sculpt/metrics', link: '/guide/metrics' },
            { text: '@sculpt/native', link: '/guide/native' },
            { text: '@sculpt/autoregressive', link: '/guide/autoregressive' },
            { text: '@sculpt/latent', link: '/guide/latent' },
            { text: '@sculpt/cli', link: '/guide/cli' },
          ],
        },
        {
          text: 'Going further',
          items: [
            { text: 'Compose a latent diffusion', link: '/guide/latent-diffusion' },
            { text: 'Contribute a sampler', link: '/guide/contribute-a-sampler' },
            { text: 'The math', link: '/math' },
          ],
        },
        {
          text: 'Live demos',
          items: [
            { text: 'Diffusion denoising', link: '/demos/denoising' },
            { text: 'Samplers', link: '/demos/samplers' },
            { text: 'A GPT writing Moby-Dick', link: '/demos/gpt' },
            { text: 'VAE latent explorer', link: '/demos/vae' },
            { text: 'Train a VAE in the page', link: '/demos/vae-train' },
            { text: 'GANs: StyleGAN controls, CycleGAN', link: '/demos/gan' },
            { text: 'Text to image: latent diffusion', link: '/demos/latent' },
          ],
        },
      ],
    },
    search: { provider: 'local' },
    footer: { message: 'MIT licensed.' },
  },
});
