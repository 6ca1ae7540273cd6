import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration suites each start real servers; two cores run two files at once at most.
    maxWorkers: 2,
    // The fuzz test compares heap use before and after with a forced collection.
    execArgv: ['--expose-gc'],
  },
});
