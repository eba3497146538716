/*
 * The names of the built-in models, apart from the models themselves: help texts and config
 * resolution need the names, and must not load the layers library to get them (`--help` stays fast).
 */

/** The built-in models `--model` and <model> take by name (built in models.ts). */
export const presetNames = ['simple', 'double', 'deep', 'resnet'] as const;
export type PresetName = (typeof presetNames)[number];

/** Whether `model` names a preset. @example isPreset('resnet') // true */
export const isPreset = (model: string): model is PresetName => presetNames.some((p) => p === model);

/** What a `--model` or <model> takes, as help words it. @example 'simple | double | deep | resnet, or a JSON model spec' */
export const modelChoicesHelp = `${presetNames.join(' | ')}, or a JSON model spec`;
