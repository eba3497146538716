import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFinite } from '@foldnet/core';
import { decodeModelSpec } from '@foldnet/layers';
import { loadTrainState, resumeTrainState, type TrainStateCheckpoint } from '@foldnet/train';
import { heavyMallocTunables } from '../src/malloc.js';
import { parseJsonLines, runCarryOf } from '../src/metrics.js';
import { LOCK_FILE } from '../src/runfolder.js';
import { bin, buildOnce, expectUsageError, foldnet, startFoldnet, type Run } from './built-cli.js';

/*
 * Issue 7 on the built CLI: checkpoints during training (--checkpoint-every, default at each
 * evaluation), Ctrl-C saves one and exits 130, --on-nan stop|skip, and crash safety: SIGKILL at
 * seeded-random moments, during checkpoint writes included, never leaves a checkpoint that is not
 * complete and loadable, and resuming from the last one reaches the same parameters, bit for bit,
 * as a run that was never interrupted.
 */

let tmp = '';
beforeAll(async () => {
  await buildOnce();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldnet-reliability-'));
}, 300_000);
afterAll(() => {
  if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `ready()` holds (every 5 ms); false when the run ended first. */
const until = async (ready: () => boolean, ended: () => boolean): Promise<boolean> => {
  while (!ready()) {
    if (ended()) return false;
    await sleep(5);
  }
  return true;
};

/** Polls until `ready()` holds; false when the run ended first. */
const untilDuring = (run: { readonly done: Promise<Run> }, ready: () => boolean): Promise<boolean> => {
  let ended = false;
  void run.done.then(() => (ended = true));
  return until(ready, () => ended);
};

/** A checkpoint the CLI wrote: loads, and holds everything needed to resume its network. */
const loadResumable = (file: string): TrainStateCheckpoint => {
  const ckpt = loadTrainState(file);
  if (isLeft(ckpt)) throw new Error(`not loadable: ${ckpt.left.message}`);
  const net = decodeModelSpec(ckpt.right.model);
  if (isLeft(net)) throw new Error(`model spec: ${net.left.message}`);
  const resumed = resumeTrainState(ckpt.right, net.right);
  if (isLeft(resumed)) throw new Error(`not resumable: ${resumed.left.message}`);
  return ckpt.right;
};

const tensorBits = (file: string): Record<string, string> => {
  const ckpt = loadTrainState(file);
  if (isLeft(ckpt)) throw new Error(ckpt.left.message);
  const { params, optimizer, state } = ckpt.right.parts;
  const all = { ...params, ...Object.fromEntries(Object.entries(optimizer).flatMap(([slot, r]) => Object.entries(r).map(([n, t]) => [`opt.${slot}.${n}`, t]))), ...state };
  return Object.fromEntries(Object.entries(all).map(([n, t]) => [n, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64')]));
};

const tiny = ['--train-size', '200', '--test-size', '100', '--batch-size', '20'];

describe('checkpoints during training', () => {
  it('--checkpoint-every 3 --eval-every 0: checkpoint.safetensors appears during the run at a step that is a multiple of 3', async () => {
    const out = path.join(tmp, 'every3');
    const run = startFoldnet(['train', ...tiny, '--iters', '60', '--eval-every', '0', '--checkpoint-every', '3', '--out', out], tmp);
    const seen = await untilDuring(run, () => fs.existsSync(path.join(out, 'checkpoint.safetensors')));
    run.child.kill('SIGKILL');
    await run.done;
    expect(seen).toBe(true);
    const ckpt = loadResumable(path.join(out, 'checkpoint.safetensors'));
    expect(ckpt.step % 3).toBe(0);
    expect(ckpt.step).toBeLessThan(60);
  });

  it('default (--eval-every 4, no --checkpoint-every): the checkpoint is written at each evaluation and carries the curve up to its step', async () => {
    const out = path.join(tmp, 'at-eval');
    const run = startFoldnet(['train', ...tiny, '--iters', '60', '--eval-every', '4', '--out', out], tmp);
    const seen = await untilDuring(run, () => fs.existsSync(path.join(out, 'checkpoint.safetensors')));
    run.child.kill('SIGKILL');
    await run.done;
    expect(seen).toBe(true);
    const ckpt = loadResumable(path.join(out, 'checkpoint.safetensors'));
    expect(ckpt.step % 4).toBe(0);
    expect(runCarryOf(ckpt.metrics).rows.map((r) => r.step)).toEqual(Array.from({ length: ckpt.step / 4 }, (_, i) => 4 * (i + 1)));
    // the folder's history reaches the checkpoint: its rows were appended before it was written
    expect(parseJsonLines(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')).map((r) => r.step).filter((s) => s <= ckpt.step)).toEqual(
      Array.from({ length: ckpt.step / 4 }, (_, i) => 4 * (i + 1)),
    );
  });
});

describe('Ctrl-C', () => {
  it('SIGINT during training saves the checkpoint at the step reached, says where, exits 130; --resume goes on from that step', async () => {
    const out = path.join(tmp, 'sigint');
    const run = startFoldnet(['train', ...tiny, '--iters', '500', '--eval-every', '0', '--checkpoint-every', '0', '--out', out], tmp);
    expect(await untilDuring(run, () => /^step \d+\/500/m.test(run.output()))).toBe(true);
    run.child.kill('SIGINT');
    const r: Run = await run.done;
    expect(r.code, r.stderr).toBe(130);
    // started as `node <bin.js>` (not on PATH, not the pnpm script), it says so; --out was absolute, so is the path
    const m = /^foldnet train: interrupted at step (\d+) of 500: saved (\S+) \(continue with: node (\S+) train --resume (\S+)\)$/m.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const step = Number(m?.[1]);
    expect(m?.[2]).toBe(path.join(out, 'checkpoint.safetensors'));
    expect(m?.[3]).toBe(bin);
    expect(loadResumable(path.join(out, 'checkpoint.safetensors')).step).toBe(step);
    const resumed = await foldnet(['train', '--resume', m?.[4] ?? '', '--iters', String(step + 2), '--out', path.join(tmp, 'sigint-resumed')], tmp);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resuming at step ${step} of ${step + 2}`);
    expect(loadResumable(path.join(tmp, 'sigint-resumed', 'checkpoint.safetensors')).step).toBe(step + 2);
  });

  it('SIGINT mid-run, then --resume without --out: the run folder\'s metrics and step losses equal an uninterrupted run\'s, all but elapsed_s', async () => {
    const args = ['train', ...tiny, '--iters', '200', '--eval-every', '100'];
    const reference = foldnet([...args, '--out', 'sig-whole'], tmp);
    const out = path.join(tmp, 'sig-parts');
    const run = startFoldnet([...args, '--out', out], tmp);
    expect(await untilDuring(run, () => /^step \d+\/200/m.test(run.output()))).toBe(true);
    run.child.kill('SIGINT');
    const stopped = await run.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    const at = loadResumable(path.join(out, 'checkpoint.safetensors')).step;
    const resumed = await foldnet(['train', '--resume', path.join('sig-parts', 'checkpoint.safetensors')], tmp);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resuming at step ${at} of 200`);
    expect((await reference).code).toBe(0);
    const rows = (dir: string) => parseJsonLines(fs.readFileSync(path.join(tmp, dir, 'metrics.jsonl'), 'utf8')).map(({ elapsed_s: _t, ...rest }) => rest);
    expect(rows('sig-parts')).toEqual(rows('sig-whole'));
    expect(rows('sig-parts').map((r) => r.step)).toEqual([100, 200]);
    expect(fs.readFileSync(path.join(out, 'losses.jsonl'), 'utf8')).toBe(fs.readFileSync(path.join(tmp, 'sig-whole', 'losses.jsonl'), 'utf8'));
    // the first progress line comes long before step 100: the stop is inside the first evaluation interval
    expect(at % 100, `stopped at step ${at}`).not.toBe(0);
  });

  it('SIGTERM and SIGHUP sent to foldnet are treated as Ctrl-C: the checkpoint at the step reached is saved, exit 143 and 129', async () => {
    for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
      const out = path.join(tmp, `stopped-${signal}`);
      const run = startFoldnet(['train', ...tiny, '--iters', '500', '--eval-every', '0', '--checkpoint-every', '0', '--out', out], tmp);
      expect(await untilDuring(run, () => /^step \d+\/500/m.test(run.output()))).toBe(true);
      run.child.kill(signal);
      const r = await run.done;
      expect(r.code, r.stderr).toBe(code);
      const m = new RegExp(`^foldnet train: stopped by ${signal} at step (\\d+) of 500: saved (\\S+) \\(continue with: node \\S+ train --resume (\\S+)\\)$`, 'm').exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      expect(loadResumable(path.join(out, 'checkpoint.safetensors')).step).toBe(Number(m?.[1]));
    }
  });
});

describe('standard output closed by its reader', () => {
  it('foldnet train | head -1: the lines after are dropped, the run goes on to its end and writes its checkpoint, exit 0, nothing on stderr', async () => {
    const out = path.join(tmp, 'stdout-closed');
    const run = startFoldnet(['train', ...tiny, '--iters', '12', '--eval-every', '4', '--out', out], tmp);
    // the reader goes away after the first line, as head does
    expect(await untilDuring(run, () => run.output().includes('\n'))).toBe(true);
    run.child.stdout?.destroy();
    const r = await run.done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(loadResumable(path.join(out, 'checkpoint.safetensors')).step).toBe(12);
  });
});

describe('the run folder lock', () => {
  it('a second run into a folder a run is writing is refused at once naming the pid; after SIGKILL of the first, the next run takes the lock over with a note', async () => {
    const out = path.join(tmp, 'locked');
    const first = startFoldnet(['train', ...tiny, '--iters', '100000', '--eval-every', '0', '--checkpoint-every', '0', '--out', out], tmp);
    expect(await untilDuring(first, () => /^step \d+\/100000/m.test(first.output()))).toBe(true);
    const holder = Number(fs.readFileSync(path.join(out, LOCK_FILE), 'utf8'));
    // the process that trains holds it: foldnet itself, or its malloc-tuned child
    expect([first.child.pid, ...childrenOf(first.child.pid ?? 0)]).toContain(holder);
    const second = await foldnet(['train', ...tiny, '--iters', '2', '--out', out], tmp);
    expectUsageError(second, `foldnet train: run folder locked is in use by another run (pid ${holder}, in ${LOCK_FILE}); wait for it to end or give another --out`);
    first.child.kill('SIGKILL');
    await first.done;
    const third = await foldnet(['train', ...tiny, '--iters', '2', '--out', out], tmp);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toContain(`run folder locked: the lock of pid ${holder}, which is no longer running, taken over\n`);
    expect(fs.existsSync(path.join(out, LOCK_FILE))).toBe(false);
  });
});

// The children of a process, from /proc (Linux).
const childrenOf = (pid: number): number[] => {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((s) => s !== '').map(Number);
  } catch {
    return [];
  }
};
const alive = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false; // gone
  }
};

describe.runIf(process.platform === 'linux' && fs.existsSync('/proc/self/task'))('the malloc-tuned child (malloc.ts)', () => {
  it('train runs in a child started with GLIBC_TUNABLES; SIGKILL of foldnet ends the child too, with no checkpoint written after', async () => {
    const out = path.join(tmp, 'child');
    const run = startFoldnet(['train', ...tiny, '--iters', '100000', '--eval-every', '0', '--checkpoint-every', '50', '--out', out], tmp);
    expect(await untilDuring(run, () => /^step \d+\/100000/m.test(run.output()))).toBe(true);
    const pid = run.child.pid ?? 0;
    const [child] = childrenOf(pid);
    expect(child, 'foldnet train has a child process').toBeDefined();
    // glibc parses the variable in place (':' becomes NUL), so /proc shows its first setting
    const tunables = fs.readFileSync(`/proc/${child}/environ`, 'utf8').split('\0').find((v) => v.startsWith('GLIBC_TUNABLES='));
    expect(tunables).toMatch(/^GLIBC_TUNABLES=glibc\.malloc\./);
    expect(heavyMallocTunables.startsWith(tunables?.slice('GLIBC_TUNABLES='.length) ?? '-')).toBe(true);
    // the same node flags as the parent: no young-generation size of its own (malloc.ts)
    const cmdline = fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0');
    expect(cmdline.some((f) => f.includes('semi-space'))).toBe(false);
    run.child.kill('SIGKILL');
    await run.done;
    const deadline = Date.now() + 5000;
    expect(await until(() => !alive(child ?? 0), () => Date.now() > deadline), 'the child ended within 5 s of its parent').toBe(true);
    // nothing writes into the run folder any more
    const before = fs.readdirSync(out).map((f) => `${f}:${fs.statSync(path.join(out, f)).mtimeMs}`);
    await sleep(300);
    expect(fs.readdirSync(out).map((f) => `${f}:${fs.statSync(path.join(out, f)).mtimeMs}`)).toEqual(before);
  });

  it('SIGKILL of foldnet alone, its child left to notice (3 times, 0-40 ms after a checkpoint): no run file changes once foldnet is dead', async () => {
    // A checkpoint and a step-loss append every step: the child is nearly always about to write.
    for (let trial = 0; trial < 3; trial++) {
      const out = path.join(tmp, `orphan-${trial}`);
      const run = startFoldnet(['train', ...tiny, '--iters', '100000', '--eval-every', '0', '--checkpoint-every', '1', '--out', out], tmp);
      expect(await untilDuring(run, () => fs.existsSync(path.join(out, 'checkpoint.safetensors')))).toBe(true);
      const pid = run.child.pid ?? 0;
      const [child] = childrenOf(pid);
      expect(child, 'foldnet train has a child process').toBeDefined();
      await sleep(trial * 20);
      run.child.kill('SIGKILL');
      // dead (a zombie, or gone): the child has been handed to another parent by now
      while (alive(pid));
      const files = (): string[] =>
        fs.readdirSync(out).filter((f) => !f.endsWith('.tmp')).sort().map((f) => {
          const st = fs.statSync(path.join(out, f));
          return `${f}:${st.ino}:${st.size}:${st.mtimeMs}`;
        });
      const atDeath = files();
      const deadline = Date.now() + 5000;
      expect(await until(() => !alive(child ?? 0), () => Date.now() > deadline), 'the child ended within 5 s of its parent').toBe(true);
      await run.done;
      expect(files(), `trial ${trial}`).toEqual(atDeath);
    }
  });

  it('FOLDNET_MALLOC=system runs the command in the foldnet process itself', async () => {
    const run = startFoldnet(['train', ...tiny, '--iters', '100000', '--eval-every', '0', '--checkpoint-every', '0', '--out', path.join(tmp, 'nochild')], tmp, { FOLDNET_MALLOC: 'system' });
    expect(await untilDuring(run, () => /^step \d+\/100000/m.test(run.output()))).toBe(true);
    expect(childrenOf(run.child.pid ?? 0)).toEqual([]);
    run.child.kill('SIGKILL');
    await run.done;
  });
});

describe('--on-nan (SGD with learning rate 1e12 overflows float32 within a few steps)', () => {
  const blowUp = ['train', ...tiny, '--iters', '8', '--eval-every', '0', '--optimizer', 'sgd', '--lr', '1e12'];

  it('stop (the default): exit 1 with the step, the first sample of the batch and the first non-finite layer; the checkpoint holds finite params', async () => {
    const r = await foldnet([...blowUp, '--out', 'nan-stop'], tmp);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^foldnet train: training stopped: step \d+: (non-finite (loss \((NaN|Infinity|-Infinity)\)|gradient of \S+) on the batch starting at sample \d+; first non-finite (output|gradient): \w+|non-finite update, not applied: the new .* may be too large a step) \(--on-nan skip skips such steps instead; the checkpoint holds the last finite state\)\n$/);
    const ckpt = loadResumable(path.join(tmp, 'nan-stop', 'checkpoint.safetensors'));
    expect(ckpt.step).toBeLessThan(8);
    for (const t of Object.values(ckpt.parts.params)) expect(allFinite(t)).toBe(true);
  });

  it('skip: every faulty step is skipped with a warning (at most five shown), the run ends at step 8 with exit 0', async () => {
    const r = await foldnet([...blowUp, '--on-nan', 'skip', '--out', 'nan-skip'], tmp);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stdout.split('\n').filter((l) => /^warning: step \d+: non-finite .*; step skipped/.test(l));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(5);
    const ckpt = loadResumable(path.join(tmp, 'nan-skip', 'checkpoint.safetensors'));
    expect(ckpt.step).toBe(8);
    for (const t of Object.values(ckpt.parts.params)) expect(allFinite(t)).toBe(true);
    expect(fs.readFileSync(path.join(tmp, 'nan-skip', 'report.html'), 'utf8')).toContain('non-finite steps');
  });
});

