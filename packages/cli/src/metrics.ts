import type { StepLoss } from './plots.js';

/**
 * One evaluation during training, as written to metrics.jsonl and metrics.csv: the step it was
 * taken after, the mean training-batch loss since the previous evaluation, and the accuracies on the
 * training and test subsets. `test_loss` and `elapsed_s` are written when known.
 *
 * @example
 * const row: MetricsRow = { step: 10, loss: 2.05, train_acc: 0.389, test_acc: 0.398 };
 */
export interface MetricsRow {
  readonly step: number;
  readonly loss: number;
  readonly train_acc: number;
  readonly test_acc: number;
  readonly test_loss?: number;
  /** Seconds since the start of this training run (wall clock). */
  readonly elapsed_s?: number;
}

/** The columns of metrics.csv, in order. */
/**
 * The largest metrics.jsonl or losses.jsonl read (compare, a resumed run's history): ~3 million evaluation rows. Far above any config file's limit,
 * since a long run's history is meant to be read whole.
 */
export const MAX_METRICS_BYTES = 400 << 20;

export const metricsColumns = ['step', 'loss', 'train_acc', 'test_acc', 'test_loss', 'elapsed_s'] as const;

/** A number as JSON and CSV write it: NaN and infinities become null / an empty cell, since JSON has none. */
const finiteOrNull = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : x);

/**
 * metrics.jsonl: one JSON object per row, one row per line, the last line the final evaluation.
 *
 * @example
 * toJsonLines([{ step: 10, loss: 2, train_acc: 0.4, test_acc: 0.39 }]);
 * // '{"step":10,"loss":2,"train_acc":0.4,"test_acc":0.39}\n'
 */
export const toJsonLines = (rows: readonly MetricsRow[]): string =>
  rows
    .map((r) => {
      const base: Record<string, number | null> = {
        step: r.step,
        loss: finiteOrNull(r.loss),
        train_acc: finiteOrNull(r.train_acc),
        test_acc: finiteOrNull(r.test_acc),
      };
      if (r.test_loss !== undefined) base['test_loss'] = finiteOrNull(r.test_loss);
      if (r.elapsed_s !== undefined) base['elapsed_s'] = finiteOrNull(r.elapsed_s);
      return `${JSON.stringify(base)}\n`;
    })
    .join('');

/**
 * metrics.csv: a header line and one line per row; unknown values are empty cells.
 *
 * @example
 * toCsv([{ step: 10, loss: 2, train_acc: 0.4, test_acc: 0.39 }]);
 * // 'step,loss,train_acc,test_acc,test_loss,elapsed_s\n10,2,0.4,0.39,,\n'
 */
export const toCsv = (rows: readonly MetricsRow[]): string => {
  const cell = (x: number | undefined): string => {
    const v = finiteOrNull(x);
    return v === null ? '' : String(v);
  };
  const lines = rows.map((r) => [r.step, r.loss, r.train_acc, r.test_acc, r.test_loss, r.elapsed_s].map(cell).join(','));
  return `${metricsColumns.join(',')}\n${lines.map((l) => `${l}\n`).join('')}`;
};

const numberOr = (u: unknown, fallback: number): number => (typeof u === 'number' ? u : u === null ? Number.NaN : fallback);

/**
 * Reads metrics.jsonl back (for `--resume`, which carries the earlier curve on). Lines that are not
 * objects with a numeric `step` are skipped; missing numbers read as NaN.
 *
 * @example
 * parseJsonLines('{"step":10,"loss":2,"train_acc":0.4,"test_acc":0.39}\n')[0].step; // 10
 */
export const parseJsonLines = (text: string): MetricsRow[] =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line): MetricsRow[] => {
      let u: unknown;
      try {
        u = JSON.parse(line);
      } catch {
        return [];
      }
      if (typeof u !== 'object' || u === null || !('step' in u) || typeof u.step !== 'number') return [];
      const get = (k: string): unknown => (k in u ? Object.getOwnPropertyDescriptor(u, k)?.value : undefined);
      const row: MetricsRow = {
        step: u.step,
        loss: numberOr(get('loss'), Number.NaN),
        train_acc: numberOr(get('train_acc'), Number.NaN),
        test_acc: numberOr(get('test_acc'), Number.NaN),
        ...(typeof get('test_loss') === 'number' ? { test_loss: numberOr(get('test_loss'), Number.NaN) } : {}),
        ...(typeof get('elapsed_s') === 'number' ? { elapsed_s: numberOr(get('elapsed_s'), Number.NaN) } : {}),
      };
      return [row];
    });

/**
 * The lesson's evaluation line.
 *
 * @example
 * evaluationLine({ step: 10, loss: 2, train_acc: 0.389, test_acc: 0.398 }); // 'step 10: train acc 0.3890, test acc 0.3980'
 */
export const evaluationLine = (row: MetricsRow): string =>
  `step ${row.step}: train acc ${row.train_acc.toFixed(4)}, test acc ${row.test_acc.toFixed(4)}`;

/**
 * losses.jsonl: one `{"step":..,"loss":..}` per step (a step's batch loss, a point of the loss
 * chart), oldest first; a non-finite loss is null.
 *
 * @example stepLossLines([{ step: 1, loss: 2.3 }]); // '{"step":1,"loss":2.3}\n'
 */
export const stepLossLines = (points: readonly StepLoss[]): string =>
  points.map((p) => `{"step":${p.step},"loss":${JSON.stringify(finiteOrNull(p.loss))}}\n`).join('');

/**
 * Reads losses.jsonl back; a line that is not a whole `{"step":n,"loss":x|null}` (one a crash cut
 * short) is skipped, and null reads as NaN.
 *
 * @example parseStepLosses('{"step":1,"loss":2.3}\n{"step":2,"lo'); // [{ step: 1, loss: 2.3 }]
 */
