/**
 * @foldnet/core/testing: fast-check arbitraries for tensors, shapes and convolution geometries,
 * for foldnet's own property tests and for users' suites.
 */
export {};
