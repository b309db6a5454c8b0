import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // *.heavy.test.ts need more than this machine (a real GPU, a real engine): run them by hand.
    exclude: ['**/node_modules/**', 'test/**/*.heavy.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
