import { PassThrough } from 'node:stream';
import { runCli, type InterruptSignal, type Io } from '@foldnet/cli';

/*
 * Running `foldnet` in the test's own process (runCli with an Io that records what it prints): for test files that
 * run many commands (fuzzing, run-folder life cycles), where starting the built CLI for each would take seconds.
 */

/** What a command printed and its exit code. */
export interface Captured {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** How to run it: the environment (nothing of the test's own), the command as typed, and a signal to deliver. */
export interface InProcessOptions {
  /** How the user started foldnet: the Io's `command`, for the lines that print one. */
  readonly command?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** This signal (Ctrl-C's SIGINT, SIGTERM, SIGHUP) arrives as soon as training watches for signals: after its first step. */
  readonly interrupt?: InterruptSignal;
}

/**
 * Runs `foldnet <args>` in-process from `cwd`, recording what it prints.
 *
 * @example const r = await runInProcess(['summary', 'simple'], tmp); r.code // 0
 */
export const runInProcess = async (args: readonly string[], cwd: string, options: InProcessOptions = {}): Promise<Captured> => {
  let out = '';
  let err = '';
  const { interrupt } = options;
  const io: Io = {
    out: (s) => (out += s),
    err: (s) => (err += s),
    stdoutIsTTY: false,
    stdout: new PassThrough(),
    cwd,
    env: options.env ?? {},
    ...(options.command === undefined ? {} : { command: options.command }),
    ...(interrupt === undefined
      ? {}
      : {
          onInterrupt: (handler: (signal: InterruptSignal) => void) => {
            handler(interrupt);
            return () => undefined;
          },
        }),
  };
  const code = await runCli(args, io);
  return { code, out, err };
};

/** The lines a command printed on stderr, a machine's missing fonts left out (a warning about the charts, not an error). */
export const errorLines = (r: Captured): string[] => r.err.split('\n').filter((l) => l !== '' && !/warning: no font found/.test(l));
