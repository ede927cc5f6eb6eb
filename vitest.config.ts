import { defineConfig } from 'vitest/config';

// Under CI the JSON report feeds the closing "N passed, N failed" line of .ci/run.
const ciReport = process.env.RB_VITEST_JSON;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    setupFiles: ['test/helpers/event-loop-turn.ts'],
    reporters: ciReport ? ['default', 'json'] : ['default'],
    outputFile: ciReport ? { json: ciReport } : undefined,
  },
});
