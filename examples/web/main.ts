import { fromData } from '@foldnet/core';
import { decodeModelSpec, deepConvNet, doubleConvNet, predict, resnet, simpleConvNet, softmax, unwrap, type LayerState, type Network, type Params } from '@foldnet/layers';
import {
  checkpointWeights,
  evaluate,
  FASHION_MNIST_CLASSES,
  fetchMnistSplit,
  normalizeDigit,
  optimizerNames,
  trainInWorker,
  trainStateFromBytes,
  type MetricsRecord,
  type OptimizerName,
  type TrainRun,
} from '@foldnet/train';
import { drawFilters, drawLineChart, renderConfusion } from './charts.js';
import { drawingPad } from './pad.js';

/*
 * The foldnet demo: pick a preset or paste a model spec, train it on MNIST or Fashion-MNIST in a dedicated Worker
 * (trainInWorker) while the page draws the curves, then see the confusion matrix and the first layer's filters, draw
 * a digit and read the ten probabilities, download the checkpoint (the file `foldnet train` writes: `foldnet eval`
 * reads it), or upload one made by `foldnet train` and evaluate and predict with it.
 *
 * For tests, the page keeps what it shows in window.foldnetDemo: its phase, the evaluations, the last probabilities.
 */

type DatasetName = 'mnist' | 'fashion';

/** A model the page can predict with: from a run just finished or an uploaded checkpoint. */
interface Trained {
  readonly network: Network;
  readonly params: Params;
  readonly layerState: LayerState;
  readonly classNames: readonly string[];
  readonly checkpoint: Uint8Array;
  readonly name: string;
}

/** What the page shows, for tests to read. */
export interface DemoState {
  phase: 'ready' | 'training' | 'trained' | 'failed';
  records: MetricsRecord[];
  probabilities: number[] | undefined;
  message: string;
}

const demo: DemoState = { phase: 'ready', records: [], probabilities: undefined, message: '' };
Reflect.set(window, 'foldnetDemo', demo);

const byId = <T extends HTMLElement>(id: string, type: new () => T): T => {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return el;
};

const ui = {
  status: byId('status', HTMLParagraphElement),
  preset: byId('preset', HTMLSelectElement),
  spec: byId('spec', HTMLTextAreaElement),
  dataset: byId('dataset', HTMLSelectElement),
  optimizer: byId('optimizer', HTMLSelectElement),
  train: byId('train', HTMLButtonElement),
  pause: byId('pause', HTMLButtonElement),
  stop: byId('stop', HTMLButtonElement),
  download: byId('download', HTMLButtonElement),
  upload: byId('upload', HTMLInputElement),
  accuracy: byId('accuracy', HTMLCanvasElement),
  loss: byId('loss', HTMLCanvasElement),
  pad: byId('pad', HTMLCanvasElement),
  clear: byId('clear', HTMLButtonElement),
  probabilities: byId('probabilities', HTMLOListElement),
  summary: byId('summary', HTMLParagraphElement),
  confusion: byId('confusion', HTMLTableElement),
  filters: byId('filters', HTMLCanvasElement),
};

const say = (message: string): void => {
  ui.status.textContent = message;
  demo.message = message;
};

const numberOf = (id: string): number => byId(id, HTMLInputElement).valueAsNumber;

const presets: Readonly<Record<string, () => Network>> = {
  'simple (SimpleConvNet)': () => unwrap(simpleConvNet()),
  'double (DoubleConvNet)': () => unwrap(doubleConvNet()),
  'deep (the lesson\'s deep CNN)': () => unwrap(deepConvNet()),
  'resnet (3 stages, 16-64 channels)': () => unwrap(resnet()),
};
const CUSTOM = 'your own spec';
for (const name of [...Object.keys(presets), CUSTOM]) ui.preset.add(new Option(name, name));
const showPreset = (): void => {
  const make = presets[ui.preset.value];
  if (make !== undefined) ui.spec.value = JSON.stringify(make().spec, null, 2);
};
ui.preset.addEventListener('change', showPreset);
ui.spec.addEventListener('input', () => (ui.preset.value = CUSTOM));
showPreset();
for (const name of optimizerNames) ui.optimizer.add(new Option(name, name, name === 'adam', name === 'adam'));

const dataUrl = (dataset: DatasetName): string => new URL(`./data/${dataset}/`, location.href).href;
const classNamesOf = (dataset: DatasetName): readonly string[] => (dataset === 'fashion' ? FASHION_MNIST_CLASSES : Array.from({ length: 10 }, (_, i) => String(i)));
const isDataset = (v: unknown): v is DatasetName => v === 'mnist' || v === 'fashion';
const isOptimizer = (v: string): v is OptimizerName => (optimizerNames as readonly string[]).includes(v);

