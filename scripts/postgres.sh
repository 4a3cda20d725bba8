#!/usr/bin/env bash
# A throwaway PostgreSQL 15 on loopback for the test suite and the benchmarks.
#   scripts/postgres.sh start   install (Debian package) if missing, initialise, start
#   scripts/postgres.sh url     print the DATABASE_URL to use
#   scripts/postgres.sh stop    stop it and remove its data
# The server runs as the `postgres` system user when called as root (initdb refuses root).
set -euo pipefail
PORT="${KETACARE_PG_PORT:-54329}"
DATA="${KETACARE_PG_DATA:-${TMPDIR:-/tmp}/ketacare-pg-$PORT}"
DB="ketacare"
USER_NAME="ketacare"
PASSWORD="ketacare-test"

bindir() {
  local dir
  for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
  bindir >/dev/null 2>&1 && return
  echo "Installing PostgreSQL 15 (Debian package)"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql-15 >/dev/null
}

start() {
  install
  local bin; bin="$(bindir)"
  if [ -f "$DATA/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    echo "PostgreSQL already running on 127.0.0.1:$PORT"; return
  fi
  rm -rf "$DATA"; mkdir -p "$DATA"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"
  as_owner "$bin/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust >/dev/null
  as_owner "$bin/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
  as_owner "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE $USER_NAME LOGIN PASSWORD '$PASSWORD' CREATEDB" \
    -c "CREATE DATABASE $DB OWNER $USER_NAME" >/dev/null
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running on 127.0.0.1:$PORT"
}

stop() {
  local bin; bin="$(bindir)" || return 0
  [ -d "$DATA" ] && as_owner "$bin/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "postgres://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/$DB" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
