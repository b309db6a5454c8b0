// `npm run test:heavy`: the *.heavy.test.ts files only, which need a real engine (or GPU) and are
// left out of `npm test` (vitest.config.ts). Each file skips itself when what it needs is not given
// (docs/heavy-tests.md: LLAMA_SERVER and LLAMA_MODEL for the llama-server checks).
import { defineConfig } from 'vitest/config';
import SummaryReporter from './test/helpers/summary-reporter.js';

export default defineConfig({
  test: {
    include: ['test/**/*.heavy.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One real engine at a time: they share the machine's cores.
    fileParallelism: false,
    reporters: ['default', new SummaryReporter()],
  },
});
