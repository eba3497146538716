import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { MAX_TEXT_BYTES, decodeUtf8, parseJson, readRegularFile, writeFileAtomic } from '@foldnet/train';
import { UsageError } from '../errors.js';
import { optString } from '../flags.js';
import { readUserFile, shownPath, type Io } from '../io.js';
import { MAX_METRICS_BYTES, parseJsonLines, type MetricsRow } from '../metrics.js';
import { compareChartSpec, findFonts, renderChart } from '../plots.js';
import { makeDirectories, runTimestamp } from '../runfolder.js';

/*
 * `foldnet compare RUN...`: several run folders' curves in one chart and their final numbers in
 * one table, the way experiments are compared. It reads each folder's metrics.jsonl (the whole
 * history, however long: the chart downsamples for drawing) and, when present, its config.json.
 */


/** A run folder as compare reads it. */
export interface ComparedRunFolder {
  /** Its name in the chart and the table. */
  readonly label: string;
  /** The folder as the user named it. */
  readonly shown: string;
  readonly rows: readonly MetricsRow[];
  /** The model, optimizer and seed from its config.json, e.g. 'simple, adam 0.001, seed 0'; '' without one. */
  readonly setup: string;
}

/** One line of the compare table: each value as text ('' when the run did not record it). */
export interface CompareLine {
  readonly run: string;
  readonly setup: string;
  readonly steps: string;
  readonly testAcc: string;
  readonly bestTestAcc: string;
  readonly trainAcc: string;
  readonly testLoss: string;
  readonly meanBatchLoss: string;
  readonly seconds: string;
}

/** The table's columns: each line's key and its heading. */
export const compareColumns: readonly (readonly [keyof CompareLine, string])[] = [
  ['run', 'run'],
  ['setup', 'setup'],
  ['steps', 'steps'],
  ['testAcc', 'test acc'],
  ['bestTestAcc', 'best test acc (step)'],
  ['trainAcc', 'train acc'],
  ['testLoss', 'test loss'],
  ['meanBatchLoss', 'mean batch loss'],
  ['seconds', 'time (s)'],
];

const fixed = (x: number | undefined, digits: number): string => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(digits));

/** The words of a config.json's model, optimizer and seed; '' when it holds none of them. */
const setupOf = (config: unknown): string => {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return '';
  const get = (k: string): unknown => Reflect.get(config, k);
  const model = get('model');
  const optimizer = get('optimizer');
  const seed = get('seed');
  const words = [
    typeof model === 'string' ? path.basename(model) : undefined,
    typeof optimizer === 'object' && optimizer !== null ? `${String(Reflect.get(optimizer, 'type'))} ${String(Reflect.get(optimizer, 'lr'))}` : undefined,
    typeof seed === 'number' ? `seed ${seed}` : undefined,
  ];
  return words.filter((w): w is string => w !== undefined).join(', ');
};

/**
 * Reads one run folder (or the folder of a file inside one, such as its checkpoint): its
 * metrics.jsonl, and config.json when it has a readable one. A folder without metrics.jsonl, or
 * whose metrics.jsonl holds no evaluation, is refused with one line naming it.
 *
 * @example
 * readRunFolder('/home/me', 'runs/a'); // { label: 'a', shown: 'runs/a', rows: [...], setup: 'simple, adam 0.001, seed 0' }
 */
export const readRunFolder = (cwd: string, given: string): Omit<ComparedRunFolder, 'label'> => {
  const full = path.resolve(cwd, given);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(full);
  } catch {
    throw new UsageError(`${given}: no such run folder`);
  }
  const dir = stat.isDirectory() ? full : path.dirname(full);
  const shown = stat.isDirectory() ? given : path.dirname(given);
  const metrics = path.join(dir, 'metrics.jsonl');
  if (!fs.existsSync(metrics)) throw new UsageError(`${shown}: not a run folder (no metrics.jsonl in it; foldnet train writes one)`);
  const text = decodeUtf8(readUserFile(cwd, metrics, 'run metrics', MAX_METRICS_BYTES));
  if (isLeft(text)) throw new UsageError(`${path.join(shown, 'metrics.jsonl')}: ${text.left}`);
  const rows = parseJsonLines(text.right);
  if (rows.length === 0) throw new UsageError(`${path.join(shown, 'metrics.jsonl')}: holds no evaluation rows`);
  // Without a readable config.json the table's setup column stays empty: the curves need only the metrics.
  const configBytes = readRegularFile(path.join(dir, 'config.json'), MAX_TEXT_BYTES);
  const configText = isLeft(configBytes) ? undefined : decodeUtf8(configBytes.right);
  const parsed = configText === undefined || isLeft(configText) ? undefined : parseJson(configText.right);
  const config = parsed === undefined || isLeft(parsed) ? undefined : parsed.right;
  return { shown, rows, setup: setupOf(config) };
};

/**
 * Names for the runs: each folder's own name, or the path as given where two folders share a
 * name (runs/a/seed1 and other/seed1).
 *
 * @example runLabels(['runs/a', 'b/x', 'c/x']); // ['a', 'b/x', 'c/x']
 */
export const runLabels = (shown: readonly string[]): string[] => {
  const names = shown.map((s) => path.basename(path.resolve(s)));
  return shown.map((s, i) => (names.filter((n) => n === names[i]).length > 1 ? s : names[i]));
};

