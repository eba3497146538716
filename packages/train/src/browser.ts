/**
 * @foldnet/train in a browser (the `browser` condition of its package exports): everything the Node entry has but image
 * files and folders (data/images.ts), over a file system that is not there (src/platform/browser.ts: file reads answer
 * their 'io' errors), and what a browser uses instead: data from fetch, File and Blob, checkpoints as bytes, training in
 * a dedicated Worker (web/).
 */
export * from './common.js';
export * from './web/index.js';
