#!/usr/bin/env bash
# install-deps.sh — installs everything stockpipe needs to build, run and test.
#
# Idempotent: packages already present are skipped quickly, and the npm test tools
# are reinstalled only when their lock file changed. Uses apt-get (Debian 12) for
# libraries and servers, and npm for test-only oracles (DuckDB, TA-Lib, VADER),
# installed into tests/tools/node_modules — never used by the stockpipe binary.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

apt_packages=(
  build-essential cmake pkg-config git ca-certificates
  clang libclang-rt-14-dev
  libcurl4-openssl-dev libyaml-dev libcjson-dev libxml2-dev
  libzstd-dev libsnappy-dev zlib1g-dev liblz4-dev
  libsqlite3-dev libmicrohttpd-dev libpq-dev postgresql
  librdkafka-dev libmongoc-dev libbson-dev libcmocka-dev
  nodejs npm python3
)

missing=()
for p in "${apt_packages[@]}"; do
  # nodejs/npm may come from outside Debian on developer machines: accept a working binary.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    python3) command -v python3 >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages and not root; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: system packages present"
fi

# Test-only oracles from npm (DuckDB reads what we write, TA-Lib and VADER are references).
tools="$here/tests/tools"
if [ -f "$tools/package.json" ]; then
  stamp="$tools/node_modules/.stockpipe-lock-stamp"
  if [ ! -f "$stamp" ] || ! cmp -s "$tools/package-lock.json" "$stamp"; then
    echo "install-deps: npm ci in tests/tools"
    (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$tools/package-lock.json" "$stamp"
  else
    echo "install-deps: npm test tools present"
  fi
fi
