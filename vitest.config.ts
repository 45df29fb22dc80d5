import { defineConfig } from 'vitest/config'

// One run for every JS test: packages (ts/*/test), the docs site and the bench harness.
// Tests import the built packages (dist/), so `npm test` builds first (scripts/test.sh).
export default defineConfig({
  test: {
    include: ['ts/*/test/**/*.test.ts', 'docs/test/**/*.test.ts', 'benches/test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 10_000,
  },
})
