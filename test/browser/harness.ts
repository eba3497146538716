import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import demoConfig, { dataFolders } from '../../examples/web/vite.config.js';

/*
 * What the browser tests and the browser benchmark share: building the test page (test/browser/app) with Vite as an
 * application would be built, serving it with or without the cross-origin isolation headers, and starting Debian's
 * Chromium through playwright-core (no browser is downloaded: the system's is driven).
 */

/** The test page's sources. */
export const appDir = fileURLToPath(new URL('./app/', import.meta.url));

/** Where Chromium is looked for: FOLDNET_CHROMIUM, else Debian's /usr/bin/chromium. */
export const chromiumPath = (): string => process.env.FOLDNET_CHROMIUM ?? '/usr/bin/chromium';

/** Why Chromium cannot be started here, with the command that installs it, or undefined when it can. */
export const chromiumMissing = (): string | undefined => {
  const path = chromiumPath();
  if (existsSync(path)) return undefined;
  const how = process.getuid?.() === 0 ? 'apt-get install -y chromium' : 'sudo apt-get install -y chromium (or run `bash .ci/run` as root)';
  return `the browser tests need Chromium at ${path}, which is missing: install it with \`${how}\`, or set FOLDNET_CHROMIUM to a Chromium binary`;
};

/**
 * Builds the test pages (`pages`: HTML files of app/) into `outDir` with Vite, from the built packages (dist/: run
 * `pnpm run build` first), as an application using foldnet would be built: the browser conditions of the packages'
 * exports and imports, workers as ES modules (the kernels load with a top-level await), kernels.wasm copied beside them
 * as an asset.
 */
export const buildApp = async (outDir: string, pages: readonly string[] = ['index.html']): Promise<void> => {
  const input = Object.fromEntries(pages.map((page) => [page.replace(/\.html$/, ''), join(appDir, page)]));
  await build({
    configFile: false,
    root: appDir,
    base: './',
    logLevel: 'error',
    build: { outDir, emptyOutDir: true, target: 'esnext', minify: false, reportCompressedSize: false, rollupOptions: { input } },
    worker: { format: 'es' },
  });
};

/**
 * Builds the demo (examples/web) with its own Vite config into `outDir`, from the built packages, and links the
 * datasets' folders under `outDir`/data/ as `pnpm web` serves them (mnist, and fashion when installed).
 */
export const buildDemo = async (outDir: string): Promise<void> => {
  // the config as a value: loaded by this process (tests run the packages' sources), not by Vite's own loader
  await build({ ...demoConfig, configFile: false, logLevel: 'error', build: { ...demoConfig.build, outDir, emptyOutDir: true, minify: false, reportCompressedSize: false } });
  mkdirSync(join(outDir, 'data'), { recursive: true });
  for (const [name, dir] of Object.entries(dataFolders())) symlinkSync(dir, join(outDir, 'data', name));
};

/** Every file under `dir`, as paths relative to it. */
export const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

/** A static server of one folder, under two prefixes: /isolated/ sends the cross-origin isolation headers, /plain/ not. */
export interface StaticServer {
  /** The address of `file` in the folder, served with (isolated) or without the headers. */
  readonly url: (isolated: boolean, file: string) => string;
  readonly close: () => Promise<void>;
}

/**
 * Serves `dir` on 127.0.0.1 (a free port). Under /isolated/ every response carries Cross-Origin-Opener-Policy:
 * same-origin and Cross-Origin-Embedder-Policy: require-corp, which make a page cross-origin isolated (shared memory
 * for workers); under /plain/ none does.
 */
export const serve = async (dir: string): Promise<StaticServer> => {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const [, prefix = '', ...rest] = path.split('/');
    const file = normalize(join(dir, ...rest));
    if ((prefix !== 'isolated' && prefix !== 'plain') || !file.startsWith(dir.endsWith(sep) ? dir : dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
    if (prefix === 'isolated') {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    res.writeHead(200, headers).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the test server has no TCP port');
  const { port } = address;
  return {
    url: (isolated, file) => `http://127.0.0.1:${port}/${isolated ? 'isolated' : 'plain'}/${file}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** Starts headless Chromium; throws the install command when it is missing. */
export const launchChromium = async (): Promise<Browser> => {
  const missing = chromiumMissing();
  if (missing !== undefined) throw new Error(missing);
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
};

/** A page's console line, and whether a worker (not the page itself) wrote it. */
export interface ConsoleLine {
  readonly text: string;
  readonly fromWorker: boolean;
}

/**
 * Opens `url` in a fresh page, waits until the page sets `window[resultKey]` (or `window.foldnetError`, or a page error),
 * and gives that value with the console lines the page and its workers wrote.
 */
export const runPage = async (browser: Browser, url: string, resultKey: string, timeoutMs: number): Promise<{ readonly value: unknown; readonly console: ConsoleLine[] }> => {
  const page = await browser.newPage();
  const lines: ConsoleLine[] = [];
  const errors: string[] = [];
  page.on('console', (m) => lines.push({ text: m.text(), fromWorker: m.worker() !== null }));
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(url);
    await page.waitForFunction((k) => Reflect.get(window, k) !== undefined || Reflect.get(window, 'foldnetError') !== undefined, resultKey, { timeout: timeoutMs, polling: 100 });
    const failed: unknown = await page.evaluate(() => Reflect.get(window, 'foldnetError'));
    if (failed !== undefined) throw new Error(`${url}: ${String(failed)}; page errors: ${errors.join('; ')}; console: ${lines.map((l) => l.text).join(' | ')}`);
    return { value: await page.evaluate((k) => Reflect.get(window, k), resultKey), console: lines };
  } catch (e) {
    if (e instanceof Error && errors.length > 0 && !e.message.includes('page errors')) e.message += `; page errors: ${errors.join('; ')}`;
    throw e;
  } finally {
    await page.close();
  }
};
