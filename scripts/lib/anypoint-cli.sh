#!/usr/bin/env bash
# shellcheck shell=bash
#
# Installs the pinned MuleSoft anypoint-cli-v4 npm package into a cache
# directory. Keyhouse's end-to-end tests drive the real CLI against a running
# Keyhouse server, to check that it is a faithful stand-in for Anypoint.
#
# Sourced (this is what scripts/test.sh does):
#
#     source scripts/lib/anypoint-cli.sh
#     keyhouse_cli_install        # exports KEYHOUSE_ANYPOINT_CLI
#
# Run directly, by hand:
#
#     eval "$(scripts/lib/anypoint-cli.sh install)"
#     "$KEYHOUSE_ANYPOINT_CLI" --help
#
# Settings:
#   KEYHOUSE_CLI_DIR   the cache directory
#                      (default: $HOME/.cache/keyhouse/anypoint-cli)
#
# The install is skipped when the cache already holds this exact version. To
# upgrade, change KEYHOUSE_CLI_VERSION below: a cache holding another version
# is replaced. Node.js and npm are installed with apt-get if they are missing.
#
# Like scripts/lib/postgres.sh, this file changes no shell options when
# sourced; functions return non-zero on failure and log to stderr.

# The version the end-to-end tests are written against.
KEYHOUSE_CLI_VERSION="1.6.12"

_keyhouse_cli_log() {
    printf 'anypoint-cli.sh: %s\n' "$*" >&2
}

# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

# keyhouse_node_install: make sure node and npm are on PATH.
keyhouse_node_install() {
    local -a missing=()
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    if [[ ${#missing[@]} -eq 0 ]]; then
        _keyhouse_cli_log "found node $(node --version), npm $(npm --version 2>/dev/null)"
        return 0
    fi
    # Only what is missing: Debian's npm conflicts with some other builds of
    # nodejs (which bring their own npm anyway).
    keyhouse_apt_install "${missing[@]}" || return 1
    _keyhouse_cli_log "installed node $(node --version), npm $(npm --version 2>/dev/null)"
}

# _keyhouse_cli_installed DIR: succeed if DIR holds the pinned version.
_keyhouse_cli_installed() {
    [[ -x "$1/node_modules/.bin/anypoint-cli-v4" ]] &&
        grep -Eq "\"version\": *\"$KEYHOUSE_CLI_VERSION\"" \
            "$1/node_modules/anypoint-cli-v4/package.json" 2>/dev/null
}

# keyhouse_cli_install: install anypoint-cli-v4 (unless cached) and export
#   KEYHOUSE_ANYPOINT_CLI=DIR/node_modules/.bin/anypoint-cli-v4
keyhouse_cli_install() {
    local dir="${KEYHOUSE_CLI_DIR:-${HOME:-/root}/.cache/keyhouse/anypoint-cli}"
    local bin="$dir/node_modules/.bin/anypoint-cli-v4"

    if _keyhouse_cli_installed "$dir"; then
        _keyhouse_cli_log "anypoint-cli-v4@$KEYHOUSE_CLI_VERSION already installed in $dir"
        export KEYHOUSE_ANYPOINT_CLI="$bin"
        return 0
    fi

    keyhouse_node_install || return 1

    # npm installs into a scratch directory inside DIR; its node_modules is
    # renamed into place only when npm succeeded, so an interrupted install
    # never leaves a half-filled cache that the check above would accept.
    # (The links in node_modules/.bin are relative, so the rename keeps them
    # working.)
    mkdir -p "$dir" || return 1
    rm -rf -- "$dir"/.partial.* # leftovers of interrupted installs
    local tmp
    tmp="$(mktemp -d "$dir/.partial.XXXXXX")" || return 1
    _keyhouse_cli_log "installing anypoint-cli-v4@$KEYHOUSE_CLI_VERSION into $dir (about 30 s)"
    # --ignore-scripts and PUPPETEER_SKIP_DOWNLOAD: no install script may
    # download anything from outside the npm registry (e.g. a browser build).
    if ! PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$tmp" --no-audit --no-fund \
        --ignore-scripts --loglevel=error "anypoint-cli-v4@$KEYHOUSE_CLI_VERSION" >&2; then
        _keyhouse_cli_log "npm install failed"
        rm -rf -- "$tmp"
        return 1
    fi
    if ! _keyhouse_cli_installed "$tmp"; then
        _keyhouse_cli_log "npm install succeeded but $tmp/node_modules/.bin/anypoint-cli-v4 is missing"
        rm -rf -- "$tmp"
        return 1
    fi
    # Replace whatever was there (another version, or a broken leftover). Only
    # npm's own files in DIR are touched, never anything else in it.
    rm -rf -- "$dir/node_modules" "$dir/package.json" "$dir/package-lock.json"
    mv -- "$tmp/package.json" "$tmp/package-lock.json" "$dir/" 2>/dev/null || true
    mv -T -- "$tmp/node_modules" "$dir/node_modules" || {
        rm -rf -- "$tmp"
        return 1
    }
    rm -rf -- "$tmp"
    _keyhouse_cli_log "installed: $bin"
    export KEYHOUSE_ANYPOINT_CLI="$bin"
}

# Command-line use: scripts/lib/anypoint-cli.sh install
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    case "${1:-}" in
    install)
        keyhouse_cli_install
        # Only the export on stdout, for eval.
        printf 'export KEYHOUSE_ANYPOINT_CLI=%q\n' "$KEYHOUSE_ANYPOINT_CLI"
        ;;
    *)
        # shellcheck disable=SC2016 # the $(...) is meant literally
        printf 'usage: eval "$(%s install)"\n' "$0" >&2
        exit 2
        ;;
    esac
fi
