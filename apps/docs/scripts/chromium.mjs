// How the browser tests start Chromium: Debian's build (never a browser
// download) with WebGPU enabled — in headless Chromium it needs
// --enable-unsafe-webgpu and runs on SwiftShader without a GPU; the other
// flags keep the browser from any background traffic.
export const CHROMIUM_PATH = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
