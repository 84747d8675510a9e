import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    env: { KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        // Dashboards, alert rules and the compose stack, checked with promtool, amtool and docker
        // compose (see test/support/tools.ts); no Kafka or Redis needed.
        test: { name: 'ops', include: ['test/ops/**/*.test.ts'], testTimeout: 30_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Starts (or reuses) the local Kafka broker and Redis, as `npm run services` does.
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One broker on a 2-core machine: integration files run one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
