#!/usr/bin/env bash
# shellcheck shell=bash
#
# Debian's Chromium and its WebDriver (chromedriver) for Keyhouse's browser
# end-to-end tests (crates/keyhouse/tests/e2e/browser_flow.rs), which drive a
# real headless Chromium through the authorization pages.
#
# Sourced (this is what scripts/test.sh does):
#
#     source scripts/lib/chromium.sh
#     keyhouse_chromium_install   # exports KEYHOUSE_CHROMIUM, KEYHOUSE_CHROMEDRIVER
#
# Run directly, by hand:
#
#     eval "$(scripts/lib/chromium.sh install)"
#     "$KEYHOUSE_CHROMEDRIVER" --version
#
# Only Debian's packages `chromium` and `chromium-driver` are used (apt-get,
# needs root or sudo); nothing downloads a browser build of its own.
#
# Like scripts/lib/postgres.sh, this file changes no shell options when
# sourced; functions return non-zero on failure and log to stderr.

_keyhouse_chromium_log() {
    printf 'chromium.sh: %s\n' "$*" >&2
}

# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

# _keyhouse_chromium_find NAME...: print the first executable among NAME...
# (absolute paths, or names looked up on PATH), or fail.
_keyhouse_chromium_find() {
    local name path
    for name in "$@"; do
        if [[ "$name" == /* ]]; then
            [[ -x "$name" ]] && {
                printf '%s\n' "$name"
                return 0
            }
        elif path="$(command -v "$name" 2>/dev/null)" && [[ -n "$path" ]]; then
            printf '%s\n' "$path"
            return 0
        fi
    done
    return 1
}

_keyhouse_chromium_browser() {
    _keyhouse_chromium_find /usr/bin/chromium chromium chromium-browser
}

_keyhouse_chromium_driver() {
    _keyhouse_chromium_find /usr/bin/chromedriver chromedriver /usr/lib/chromium/chromedriver
}

# keyhouse_chromium_install: make sure chromium and chromedriver are installed
# and export
#   KEYHOUSE_CHROMIUM=path of the browser (normally /usr/bin/chromium)
#   KEYHOUSE_CHROMEDRIVER=path of the driver (normally /usr/bin/chromedriver)
keyhouse_chromium_install() {
    local browser driver
    if browser="$(_keyhouse_chromium_browser)" && driver="$(_keyhouse_chromium_driver)"; then
        _keyhouse_chromium_log "found $browser and $driver"
    else
        keyhouse_apt_install chromium chromium-driver || return 1
        browser="$(_keyhouse_chromium_browser)" || {
            _keyhouse_chromium_log "chromium installed but no chromium executable found"
            return 1
        }
        driver="$(_keyhouse_chromium_driver)" || {
            _keyhouse_chromium_log "chromium-driver installed but no chromedriver executable found"
            return 1
        }
        _keyhouse_chromium_log "installed $browser and $driver"
    fi
    _keyhouse_chromium_log "$("$driver" --version 2>/dev/null | head -n 1)"
    export KEYHOUSE_CHROMIUM="$browser"
    export KEYHOUSE_CHROMEDRIVER="$driver"
}

# Command-line use: scripts/lib/chromium.sh install
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    case "${1:-}" in
    install)
        # apt-get prints on stdout: keep stdout for the exports alone.
        keyhouse_chromium_install >&2
        # Only the exports on stdout, for eval.
        printf 'export KEYHOUSE_CHROMIUM=%q\n' "$KEYHOUSE_CHROMIUM"
        printf 'export KEYHOUSE_CHROMEDRIVER=%q\n' "$KEYHOUSE_CHROMEDRIVER"
        ;;
    *)
        # shellcheck disable=SC2016 # the $(...) is meant literally
        printf 'usage: eval "$(%s install)"\n' "$0" >&2
        exit 2
        ;;
    esac
fi
