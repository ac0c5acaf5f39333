#!/usr/bin/env bash
# A throw-away PostgreSQL server for c360's tests.
#
#   bash scripts/postgres.sh start    # prints the URI on stdout, logs on stderr
#   bash scripts/postgres.sh stop     # stops the server and removes its data directory
#   bash scripts/postgres.sh status   # exit 0 when the server answers
#   bash scripts/postgres.sh uri      # prints the URI
#
# The server listens on 127.0.0.1 only (port C360_PG_PORT, default 54329), keeps
# its data in a temporary directory (C360_PG_DIR, default /tmp/c360-postgres-PORT),
# trusts local connections and holds one database, c360test. PostgreSQL's own
# programs are used when present (PATH, then /usr/lib/postgresql/*/bin); on a
# machine without them Debian's package is installed (needs root or sudo).
# initdb refuses to run as root, so as root the server runs as the "postgres"
# user, created if missing.
set -euo pipefail

PORT="${C360_PG_PORT:-54329}"
DB="${C360_PG_DB:-c360test}"
PGUSER_NAME="postgres"
DATA="${C360_PG_DIR:-${TMPDIR:-/tmp}/c360-postgres-${PORT}}"
URI="postgresql://${PGUSER_NAME}@127.0.0.1:${PORT}/${DB}"

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

find_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"; return 0
    fi
    # Debian keeps the server programs out of PATH; take the newest version.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    done
    return 1
}

as_root() {
    if [[ "$(id -u)" == 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
    else log "need root to run: $*"; return 1
    fi
}

install_postgres() {
    log "PostgreSQL not found; installing Debian's package"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

BINDIR=""
resolve_bindir() {
    if ! BINDIR="$(find_bindir)"; then
        install_postgres
        BINDIR="$(find_bindir)" || { log "PostgreSQL programs still not found after install"; exit 1; }
    fi
}

# Run a command as the server's owner: the postgres user when we are root.
RUN_AS=()
resolve_user() {
    if [[ "$(id -u)" == 0 ]]; then
        if ! id -u "$PGUSER_NAME" >/dev/null 2>&1; then
            log "creating system user $PGUSER_NAME"
            useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$PGUSER_NAME"
        fi
        if command -v runuser >/dev/null 2>&1; then
            RUN_AS=(runuser -u "$PGUSER_NAME" --)
        else
            RUN_AS=(sudo -u "$PGUSER_NAME")
        fi
    fi
}

pg() { "${RUN_AS[@]}" "$@"; }

is_up() {
    [[ -f "$DATA/PG_VERSION" ]] && pg "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

start() {
    resolve_bindir
    resolve_user
    if is_up; then
        log "already running in $DATA"
    else
        if [[ -e "$DATA" ]]; then
            log "removing stale data directory $DATA"
            rm -rf "$DATA"
        fi
        mkdir -p "$DATA"
        chmod 700 "$DATA"
        if [[ "$(id -u)" == 0 ]]; then chown "$PGUSER_NAME" "$DATA"; fi
        log "initdb into $DATA ($("$BINDIR/postgres" --version))"
        pg "$BINDIR/initdb" -D "$DATA" -U "$PGUSER_NAME" --auth=trust --encoding=UTF8 \
            --locale=C.UTF-8 >"$DATA.initdb.log" 2>&1 \
            || pg "$BINDIR/initdb" -D "$DATA" -U "$PGUSER_NAME" --auth=trust --encoding=UTF8 \
                --no-locale >"$DATA.initdb.log" 2>&1 \
            || { cat "$DATA.initdb.log" >&2; exit 1; }
        log "starting on 127.0.0.1:$PORT"
        # The Unix socket goes into the data directory: /var/run/postgresql may not exist.
        if ! pg "$BINDIR/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
                -o "-h 127.0.0.1 -p $PORT -k $DATA -c fsync=off -c full_page_writes=off" start >&2; then
            cat "$DATA/server.log" >&2 || true
            exit 1
        fi
    fi
    local psql="$BINDIR/psql"
    [[ -x "$psql" ]] || psql="$(command -v psql)"
    if ! pg "$psql" -h 127.0.0.1 -p "$PORT" -U "$PGUSER_NAME" -d postgres -tAc \
            "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
        pg "$psql" -h 127.0.0.1 -p "$PORT" -U "$PGUSER_NAME" -d postgres -q \
            -c "CREATE DATABASE $DB" >&2
    fi
    echo "$URI"
}

stop() {
    if [[ ! -f "$DATA/PG_VERSION" ]]; then
        log "no server data in $DATA"
        rm -rf "$DATA" "$DATA.initdb.log"
        return 0
    fi
    resolve_bindir
    resolve_user
    if is_up; then
        pg "$BINDIR/pg_ctl" -D "$DATA" -m fast -w stop >&2 || true
    fi
    rm -rf "$DATA" "$DATA.initdb.log"
    log "stopped and removed $DATA"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) resolve_bindir; resolve_user; is_up ;;
    uri) echo "$URI" ;;
    *) echo "usage: $0 start|stop|status|uri" >&2; exit 2 ;;
esac
