#!/usr/bin/env bash
# `npm test`: set up (scripts/setup.sh), then every test — Rust (cargo test) and JS
# (vitest: packages against real peers, examples, docs build, bench harness).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

# 10,000-connection tests need file descriptors; raise the soft limit as far as allowed.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

status=0
echo "== cargo test"
cargo test --workspace --quiet 2>&1 | tee .cargo-test.log
rust_rc=${PIPESTATUS[0]}
[ "$rust_rc" = 0 ] || status=1

echo "== type tests (tstyche)"
if ls ts/*/test/types/*.tst.ts >/dev/null 2>&1; then
  npx --no-install tstyche 2>&1 | tee .tstyche.log
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
fi

echo "== vitest"
npx --no-install vitest run --reporter=default --reporter=json --outputFile=.vitest-report.json "$@"
[ $? = 0 ] || status=1

# One plain summary line over both runners.
node -e '
const fs = require("fs")
let passed = 0, failed = 0, skipped = 0
try {
  const r = JSON.parse(fs.readFileSync(".vitest-report.json", "utf8"))
  passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests || 0)
} catch { failed += 1 }
try {
  const t = fs.readFileSync(".tstyche.log", "utf8").replace(/\x1b\[[0-9;]*m/g, "")
  const line = t.split("\n").find((l) => l.startsWith("Tests:")) || ""
  passed += +(line.match(/(\d+) passed/) || [0, 0])[1]; failed += +(line.match(/(\d+) failed/) || [0, 0])[1]
} catch {}
for (const m of fs.readFileSync(".cargo-test.log", "utf8").matchAll(/test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g)) {
  passed += +m[1]; failed += +m[2]; skipped += +m[3]
}
console.log(`\nsummary: ${passed} passed, ${failed} failed, ${skipped} skipped`)
'
rm -f .cargo-test.log .tstyche.log
exit $status
