import * as fs from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { datasetNames } from '@foldnet/train/config';
import { benchBackendChoices, benchDataChoices, trainConfigFields, type FlagSpec } from './config.js';
import { describeError } from './errors.js';
import {
  nonEmptyFlag,
  nonNegativeIntFlag,
  nonNegativeNumberFlag,
  oneOfFlag,
  positiveIntFlag,
  optStrings,
  positiveNumberFlag,
  repeatableFlag,
  seedFlag,
} from './flags.js';
import type { Io } from './io.js';
import { modelChoicesHelp } from './preset-names.js';

/*
 * Command modules are imported when their command runs, so `--help` and bad flags answer without
 * loading the libraries, vega or resvg.
 *
 * The `foldnet` program: commander parses, our parsers check values, and every failure becomes
 * ONE line on stderr with exit code 2 (bad input) or 1 (a check failed, an internal error). A stack
 * trace is printed only with --debug.
 */

/** The sub-commands, in the order help lists them. */
export const commandNames = ['train', 'eval', 'predict', 'export', 'summary', 'gradcheck', 'bench', 'compare'] as const;

const example = (lines: readonly string[]): string => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

const readVersion = (): string => {
  try {
    const pkg: unknown = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
};

/**
 * A training config key's flag on `cmd`, as its field declares it (see trainConfigFields):
 * `batchSize` gives `--batch-size <n>`; the help line ends with the default, in the field's words
 * or else its fallback value (none for null). A reader's warning (--threads above the cores) is a
 * line on stderr naming the command.
 */
const configOption = (cmd: Command, io: Io, key: string, field: { readonly fallback: unknown; readonly flag: FlagSpec }): Option => {
  const name = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const shown = field.flag.shownDefault ?? (field.fallback === null || field.fallback === undefined ? undefined : String(field.fallback));
  const warn = (line: string): void => io.err(`foldnet ${cmd.name()}: warning: ${line}\n`);
  const option = new Option(field.flag.arg === '' ? name : `${name} ${field.flag.arg}`, shown === undefined ? field.flag.help : `${field.flag.help} (default: ${shown})`).argParser(field.flag.read(name, warn));
  return field.flag.conflicts === undefined ? option : option.conflicts(field.flag.conflicts);
};

/** The --threads and --backend flags, shared by the commands that compute. */
const addComputeOptions = (cmd: Command, io: Io): Command =>
  cmd.addOption(configOption(cmd, io, 'threads', trainConfigFields.threads)).addOption(configOption(cmd, io, 'backend', trainConfigFields.backend));

/**
 * The --plugin flag, on every command that reads a model or a checkpoint: the modules are imported by the
 * program's preAction hook, before the command decodes any spec.
 */
const addPluginOption = (cmd: Command): Command =>
  cmd
    .option(
      '--plugin <module>',
      'a JavaScript module that registers layer types of its own (registerLayer), loaded first: a file relative to this directory, or an installed package; repeatable',
      repeatableFlag('--plugin'),
    )
    .addHelpText(
      'after',
      '\n--plugin ./my-layers.js imports the module before any model or checkpoint is read, so the layer types\n' +
        'it registers with registerLayer (from @foldnet/layers) can be named in model specs and read back from\n' +
        'checkpoints. Every command that reads such a model needs the same --plugin.\n',
    );

/**
 * Builds the commander program. Actions receive `io`; nothing here calls process.exit.
 *
 * @example
 * await buildProgram(nodeIo()).parseAsync(['node', 'foldnet', 'summary', 'simple']);
 */
export const buildProgram = (io: Io): Command => {
  const program = new Command('foldnet')
    .description('foldnet: train, evaluate and inspect convolutional networks on the CPU')
    .version(readVersion(), '-V, --version', 'print the version')
    .option('--debug', 'print stack traces of errors')
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => undefined })
    .exitOverride()
    .addHelpText('after', example(['foldnet train', 'foldnet train --model double --iters 2000 --out runs/double', 'foldnet summary simple']))
    // plugins first: the command's own module (imported by its action) decodes specs as soon as it runs
    .hook('preAction', async (_program, command) => {
      const plugins = optStrings(command.opts(), 'plugin');
      if (plugins.length > 0) await (await import('./plugins.js')).loadPlugins(plugins, io);
    });

  const train = program
    .command('train')
    .description("train a network; defaults reproduce the lesson: SimpleConvNet, MNIST 5000/1000, batch 100, Adam 0.001, 1000 steps");
  train
    .addOption(configOption(train, io, 'model', trainConfigFields.model))
    .option('--config <file.json>', 'a JSON config file; flags override it', nonEmptyFlag('--config'))
    .option('--overwrite', 'replace the run the --out folder holds (its run files are removed first); without it, such a folder is only continued with --resume');
  // The config's keys in their order; --threads and --backend come last, with the other commands' compute flags.
  for (const [key, field] of Object.entries(trainConfigFields)) if (key !== 'model' && key !== 'threads' && key !== 'backend') train.addOption(configOption(train, io, key, field));
  addComputeOptions(train, io)
    .addHelpText(
      'after',
      example([
        'foldnet train',
        'foldnet train --model double --epochs 2 --optimizer sgd --lr 0.1 --weight-init he',
        'foldnet train --dataset fashion --augment crop:2,flip --weight-init he --epochs 5',
        'foldnet train --dataset fashion --optimizer adamw --lr 0.003 --weight-decay 0.05 --lr-schedule warmup:20,cosine --loss ce:smooth=0.1',
        'foldnet train --config experiment.json --seed 3 --out runs/seed3',
        'foldnet train --resume runs/seed3/checkpoint.safetensors --iters 500',
      ]) +
        '\nThe run folder holds config.json, metrics.jsonl, metrics.csv, losses.jsonl (every step\'s batch loss),\ncheckpoint.safetensors, accuracy.svg, accuracy.png, loss.svg, loss.png and report.html.\n' +
        '\nA --config file is JSON with the flags\' names in camelCase, every key optional, e.g.\n' +
        '  { "model": "double", "epochs": 2, "batchSize": 100, "weightInit": "he",\n' +
        '    "optimizer": { "type": "momentum", "lr": 0.1, "momentum": 0.9, "weightDecay": 0 },\n' +
        '    "trainSize": 5000, "testSize": 1000, "evalEvery": 50, "seed": 0,\n' +
        '    "dataset": "mnist", "data": null, "augment": "none",\n' +
        '    "format": "idx", "imageSize": null, "channels": null, "testFraction": 0.2, "normalize": false,\n' +
        '    "loss": "ce", "decayParams": "weights", "clipNorm": null,\n' +
        '    "threads": null, "backend": "fast", "checkpointEvery": null, "onNan": "stop" }\n' +
        'Paths in it are relative to its folder. With --resume, the checkpoint\'s own config comes first,\n' +
        'then the --config file, then the flags.\n' +
        '\nThe optimizer\'s settings (type, lr, momentum, beta1, beta2, eps, decayRate, weightDecay; in a file inside\n' +
        '"optimizer" or at the top level) merge key by key in that same order: a setting given replaces the one\n' +
        'below, the others stay, so --optimizer sgd keeps a learning rate set below it. A setting the optimizer\n' +
        'does not take is refused when given with it and dropped when it came from below (Adam\'s betas from a\n' +
        'checkpoint resumed with --optimizer sgd). A resumed run keeps its optimizer\'s state unless the type changes.\n' +
        '\n--resume <run>/checkpoint.safetensors continues exactly where the run stopped, in its own run folder\n' +
        '(metrics appended, charts and report redrawn over the whole history) unless --out names another.\n' +
        'On resume, --iters counts the run\'s total steps, not steps to add: a checkpoint at step 200 resumed\n' +
        'with --iters 1000 trains 800 more.\n' +
        '\nA folder that already holds a run is continued only with --resume, or replaced with --overwrite;\n' +
        'a folder that is not empty and not a run folder is refused, and so is one another run is writing.\n' +
        '\nCtrl-C (SIGINT), SIGTERM and SIGHUP save checkpoint.safetensors at the current step and exit with\n' +
        'code 130, 143 and 129 (128 + the signal\'s number).\n' +
        '\nYour own images: --data photos --format folder reads photos/<class>/*.png|jpg|jpeg (classes: the\n' +
        'folder names, sorted; photos/train/ and photos/test/ when those are its only subfolders, else\n' +
        '--test-fraction of each class held out by a fixed order of the file names; --train-size and --test-size,\n' +
        '5000 and 1000 unless given, keep at most that many: give larger ones for a larger folder), e.g.\n' +
        '  foldnet train --data photos --format folder --image-size 32x32 --normalize --weight-init he --epochs 10\n' +
        'The run\'s first line says how many images of each split it uses of how many the folder holds, and\n' +
        'which flag takes them all when a default left some out; config.json records the counts used.\n' +
        'A preset is built for the images\' channels and size and the number of classes. --normalize (any data)\n' +
        'maps each channel to (x - mean) / std of the training images; the statistics and the class names are\n' +
        'saved in the checkpoint, and eval, predict, export and --resume apply them. config.json records the\n' +
        'folder, the image size and channels it was read at and the class names (dataset: null).\n',
    )
    .action(async (_opts: unknown, cmd: Command) => (await import('./commands/train.js')).trainCommand(cmd.opts(), io));

  const evalCmd = program
    .command('eval')
    .description('test accuracy (top-1, top-k, per class), loss and confusion matrix of a checkpoint')
    .argument('<checkpoint>', 'a checkpoint.safetensors written by foldnet train')
    .addOption(datasetOption())
    .option('--data <dir>', "a directory of MNIST-format IDX files (default: the dataset's own); for a checkpoint trained on an image folder, a folder of its classes or some of them (default: the folder trained on, its test split)", nonEmptyFlag('--data'))
    .option('--test-size <n>', 'use the first n test images (default: all)', positiveIntFlag('--test-size'))
    .option('--top-k <k>', 'also count an image right when its class is among the k largest logits (default: 5)', positiveIntFlag('--top-k'))
    .option('--json', 'print one JSON object instead of the table');
  addComputeOptions(evalCmd, io)
    .addHelpText(
      'after',
      example(['foldnet eval runs/20260101-120000-simple/checkpoint.safetensors', 'foldnet eval ckpt.safetensors --data ~/fashion-mnist --json', 'foldnet eval runs/pets/checkpoint.safetensors --data more-pets']) +
        '\nA checkpoint trained on an image folder is evaluated on the test split of that folder (the images\n' +
        'training held out), or, with --data, on another folder: all its images, or its test/ folder when it has\n' +
        'train/ and test/ of its own. Its class folders are matched to the checkpoint\'s classes by name, so it may\n' +
        'hold some of them only; a class folder the checkpoint has no class for is refused, naming both lists.\n',
    )
    .action(async (checkpoint: string, _opts: unknown, cmd: Command) => (await import('./commands/eval.js')).evalCommand(checkpoint, cmd.opts(), io));

  const predict = program
    .command('predict')
    .description('the class and the probability of each class for an image, or for each image of a folder')
    .argument('<checkpoint>', 'a checkpoint.safetensors written by foldnet train')
    .argument('[images...]', 'PNGs or JPEGs of any size (converted to 28x28 grey, light digit on dark; for a network trained on an image folder, converted and resized as the folder\'s images were), or folders of them')
    .option('--index <i>', 'use test image i instead of an image file', nonNegativeIntFlag('--index'))
    .addOption(datasetOption())
    .option('--data <dir>', "with --index: a directory of MNIST-format IDX files (default: the dataset's own); for a checkpoint trained on an image folder, a folder of its classes, read as eval reads it (default: the folder trained on, its test split)", nonEmptyFlag('--data'))
    .option('--invert', 'treat the image as dark ink on light paper and invert it (not for networks trained on an image folder)')
    .option('--no-invert', 'never invert the image')
    .option('--json', 'print one JSON object (one a line for several images)')
    .option('--batch-size <n>', 'images per forward pass over images and folders (default: 100, fewer when the memory limit asks); the lines are the same for any', positiveIntFlag('--batch-size'));
  addComputeOptions(predict, io)
    .addHelpText(
      'after',
      example(['foldnet predict ckpt.safetensors digit.png', 'foldnet predict ckpt.safetensors photo.jpg', 'foldnet predict ckpt.safetensors photos/new', 'foldnet predict ckpt.safetensors --index 0']) +
        '\nMNIST digits are light strokes on a dark background. Without --invert/--no-invert, an image whose\n' +
        'border is mostly light (dark ink on light paper) is inverted first. An image that is not 28x28 is\n' +
        "cropped to its ink, scaled to fit 20x20 and centred by centre of mass in 28x28, as MNIST's digits were.\n" +
        'A checkpoint trained on an image folder (--format folder) takes a PNG or JPEG as training read the\n' +
        "folder's images (channels converted, bilinear resize to its input) and names the classes; inputs\n" +
        'normalised in training (--normalize) are normalised by the statistics saved in the checkpoint.\n' +
        '\nSeveral images, or a folder (its .png, .jpg and .jpeg files, in its subfolders too, by path), give one\n' +
        'line each: the file, the predicted class (with its name when the checkpoint has the class names, as one\n' +
        'trained on an image folder does; MNIST\'s classes are the digits) and its probability; with --json, one\n' +
        'JSON object a line. The images go through the network --batch-size at a time, each batch\'s lines\n' +
        'printed as it is done; a line is what predicting its image alone gives, bit for bit. A file that\n' +
        'cannot be read or decoded ends the command (exit 2) after the lines of the images before it.\n',
    )
    .action(async (checkpoint: string, images: string[], _opts: unknown, cmd: Command) =>
      (await import('./commands/predict.js')).predictCommand(checkpoint, images, cmd.opts(), io),
    );

  program
    .command('export')
    .description('write the network of a checkpoint as an ONNX model (inference form), for ONNX Runtime and other tools')
    .argument('<checkpoint>', 'a checkpoint.safetensors written by foldnet train')
    .requiredOption('--onnx <model.onnx>', 'the ONNX file to write', nonEmptyFlag('--onnx'))
    .option('--softmax', 'end with a Softmax node: the output is probabilities instead of logits')
    .addHelpText(
      'after',
      example(['foldnet export runs/20260101-120000-simple/checkpoint.safetensors --onnx simple.onnx', 'foldnet export ckpt.safetensors --onnx model.onnx --softmax']) +
        "\nThe model reads 'input' float [N, ...input shape] and writes 'logits' (or 'probabilities' with\n" +
        '--softmax) float [N, classes]. Initializers keep the checkpoint\'s tensor names (conv1.W, ...).\n' +
        'A checkpoint trained with --normalize gets its normalisation as the first nodes (Sub, Div), so the\n' +
        "model takes the raw [0, 1] images foldnet predict takes.\n",
    )
    .action(async (checkpoint: string, _opts: unknown, cmd: Command) => (await import('./commands/export.js')).exportCommand(checkpoint, cmd.opts(), io));

  program
    .command('summary')
    .description('the layer table of a model: output shapes and parameter counts')
    .argument('<model>', `${modelChoicesHelp} (docs/model-spec.md), or a checkpoint.safetensors`)
    .option('--json', 'print the table as JSON')
    .addHelpText('after', example(['foldnet summary simple', 'foldnet summary examples/model-spec.json', 'foldnet summary runs/first/checkpoint.safetensors']))
    .action(async (model: string, _opts: unknown, cmd: Command) => (await import('./commands/summary.js')).summaryCommand(model, cmd.opts(), io));

  program
    .command('gradcheck')
    .description("check the model's backpropagated gradients against finite differences (float64); exit 1 when an error exceeds the tolerance")
    .argument('<model>', modelChoicesHelp)
    .option('--tolerance <x>', 'largest relative error accepted (default: 1e-5)', positiveNumberFlag('--tolerance'))
    .option('--atol <x>', 'errors of gradients smaller than atol/tolerance are judged absolutely against atol (default: 1e-8 * max(1, |L|))', positiveNumberFlag('--atol'))
    .option('--batch-size <n>', 'images in the random batch (default: 2)', positiveIntFlag('--batch-size'))
    .option('--seed <n>', 'seed of the params and the batch (default: 0)', seedFlag('--seed'))
    .option('--jitter <x>', 'std of the noise added to the initial params, to move off ReLU/max-pool kinks (default: 0.1)', nonNegativeNumberFlag('--jitter'))
    .option('--elements <n>', 'entries checked one by one per tensor, besides one random direction (default: 64)', nonNegativeIntFlag('--elements'))
    .addHelpText('after', example(['foldnet gradcheck simple', 'foldnet gradcheck double --tolerance 1e-4']))
    .action(async (model: string, _opts: unknown, cmd: Command) => (await import('./commands/gradcheck.js')).gradcheckCommand(model, cmd.opts(), io));

  const bench = program.command('bench');
  bench
    .description('time training steps and evaluation, and name the algorithm each convolution took (a benchmark, not a test)')
    .option('--model <name|spec.json>', `${modelChoicesHelp} (default: simple)`, nonEmptyFlag('--model'))
    .option('--batch-size <n>', 'images per step (default: 100)', positiveIntFlag('--batch-size'))
    .option('--steps <n>', 'measured steps after warm-up (default: 30)', positiveIntFlag('--steps'))
    .option('--warmup <n>', 'steps run before measuring (default: 3)', nonNegativeIntFlag('--warmup'))
    .addOption(configOption(bench, io, 'threads', trainConfigFields.threads))
    .option('--backend <name>', `${benchBackendChoices.join(' | ')} (default: fast)`, oneOfFlag('--backend', benchBackendChoices))
    .option('--data <name>', 'random: one fixed batch of normal noise (no zeros: the worst case of the paths that skip them) | mnist: the first training batches (default: random)', oneOfFlag('--data', benchDataChoices))
    .option('--json', 'print one JSON object per measured configuration')
    .addHelpText('after', example(['foldnet bench', 'foldnet bench --model double --backend both --threads 1', 'foldnet bench --data mnist --json']))
    .action(async (_opts: unknown, cmd: Command) => (await import('./commands/bench.js')).benchCommand(cmd.opts(), io));

  program
    .command('compare')
    .description("several runs side by side: their curves in one chart (SVG and PNG) and their final numbers in one table")
    .argument('<runs...>', 'run folders written by foldnet train (or a file inside one, e.g. its checkpoint)')
    .option('--out <dir>', 'the folder to write compare.svg, compare.png, compare.md and compare.csv into (default: runs/compare-<timestamp>)', nonEmptyFlag('--out'))
    .addHelpText(
      'after',
      example(['foldnet compare runs/adam runs/sgd --out runs/adam-vs-sgd', 'foldnet compare runs/seed*']) +
        '\nEach run folder must hold the metrics.jsonl foldnet train wrote; its config.json, when present, gives\n' +
        "the table's setup column. The chart has two panels, accuracy and loss against step, one colour per run:\n" +
        'test curves solid, training curves (training-subset accuracy, mean batch loss) dashed. The table is\n' +
        'printed, and written as compare.md and compare.csv.\n',
    )
    .action(async (runs: string[], _opts: unknown, cmd: Command) => (await import('./commands/compare.js')).compareCommand(runs, cmd.opts(), io));

  // every command but compare reads a model or a checkpoint
  for (const cmd of program.commands) if (cmd.name() !== 'compare') addPluginOption(cmd);
  return program;
};

