import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two test files at a time on this 2-core machine (vitest's default is cores - 1, so one): most
    // integration tests wait on etcd, child processes and deliberate fault windows (the idle test
    // sits for two minutes, the cluster test for its cuts), not on the CPU, and run serially they
    // took CI past 20 minutes. Each test starts its own etcd on free ports, so files do not share
    // state.
    maxWorkers: 2,
    coverage: {
      provider: 'v8',
      // Source files only: the seed documents (Markdown) and JSON beside the code are not
      // JavaScript, and v8 coverage would try to parse them and print the errors into CI's log.
      include: ['shared/**/*.ts', 'functions/**/*.ts', 'bridge/**/*.ts', 'infra/**/*.ts'],
      exclude: ['**/*.d.ts', '**/*.test.ts'],
      reporter: ['text-summary'],
    },
  },
});
