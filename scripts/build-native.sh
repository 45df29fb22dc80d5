#!/usr/bin/env bash
# Builds the addon for this machine into bindings/node/iocrate.<platform>.node (dev profile
# unless IOCRATE_RELEASE=1) and regenerates bindings/node/native.d.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
args=(build --platform --manifest-path bindings/node/Cargo.toml --package-json-path bindings/node/package.json
      --output-dir bindings/node --no-js --dts native.d.ts)
if [ "${IOCRATE_RELEASE:-0}" = "1" ]; then args+=(--release); fi
exec npx --no-install napi "${args[@]}" "$@"