export const parseStepLosses = (text: string): StepLoss[] =>
  text.split('\n').flatMap((line): StepLoss[] => {
    if (line.trim() === '') return [];
    let u: unknown;
    try {
      u = JSON.parse(line);
    } catch {
      return [];
    }
    if (typeof u !== 'object' || u === null || !('step' in u) || typeof u.step !== 'number' || !('loss' in u)) return [];
    const loss = u.loss === null ? Number.NaN : u.loss;
    return typeof loss === 'number' ? [{ step: u.step, loss }] : [];
  });

/**
 * The running mean of an evaluation window: the finite batch losses of the steps after `after`,
 * summed oldest first from 0 (as meanLossAfter of @foldnet/train sums them), and their count. A
 * checkpoint carries it, so the first row after a resume averages the whole window, bit for bit.
 */
export interface LossWindow {
  readonly after: number;
  readonly sum: number;
  readonly count: number;
}

/**
 * `window` continued with the losses of later steps (oldest first; non-finite ones are skipped).
 *
 * @example extendWindow({ after: 10, sum: 4, count: 2 }, [{ step: 13, loss: 1 }]); // { after: 10, sum: 5, count: 3 }
 */
export const extendWindow = (window: LossWindow, points: readonly StepLoss[]): LossWindow => {
  let { sum, count } = window;
  for (const p of points) {
    if (p.step > window.after && Number.isFinite(p.loss)) {
      sum += p.loss;
      count++;
    }
  }
  return { after: window.after, sum, count };
};

/** The window's mean, NaN when it holds no finite loss. @example windowMean({ after: 0, sum: 5, count: 2 }); // 2.5 */
export const windowMean = (w: LossWindow): number => (w.count === 0 ? Number.NaN : w.sum / w.count);

/** Evaluation rows a checkpoint carries at most: what a resume needs stays bounded, however long the run. */
export const CARRIED_ROWS = 100;

/**
 * What a checkpoint written by foldnet train carries of its run (its `metrics` metadata): the
 * number of evaluations so far and the last CARRIED_ROWS of them, the seconds the run has taken,
 * and the open evaluation window. The whole history is in the run folder (metrics.jsonl,
 * losses.jsonl); a checkpoint alone still resumes with the same numbers, only its charts may then
 * lack the older history.
 */
export interface RunCarry {
  readonly evaluations: number;
  readonly rows: readonly MetricsRow[];
  readonly elapsed_s: number;
  /** undefined for a checkpoint written before windows were carried: its first row averages the steps since the resume. */
  readonly window: LossWindow | undefined;
}

/**
 * The carry of a run with these evaluation rows (all of them), its open window and its seconds so far.
 *
 * @example runCarry(rows, losses, { after: 20, sum: 0, count: 0 }, 12.5).rows.length; // <= CARRIED_ROWS
 */
export const runCarry = (rows: readonly MetricsRow[], window: LossWindow, elapsed: number): RunCarry => ({
  evaluations: rows.length,
  rows: rows.slice(-CARRIED_ROWS),
  elapsed_s: elapsed,
  window,
});

/** The carry as JSON for the checkpoint's metadata (rows as metrics.jsonl writes them). */
export const runCarryJson = (c: RunCarry): unknown => ({
  evaluations: c.evaluations,
  rows: toJsonLines(c.rows).split('\n').filter((l) => l !== '').map((l): unknown => JSON.parse(l)),
  elapsed_s: c.elapsed_s,
  ...(c.window === undefined ? {} : { window: c.window }),
});

const field = (u: object, k: string): unknown => Object.getOwnPropertyDescriptor(u, k)?.value;

/**
 * Reads a checkpoint's `metrics` metadata back: this carry, or the plain array of every row that
 * earlier checkpoints held (then there is no window, and the time is the last row's). Anything
 * else reads as an empty history.
 *
 * @example runCarryOf([{ step: 10, loss: 2, train_acc: 0.4, test_acc: 0.39, elapsed_s: 3 }]).elapsed_s; // 3
 */
export const runCarryOf = (u: unknown): RunCarry => {
  const rowsOf = (a: unknown): MetricsRow[] => (Array.isArray(a) ? parseJsonLines(a.map((r: unknown) => JSON.stringify(r) ?? '').join('\n')) : []);
  if (Array.isArray(u)) {
    const rows = rowsOf(u);
    return { evaluations: rows.length, rows, elapsed_s: rows[rows.length - 1]?.elapsed_s ?? 0, window: undefined };
  }
  if (typeof u !== 'object' || u === null) return { evaluations: 0, rows: [], elapsed_s: 0, window: undefined };
  const rows = rowsOf(field(u, 'rows'));
  const count = field(u, 'evaluations');
  const elapsed = field(u, 'elapsed_s');
  const w = field(u, 'window');
  const num = (o: object, k: string): number | undefined => {
    const v = field(o, k);
    return typeof v === 'number' ? v : undefined;
  };
  const after = typeof w === 'object' && w !== null ? num(w, 'after') : undefined;
  const sum = typeof w === 'object' && w !== null ? num(w, 'sum') : undefined;
  const n = typeof w === 'object' && w !== null ? num(w, 'count') : undefined;
  return {
    evaluations: typeof count === 'number' && Number.isSafeInteger(count) && count >= rows.length ? count : rows.length,
    rows,
    elapsed_s: typeof elapsed === 'number' && Number.isFinite(elapsed) ? elapsed : 0,
    window: after !== undefined && sum !== undefined && n !== undefined ? { after, sum, count: n } : undefined,
  };
};
