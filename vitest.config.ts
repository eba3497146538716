import { defineConfig } from 'vitest/config';

// Tests run from source: the `@foldnet/source` export condition points every
// workspace package at its src/index.ts, so no build is needed first.
export default defineConfig({
  resolve: { conditions: ['@foldnet/source'] },
  ssr: { resolve: { conditions: ['@foldnet/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // scopes poisoned in every test (test/poison-scopes.ts)
    setupFiles: ['test/poison-scopes.ts'],
  },
});
