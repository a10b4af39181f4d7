// One test runner config for every project: each project's `test` target runs
// `vitest run --config ../../vitest.shared.ts` from its own root.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    // Integration suites share one host (mounts, netns, iptables); within a
    // project they run one file at a time, and each has its own state root.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 300_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
