import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'udf/**/*.test.ts'],
    expect: { requireAssertions: true },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Worker-pool tests spawn real threads; two cores are all there is.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
