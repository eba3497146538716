import { PassThrough } from 'node:stream';
import { runCli, type InterruptSignal, type Io } from '@foldnet/cli';

/** What a command run in-process printed and returned. */
export interface Captured {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * Runs the CLI in this process (runCli) in `cwd`, recording what it prints. `interrupt` makes that
 * signal (Ctrl-C's SIGINT, SIGTERM, SIGHUP) arrive as soon as training watches for signals: after
 * its first step.
 */
export const runInProcess = async (args: readonly string[], cwd: string, interrupt?: InterruptSignal): Promise<Captured> => {
  let out = '';
  let err = '';
  const io: Io = {
    out: (s) => (out += s),
    err: (s) => (err += s),
    stdoutIsTTY: false,
    stdout: new PassThrough(),
    cwd,
    env: {},
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
