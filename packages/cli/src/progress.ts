import cliProgress from 'cli-progress';

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

/**
 * "12.3 s", "4 min 05 s", "1 h 02 min": durations for the ETA.
 *
 * @example
 * formatDuration(245); // '4 min 05 s'
 */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
};

/**
 * The plain progress line.
 *
 * @example
 * progressLine(100, 1000, 0.4312, 12.3, 73); // 'step 100/1000 (10%)  loss 0.4312  12.3 steps/s  ETA 1 min 13 s'
 */
export const progressLine = (step: number, total: number, loss: number, stepsPerSecond: number, etaSeconds: number): string =>
  `step ${step}/${total} (${Math.floor((100 * step) / Math.max(total, 1))}%)  loss ${loss.toFixed(4)}  ${stepsPerSecond.toFixed(1)} steps/s  ETA ${formatDuration(etaSeconds)}`;

/**
 * Plain-line progress: a line whenever another 10% of the run is done or `intervalSeconds` have
 * passed since the last line, and always at the last step.
 *
 * @example
 * const p = plainProgress({ total: 1000, startStep: 0, tty: false, write: (s) => process.stdout.write(s) });
 */
export const plainProgress = (options: ProgressOptions): Progress => {
  const now = options.now ?? Date.now;
  const started = now();
  const intervalMs = (options.intervalSeconds ?? 5) * 1000;
  const tenth = Math.max(1, Math.ceil(options.total / 10));
  let lastLineAt = started;
  let lastLineStep = options.startStep;
  return {
    step(step, loss) {
      const t = now();
      const done = step - options.startStep;
      const due = step === options.total || step - lastLineStep >= tenth || t - lastLineAt >= intervalMs;
      if (!due || done <= 0) return;
      const rate = (done * 1000) / Math.max(t - started, 1);
      options.write(`${progressLine(step, options.total, loss, rate, (options.total - step) / rate)}\n`);
      lastLineAt = t;
      lastLineStep = step;
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
