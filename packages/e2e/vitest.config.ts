import { defineConfig } from 'vitest/config';

// The global setup packs and installs once per run (see test/setup.ts); the test
// files then only run commands in the installed apps.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
