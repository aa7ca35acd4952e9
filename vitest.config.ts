import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
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
