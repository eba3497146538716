import type { WasmMemory, WasmModule } from '../fast/wasm.js';

/*
 * The seam between core and the platform it runs on. Everything Node-only (reading the kernels' .wasm file, starting a
 * worker thread, counting cores) is behind this interface, with one implementation for Node (platform/node.ts) and one
 * for browsers (platform/browser.ts). Which one a program gets is decided by the `#platform` entry of core's
 * package.json `imports`: the `browser` condition (bundlers targeting a page or a Worker) picks the browser one,
 * `node` the Node one, and `default` (any other runtime) the browser one, which uses web APIs only. Nothing else in
 * core imports a `node:` module, so a browser bundle of core reaches none.
 */

/** What every worker thread of the fast kernels is given when it starts (see threads.ts). */
export interface ThreadData {
  /** The pool's control words: an Int32Array's buffer, shared by all threads. */
  readonly control: ArrayBufferLike;
  /** The compiled kernels module; each thread instantiates it on `memory`. */
  readonly module: WasmModule;
  /** The one memory every thread's instance works in. */
  readonly memory: WasmMemory;
}

/** What the fast kernels need from the platform. @example import { platform } from '#platform'; platform.cores() */
export interface Platform {
  /** Which implementation this is, for messages. */
  readonly name: 'node' | 'browser';
  /** Compiles the kernels module (dist/fast/kernels.wasm, or its parts assembled when the sources run without a build). */
  readonly compileKernels: () => Promise<WasmModule>;
  /** How many threads this machine can run at once (os.availableParallelism(), navigator.hardwareConcurrency). */
  readonly cores: () => number;
  /**
   * Why the kernels must stay on one thread here, or undefined when workers may share the memory: a page that is not
   * cross-origin isolated cannot share memory with workers, and a page's main thread may not block in Atomics.wait.
   */
  readonly singleThreadReason: () => string | undefined;
  /**
   * Whether a worker started by this thread comes up while this thread blocks (Node: yes). A browser starts a
   * worker only once the thread that made it returns to its event loop, so there startThreads cannot wait for workers;
   * threadsReady (asynchronous) can.
   */
  readonly workersStartWhileBlocked: boolean;
  /**
   * Starts a thread that never keeps the program alive, running `main` (the source text of a function
   * `(data: ThreadData) => void`) on `data`.
   */
  readonly startThread: (main: string, data: ThreadData) => void;
  /** A fresh buffer of `bytes` bytes that need not be zero-filled (every byte is written by the caller). */
  readonly unfilledBuffer: (bytes: number) => ArrayBuffer;
  /** Says `message` once, where a developer looks (stderr, the console). */
  readonly notice: (message: string) => void;
}
