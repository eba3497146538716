import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { fromData, type Tensor } from '@foldnet/core';
import {
  channelStats, checkChannelStats, decodeImage, decodeImageFolder, normalizeImages, scanImageFolder, writeImagePlanes,
  type ChannelStats, type CheckpointDataInfo, type ImageFolderScan,
} from '@foldnet/train';
import type { TrainCheckpoint } from './checkpoint.js';
import { parseImageSize } from './codecs.js';
import { decodeTrainConfigFile, type TrainConfig } from './config.js';
import { UsageError } from './errors.js';
import type { ModelInput } from './models.js';

/*
 * The CLI's side of users' own images (`--data DIR --format folder`) and of input normalisation
 * (`--normalize`): the folder read with the run's settings, the preset built for its images, the
 * counts the run trains on, and the statistics every input is mapped with, saved in the checkpoint.
 */

/** The settings of a run that say how an image folder is read (a run's config, or a checkpoint's saved one). */
export type FolderSettings = Pick<TrainConfig, 'data' | 'channels' | 'imageSize' | 'testFraction' | 'trainSize' | 'testSize'>;

/**
 * Reads an image folder as far as its headers (see scanImageFolder): classes, split, shape. `use`
 * 'both' reads both splits (train), 'test' the test images' headers only (eval of the folder trained
 * on), 'other' the test images of a folder evaluated that was not trained on: its test/ folder when it
 * has train/ and test/, else all its images, at most `testSize` of them; 'test' and 'other' take a
 * folder of one class. Notes (files ignored) go to `note`. Every problem is one error naming the folder or the file.
 *
 * @example const scan = scanFolderData(config, 'both', (line) => io.out(`${line}\n`));
 */
export const scanFolderData = (settings: FolderSettings, use: 'both' | 'test' | 'other', note: (line: string) => void): ImageFolderScan => {
  if (settings.data === null) throw new UsageError('--format folder reads the images of --data <dir>, a folder of class folders: give --data');
  const size = settings.imageSize === null ? undefined : parseImageSize(settings.imageSize);
  if (size !== undefined && isLeft(size)) throw new UsageError(`--image-size: ${size.left}`);
  const scan = scanImageFolder(settings.data, {
    ...(settings.channels === null ? {} : { channels: settings.channels }),
    ...(size === undefined ? {} : { size: size.right }),
    testFraction: settings.testFraction,
    unsplit: use === 'other' ? 'test' : 'fraction',
    maxTrain: use === 'both' ? settings.trainSize : 0,
    maxTest: settings.testSize,
    // training needs two classes; a trained network is evaluated on a folder of one as well
    minClasses: use === 'both' ? 2 : 1,
  });
  if (isLeft(scan)) throw scan.left;
  for (const line of scan.right.notes) note(`note: ${line}`);
  if (scan.right.test.length === 0) {
    throw new UsageError(`${settings.data}: the split holds no test images: give --test-fraction above 0${scan.right.split === 'folders' ? '' : ', or put the test images in test/ beside train/'}`);
  }
  return scan.right;
};

/** What a preset is built for, and a model must take, to train on a scanned folder. @example folderModelInput(scan) // { inputDim: [3, 32, 32], classes: 2 } */
export const folderModelInput = (scan: ImageFolderScan): ModelInput => ({ inputDim: [scan.channels, scan.height, scan.width], classes: scan.classNames.length });

/**
 * The config with what the folder was read as, so config.json, the checkpoint and the report's
 * command say what the run trained on: the image size and channels the images were read at (those
 * given, else the images' own), and its own counts: `trainSize` and `testSize` are at most those
 * given (the images kept), and a run counted in epochs has its steps counted over the images it holds.
 *
 * @example withFolderSettings(config, scan) // { ...config, imageSize: '32x32', channels: 3, trainSize: 40, testSize: 10 } for 50 images split 0.2
 */
export const withFolderSettings = (config: TrainConfig, scan: ImageFolderScan): TrainConfig => {
  const trainSize = scan.train.length;
  const iters = config.epochs === null ? config.iters : config.epochs * Math.ceil(trainSize / config.batchSize);
  return { ...config, imageSize: `${scan.height}x${scan.width}`, channels: scan.channels, trainSize, testSize: scan.test.length, iters };
};

