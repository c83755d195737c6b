#!/usr/bin/env bash
# shellcheck shell=bash
#
# apt-get helpers shared by scripts/lib/postgres.sh and scripts/lib/anypoint-cli.sh.
# Sourced only; changes no shell options.

# keyhouse_apt_install PACKAGE...
#   apt-get install the packages, running `apt-get update` once per shell
#   first.
keyhouse_apt_install() {
    local -a sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            printf 'cannot install %s: not root and sudo is not available\n' "$*" >&2
            return 1
        fi
    fi
    if [[ -z "${KEYHOUSE_APT_UPDATED:-}" ]]; then
        printf 'apt-get update\n' >&2
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
        KEYHOUSE_APT_UPDATED=1
    fi
    printf 'apt-get install %s\n' "$*" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$@" || return 1
}
