import cliProgress from 'cli-progress';
import { formatDuration, progressLine as libraryProgressLine, startProgressClock, tickProgress } from '@foldnet/train';

/*
 * Progress of a training run. On a terminal: a live bar (step, loss, steps/s, ETA) with the
 * evaluation lines printed above it. Elsewhere (CI logs, pipes): plain lines at a steady interval
 * (every 10% of the run or every 5 s, whichever comes first), so logs stay short and readable.
 */

/** What a training loop tells the progress display. */
export interface Progress {
  /** Called after each step with the step number (1-based, counted from the run's first step) and its batch loss. */
  step(step: number, loss: number): void;
  /** A line that must be kept (an evaluation, a warning): printed above the bar or as is. */
  log(line: string): void;
  /** Ends the display (the bar is left at its final state). */
  stop(): void;
}

/** Where progress goes and how it measures time; `now` returns milliseconds. */
export interface ProgressOptions {
  readonly total: number;
  /** The step training starts after (non-zero when resuming). */
  readonly startStep: number;
  readonly tty: boolean;
  /** Where plain lines go (stdout). */
  readonly write: (text: string) => void;
  readonly stream?: NodeJS.WritableStream;
  /** The clock in milliseconds (default Date.now; tests pass a fake one). */
  readonly now?: () => number;
  /** Seconds between plain lines at most (default 5). */
  readonly intervalSeconds?: number;
}

export { formatDuration } from '@foldnet/train';

/**
 * The plain progress line (the library's progressLine, with the run's total).
 *
 * @example
 * progressLine(100, 1000, 0.4312, 12.3, 73); // 'step 100/1000 (10%)  loss 0.4312  12.3 steps/s  ETA 1 min 13 s'
 */
export const progressLine = (step: number, total: number, loss: number, stepsPerSecond: number, etaSeconds: number): string =>
  libraryProgressLine(step, total, loss, stepsPerSecond, etaSeconds);

/**
 * Plain-line progress: a line whenever another 10% of the run is done or `intervalSeconds` have
 * passed since the last line, and always at the last step. The timing is the library's
 * (tickProgress, which its printProgress observer prints with), so `fit` with printProgress and
 * `foldnet train` in a log print the same lines.
 *
 * @example
 * const p = plainProgress({ total: 1000, startStep: 0, tty: false, write: (s) => process.stdout.write(s) });
 */
export const plainProgress = (options: ProgressOptions): Progress => {
  const now = options.now ?? Date.now;
  const pace = { total: options.total, intervalMs: (options.intervalSeconds ?? 5) * 1000 };
  let clock = startProgressClock(now(), options.startStep);
  return {
    step(step, loss) {
      const r = tickProgress(clock, step, loss, now(), pace);
      clock = r.clock;
      if (r.line !== undefined) options.write(`${r.line}\n`);
    },
    log(line) {
      options.write(`${line}\n`);
    },
    stop() {},
  };
};

/**
 * A live bar on a terminal: `[=====-----] 420/1000 | loss 0.2301 | 14.2 steps/s | ETA 41 s`, with
 * log lines printed above it.
 */
export const barProgress = (options: ProgressOptions): Progress => {
  const now = options.now ?? Date.now;
  const started = now();
  const multibar = new cliProgress.MultiBar(
    {
      format: 'step {value}/{total} [{bar}] {percentage}% | loss {loss} | {rate} steps/s | ETA {eta_human}',
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 50,
      fps: 10,
      ...(options.stream !== undefined ? { stream: options.stream } : {}),
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = multibar.create(options.total, options.startStep, { loss: '-', rate: '-', eta_human: '?' });
  return {
    step(step, loss) {
      const done = step - options.startStep;
      const rate = (done * 1000) / Math.max(now() - started, 1);
      bar.update(step, { loss: loss.toFixed(4), rate: rate.toFixed(1), eta_human: formatDuration((options.total - step) / rate) });
    },
    log(line) {
      multibar.log(`${line}\n`);
    },
    stop() {
      multibar.stop();
    },
  };
};

/** A bar on a terminal, plain lines otherwise. */
export const createProgress = (options: ProgressOptions): Progress => (options.tty ? barProgress(options) : plainProgress(options));
