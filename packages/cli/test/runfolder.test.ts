import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTrainState } from '@foldnet/train';
import { CARRIED_ROWS, LOCK_FILE, parseJsonLines, parseStepLosses, runCarryOf, type MetricsRow } from '@foldnet/cli';
import { MAX_METRICS_BYTES } from '../src/metrics.js';
import { appendRunFile } from '../src/runfolder.js';
import { runInProcess, type Captured } from './in-process.js';

/*
 * The life cycle of a run folder, in-process (runCli): what may be written into (a new or empty
 * folder, a run folder continued by --resume or replaced by --overwrite, never a foreign folder),
 * the lock, and resuming: in the checkpoint's own folder with the whole history, the metrics of an
 * interrupted and resumed run equal to an uninterrupted run's, a checkpoint's carry bounded.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-runfolder-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: readonly string[], interrupt?: 'SIGINT'): Promise<Captured> => runInProcess(args, tmp, interrupt === undefined ? {} : { interrupt });
const tiny = ['--train-size', '40', '--test-size', '20', '--batch-size', '10'];

/** One line on stderr, exit 2. */
const expectRefused = (r: Captured, line: string): void => {
  expect(r.code, r.err).toBe(2);
  expect(r.err).toBe(`foldnet train: ${line}\n`);
};

const checkpointStep = (dir: string): number => {
  const ckpt = loadTrainState(path.join(tmp, dir, 'checkpoint.safetensors'));
  if (ckpt._tag === 'Left') throw new Error(ckpt.left.message);
  return ckpt.right.step;
};

const rowsOf = (dir: string): MetricsRow[] => parseJsonLines(fs.readFileSync(path.join(tmp, dir, 'metrics.jsonl'), 'utf8'));
const withoutTime = (rows: readonly MetricsRow[]): Omit<MetricsRow, 'elapsed_s'>[] => rows.map(({ elapsed_s: _t, ...rest }) => rest);
const csvWithoutTime = (dir: string): string[] =>
  fs.readFileSync(path.join(tmp, dir, 'metrics.csv'), 'utf8').trimEnd().split('\n').map((l) => l.split(',').slice(0, -1).join(','));

