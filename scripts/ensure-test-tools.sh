#!/usr/bin/env bash
# Optional tools some tests use when present (they skip with a clear message otherwise):
# Debian's chromium (dashboard browser test) and docker-compose (validates docker-compose.yml offline).
# Installs them with apt-get when running as root on Debian/Ubuntu; otherwise says what is missing.
set -u
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "${MINQING_SKIP_APT:-0}" = "1" ]; then
  echo "note: not installing ${need[*]} (MINQING_SKIP_APT=1); the tests that need them will be skipped"
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: ${need[*]} not installed and apt-get is unavailable or not root; the tests that need them will be skipped"
  exit 0
fi
echo "installing ${need[*]} from Debian's packages (used by optional tests)…"
export DEBIAN_FRONTEND=noninteractive
timeout 300 apt-get update -qq >/dev/null 2>&1 || true
timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
  || echo "note: could not install ${need[*]}; the tests that need them will be skipped"
exit 0
