#!/usr/bin/env bash
# Run CMD... against a throwaway PostgreSQL server on 127.0.0.1, then stop it.
#
#   scripts/with-postgres.sh .venv/bin/python -m pytest
#
# The server lives in a temporary folder (initdb), listens on a free port of
# 127.0.0.1 only, and is stopped and deleted on exit, even when CMD fails.
# CMD sees EARMARK_TEST_DATABASE_URL=postgres://earmark:...@127.0.0.1:PORT/postgres
# (a superuser with a password, so that tests can also try a wrong one).
# PostgreSQL comes from Debian's `postgresql` package; as root, the script
# installs it when it is missing (CI runs on a fresh machine as root).
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

BINDIR=$(pg_bindir)
if [ -z "$BINDIR" ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "error: PostgreSQL is not installed: apt-get install postgresql (as root)" >&2
        exit 2
    fi
    echo "with-postgres: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    BINDIR=$(pg_bindir)
fi

# initdb and postgres refuse to run as root: run them as an unprivileged user.
AS=()
if [ "$(id -u)" -eq 0 ]; then
    if id postgres >/dev/null 2>&1; then PGUSER_OS=postgres; else PGUSER_OS=nobody; fi
    AS=(runuser -u "$PGUSER_OS" --)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/earmark-pg.XXXXXX")
PASSWORD="earmark-test-$RANDOM$RANDOM"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '%s\n' "$PASSWORD" >"$WORK/pwfile"
if [ ${#AS[@]} -gt 0 ]; then chown -R "$PGUSER_OS" "$WORK"; fi

stop_server() {
    if [ -f "$WORK/data/postmaster.pid" ]; then
        "${AS[@]}" "$BINDIR/pg_ctl" -D "$WORK/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${AS[@]}" "$BINDIR/initdb" -D "$WORK/data" -U earmark --pwfile="$WORK/pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
    || { cat "$WORK/initdb.log" >&2; exit 2; }
# Durability is worth nothing for a test server: fsync off makes CREATE DATABASE cheap.
OPTIONS="-h 127.0.0.1 -p $PORT -k $WORK -c fsync=off -c synchronous_commit=off"
OPTIONS="$OPTIONS -c full_page_writes=off -c max_connections=200"
"${AS[@]}" "$BINDIR/pg_ctl" -D "$WORK/data" -o "$OPTIONS" -l "$WORK/server.log" -w start \
    >/dev/null || { cat "$WORK/server.log" >&2; exit 2; }
echo "with-postgres: PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}')" \
    "on 127.0.0.1:$PORT" >&2

export EARMARK_TEST_DATABASE_URL="postgres://earmark:$PASSWORD@127.0.0.1:$PORT/postgres"
status=0
"$@" || status=$?
exit "$status"
