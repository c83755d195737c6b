#!/usr/bin/env bash
# shellcheck shell=bash
#
# A throwaway PostgreSQL server for Keyhouse's tests.
#
# The server lives in a fresh temporary directory, listens on 127.0.0.1 (and a
# Unix socket in that directory) on the first free port from 54320 upward,
# trusts every local connection, runs with fsync=off, and is deleted entirely
# when it is stopped. Never point it at data you care about.
#
# Sourced (this is what scripts/test.sh does):
#
#     source scripts/lib/postgres.sh
#     keyhouse_pg_install            # apt-get install postgresql if it is missing
#     trap keyhouse_pg_stop EXIT
#     keyhouse_pg_start              # exports KEYHOUSE_TEST_DATABASE_URL
#     ...
#     keyhouse_pg_stop               # stops the server and removes its directory
#
# Run directly, by hand:
#
#     eval "$(scripts/lib/postgres.sh start)"   # exports KEYHOUSE_TEST_DATABASE_URL, KEYHOUSE_PG_DIR
#     psql "$KEYHOUSE_TEST_DATABASE_URL" -c 'select 1'
#     eval "$(scripts/lib/postgres.sh stop)"    # stops the server in $KEYHOUSE_PG_DIR
#
# If KEYHOUSE_TEST_DATABASE_URL is already set, keyhouse_pg_start uses that
# server and starts nothing (and keyhouse_pg_stop then has nothing to stop).
#
# PostgreSQL refuses to run as root, so when run as root the server runs as
# the `postgres` system user (created by the Debian package).
#
# Optional settings:
#   KEYHOUSE_PG_BINDIR   directory holding initdb and pg_ctl
#                        (default: the newest /usr/lib/postgresql/*/bin)
#   KEYHOUSE_PG_TMPDIR   where the temporary directory is created (default: /tmp;
#                        it must be reachable by the postgres user)
#
# This file is meant to be sourced into scripts that use `set -euo pipefail`,
# so it changes no shell options itself; every function returns non-zero on
# failure and writes its messages to stderr.

# The directory of the server this shell started (not exported, so a child
# shell never stops a server that its parent started).
_keyhouse_pg_dir=""

# Marker file written into every directory we create; keyhouse_pg_stop only
# deletes directories that contain it.
_KEYHOUSE_PG_MARKER=".keyhouse-throwaway-postgres"

_keyhouse_pg_log() {
    printf 'postgres.sh: %s\n' "$*" >&2
}

# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

# keyhouse_pg_bindir: print the directory holding initdb and pg_ctl, or fail.
keyhouse_pg_bindir() {
    if [[ -n "${KEYHOUSE_PG_BINDIR:-}" ]]; then
        printf '%s\n' "$KEYHOUSE_PG_BINDIR"
        return 0
    fi
    # Debian installs each major version side by side; take the newest.
    local newest
    newest="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null |
        sort -V | tail -n 1)"
    if [[ -n "$newest" ]]; then
        dirname "$newest"
        return 0
    fi
    return 1
}

# keyhouse_pg_install: make sure the PostgreSQL server binaries are installed.
keyhouse_pg_install() {
    local bindir
    if bindir="$(keyhouse_pg_bindir)" && [[ -x "$bindir/initdb" && -x "$bindir/pg_ctl" ]]; then
        _keyhouse_pg_log "PostgreSQL found in $bindir"
        return 0
    fi
    # Note: the Debian package also creates and starts a default cluster on
    # port 5432; the tests do not use it.
    keyhouse_apt_install postgresql || return 1
    bindir="$(keyhouse_pg_bindir)" || {
        _keyhouse_pg_log "postgresql installed but no initdb found under /usr/lib/postgresql"
        return 1
    }
    _keyhouse_pg_log "PostgreSQL installed in $bindir"
}