/**
 * The compare table's line of one run: its final evaluation, its best test accuracy and the step
 * of it, and the run's wall time (elapsed_s of its last row).
 *
 * @example
 * compareLine({ label: 'a', shown: 'runs/a', setup: '', rows: [{ step: 10, loss: 2, train_acc: 0.4, test_acc: 0.39 }] }).testAcc; // '0.3900'
 */
export const compareLine = (run: ComparedRunFolder): CompareLine => {
  const last = run.rows[run.rows.length - 1];
  // a loop, not a spread into Math.max: a run may have millions of rows
  let best: MetricsRow | undefined;
  for (const r of run.rows) if (Number.isFinite(r.test_acc) && (best === undefined || r.test_acc > best.test_acc)) best = r;
  return {
    run: run.label,
    setup: run.setup,
    steps: last === undefined ? '' : String(last.step),
    testAcc: fixed(last?.test_acc, 4),
    bestTestAcc: best === undefined ? '' : `${best.test_acc.toFixed(4)} (${best.step})`,
    trainAcc: fixed(last?.train_acc, 4),
    testLoss: fixed(last?.test_loss, 4),
    meanBatchLoss: fixed(last?.loss, 4),
    seconds: fixed(last?.elapsed_s, 1),
  };
};

/**
 * The table as aligned text, for the terminal.
 *
 * @example formatCompareTable([compareLine(run)]); // 'run  setup  steps  test acc ...\n...'
 */
export const formatCompareTable = (lines: readonly CompareLine[]): string => {
  const table = [compareColumns.map(([, h]) => h), ...lines.map((l) => compareColumns.map(([k]) => l[k]))];
  const widths = compareColumns.map((_, c) => table.reduce((w, row) => Math.max(w, row[c].length), 0));
  // text columns left-aligned, numbers right-aligned
  return table.map((row) => row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd()).join('\n');
};

/** The table as Markdown, for notes and pull requests. */
export const compareMarkdown = (lines: readonly CompareLine[]): string => {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const head = `| ${compareColumns.map(([, h]) => h).join(' | ')} |\n|${compareColumns.map((_, c) => (c < 2 ? ' --- ' : ' ---: ')).join('|')}|\n`;
  return head + lines.map((l) => `| ${compareColumns.map(([k]) => cell(l[k])).join(' | ')} |\n`).join('');
};

/** The table as CSV (RFC 4180 quoting), for spreadsheets. */
export const compareCsv = (lines: readonly CompareLine[]): string => {
  const cell = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [compareColumns.map(([k]) => k).join(','), ...lines.map((l) => compareColumns.map(([k]) => cell(l[k])).join(','))].map((l) => `${l}\n`).join('');
};

/** The files `foldnet compare` writes into its folder. */
export const compareFiles = ['compare.svg', 'compare.png', 'compare.md', 'compare.csv'] as const;

/**
 * `foldnet compare RUN... [--out DIR]`: reads each run folder, draws their curves in one chart
 * (SVG and PNG) and writes their final numbers as a table (Markdown and CSV) into `--out`
 * (default `runs/compare-<timestamp>`); prints the table and the paths written.
 *
 * @example
 * await compareCommand(['runs/adam', 'runs/sgd'], { out: 'runs/adam-vs-sgd' }, nodeIo());
 */
export const compareCommand = async (given: readonly string[], opts: Readonly<Record<string, unknown>>, io: Io): Promise<void> => {
  const read = given.map((g) => readRunFolder(io.cwd, g));
  const labels = runLabels(read.map((r) => r.shown));
  const runs: ComparedRunFolder[] = read.map((r, i) => ({ ...r, label: labels[i] }));
  const lines = runs.map(compareLine);

  const out = optString(opts, 'out') ?? path.join('runs', `compare-${runTimestamp(new Date())}`);
  const dir = path.resolve(io.cwd, out);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UsageError(`--out ${out}: exists and is not a directory`);
  try {
    makeDirectories(dir);
  } catch (e) {
    throw new UsageError(`--out ${out}: cannot create the folder: ${e instanceof Error ? e.message : String(e)}`);
  }
  const chart = await renderChart(compareChartSpec(runs));
  const contents: Record<(typeof compareFiles)[number], string | Uint8Array> = {
    'compare.svg': chart.svg,
    'compare.png': chart.png,
    'compare.md': compareMarkdown(lines),
    'compare.csv': compareCsv(lines),
  };
  const written = compareFiles.map((name) => {
    const file = path.join(dir, name);
    const content = contents[name];
    const r = writeFileAtomic(file, typeof content === 'string' ? new TextEncoder().encode(content) : content);
    if (isLeft(r)) throw new UsageError(`cannot write ${file}: ${r.left.message.replace(`writeFileAtomic: ${file}: `, '')}`);
    return file;
  });
  if (!findFonts().any) io.err('foldnet compare: warning: no font found in the system font folders, so compare.png has no text; compare.svg is complete\n');
  // as the user can paste them back: an --out given absolute stays absolute
  const shownDir = shownPath(io.cwd, dir, optString(opts, 'out'));
  io.out(`${formatCompareTable(lines)}\n\nwrote ${shownDir}${path.sep}\n${written.map((f) => `  ${path.join(shownDir, path.basename(f))}\n`).join('')}`);
};
