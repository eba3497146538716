/** What both entries of @foldnet/train export (index.ts for Node, browser.ts for browsers). */
export * from './optim/index.js';
export * from './fit/index.js';
export * from './data/index.js';
export * from './checkpoint/index.js';
export * from './export/index.js';
export * from './input/index.js';