/** Where a folder's test images come from: `its test/ folder`, or `the held-out 0.2 of each class`. */
export const testSplitPhrase = (split: ImageFolderScan['split'], testFraction: number): string =>
  split === 'folders' ? 'its test/ folder' : `the held-out ${testFraction} of each class`;

/**
 * What a run reads of a scanned folder, for its first line and its report.
 *
 * @example folderSummary(scan, 0.2) // '3x12x12, classes bright, horizontal, vertical, tested on the held-out 0.2 of each class'
 */
export const folderSummary = (scan: ImageFolderScan, testFraction: number): string =>
  `${scan.channels}x${scan.height}x${scan.width}, classes ${scan.classNames.join(', ')}, tested on ${testSplitPhrase(scan.split, testFraction)}`;

/** Which of `--train-size` and `--test-size` a run takes at their defaults (5000 and 1000), given by neither a flag, a config file nor a resumed checkpoint. */
export interface SizesByDefault {
  readonly trainSize: boolean;
  readonly testSize: boolean;
}

/**
 * How many images of each split a run uses out of how many the folder holds.
 *
 * @example folderCounts(scan) // '5000 of the 20000 training images and all 500 test images'
 */
export const folderCounts = (scan: ImageFolderScan): string =>
  `${countOf(scan.train.length, scan.available.train, 'training')} images and ${countOf(scan.test.length, scan.available.test, 'test')} images`;

const countOf = (used: number, held: number, what: string): string => (used === held ? `all ${held} ${what}` : `${used} of the ${held} ${what}`);

/**
 * A run's line on the images it uses of a folder (folderCounts). When a cap the user did not give
 * (the default --train-size 5000 or --test-size 1000) left images out, it says so and gives the
 * flags that take them all: a folder of 20,000 images is not cut to 5000 unannounced.
 *
 * @example
 * folderUsage(scan, { trainSize: true, testSize: true })
 * // 'using 5000 of the 20000 training images and all 500 test images of photos/; --train-size is 5000 unless given: --train-size 20000 uses them all'
 */
export const folderUsage = (scan: ImageFolderScan, byDefault: SizesByDefault): string => {
  const cut = [
    { flag: '--train-size', used: scan.train.length, held: scan.available.train, byDefault: byDefault.trainSize },
    { flag: '--test-size', used: scan.test.length, held: scan.available.test, byDefault: byDefault.testSize },
  ].filter((s) => s.byDefault && s.used < s.held);
  const lift =
    cut.length === 0
      ? ''
      : `; ${cut.map((s) => s.flag).join(' and ')} ${cut.length === 1 ? 'is' : 'are'} ${cut.map((s) => s.used).join(' and ')} unless given: ${cut.map((s) => `${s.flag} ${s.held}`).join(' ')} uses them all`;
  return `using ${folderCounts(scan)} of ${path.basename(scan.dir)}${path.sep}${lift}`;
};

/** A split as training and evaluation take it. */
export interface ImageSet {
  readonly x: Tensor;
  readonly targets: Int32Array;
}

/** Decodes a scanned folder's images: both splits, or the test split alone. */
export const decodeFolderData = (scan: ImageFolderScan, use: 'both' | 'test'): { readonly train: ImageSet; readonly test: ImageSet } => {
  const r = decodeImageFolder(scan, use);
  if (isLeft(r)) throw r.left;
  const { train, test } = r.right;
  return { train: { x: train.images, targets: train.labels }, test: { x: test.images, targets: test.labels } };
};

/** A folder's name as run lines and reports show it: `images of shapes/`. */
export const folderTitle = (dir: string): string => `images of ${path.basename(dir)}${path.sep}`;

/**
 * The statistics a run maps its inputs with, or undefined when it does not normalise: a resumed
 * checkpoint's own (the run goes on with the inputs it started with), else those of the training
 * images.
 *
 * @example runNormalization(config, undefined, data.train.x) // { mean: [0.13], std: [0.31] } with --normalize
 */
export const runNormalization = (config: Pick<TrainConfig, 'normalize'>, checkpoint: TrainCheckpoint | undefined, trainImages: Tensor): ChannelStats | undefined => {
  if (!config.normalize) return undefined;
  const saved = checkpoint?.data?.normalize;
  return saved === undefined ? channelStats(trainImages) : checkpointNormalization(checkpoint?.file ?? '', saved, trainImages.shape[1] ?? 1);
};