describe('crash safety: SIGKILL at seeded-random moments', () => {
  // A tiny run that writes its checkpoint every 3 steps (5 MB each: SimpleConvNet with Adam's m and v).
  const args = ['train', ...tiny, '--iters', '40', '--eval-every', '5', '--checkpoint-every', '3'];

  // xorshift32 with a fixed seed: the kill moments are the same sequence on every run.
  let rng = 0x9e3779b9;
  const random = (): number => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return (rng >>> 0) / 2 ** 32;
  };

  it('6 kills (at start-up, the moment a checkpoint write begins, and 0-150 ms after one): the checkpoint on disk always loads and resumes; the final params equal an uninterrupted run bit for bit', async () => {
    // The uninterrupted run, alongside the interrupted ones.
    const reference = foldnet([...args, '--out', 'crash-ref'], tmp);

    const out = path.join(tmp, 'crash');
    const ckptFile = path.join(out, 'checkpoint.safetensors');
    fs.mkdirSync(out);
    const kills: string[] = [];
    let finished: Run | undefined;
    for (let attempt = 0; finished === undefined; attempt++) {
      const resume = fs.existsSync(ckptFile) ? ['train', '--resume', ckptFile] : args;
      // Watch before starting, so no write is missed: each atomic write creates one `.checkpoint.safetensors.<pid>.<n>.tmp`.
      const writes = new Set<string>();
      let onWrite = (): void => undefined;
      const watcher = fs.watch(out, (_event, name) => {
        const file = String(name);
        if (file.endsWith('.tmp') && !writes.has(file)) {
          writes.add(file);
          onWrite();
        }
      });
      const run = startFoldnet([...resume, '--out', out], tmp);
      if (attempt >= 6) {
        watcher.close();
        finished = await run.done;
        break;
      }
      let ended = false;
      void run.done.then(() => (ended = true));
      if (attempt === 0) {
        await sleep(100 + Math.floor(random() * 500)); // start-up: loading modules and MNIST
      } else {
        // Let 0-2 checkpoint writes pass, then kill as the next one begins (odd attempts) or 0-150 ms later.
        const target = 1 + Math.floor(random() * 3);
        const delay = attempt % 2 === 1 ? 0 : Math.floor(random() * 150);
        await Promise.race([new Promise<void>((resolve) => (onWrite = () => writes.size >= target && resolve())), run.done]);
        if (delay > 0) await sleep(delay);
      }
      watcher.close();
      if (ended) {
        finished = await run.done;
        break;
      }
      run.child.kill('SIGKILL');
      const r = await run.done;
      const leftover = fs.readdirSync(out).filter((f) => f.endsWith('.tmp'));
      kills.push(`${r.signal ?? 'exit'}${leftover.length > 0 ? ' mid-write' : ''}`);
      // Whatever the moment, the checkpoint is absent (killed before the first one) or whole.
      if (fs.existsSync(ckptFile)) {
        const ckpt = loadResumable(ckptFile);
        expect(ckpt.step).toBeGreaterThan(0);
        expect(ckpt.step).toBeLessThanOrEqual(40);
        if (ckpt.step === 40) {
          finished = r; // killed after the final checkpoint: nothing left to train
          break;
        }
      }
    }
    expect(kills.length, kills.join(', ')).toBeGreaterThanOrEqual(3);
    console.log(`crash safety: kills ${kills.join(', ')}`);
    expect(finished?.code ?? 0, finished?.stderr).toBe(0);
    expect(loadResumable(ckptFile).step).toBe(40);
    // the temporary files of writes cut short were cleaned by the next run in the folder
    if (finished?.code === 0) expect(fs.readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const ref = await reference;
    expect(ref.code, ref.stderr).toBe(0);
    expect(tensorBits(ckptFile)).toEqual(tensorBits(path.join(tmp, 'crash-ref', 'checkpoint.safetensors')));
  }, 240_000);
});
