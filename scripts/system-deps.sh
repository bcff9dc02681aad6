#!/usr/bin/env bash
# System packages some tests use: PostgreSQL (deal records) and Chromium (browser tests).
# Installed from Debian's packages when running as root; otherwise those tests skip with a reason.
set -uo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "note: ${need[*]} not installed and not root: the tests that need them will skip" >&2
  exit 0
fi
echo "Installing system packages: ${need[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || echo "note: could not install ${need[*]}" >&2
exit 0
