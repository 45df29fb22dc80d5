#!/usr/bin/env bash
# `npm start`: set up, make a demo certificate, run the TCP + TLS echo demo.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=()
command -v nc >/dev/null 2>&1 || extra+=(netcat-openbsd)
IOCRATE_EXTRA_APT="${extra[*]:-}" bash scripts/setup.sh
mkdir -p .demo
if [ ! -f .demo/cert.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout .demo/key.pem -out .demo/cert.pem 2>/dev/null
fi
exec node examples/demo.mjs --cert .demo/cert.pem --key .demo/key.pem "$@"
