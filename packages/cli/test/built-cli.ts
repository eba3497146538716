import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/*
 * Running the built CLI as a user runs it (`node packages/cli/dist/bin.js ...`), shared by the
 * end-to-end test files. vitest runs files in parallel, so the build takes a lock: one file runs
 * the build while the others wait, then theirs is a quick no-op.
 */

/** The repository root. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The built executable. */
export const bin = path.join(root, 'packages/cli/dist/bin.js');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Builds the workspace as `pnpm run build` does (the kernels' WebAssembly, then `tsc -b`, incremental), one test file at
 * a time. The WebAssembly too: a dist/fast/kernels.wasm left by an earlier build would otherwise be what the built CLI
 * runs, whatever the parts in src/fast/wasm say now.
 */
export const buildOnce = async (): Promise<void> => {
  const lock = path.join(os.tmpdir(), `foldnet-build-${Buffer.from(root).toString('hex').slice(-24)}.lock`);
  for (let waited = 0; ; waited += 100) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // another file is building; a lock older than 5 minutes is a crashed build's leftover
      if (waited > 300_000) fs.rmSync(lock, { recursive: true, force: true });
      await sleep(100);
    }
  }
  try {
    execFileSync(process.execPath, ['packages/core/scripts/build-wasm.mjs'], { cwd: root, stdio: 'pipe', timeout: 60_000 });
    execFileSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'pipe', timeout: 300_000 });
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
};

/** A finished run: exit code (null when killed), signal, stdout and stderr. */
export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the built CLI in `cwd` (with `env` added to this process's environment); `done` resolves when it exits. */
export const startFoldnet = (
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>> = {},
): { readonly child: ChildProcess; readonly done: Promise<Run>; readonly output: () => string } => {
  const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, FORCE_COLOR: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, output: () => stdout };
};

/** Runs the built CLI in `cwd` to its end. */
export const foldnet = (args: readonly string[], cwd: string): Promise<Run> => startFoldnet(args, cwd).done;

/** A bad-input run: exit 2 and exactly one line on stderr, no stack trace. */
export const expectUsageError = (r: { readonly code: number | null; readonly stderr: string }, message: string | RegExp): void => {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at /m);
};
