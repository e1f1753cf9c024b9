#!/usr/bin/env bash
# Installs what this repository needs on a fresh machine of its kind (Debian 12,
# Node 20 + npm): the Debian packages the cluster and the tests run for real,
# pnpm at the pinned version, and the workspace's dependencies. Idempotent: only
# what is missing is installed. Used by the README's command one and by .ci/run.
# The lockfile is used as committed (--frozen-lockfile): a fresh machine gets
# exactly the versions CI tested.
set -euo pipefail
cd "$(dirname "$0")/.."

# PgBouncer, Prometheus and its exporters, a headless browser (dashboard test),
# openssl (the cluster's CA) and psql (the cluster's `env` checks).
DEBIAN_PACKAGES=(pgbouncer prometheus prometheus-postgres-exporter prometheus-pgbouncer-exporter chromium openssl postgresql-client)
PNPM_VERSION=12.4.2

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
    echo "bootstrap: Fix: sudo apt-get update && sudo apt-get install -y ${missing[*]} (the cluster and its tests need them; stella-db up does not)" >&2
  else
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  npm install -g "pnpm@$PNPM_VERSION"
fi

pnpm install --frozen-lockfile