describe('what a run may write into', () => {
  it('a folder holding a run: a new run is refused naming the folder, --resume and --overwrite; --overwrite replaces it, saying what it removed', async () => {
    expect((await cli(['train', ...tiny, '--iters', '4', '--eval-every', '2', '--out', 'held'])).code).toBe(0);
    const before = fs.readFileSync(path.join(tmp, 'held', 'metrics.jsonl'), 'utf8');
    expectRefused(
      await cli(['train', ...tiny, '--iters', '2', '--out', 'held']),
      `run folder held already holds a run (checkpoint.safetensors, metrics.jsonl): continue it with --resume ${path.join('held', 'checkpoint.safetensors')}, or replace it with --overwrite`,
    );
    expect(checkpointStep('held')).toBe(4);
    expect(fs.readFileSync(path.join(tmp, 'held', 'metrics.jsonl'), 'utf8')).toBe(before);
    const replaced = await cli(['train', ...tiny, '--iters', '2', '--eval-every', '0', '--out', 'held', '--overwrite']);
    expect(replaced.code, replaced.err).toBe(0);
    expect(replaced.out).toContain(
      '--overwrite: replacing the run in held (removed config.json, metrics.jsonl, metrics.csv, losses.jsonl, checkpoint.safetensors, accuracy.svg, accuracy.png, loss.svg, loss.png, report.html)\n',
    );
    expect(checkpointStep('held')).toBe(2);
    expect(rowsOf('held').map((r) => r.step)).toEqual([2]);
    expect(fs.existsSync(path.join(tmp, 'held', LOCK_FILE)), 'the lock is released at the end').toBe(false);
  });

  it('--out / and folders that are not empty and not run folders (a source tree) are refused, and nothing is written there', async () => {
    const tree = path.join(tmp, 'project');
    fs.mkdirSync(path.join(tree, 'src'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'package.json'), '{}\n');
    expectRefused(await cli(['train', ...tiny, '--iters', '1', '--out', 'project']), '--out project: not empty and not a foldnet run folder (it holds package.json); give a new or empty folder');
    expect(fs.readdirSync(tree).sort()).toEqual(['package.json', 'src']);
    // with --overwrite too: it replaces runs, never other folders
    expectRefused(await cli(['train', ...tiny, '--iters', '1', '--out', 'project', '--overwrite']), '--out project: not empty and not a foldnet run folder (it holds package.json); give a new or empty folder');
    const rootHad = fs.readdirSync('/').sort();
    const r = await cli(['train', ...tiny, '--iters', '1', '--out', '/']);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/^foldnet train: --out \/: not empty and not a foldnet run folder \(it holds \S+\); give a new or empty folder\n$/);
    expect(fs.readdirSync('/').sort()).toEqual(rootHad);
  });

  it('an empty folder, and one where a run was killed before saving anything (config.json, a stale lock), are written into', async () => {
    fs.mkdirSync(path.join(tmp, 'empty'));
    expect((await cli(['train', ...tiny, '--iters', '1', '--out', 'empty'])).code).toBe(0);
    fs.mkdirSync(path.join(tmp, 'killed'));
    fs.writeFileSync(path.join(tmp, 'killed', 'config.json'), '{}\n');
    fs.writeFileSync(path.join(tmp, 'killed', 'metrics.jsonl'), '');
    fs.writeFileSync(path.join(tmp, 'killed', LOCK_FILE), '999999999\n'); // above Linux's largest pid (2^22)
    const r = await cli(['train', ...tiny, '--iters', '1', '--out', 'killed']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('run folder killed: the lock of pid 999999999, which is no longer running, taken over\n');
    expect(checkpointStep('killed')).toBe(1);
  });

  it('a folder locked by a live process is refused at once, naming the folder and the pid', async () => {
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      fs.mkdirSync(path.join(tmp, 'busy'));
      fs.writeFileSync(path.join(tmp, 'busy', LOCK_FILE), `${holder.pid}\n`);
      expectRefused(await cli(['train', ...tiny, '--iters', '1', '--out', 'busy']), `run folder busy is in use by another run (pid ${holder.pid}, in ${LOCK_FILE}); wait for it to end or give another --out`);
      expect(fs.readdirSync(path.join(tmp, 'busy'))).toEqual([LOCK_FILE]);
      expect(fs.readFileSync(path.join(tmp, 'busy', LOCK_FILE), 'utf8')).toBe(`${holder.pid}\n`);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('appending to run files', () => {
  it('appendRunFile adds whole lines to a regular file, and refuses a link planted under the name, leaving its target untouched', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'append-'));
    appendRunFile(dir, 'losses.jsonl', '{"step":1,"loss":2.3}\n');
    appendRunFile(dir, 'losses.jsonl', '{"step":2,"loss":2.2}\n');
    expect(parseStepLosses(fs.readFileSync(path.join(dir, 'losses.jsonl'), 'utf8'))).toEqual([{ step: 1, loss: 2.3 }, { step: 2, loss: 2.2 }]);
    const outside = path.join(tmp, 'precious.txt');
    fs.writeFileSync(outside, 'precious');
    fs.symlinkSync(outside, path.join(dir, 'metrics.jsonl'));
    expect(() => appendRunFile(dir, 'metrics.jsonl', '{"step":1}\n')).toThrow(
      `cannot write ${path.join(dir, 'metrics.jsonl')}: is a symbolic link; foldnet writes its run files only as regular files`,
    );
    expect(fs.readFileSync(outside, 'utf8')).toBe('precious');
  });

  it('a line a crash cut short is skipped when read back', () => {
    expect(parseStepLosses('{"step":1,"loss":2.3}\n{"step":2,"loss":null}\n{"step":3,"lo')).toEqual([{ step: 1, loss: 2.3 }, { step: 2, loss: Number.NaN }]);
    expect(parseJsonLines('{"step":10,"loss":2,"train_acc":0.4,"test_acc":0.39}\n{"step":20,"loss":1.9,"tr').map((r) => r.step)).toEqual([10]);
  });
});

describe('--resume', () => {
  it('Ctrl-C mid-interval, then --resume without --out: continues in the run folder, and its metrics and step losses equal an uninterrupted run\'s (all but elapsed_s)', async () => {
    const run = ['train', ...tiny, '--iters', '12', '--eval-every', '5'];
    expect((await cli([...run, '--out', 'whole'])).code).toBe(0);
    const stopped = await cli([...run, '--out', 'parts'], 'SIGINT');
    expect(stopped.code, stopped.err).toBe(130);
    expect(checkpointStep('parts')).toBe(1); // inside the first interval of 5 steps
    const carried = runCarryOf(readCarry('parts'));
    expect(carried.window).toMatchObject({ after: 0, count: 1 });
    const resumed = await cli(['train', '--resume', path.join('parts', 'checkpoint.safetensors')]);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toContain(`continuing the run in parts${path.sep}: its metrics and charts go on from step 1\n`);
    expect(resumed.out).toMatch(/, resuming at step 1 of 12\n/);
    expect(fs.readdirSync(tmp).filter((f) => f === 'runs')).toEqual([]); // no new runs/<timestamp> folder
    expect(withoutTime(rowsOf('parts'))).toEqual(withoutTime(rowsOf('whole')));
    expect(rowsOf('parts').map((r) => r.step)).toEqual([5, 10, 12]);
    expect(csvWithoutTime('parts')).toEqual(csvWithoutTime('whole'));
    const losses = (dir: string) => parseStepLosses(fs.readFileSync(path.join(tmp, dir, 'losses.jsonl'), 'utf8'));
    expect(losses('parts')).toEqual(losses('whole'));
    expect(losses('parts').map((p) => p.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    // elapsed_s goes on from the checkpoint's time, not from 0
    for (const row of rowsOf('parts')) expect(row.elapsed_s).toBeGreaterThanOrEqual(carried.elapsed_s);
    expect(checkpointStep('parts')).toBe(12);
  });

  it('a run history past MAX_METRICS_BYTES is refused naming the file and the limit, not read whole', async () => {
    expect((await cli(['train', ...tiny, '--iters', '4', '--eval-every', '2', '--out', 'huge'])).code).toBe(0);
    const losses = path.join(tmp, 'huge', 'losses.jsonl');
    fs.truncateSync(losses, MAX_METRICS_BYTES + 1); // sparse: the size is what is checked
    const r = await cli(['train', '--resume', path.join('huge', 'checkpoint.safetensors'), '--iters', '6']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${losses}: file holds ${MAX_METRICS_BYTES + 1} bytes, more than the ${MAX_METRICS_BYTES}-byte limit`);
  });

  it('--resume with --out elsewhere starts that folder with the whole history of the checkpoint\'s folder; another checkpoint file in a run folder is not continued in place; --overwrite with --resume into its own folder is refused', async () => {
    expect((await cli(['train', ...tiny, '--iters', '6', '--eval-every', '2', '--out', 'origin'])).code).toBe(0);
    const r = await cli(['train', '--resume', path.join('origin', 'checkpoint.safetensors'), '--iters', '8', '--out', 'branch']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`the resumed run writes branch${path.sep}\n`);
    expect(r.out).not.toContain('note:');
    expect(rowsOf('branch').map((x) => x.step)).toEqual([2, 4, 6, 8]);
    expect(rowsOf('origin').map((x) => x.step)).toEqual([2, 4, 6]);
    // another checkpoint file in a run folder (an older copy) would rewind it: resumed, it writes a new folder
    fs.copyFileSync(path.join(tmp, 'origin', 'checkpoint.safetensors'), path.join(tmp, 'origin', 'copy.safetensors'));
    const copy = await cli(['train', '--resume', path.join('origin', 'copy.safetensors'), '--iters', '8']);
    expect(copy.code, copy.err).toBe(0);
    expect(copy.out).toContain(`${path.join('origin', 'copy.safetensors')} is not the checkpoint of a run folder: the resumed run writes a new one\n`);
    expect(rowsOf('origin').map((x) => x.step)).toEqual([2, 4, 6]);
    expectRefused(
      await cli(['train', '--resume', path.join('origin', 'copy.safetensors'), '--iters', '8', '--out', 'origin']),
      `run folder origin already holds a run (checkpoint.safetensors, metrics.jsonl): continue it with --resume ${path.join('origin', 'checkpoint.safetensors')}, or replace it with --overwrite`,
    );
    expectRefused(
      await cli(['train', '--resume', path.join('origin', 'checkpoint.safetensors'), '--iters', '8', '--overwrite']),
      `--overwrite: origin is the run folder of the checkpoint --resume continues from; give --resume alone to continue it, or another --out`,
    );
  });

  it('train --help says that on resume --iters counts the total steps, and what --overwrite and the run folder rules do', async () => {
    const r = await cli(['train', '--help']);
    const help = r.out.replace(/\s+/g, ' ');
    expect(help).toContain("On resume, --iters counts the run's total steps, not steps to add: a checkpoint at step 200 resumed with --iters 1000 trains 800 more.");
    expect(help).toContain('--overwrite replace the run the --out folder holds');
    expect(help).toContain('A folder that already holds a run is continued only with --resume, or replaced with --overwrite');
    expect(help).toContain('SIGTERM and SIGHUP save checkpoint.safetensors at the current step and exit with code 130, 143 and 129');
  });

  it(`a checkpoint carries at most ${CARRIED_ROWS} evaluation rows however long the run; resumed alone elsewhere, it goes on with the same numbers and says the charts lack the older history`, async () => {
    expect((await cli(['train', ...tiny, '--iters', '104', '--eval-every', '1', '--checkpoint-every', '0', '--out', 'long'])).code).toBe(0);
    const carry = runCarryOf(readCarry('long'));
    expect(carry.evaluations).toBe(104);
    expect(carry.rows.map((x) => x.step)).toEqual(Array.from({ length: CARRIED_ROWS }, (_, i) => 104 - CARRIED_ROWS + 1 + i));
    fs.mkdirSync(path.join(tmp, 'alone'));
    fs.copyFileSync(path.join(tmp, 'long', 'checkpoint.safetensors'), path.join(tmp, 'alone', 'ckpt.safetensors'));
    const r = await cli(['train', '--resume', path.join('alone', 'ckpt.safetensors'), '--iters', '106', '--out', 'after-alone']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`note: alone does not hold the whole history of steps 1-104 (metrics.jsonl, losses.jsonl): the charts show the last ${CARRIED_ROWS} of 104 evaluations and batch losses from step 105\n`);
    expect((await cli(['train', ...tiny, '--iters', '106', '--eval-every', '1', '--checkpoint-every', '0', '--out', 'long-whole'])).code).toBe(0);
    expect(withoutTime(rowsOf('after-alone'))).toEqual(withoutTime(rowsOf('long-whole').slice(104 - CARRIED_ROWS)));
  });
});

/** The `metrics` metadata of a run folder's checkpoint. */
const readCarry = (dir: string): unknown => {
  const ckpt = loadTrainState(path.join(tmp, dir, 'checkpoint.safetensors'));
  if (ckpt._tag === 'Left') throw new Error(ckpt.left.message);
  return ckpt.right.metrics;
};
