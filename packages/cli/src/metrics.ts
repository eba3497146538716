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
