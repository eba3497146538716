import type { ResolveHook } from 'node:module';

/**
 * A module-resolution hook for the built CLI: maps `fp-ts/Either` style imports (which TypeScript
 * and vitest accept, but Node's ES module loader refuses as directory imports, since fp-ts 2.16
 * has no `exports` map) to the file they mean, `fp-ts/lib/Either.js`. Other specifiers pass
 * through unchanged. Registered by bin.ts before anything else is imported.
 *
 * @example
 * // bin.ts
 * register('./esm-hooks.js', import.meta.url);
 */
export const resolve: ResolveHook = (specifier, context, nextResolve) => {
  const m = /^fp-ts\/([A-Za-z]+)$/.exec(specifier);
  return nextResolve(m === null ? specifier : `fp-ts/lib/${m[1] ?? ''}.js`, context);
};
