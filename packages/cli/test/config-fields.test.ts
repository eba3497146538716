import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  absoluteLayer, buildProgram, decodeTrainConfigFile, defaultTrainConfig, overlayTrainConfig, resolveTrainConfig, runCli, trainConfigFields, trainFlagsOf,
  type Io, type TrainConfigFile,
} from '@foldnet/cli';

/*
 * Each training config key is declared once, in trainConfigFields: the flags of `foldnet train`,
 * their checks and messages, the defaults and the resolved config all come from that table.
 */

/** An Io that records what the CLI writes. */
const recording = (): { readonly io: Io; readonly out: () => string; readonly err: () => string } => {
  let out = '';
  let err = '';
  return {
    io: { out: (s) => (out += s), err: (s) => (err += s), stdoutIsTTY: false, stdout: new PassThrough(), cwd: '/nowhere', env: {} },
    out: () => out,
    err: () => err,
  };
};

const kebab = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

describe('the train flags come from the config fields', () => {
  it('train has one flag per field (plus --config, --overwrite and --plugin), in the fields\' order with --threads and --backend last', () => {
    const train = buildProgram(recording().io).commands.find((c) => c.name() === 'train');
    const keys = Object.keys(trainConfigFields);
    const rest = keys.filter((k) => !['model', 'threads', 'backend'].includes(k)).map(kebab);
    expect(train?.options.map((o) => o.long)).toEqual(['--model', '--config', '--overwrite', ...rest, '--threads', '--backend', '--plugin']);
  });

  it('help shows each default from the field\'s fallback: --iters 1000, --batch-size 100, --weight-decay 0, --on-nan stop', async () => {
    const r = recording();
    expect(await runCli(['train', '--help'], r.io)).toBe(0);
    const help = r.out().replace(/\s+/g, ' '); // commander wraps long lines
    expect(help).toContain('--iters <n> training steps (default: 1000)');
    expect(help).toContain('--batch-size <n> images per step (default: 100)');
    expect(help).toContain('--weight-decay <x> weight decay lambda: L2 (adamw: decoupled), on the params --decay-params names (default: 0)');
    expect(help).toContain('or skip the step (a run that skips every step fails, exit 1) (default: stop) --threads');
    expect(help).toContain('--epochs <n> passes over the training subset, instead of --iters --batch-size');
  });

  const refused: readonly (readonly [readonly string[], string])[] = [
    [['--threads', '0'], '--threads: expected a positive integer, got "0"'],
    [['--checkpoint-every', '-1'], '--checkpoint-every: expected an integer >= 0, got "-1"'],
    [['--seed', '4294967296'], '--seed: expected an integer from 0 to 4294967295, got "4294967296"'],
    [['--weight-decay', 'NaN'], '--weight-decay: expected a number >= 0, got "NaN"'],
    [['--data', '  '], '--data: expected a non-empty value'],
    [['--backend', 'gpu'], '--backend: expected one of fast, reference, got "gpu"'],
    [['--on-nan', 'continue'], '--on-nan: expected one of stop, skip, got "continue"'],
    [['--lr-schedule', 'linear'], '--lr-schedule: expected constant, cosine, or step:<step>,<step>,... (increasing steps), optionally after warmup:<steps> (warmup:500,cosine), got "linear"'],
  ];
  for (const [args, message] of refused) {
    it(`train ${args.join(' ')}: exit 2, "${message}"`, async () => {
      const r = recording();
      expect(await runCli(['train', ...args], r.io)).toBe(2);
      expect(r.err()).toBe(`foldnet train: ${message}\n`);
    });
  }

  it('trainFlagsOf keeps the config keys commander gave, and nothing else', () => {
    expect(trainFlagsOf({ batchSize: 20, optimizer: 'sgd', config: 'c.json', debug: true, iters: undefined })).toEqual({ batchSize: 20, optimizer: 'sgd' });
  });

  it('the defaults are the fields\' fallbacks, with the optimizer\'s own learning rate', () => {
    for (const [key, field] of Object.entries(trainConfigFields)) {
      if (key === 'lr' || key === 'optimizer') continue;
      expect(Object.entries(defaultTrainConfig).find(([k]) => k === key)?.[1], key).toBe(field.fallback);
    }
    expect(defaultTrainConfig.optimizer).toEqual({ type: 'adam', lr: 0.001 });
  });
});

describe('layers: checkpoint < --config file < flags', () => {
  const decoded = (json: unknown): TrainConfigFile => {
    const r = decodeTrainConfigFile(json);
    if (r._tag === 'Left') throw new Error(r.left);
    return r.right;
  };

  it('a --config file that names no model or data keeps the resumed checkpoint\'s (it used to fall back to simple and the bundled MNIST)', () => {
    const checkpoint = decoded({ model: '/runs/a/net.json', data: '/data/fashion', iters: 40, evalEvery: 5 });
    const file = absoluteLayer(decoded({ evalEvery: 0 }), '/cfg');
    expect(file).toEqual({ evalEvery: 0 });
    const c = resolveTrainConfig(overlayTrainConfig(checkpoint, file), '/cwd', { iters: 60 }, '/cwd');
    expect(c).toMatchObject({ model: '/runs/a/net.json', data: '/data/fashion', iters: 60, evalEvery: 0 });
  });

  it('paths a layer gives are made absolute against its own folder; preset names stay', () => {
    expect(absoluteLayer(decoded({ model: 'double', data: 'fashion', out: null, resume: 'r/c.safetensors' }), '/cfg')).toEqual({
      model: 'double',
      data: '/cfg/fashion',
      out: null,
      resume: '/cfg/r/c.safetensors',
    });
  });

  it('a layer above that counts steps one way drops the other way below: epochs over iters, iters over epochs', () => {
    expect(overlayTrainConfig({ iters: 10, seed: 1 }, { epochs: 2 })).toEqual({ seed: 1, epochs: 2 });
    expect(overlayTrainConfig({ epochs: 2 }, { iters: 7 })).toEqual({ iters: 7 });
    expect(overlayTrainConfig({ epochs: 2 }, { seed: 3 })).toEqual({ epochs: 2, seed: 3 });
  });
});
