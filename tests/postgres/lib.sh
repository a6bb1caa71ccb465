# lib.sh — bash helpers that start and stop a throw-away PostgreSQL server for tests
# and benchmarks (the recipe of PLATFORM.md: initdb + pg_ctl as user postgres, the
# socket in a temporary folder, a free port on 127.0.0.1, fsync=off).
#
#   . "$STOCKPIPE_SOURCE_DIR/tests/postgres/lib.sh"
#   pg_start            # sets PG_BIN PG_DIR PG_PORT PG_PASSWORD PG_CONNINFO
#   trap 'pg_stop' EXIT # (add your own cleanup to the same trap)
#   pg_sql "SELECT 1" [DBNAME]  # psql -XAtq as postgres over TCP with the password
#                                 # (database postgres unless DBNAME is given)
#
# Connections over TCP need the password (scram-sha-256), so tests can check what a
# wrong password does; the Unix socket in $PG_DIR is trusted (used to set it).
# As root the server runs as user postgres (initdb refuses root); otherwise as you.

pg_as_owner() { # run a command line as the server's owner
  if [[ $(id -u) == 0 ]]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi
}

pg_start() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [[ ! -x ${PG_BIN:-/nonexistent}/initdb ]]; then
    echo "pg_start: no PostgreSQL server found (scripts/install-deps.sh installs the postgresql package)" >&2
    return 1
  fi
  PG_DIR=$(mktemp -d /tmp/sp_pg.XXXXXX)
  [[ $(id -u) == 0 ]] && chown postgres: "$PG_DIR"
  PG_PASSWORD=${PG_PASSWORD:-Sp-test-$$-$RANDOM}
  local q_dir q_bin attempt
  q_dir=$(printf %q "$PG_DIR")
  q_bin=$(printf %q "$PG_BIN")
  pg_as_owner "$q_bin/initdb -D $q_dir/data -U postgres --auth-local=trust --auth-host=scram-sha-256 --no-sync \
      -E UTF8 --no-locale >$q_dir/initdb.log 2>&1" || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  # The port is one the kernel handed out and took back: another process (a parallel
  # test) may bind it before the server does.  Only then is it tried again, on another.
  for attempt in 1 2 3 4 5; do
    PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if pg_as_owner "$q_bin/pg_ctl -D $q_dir/data -l $q_dir/server.log -w -t 120 start \
        -o '-c listen_addresses=127.0.0.1 -p $PG_PORT -k $q_dir -c fsync=off' >/dev/null"; then
      break
    fi
    if [[ $attempt == 5 ]] || ! grep -q "could not bind IPv4 address" "$PG_DIR/server.log"; then
      cat "$PG_DIR/server.log" >&2
      return 1
    fi
    echo "pg_start: port $PG_PORT taken meanwhile; trying another" >&2
  done
  "$PG_BIN/psql" -XAtq -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres \
    -c "ALTER USER postgres PASSWORD '$PG_PASSWORD'" >/dev/null || return 1
  PG_CONNINFO="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres password=$PG_PASSWORD"
  export PG_BIN PG_DIR PG_PORT PG_PASSWORD PG_CONNINFO
  # Safety net for a test killed without running its traps (time-out, SIGKILL): a
  # watchdog stops the server once the calling shell is gone.
  local owner=$$ dir=$PG_DIR
  (
    while kill -0 "$owner" 2>/dev/null && [[ -d $dir/data ]]; do sleep 1; done
    if [[ -d $dir/data ]]; then
      pg_as_owner "$q_bin/pg_ctl -D $q_dir/data -m immediate -w stop"
      rm -rf "$dir"
    fi
  ) </dev/null >/dev/null 2>&1 &
}

pg_sql() {
  PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -XAtq -v ON_ERROR_STOP=1 \
    "host=127.0.0.1 port=$PG_PORT user=postgres dbname=${2:-postgres}" -c "$1"
}

pg_stop() {
  if [[ -n ${PG_DIR:-} && -d $PG_DIR ]]; then
    pg_as_owner "$(printf %q "$PG_BIN")/pg_ctl -D $(printf %q "$PG_DIR")/data -m fast -w stop >/dev/null 2>&1"
    rm -rf "$PG_DIR"
  fi
  PG_DIR=
}
