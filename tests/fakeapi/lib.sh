# lib.sh — bash helpers for integration tests that need the fake provider API.
#
#   . "$STOCKPIPE_SOURCE_DIR/tests/fakeapi/lib.sh"
#   fakeapi_start                      # sets FAKEAPI_URL, FAKEAPI_PID; stops itself on EXIT
#   export STOCKPIPE_YAHOO_BASE_URL=$FAKEAPI_URL
#   fakeapi_fault '{"path": "^/v8/", "fault": "503", "count": 2}'
#   ... run stockpipe ...
#   fakeapi_requests | python3 -c '...'  # JSON: {"requests": [...], "count": N, "max_concurrent": N}
#
# Extra arguments to fakeapi_start go to fakeapi.py (e.g. --routes FILE --faults FILE).
# fakeapi_start installs an EXIT trap calling fakeapi_stop; if your test sets its own
# EXIT trap, call fakeapi_stop from it.

FAKEAPI_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fakeapi_start() {
  FAKEAPI_DIR=$(mktemp -d /tmp/fakeapi.XXXXXX)
  python3 "$FAKEAPI_LIB_DIR/fakeapi.py" --port-file "$FAKEAPI_DIR/port" --max-seconds 600 "$@" \
    >"$FAKEAPI_DIR/stdout" 2>"$FAKEAPI_DIR/stderr" &
  FAKEAPI_PID=$!
  trap fakeapi_stop EXIT
  # up to 60 s: on a loaded machine Python may take seconds to start
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if [[ -s $FAKEAPI_DIR/port ]]; then
      FAKEAPI_URL="http://127.0.0.1:$(cat "$FAKEAPI_DIR/port")"
      export FAKEAPI_URL FAKEAPI_PID
      return 0
    fi
    if ! kill -0 "$FAKEAPI_PID" 2>/dev/null; then break; fi
    sleep 0.01
  done
  echo "fakeapi did not start:" >&2
  cat "$FAKEAPI_DIR/stderr" >&2
  return 1
}

fakeapi_stop() {
  if [[ -n ${FAKEAPI_PID:-} ]]; then
    kill "$FAKEAPI_PID" 2>/dev/null
    wait "$FAKEAPI_PID" 2>/dev/null
    FAKEAPI_PID=
  fi
  if [[ -n ${FAKEAPI_DIR:-} ]]; then
    rm -rf "$FAKEAPI_DIR"
    FAKEAPI_DIR=
  fi
}

# POST a fault (JSON object or list) — see README.md for the fields.
fakeapi_fault() { curl -sf -X POST --data-binary "$1" "$FAKEAPI_URL/_control/faults" >/dev/null; }
# POST a route (JSON object or list); it is tried before the routes table.
fakeapi_route() { curl -sf -X POST --data-binary "$1" "$FAKEAPI_URL/_control/routes" >/dev/null; }
# Forget faults, added routes, the request log and the concurrency counter; end the delays under way.
fakeapi_reset() { curl -sf -X POST "$FAKEAPI_URL/_control/reset" >/dev/null; }
# Print the request log as JSON.
fakeapi_requests() { curl -sf "$FAKEAPI_URL/_control/requests"; }
# Print how many provider requests were received.
fakeapi_count() { fakeapi_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }
