#!/usr/bin/env bash
# Installs the two OpenAPI linters the contract test runs over /openapi.json (Redocly's
# recommended-strict rules and Spectral's spectral:oas) from the npm registry, where npm is present
# and can install globally; otherwise says so, and those two checks are skipped with that reason
# (the document is still validated by openapi-spec-validator, a Python dependency).
set -u
command -v redocly >/dev/null 2>&1 && command -v spectral >/dev/null 2>&1 && exit 0
if [ "${MINQING_SKIP_NPM:-0}" = "1" ]; then
  echo "note: not installing the OpenAPI linters (MINQING_SKIP_NPM=1)"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "note: npm is not installed: the Redocly and Spectral checks of the OpenAPI document will be skipped"
  exit 0
fi
echo "installing @redocly/cli and @stoplight/spectral-cli with npm…"
timeout 300 npm install -g --no-audit --no-fund --loglevel=error @redocly/cli @stoplight/spectral-cli >/dev/null 2>&1 \
  || echo "note: could not install the OpenAPI linters; their checks will be skipped"
exit 0
