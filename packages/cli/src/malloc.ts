import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

/*
 * glibc's malloc settings for the commands that train or evaluate.
 *
 * Every tensor op returns a fresh buffer (tensors are immutable), a few hundred KB to a few MB each, many per
 * step. With glibc's defaults, freed memory at the top of the heap goes back to the kernel (trim) and buffers
 * above the mmap threshold get their own mapping, so the next step's buffers page-fault their memory in again.
 * A page fault is cheap on bare metal (~0.2 µs) but not on every VM: 11 µs per 4 KiB page on the machine this
 * was measured on, where the default settings cost ~370 faults per SimpleConvNet step and ~950 per evaluation
 * of 6000 images. With the settings below (keep freed memory, serve every buffer below 32 MiB from the heap,
 * grow the heap 64 MiB at a time): ~24 and ~2. glibc reads GLIBC_TUNABLES only when a process starts, so the
 * `foldnet` executable runs these commands in a child process started with it (bin.ts).
 */

/** The tunables: mmap threshold 32 MiB (glibc's maximum), never trim, grow the heap by 64 MiB. */
export const heavyMallocTunables = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295:glibc.malloc.top_pad=67108864';

/*
 * The child once also got V8's young generation at 64 MiB (--min/max-semi-space-size=64), so that a step's
 * activations, then JavaScript buffers, died young instead of costing mark-compacts (7-8% of a ResNet step). Since
 * training steps and evaluation batches keep their activations in the kernels' memory (core's resultScope), that no
 * longer pays (resnet, deep and simple steps, alternated processes: the same time or less with Node's default) and
 * cost ~100 MB of RSS, so the child runs with the parent's node flags as they are.
 */

/** Set in the child's environment by `runInTunedChild`, so the child knows its IPC channel is that parent's. */
const CHILD_MARK = 'FOLDNET_TUNED_CHILD';

/** The commands that run kernels long enough for the settings to matter (the others start faster without a child). */
const HEAVY_COMMANDS = new Set(['train', 'eval', 'bench']);

/**
 * Whether `foldnet <args>` should run in a child process with `heavyMallocTunables`: a heavy command on Linux
 * with glibc, and neither GLIBC_TUNABLES already set (the user's choice, or the child itself) nor
 * FOLDNET_MALLOC=system (the opt-out). `glibcVersion` is asked last, only when everything else holds: finding it
 * takes a diagnostic report (~7 ms), which the quick commands and the child itself need not pay.
 *
 * @example wantsTunedMalloc(['train'], {}, 'linux', () => '2.36') // true
 */
export const wantsTunedMalloc = (
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  platform: string,
  glibcVersion: () => string | undefined,
): boolean =>
  platform === 'linux' &&
  env.GLIBC_TUNABLES === undefined &&
  env.FOLDNET_MALLOC !== 'system' &&
  HEAVY_COMMANDS.has(args[0] ?? '') &&
  glibcVersion() !== undefined;

/** The glibc version this process runs on (e.g. '2.36'), undefined off Linux or with another libc (musl). */
export const glibcVersion = (): string | undefined => {
  if (process.platform !== 'linux') return undefined;
  const header: unknown = Reflect.get(process.report.getReport(), 'header');
  const v: unknown = typeof header === 'object' && header !== null ? Reflect.get(header, 'glibcVersionRuntime') : undefined;
  return typeof v === 'string' ? v : undefined;
};

/**
 * How to start the tuned child so that the kernel kills it the moment its parent dies: through util-linux's
 * `setpriv --pdeathsig KILL` (it sets the parent-death signal, then runs node in its own place), when `setpriv`
 * is there and takes that flag (util-linux 2.33 and later; one run of `setpriv ... true` finds out, ~2 ms).
 * Without it node is started directly, and `exitIfOrphaned` alone keeps a child whose parent is gone from writing.
 *
 * @example childCommand(['/usr/bin/node', 'dist/bin.js', 'train']) // { file: 'setpriv', args: ['--pdeathsig', 'KILL', '/usr/bin/node', 'dist/bin.js', 'train'] }
 */
export const childCommand = (nodeArgs: readonly string[]): { readonly file: string; readonly args: readonly string[] } => {
  const probe = spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true'], { stdio: 'ignore', timeout: 5000 });
  const [node = process.execPath, ...rest] = nodeArgs;
  return probe.status === 0 ? { file: 'setpriv', args: ['--pdeathsig', 'KILL', node, ...rest] } : { file: node, args: rest };
};

/**
 * Runs this same command (same node, flags and arguments) in a child started with `heavyMallocTunables`, and
 * resolves to the exit code to give: the child's, or 128 + the signal that ended it. The child inherits the terminal. Ctrl-C reaches both processes (one process group); SIGINT, SIGTERM and SIGHUP sent to this process
 * alone are passed on, so the child saves and exits as it would on its own. A SIGKILL cannot be passed on:
 * the kernel kills the child with its parent (the parent-death signal, see childCommand), and the child also
 * watches its IPC channel's end (`dieWithParent`) and its parent pid before each write (`exitIfOrphaned`).
 */
export const runInTunedChild = (): Promise<number> =>
  new Promise((resolve) => {
    const { file, args } = childCommand([process.execPath, ...process.execArgv, ...process.argv.slice(1)]);
    const child = spawn(file, args, {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, GLIBC_TUNABLES: heavyMallocTunables, [CHILD_MARK]: '1' },
    });
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
    child.on('error', (e) => {
      process.stderr.write(`foldnet: could not start ${file}: ${e.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
  });

/** The pid of the `foldnet` process this one is the tuned child of; undefined elsewhere. */
let tunedParent: number | undefined;

/** This process's parent pid as the kernel has it now (`process.ppid` is read once, at start), from /proc. */
const currentParentPid = (): number | undefined => {
  try {
    // /proc/self/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so read after the last ')'
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isSafeInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
};

/**
 * In a child of `runInTunedChild`: ends this process at once (SIGKILL, as its parent was) when the parent is
 * gone, so a killed `foldnet` never leaves a run going on behind it. Elsewhere (no mark, or no IPC channel, as
 * when another program forks `foldnet`) it does nothing.
 *
 * The channel's end is heard only when the event loop gets a turn, after the training step under way and
 * whatever it writes; `exitIfOrphaned`, called before each write into the run folder, closes that gap.
 */
export const dieWithParent = (): void => {
  if (process.env[CHILD_MARK] !== '1' || process.channel === undefined) return;
  tunedParent = process.ppid;
  process.channel.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
};

/**
 * Before a write into the run folder: in a tuned child whose `foldnet` parent is gone (killed with SIGKILL: the
 * child is re-parented at once), ends this process with SIGKILL before the write begins or replaces anything.
 * Elsewhere it does nothing. A synchronous read of /proc/self/stat (Linux, where tuned children run).
 *
 * @example exitIfOrphaned(); fs.renameSync(tmp, file);
 */
export const exitIfOrphaned = (): void => {
  if (tunedParent === undefined) return;
  const now = currentParentPid();
  if (now !== undefined && now !== tunedParent) process.kill(process.pid, 'SIGKILL');
};
