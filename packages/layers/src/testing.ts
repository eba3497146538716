/**
 * @foldnet/layers/testing: fast-check arbitraries for layers and a ready gradient property.
 */
export {};
