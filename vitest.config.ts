import { defineConfig } from 'vitest/config'

// One run for every JS test: packages (ts/*/test), the docs site, the bench harness and the
// test services (scripts/test).
// Tests import the built packages (dist/), so `npm test` builds first (scripts/test.sh).
export default defineConfig({
  test: {
    include: ['ts/*/test/**/*.test.ts', 'docs/test/**/*.test.ts', 'benches/test/**/*.test.ts', 'scripts/test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 10_000,
  },
})
