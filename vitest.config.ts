import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The machine has two cores; more workers only add contention for the process-spawning tests.
    maxWorkers: 2,
  },
});
