#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL server: a temporary cluster on 127.0.0.1 and a
# free port, HELPDESK_DATABASE pointing at it, always stopped and deleted afterwards.
#
#   scripts/with-postgres.sh .venv/bin/python -m pytest -q
#
# Uses the machine's `postgresql` package (initdb and pg_ctl from /usr/lib/postgresql/*/bin).
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] && command -v pg_ctl >/dev/null; then
  bindir=$(dirname "$(command -v pg_ctl)")
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "$0: PostgreSQL is not installed (apt-get install postgresql)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cluster=$(mktemp -d /tmp/helpdesk-pg.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres: "$cluster"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
  as_owner "$bindir/pg_ctl" -D "$cluster/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap stop EXIT

as_owner "$bindir/initdb" -D "$cluster/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
  >"$cluster/initdb.log" 2>&1 || { cat "$cluster/initdb.log" >&2; exit 1; }
# A test server: no durability needed, so no fsync; loopback only, socket in the cluster dir.
as_owner "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 start \
  -o "-h 127.0.0.1 -p $port -k $cluster -F -c full_page_writes=off -c max_connections=200" \
  >/dev/null || { cat "$cluster/server.log" >&2; exit 1; }
as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres helpdesk_test

export HELPDESK_DATABASE="postgresql://postgres@127.0.0.1:$port/helpdesk_test"
echo "PostgreSQL $("$bindir/pg_ctl" --version | awk "{print \$3}") on 127.0.0.1:$port (throw-away)" >&2
status=0
"$@" || status=$?
if [ $status -ne 0 ] && grep -qE 'PANIC|FATAL|terminated by signal' "$cluster/server.log"; then
  echo "--- the PostgreSQL server's log (failures only):" >&2
  grep -E 'PANIC|FATAL|terminated by signal|LOG:  server process' "$cluster/server.log" | tail -n 20 >&2
fi
exit $status
