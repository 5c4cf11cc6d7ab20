import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure code, `*.test.ts` beside the code) and `integration`
 * (`*.int.test.ts`, against the real local stack that `make up` starts).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/*.int.test.ts', 'node_modules/**', 'var/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: ['node_modules/**', 'var/**'],
          // Generous: several suites restart Kafka, after which group coordinators take a while to load.
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