// Fashion-MNIST is offered when the server has its files (`pnpm web` serves Debian's dataset-fashion-mnist)
void fetch(`${dataUrl('fashion')}t10k-labels-idx1-ubyte.gz`, { method: 'HEAD' }).then(
  (r) => {
    const option = ui.dataset.options.namedItem('fashion') ?? ui.dataset.options[1];
    if (option !== undefined && !r.ok) {
      option.disabled = true;
      option.textContent = 'Fashion-MNIST (not installed: apt-get install dataset-fashion-mnist)';
    }
  },
  () => undefined,
);

// ----- the curves -----

const drawCurves = (): void => {
  const r = demo.records;
  drawLineChart(ui.accuracy, 'accuracy', [
    { name: 'train', color: '#3867d6', points: r.map((x) => [x.step, x.train_acc]) },
    { name: 'test', color: '#e17b2e', points: r.map((x) => [x.step, x.test_acc]) },
  ], [0, 1]);
  drawLineChart(ui.loss, 'loss', [
    { name: 'train', color: '#3867d6', points: r.map((x) => [x.step, x.loss]) },
    { name: 'test', color: '#e17b2e', points: r.map((x) => [x.step, x.test_loss]) },
  ]);
};
drawCurves();

// ----- predicting -----

let trained: Trained | undefined;

const showProbabilities = (probabilities: readonly number[] | undefined, classNames: readonly string[]): void => {
  const top = probabilities === undefined ? -1 : probabilities.indexOf(Math.max(...probabilities));
  ui.probabilities.innerHTML = '';
  classNames.forEach((name, k) => {
    const p = probabilities?.[k];
    const li = document.createElement('li');
    li.className = k === top ? 'top' : '';
    li.dataset['p'] = p === undefined ? '' : String(p);
    li.innerHTML = `<span>${name}</span><span class="bar"><span style="width:${((p ?? 0) * 100).toFixed(1)}%"></span></span><span>${p === undefined ? '' : p.toFixed(4)}</span>`;
    ui.probabilities.append(li);
  });
};
showProbabilities(undefined, classNamesOf('mnist'));

const pad = drawingPad(ui.pad, () => {
  if (trained === undefined || !pad.drawn()) return;
  const [c, h, w] = trained.network.inputShape;
  if (c !== 1 || h !== 28 || w !== 28) {
    say(`this model takes ${trained.network.inputShape.join('x')} images; the pad draws 1x28x28 digits`);
    return;
  }
  // framed as MNIST frames its digits (and foldnet predict a PNG): the ink's box into 20x20, centred by mass
  const digit = normalizeDigit(pad.image());
  const x = fromData([1, 1, 28, 28], Float32Array.from(digit.pixels));
  const probabilities = Array.from(softmax(predict(trained.network, trained.params, trained.layerState, x)).data);
  demo.probabilities = probabilities;
  showProbabilities(probabilities, trained.classNames);
});
ui.clear.addEventListener('click', () => {
  pad.clear();
  demo.probabilities = undefined;
  showProbabilities(undefined, trained?.classNames ?? classNamesOf('mnist'));
});

/** Takes a checkpoint's bytes as the model the page predicts with; throws a message naming what is wrong. */
const useCheckpoint = (name: string, bytes: Uint8Array): Trained & { readonly dataset: DatasetName; readonly step: number } => {
  const checkpoint = trainStateFromBytes(name, bytes);
  if (checkpoint._tag === 'Left') throw checkpoint.left;
  const network = decodeModelSpec(checkpoint.right.model);
  if (network._tag === 'Left') throw new Error(`${name}: model: ${network.left.message}`);
  const weights = checkpointWeights(checkpoint.right, network.right);
  if (weights._tag === 'Left') throw weights.left;
  const config = checkpoint.right.config;
  const saved = typeof config === 'object' && config !== null ? Reflect.get(config, 'dataset') : undefined;
  const dataset = isDataset(saved) ? saved : 'mnist';
  trained = { network: network.right, ...weights.right, classNames: classNamesOf(dataset), checkpoint: bytes, name };
  ui.download.disabled = false;
  const first = Object.entries(weights.right.params).find(([, t]) => t.shape.length === 4);
  if (first !== undefined) drawFilters(ui.filters, first[1].shape, first[1].data);
  showProbabilities(undefined, trained.classNames);
  return { ...trained, dataset, step: checkpoint.right.step };
};

// ----- training -----

let run: TrainRun | undefined;
let paused = false;

const setTraining = (training: boolean): void => {
  ui.train.disabled = training;
  ui.upload.disabled = training;
  ui.pause.disabled = !training;
  ui.stop.disabled = !training;
  ui.pause.textContent = 'Pause';
  paused = false;
};

