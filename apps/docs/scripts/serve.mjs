// A tiny static server for the built site (.vitepress/dist) on 127.0.0.1:
// clean URLs (/guide/core → guide/core.html), correct MIME types (wasm must be
// application/wasm for streaming compilation), nothing else.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
};

function fileFor(root, urlPath) {
  const clean = normalize(decodeURIComponent(urlPath.split('?')[0])).replace(/^(\.\.[/\\])+/, '');
  const base = join(root, clean);
  for (const candidate of [base, `${base}.html`, join(base, 'index.html')]) {
    if (candidate.startsWith(root) && existsSync(candidate) && statSync(candidate).isFile())
      return candidate;
  }
  return undefined;
}

/**
 * Serves `dir` on 127.0.0.1 at `port` (0 = any free port).
 * @returns the server and its base URL; call `close()` to stop it.
 */
export function serveStatic(dir, port = 0) {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const file = fileFor(root, req.url ?? '/');
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address();
      ok({
        url: `http://127.0.0.1:${bound}`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

// `node scripts/serve.mjs [port]`: serve the built site until interrupted.
if (import.meta.url === `file://${process.argv[1]}`) {
  const dist = new URL('../.vitepress/dist', import.meta.url).pathname;
  if (!existsSync(join(dist, 'index.html'))) {
    console.error(
      `serve: expected a built site in ${dist}, found none. Fix: run \`pnpm build\` first`,
    );
    process.exit(1);
  }
  const { url } = await serveStatic(dist, Number(process.argv[2] ?? 4173));
  console.log(JSON.stringify({ serving: dist, url }));
}