# _keyhouse_pg_as_owner COMMAND ARG...: run a command as the server's owner:
# the postgres user when we are root, ourselves otherwise.
_keyhouse_pg_as_owner() {
    if [[ "$(id -u)" -ne 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        # printf %q quotes for bash, so ask su for bash rather than sh.
        su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
    fi
}

# _keyhouse_pg_port_taken PORT: succeed if something listens on 127.0.0.1:PORT.
_keyhouse_pg_port_taken() {
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# keyhouse_pg_start: start a throwaway server and export
#   KEYHOUSE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres
#   KEYHOUSE_PG_DIR=the server's temporary directory
# Does nothing if KEYHOUSE_TEST_DATABASE_URL is already set.
keyhouse_pg_start() {
    if [[ -n "${KEYHOUSE_TEST_DATABASE_URL:-}" ]]; then
        _keyhouse_pg_log "KEYHOUSE_TEST_DATABASE_URL is set; using that server and starting none"
        return 0
    fi
    if [[ -n "$_keyhouse_pg_dir" ]]; then
        _keyhouse_pg_log "a server started by this shell is already running in $_keyhouse_pg_dir"
        return 1
    fi

    local bindir
    bindir="$(keyhouse_pg_bindir)" || {
        _keyhouse_pg_log "PostgreSQL is not installed (run keyhouse_pg_install, or set KEYHOUSE_PG_BINDIR)"
        return 1
    }
    if [[ "$(id -u)" -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        _keyhouse_pg_log "running as root but there is no 'postgres' user to run the server as"
        return 1
    fi

    # A fresh directory owned by the server's user:
    #   DIR/data   the cluster    DIR/log   the server log
    #   DIR/.s.PGSQL.PORT   the Unix socket
    local dir
    dir="$(mktemp -d "${KEYHOUSE_PG_TMPDIR:-/tmp}/keyhouse-pg.XXXXXXXX")" || return 1
    : >"$dir/$_KEYHOUSE_PG_MARKER"
    if [[ "$(id -u)" -eq 0 ]]; then
        chown -R postgres:postgres "$dir" || return 1
    fi
    # Record it now so that keyhouse_pg_stop cleans up even if we fail below.
    _keyhouse_pg_dir="$dir"
    export KEYHOUSE_PG_DIR="$dir"

    _keyhouse_pg_log "initdb in $dir/data"
    # --no-locale: independent of whatever LANG the machine has (or lacks).
    # --no-sync:   the cluster is thrown away; do not wait for the disk.
    # Run from inside $dir so the postgres user can read the working directory.
    if ! (cd "$dir" && _keyhouse_pg_as_owner "$bindir/initdb" -D "$dir/data" \
        -A trust -U postgres -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1); then
        _keyhouse_pg_log "initdb failed:"
        cat "$dir/initdb.log" >&2
        return 1
    fi

    # Take the first free port from 54320 upward. Another process may grab the
    # same port between our check and the server's bind, so on "address in
    # use" move on to the next port.
    local port
    for ((port = 54320; port < 54420; port++)); do
        if _keyhouse_pg_port_taken "$port"; then
            continue
        fi
        _keyhouse_pg_log "starting on 127.0.0.1:$port"
        rm -f "$dir/log" # so the check below sees only this attempt's messages
        # fsync=off etc.: throwaway data, so trade durability for speed.
        # max_connections: parallel tests each open a connection pool.
        if (cd "$dir" && _keyhouse_pg_as_owner "$bindir/pg_ctl" -w -t 60 -D "$dir/data" \
            -l "$dir/log" \
            -o "-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >"$dir/pg_ctl.log" 2>&1); then
            export KEYHOUSE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
            _keyhouse_pg_log "ready: $KEYHOUSE_TEST_DATABASE_URL"
            return 0
        fi
        if grep -qi 'already in use' "$dir/log" 2>/dev/null; then
            _keyhouse_pg_log "port $port was taken meanwhile; trying the next one"
            continue
        fi
        _keyhouse_pg_log "pg_ctl start failed:"
        cat "$dir/pg_ctl.log" >&2
        [[ -f "$dir/log" ]] && tail -n 50 "$dir/log" >&2
        return 1
    done
    _keyhouse_pg_log "no free port between 54320 and 54419"
    return 1
}

# keyhouse_pg_stop [DIR]: stop the server in DIR (default: the one this shell
# started) and delete DIR. Safe to call more than once, or when nothing was
# started. Only deletes directories created by keyhouse_pg_start.
keyhouse_pg_stop() {
    local dir="${1:-$_keyhouse_pg_dir}"
    [[ -n "$dir" ]] || return 0
    if [[ ! -f "$dir/$_KEYHOUSE_PG_MARKER" ]]; then
        if [[ -d "$dir" ]]; then
            _keyhouse_pg_log "refusing to touch $dir: not a directory made by keyhouse_pg_start"
            return 1
        fi
        # Already gone.
    else
        local bindir
        if [[ -f "$dir/data/postmaster.pid" ]] && bindir="$(keyhouse_pg_bindir)"; then
            _keyhouse_pg_log "stopping the server in $dir"
            (cd "$dir" && _keyhouse_pg_as_owner "$bindir/pg_ctl" -w -t 60 -D "$dir/data" \
                -m fast stop >/dev/null 2>&1) ||
                _keyhouse_pg_log "pg_ctl stop failed (server already gone?)"
        fi
        rm -rf -- "$dir"
    fi
    if [[ "$dir" == "$_keyhouse_pg_dir" ]]; then
        _keyhouse_pg_dir=""
        # The URL pointed at the server we just removed.
        unset KEYHOUSE_TEST_DATABASE_URL
    fi
    if [[ "$dir" == "${KEYHOUSE_PG_DIR:-}" ]]; then
        unset KEYHOUSE_PG_DIR
    fi
    return 0
}

# Command-line use: scripts/lib/postgres.sh install|start|stop [DIR]
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    case "${1:-}" in
    install)
        keyhouse_pg_install
        ;;
    start)
        # The server must outlive this process, so no trap here. Print only
        # the exports on stdout, for eval.
        if [[ -n "${KEYHOUSE_TEST_DATABASE_URL:-}" ]]; then
            _keyhouse_pg_log "KEYHOUSE_TEST_DATABASE_URL is already set; unset it to start a new server"
            exit 1
        fi
        keyhouse_pg_start || {
            keyhouse_pg_stop
            exit 1
        }
        printf 'export KEYHOUSE_TEST_DATABASE_URL=%q\n' "$KEYHOUSE_TEST_DATABASE_URL"
        printf 'export KEYHOUSE_PG_DIR=%q\n' "$KEYHOUSE_PG_DIR"
        ;;
    stop)
        dir="${2:-${KEYHOUSE_PG_DIR:-}}"
        if [[ -z "$dir" ]]; then
            _keyhouse_pg_log "usage: $0 stop [DIR] (or set KEYHOUSE_PG_DIR)"
            exit 2
        fi
        keyhouse_pg_stop "$dir"
        printf 'unset KEYHOUSE_TEST_DATABASE_URL KEYHOUSE_PG_DIR\n'
        ;;
    *)
        # shellcheck disable=SC2016 # the $(...) is meant literally
        {
            printf 'usage: %s install | start | stop [DIR]\n' "$0"
            printf '  eval "$(%s start)"   start a throwaway server, export its URL\n' "$0"
            printf '  eval "$(%s stop)"    stop it and unset the variables\n' "$0"
        } >&2
        exit 2
        ;;
    esac
fi
