#!/usr/bin/env bash
# Runs one fuzz target with cargo-fuzz on nightly.
#   fuzz/run.sh <tls_server_accept|tls_client_response|pem_config> [seconds=60]
set -euo pipefail
cd "$(dirname "$0")"
target="${1:?usage: fuzz/run.sh <target> [seconds]   targets: $(ls fuzz_targets | sed 's/\.rs$//' | tr '\n' ' ')}"
secs="${2:-60}"
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz/run.sh: needs a nightly toolchain: rustup toolchain install nightly" >&2; exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: cargo-fuzz is not installed: cargo install cargo-fuzz" >&2; exit 1
fi
mkdir -p "corpus/$target"
exec cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$secs"
