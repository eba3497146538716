/**
 * Reading what users name: regular files only, within a size limit, and JSON by one rule (UTF-8,
 * one leading BOM ignored, repeated keys refused).
 */
export { openRegularFile, readRegularFile, readAt, refusalText, kindOf } from './regular-file.js';
export type { FileRefusal, OpenedFile } from './regular-file.js';
export { parseJson, parseJsonBytes, decodeUtf8, MAX_TEXT_BYTES } from './json.js';
