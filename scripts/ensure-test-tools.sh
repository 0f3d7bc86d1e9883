#!/usr/bin/env bash
# Installs the Debian packages named as arguments when they are missing, where it can (root and
# apt-get); otherwise says what is missing. Used by `make test` for the optional tools some tests use
# (they skip with a clear message without them: chromium for the dashboard's browser test,
# docker-compose to validate docker-compose.yml offline, pgbouncer to run the service through a
# transaction-pooling PgBouncer; etcd-server, haproxy and, from PyPI, patroni for the failover test) and by
# `make bench` for wrk. The arguments are Debian package names; a package whose command has
# another name is looked up by that command (etcd-server installs `etcd`).
set -u
[ $# -eq 0 ] && set -- chromium docker-compose pgbouncer etcd-server haproxy
need=()
for tool in "$@"; do
  case "$tool" in
    etcd-server) cmd=etcd ;;
    *) cmd="$tool" ;;
  esac
  # pgbouncer and haproxy install to /usr/sbin, which a non-root PATH may lack
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need+=("$tool")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "${MINQING_SKIP_APT:-0}" = "1" ]; then
  echo "note: not installing ${need[*]} (MINQING_SKIP_APT=1)"
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: ${need[*]} not installed and apt-get is unavailable or not root"
  exit 0
fi
echo "installing ${need[*]} from Debian's packages…"
export DEBIAN_FRONTEND=noninteractive
timeout 300 apt-get update -qq >/dev/null 2>&1 || true
timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
  || echo "note: could not install ${need[*]}"
exit 0