/** A checkpoint's saved statistics, checked against the network's input channels. */
export const checkpointNormalization = (file: string, saved: ChannelStats, channels: number): ChannelStats => {
  const checked = checkChannelStats(saved, channels);
  if (isLeft(checked)) throw new UsageError(`${file}: ${checked.left}`);
  return checked.right;
};

/** `set` with its images normalised by `stats` (the same set when there are none). */
export const normalizedSet = <S extends ImageSet>(set: S, stats: ChannelStats | undefined): S => (stats === undefined ? set : { ...set, x: normalizeImages(set.x, stats) });

/**
 * What a run's checkpoint says of its inputs (the `data` metadata): an image folder's class names
 * and the normalisation; undefined when it has neither, so checkpoints of the lesson's runs stay as
 * they were.
 *
 * @example checkpointDataInfo(['cat', 'dog'], stats) // { classNames: ['cat', 'dog'], normalize: { mean, std } }
 */
export const checkpointDataInfo = (classNames: readonly string[] | undefined, stats: ChannelStats | undefined): CheckpointDataInfo | undefined =>
  classNames === undefined && stats === undefined
    ? undefined
    : { ...(classNames === undefined ? {} : { classNames }), ...(stats === undefined ? {} : { normalize: stats }) };

/** How a checkpoint's run read its image folder, and whether the folder to read now is another one. */
export interface TrainedFolder {
  readonly settings: FolderSettings;
  /** Whether `settings.data` is a folder other than the one trained on (eval --data DIR). */
  readonly other: boolean;
}

/**
 * How a checkpoint's run read its image folder (its saved config), or undefined when it trained on
 * anything else. `data` replaces the folder (eval --data DIR): another folder unless it is the one
 * trained on (the same folder, however it is named); sizes are the network's input.
 *
 * @example trainedFolder(checkpoint, undefined, [3, 32, 32]) // { settings: { data: '/photos', channels: 3, imageSize: '32x32', testFraction: 0.2, ... }, other: false }
 */
export const trainedFolder = (checkpoint: TrainCheckpoint, data: string | undefined, inputShape: readonly number[]): TrainedFolder | undefined => {
  const saved = checkpoint.config;
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved) || Reflect.get(saved, 'format') !== 'folder') return undefined;
  const decoded = decodeTrainConfigFile({ data: Reflect.get(saved, 'data') ?? null, testFraction: Reflect.get(saved, 'testFraction') ?? 0.2 });
  if (isLeft(decoded)) throw new UsageError(`${checkpoint.file}: its saved config: ${decoded.left}`);
  const [channels, height, width] = inputShape;
  if (inputShape.length !== 3 || (channels !== 1 && channels !== 3)) throw new UsageError(`${checkpoint.file}: a network of inputs [${inputShape.join(',')}] takes no images (expected [1 or 3, height, width])`);
  const trained = decoded.right.data ?? null;
  return {
    settings: {
      data: data ?? trained,
      channels,
      imageSize: `${height}x${width}`,
      testFraction: decoded.right.testFraction ?? 0.2,
      trainSize: 0,
      testSize: Number.MAX_SAFE_INTEGER,
    },
    other: data !== undefined && (trained === null || realPath(data) !== realPath(trained)),
  };
};

/** A path with its links resolved, or as given when it does not exist (a folder trained on and since removed is another). */
const realPath = (file: string): string => {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
};

/**
 * One picture (PNG or JPEG bytes) as a network trained on an image folder takes it: [1, C, H, W] in
 * [0, 1], converted to its channels and resized (bilinear) to its size as training read the
 * folder's images. A file that is no readable image is one error naming it.
 *
 * @example imageInput(fs.readFileSync('cat.jpg'), 'cat.jpg', [3, 32, 32]).shape // [1, 3, 32, 32]
 */
export const imageInput = (bytes: Uint8Array, name: string, inputShape: readonly number[]): Tensor => {
  const decoded = decodeImage(bytes, name);
  if (isLeft(decoded)) throw decoded.left;
  const [channels = 1, height = 1, width = 1] = inputShape;
  if (inputShape.length !== 3 || (channels !== 1 && channels !== 3)) throw new UsageError(`${name}: the network takes [${inputShape.join(',')}], not images`);
  const out = new Float32Array(channels * height * width);
  writeImagePlanes(decoded.right, channels, height, width, out, 0);
  return fromData([1, channels, height, width], out);
};
