import { PassThrough } from 'node:stream';
import { runCli, type Io } from '@foldnet/cli';

/*
 * Running `foldnet` in the test's own process (runCli with an Io that records what it prints): for test files that
 * run many commands (fuzzing), where starting the built CLI for each would take seconds.
 */

/** What a command printed and its exit code. */
export interface Captured {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * Runs `foldnet <args>` in-process from `cwd` with the environment `env` (nothing of the test's own).
 *
 * @example const r = await runInProcess(['summary', 'simple'], tmp); r.code // 0
 */
export const runInProcess = async (args: readonly string[], cwd: string, env: Readonly<Record<string, string>> = {}): Promise<Captured> => {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => (out += s), err: (s) => (err += s), stdoutIsTTY: false, stdout: new PassThrough(), cwd, env };
  const code = await runCli(args, io);
  return { code, out, err };
};

/** The lines a command printed on stderr, a machine's missing fonts left out (a warning about the charts, not an error). */
export const errorLines = (r: Captured): string[] => r.err.split('\n').filter((l) => l !== '' && !/warning: no font found/.test(l));
