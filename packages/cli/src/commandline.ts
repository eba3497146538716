import { defaultLearningRate, defaultTrainConfig, trainConfigFields, type TrainConfig } from './config.js';
import { shellWord, shownPath } from './io.js';
import { isPreset } from './models.js';

/*
 * The command line that trains a run again: its resolved config written back as flags, each only
 * where it differs from the default, so the line stays as short as what a user would type.
 */

/** Keys that say where a run is written or read from, or how many cores it used: not what it computes. */
const notReproduced: ReadonlySet<string> = new Set(['out', 'resume', 'threads', 'lr', 'iters', 'epochs', 'optimizer']);

const flagOf = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * `foldnet train` with the flags that give `config` again (from `cwd`; paths relative to it where
 * they lie below it). The run folder, the checkpoint resumed from and the thread count are left
 * out: none of them changes the results.
 *
 * @example
 * trainCommandLine({ ...defaultTrainConfig, seed: 3, optimizer: { type: 'sgd', lr: 0.1 } }, '/home/me');
 * // 'foldnet train --optimizer sgd --lr 0.1 --seed 3'
 */
export const trainCommandLine = (config: TrainConfig, cwd: string, program = 'foldnet'): string => {
  const words: string[] = [program, 'train'];
  const put = (key: string, value: string): void => {
    words.push(flagOf(key), shellWord(value));
  };
  const d = defaultTrainConfig;
  for (const key of Object.keys(trainConfigFields)) {
    if (key === 'optimizer') {
      if (config.optimizer.type !== d.optimizer.type) put('optimizer', config.optimizer.type);
      if (config.optimizer.lr !== defaultLearningRate[config.optimizer.type]) put('lr', String(config.optimizer.lr));
      // the optimizer's own hyper-parameters that were given (momentum, beta1, ...)
      const { type: _type, lr: _lr, ...hyper } = config.optimizer;
      for (const [k, v] of Object.entries(hyper)) put(k, String(v));
    } else if (key === 'iters') {
      if (config.epochs !== null) put('epochs', String(config.epochs));
      else if (config.iters !== d.iters) put('iters', String(config.iters));
    } else if (!notReproduced.has(key)) {
      const value: unknown = Reflect.get(config, key);
      if (value === null || value === undefined || JSON.stringify(value) === JSON.stringify(Reflect.get(d, key))) continue;
      // a switch (--normalize) is its flag alone
      if (value === true) {
        words.push(flagOf(key));
        continue;
      }
      const text = String(value);
      put(key, (key === 'model' && !isPreset(text)) || key === 'data' ? shownPath(cwd, text) : text);
    }
  }
  return words.join(' ');
};
