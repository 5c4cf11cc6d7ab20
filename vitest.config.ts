import { defineConfig } from 'vitest/config';

/**
 * Projects: `unit` (pure code, `*.test.ts` beside the code), `integration` (`*.int.test.ts`,
 * against the real local stack that `make up` starts) and `soak` (`*.soak.test.ts`, fleet runs
 * through outages; `make test` runs it after the others, `make soak` alone).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/*.soak.test.ts', 'node_modules/**', 'var/**'],
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
      {
        test: {
          // The whole fleet through outages (`make soak`; `make test` runs it last, alone: it restarts Kafka).
          name: 'soak',
          include: ['**/*.soak.test.ts'],
          exclude: ['node_modules/**', 'var/**'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