/** `--dataset` of eval and predict: the checkpoint's own dataset unless given. */
const datasetOption = (): Option =>
  new Option('--dataset <name>', `${datasetNames.join(' | ')}: the test set to use (default: the one the checkpoint was trained on; not for a checkpoint trained on an image folder, whose test split is its folder's)`).argParser(oneOfFlag('--dataset', datasetNames));

/** The sub-command named in argv (the first known name), '' when none. */
const commandOf = (args: readonly string[]): string => args.find((a): a is string => commandNames.some((c) => c === a)) ?? '';

/** Commander's message without its "error: " prefix, on one line. */
const commanderLine = (e: CommanderError): string =>
  e.message
    .replace(/^error:\s*/i, '')
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .join(' ');

/**
 * Runs the CLI on `args` (argv without node and the script) and returns the exit code:
 * 0 success, 1 a check failed or an internal error, 2 bad input.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), nodeIo());
 */
export const runCli = async (args: readonly string[], io: Io): Promise<number> => {
  const debug = args.includes('--debug');
  const command = commandOf(args);
  const program = buildProgram(io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      if (e.code === 'commander.help' || e.code === 'commander.executeSubCommandAsync') return 2;
      const help = command === '' ? 'foldnet --help' : `foldnet ${command} --help`;
      io.err(`${command === '' ? 'foldnet' : `foldnet ${command}`}: ${commanderLine(e)} (see ${help})\n`);
      return 2;
    }
    const report = describeError(command, e);
    io.err(`${report.line}\n`);
    if (debug && e instanceof Error && e.stack !== undefined) io.err(`${e.stack}\n`);
    return report.exitCode;
  }
};
