import { FoldnetError } from '../errors.js';
import type { WasmModule } from '../fast/wasm.js';
import type { Platform, ThreadData } from './platform.js';

/*
 * The browser's side of the platform seam (platform.ts), web APIs only: the kernels module is fetched from beside
 * dist/fast/ (bundlers that understand `new URL('...', import.meta.url)`, such as Vite, copy the file into the build
 * and rewrite the address) and compiled asynchronously (a page's main thread may not compile a module this large
 * synchronously); threads are Web Workers started from a Blob holding the same function a Node worker runs.
 *
 * Workers share the kernels' WebAssembly.Memory only where the page is cross-origin isolated (it was served with
 * Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), and the pool blocks in
 * Atomics.wait, which a page's main thread may not do: threads need both, so the kernels run on one thread otherwise.
 */

// TypeScript's ES2022 lib has no DOM or WebAssembly types: the few members used here are declared and the globals read
// through Reflect, as fast/wasm.ts does.
interface WebWorker {
  postMessage(data: unknown): void;
}
interface WebApi {
  readonly compile: (bytes: ArrayBuffer) => Promise<WasmModule>;
  readonly Worker: new (url: string, options: { name: string }) => WebWorker;
  readonly hardwareConcurrency: unknown;
}
const webApi = (): WebApi => ({
  compile: Reflect.get(Reflect.get(globalThis, 'WebAssembly'), 'compile'),
  Worker: Reflect.get(globalThis, 'Worker'),
  hardwareConcurrency: Reflect.get(Reflect.get(globalThis, 'navigator') ?? {}, 'hardwareConcurrency'),
});

/** Where the built kernels module sits: dist/fast/kernels.wasm, beside dist/platform/ (this file once built). */
const kernelsUrl = new URL('../fast/kernels.wasm', import.meta.url);

const compileKernels = async (): Promise<WasmModule> => {
  let response: Response;
  try {
    response = await fetch(kernelsUrl);
  } catch (e) {
    throw new FoldnetError('io', `fast kernels: fetching ${kernelsUrl.href} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!response.ok) throw new FoldnetError('io', `fast kernels: fetching ${kernelsUrl.href} answered ${response.status} ${response.statusText}`);
  return webApi().compile(await response.arrayBuffer());
};

const singleThreadReason = (): string | undefined => {
  if (Reflect.get(globalThis, 'crossOriginIsolated') !== true) {
    return 'this page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so workers cannot share the kernels\' memory';
  }
  if (Reflect.get(globalThis, 'WorkerGlobalScope') === undefined) {
    return "a page's main thread may not block in Atomics.wait, which the thread pool does: run foldnet in a dedicated Worker to use threads";
  }
  if (typeof Reflect.get(globalThis, 'Worker') !== 'function') {
    return 'this browser cannot start a Worker from a Worker (Safari before 15.5)';
  }
  return undefined;
};

// One Blob URL per worker source, kept for the page's life: the pool may be restarted with another thread count.
const blobUrls = new Map<string, string>();

const startThread = (main: string, data: ThreadData): void => {
  let url = blobUrls.get(main);
  if (url === undefined) {
    // the first message carries the thread's data (structured clone: a WebAssembly.Module and a shared memory pass
    // as themselves, not copies); the thread then blocks in its loop and takes no more messages
    const source = `self.onmessage = (event) => { self.onmessage = null; (${main})(event.data); };`;
    url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    blobUrls.set(main, url);
  }
  const worker = new (webApi().Worker)(url, { name: 'foldnet kernels' });
  worker.postMessage(data);
};

/** The browser's platform. @example platform.cores() // navigator.hardwareConcurrency */
export const platform: Platform = {
  name: 'browser',
  compileKernels,
  cores: () => {
    const n = webApi().hardwareConcurrency;
    return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : 1;
  },
  singleThreadReason,
  workersStartWhileBlocked: false,
  startThread,
  unfilledBuffer: (bytes: number) => new ArrayBuffer(bytes),
  notice: (message: string) => console.info(`foldnet: ${message}`),
};
