/**
 * @foldnet/cli: the `foldnet` command, and the pure pieces behind it (config decoding, charts,
 * the HTML report, MNIST image conversion) for programs that want them without the command.
 *
 * @example
 * import { runCli, nodeIo } from '@foldnet/cli';
 * process.exitCode = await runCli(['summary', 'simple'], nodeIo());
 */
export * from './codecs.js';
export * from './config.js';
export * from './errors.js';
export * from './metrics.js';
export * from './plots.js';
export * from './images.js';
export * from './report.js';
export { trainCommandLine } from './commandline.js';
export * from './progress.js';
export * from './digit.js';
export * from './io.js';
export { buildProgram, runCli, commandNames } from './program.js';
export { networkFromSpec, loadModel, presetNames, type LoadedModel } from './models.js';
export { removeStaleTempFiles, inspectRunFolder, LOCK_FILE, type FolderContents } from './runfolder.js';
export { writeRunFolder, runConfig, type RunRecord, type WriteRunFolderOptions } from './runwriter.js';
export { loadPlugins, type LoadedPlugin } from './plugins.js';
export { lrScheduleFlag } from './flags.js';
