#!/usr/bin/env bash
# start.sh — start the fake provider API in the background for manual use or scripts.
# Prints "BASE_URL PID" on one line; stop it with `kill PID` (it also exits by itself
# after --max-seconds, default 600).  Arguments are passed to fakeapi.py.
#   read -r url pid < <(tests/fakeapi/start.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/fakeapi.XXXXXX)
python3 "$here/fakeapi.py" --port-file "$dir/port" "$@" >/dev/null 2>"$dir/stderr" &
pid=$!
for ((i = 0; i < 1000; i++)); do
  if [[ -s $dir/port ]]; then
    echo "http://127.0.0.1:$(cat "$dir/port") $pid"
    rm -rf "$dir"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.01
done
cat "$dir/stderr" >&2
kill "$pid" 2>/dev/null || true
rm -rf "$dir"
exit 1
