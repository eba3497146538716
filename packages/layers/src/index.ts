/** @foldnet/layers: layers as pure values, networks as composed pipelines, gradient checking. */
export * from './types.js';