ui.train.addEventListener('click', () => {
  let model: unknown;
  try {
    model = JSON.parse(ui.spec.value);
  } catch (e) {
    say(`model spec: not JSON: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  const dataset = isDataset(ui.dataset.value) ? ui.dataset.value : 'mnist';
  const lr = numberOf('lr');
  const type = isOptimizer(ui.optimizer.value) ? ui.optimizer.value : 'adam';
  const optimizer = { type, ...(Number.isFinite(lr) ? { lr } : {}) };
  const [iters, batchSize, trainSize, testSize, evalEvery, seed] = ['iters', 'batchSize', 'trainSize', 'testSize', 'evalEvery', 'seed'].map(numberOf);
  demo.records = [];
  demo.phase = 'training';
  drawCurves();
  setTraining(true);
  say(`loading ${dataset === 'fashion' ? 'Fashion-MNIST' : 'MNIST'} in the training worker…`);
  run = trainInWorker({
    model,
    data: { baseUrl: dataUrl(dataset), gz: dataset === 'fashion', trainSize, testSize },
    optimizer,
    iters,
    batchSize,
    evalEvery,
    seed,
    // what foldnet eval reads from the checkpoint (dataset), and the settings foldnet train --resume goes on with
    config: { dataset, iters, batchSize, trainSize, testSize, evalEvery, seed, optimizer },
    onStep: (step, loss) => say(`step ${step} of ${iters}: batch loss ${loss.toFixed(4)}`),
    onRecord: (record) => {
      demo.records.push(record);
      drawCurves();
    },
    onPause: (isPaused, step) => say(isPaused ? `paused after step ${step}` : `going on from step ${step}`),
  });
  run.done.then(
    (outcome) => {
      setTraining(false);
      const model = useCheckpoint('checkpoint.safetensors', outcome.checkpoint);
      renderConfusion(ui.confusion, outcome.confusion, model.classNames);
      const last = demo.records[demo.records.length - 1];
      const accuracy = last === undefined ? '' : `: test accuracy ${(last.test_acc * 100).toFixed(2)}% on ${testSize} images, train ${(last.train_acc * 100).toFixed(2)}%`;
      ui.summary.textContent = `${outcome.stopped ? 'stopped' : 'trained'} at step ${outcome.step}${accuracy} (${outcome.threads} thread${outcome.threads === 1 ? '' : 's'})`;
      demo.phase = 'trained';
      say(`${outcome.stopped ? 'stopped' : 'done'} at step ${outcome.step}: draw a digit, or download the checkpoint`);
    },
    (e: unknown) => {
      setTraining(false);
      demo.phase = 'failed';
      say(e instanceof Error ? e.message : String(e));
    },
  );
});

ui.pause.addEventListener('click', () => {
  if (run === undefined) return;
  paused = !paused;
  if (paused) run.pause();
  else run.resume();
  ui.pause.textContent = paused ? 'Resume' : 'Pause';
});
ui.stop.addEventListener('click', () => run?.stop());

ui.download.addEventListener('click', () => {
  if (trained === undefined) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([trained.checkpoint.slice()], { type: 'application/octet-stream' }));
  a.download = trained.name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
});

// ----- an uploaded checkpoint -----

ui.upload.addEventListener('change', () => {
  const file = ui.upload.files?.[0];
  if (file === undefined) return;
  void (async () => {
    try {
      const model = useCheckpoint(file.name, new Uint8Array(await file.arrayBuffer()));
      const testSize = numberOf('testSize');
      say(`${file.name}: step ${model.step}; evaluating on ${testSize} ${model.dataset === 'fashion' ? 'Fashion-MNIST' : 'MNIST'} test images…`);
      const test = await fetchMnistSplit('test', { baseUrl: dataUrl(model.dataset), gz: model.dataset === 'fashion', size: testSize });
      if (test._tag === 'Left') throw test.left;
      const e = evaluate(model.network, model.params, model.layerState, { x: test.right.images, targets: test.right.labels });
      renderConfusion(ui.confusion, e.confusion, model.classNames);
      ui.summary.textContent = `${file.name} (step ${model.step}): test accuracy ${(e.accuracy * 100).toFixed(2)}% on ${e.count} images, loss ${e.loss.toFixed(4)}`;
      demo.phase = 'trained';
      say(`${file.name} loaded: draw a digit to see its prediction`);
    } catch (e) {
      say(e instanceof Error ? e.message : String(e));
    }
  })();
});

say(`ready: ${crossOriginIsolated ? `cross-origin isolated, training may use ${navigator.hardwareConcurrency} threads` : 'not cross-origin isolated: training runs on one thread'}`);
