#!/usr/bin/env bash
# shellcheck shell=bash
#
# Debian's xmlsec1 (the XML-Security reference implementation) for Keyhouse's
# SAML end-to-end tests (crates/keyhouse/tests/e2e/saml.rs): the test identity
# provider signs its responses with it, so Keyhouse's own verifier is checked
# against an independent signer.
#
# Sourced (this is what scripts/test.sh does):
#
#     source scripts/lib/xmlsec1.sh
#     keyhouse_xmlsec1_install   # exports KEYHOUSE_XMLSEC1
#
# Run directly: eval "$(scripts/lib/xmlsec1.sh install)"
#
# Changes no shell options when sourced; returns non-zero on failure.

# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

# keyhouse_xmlsec1_install: install Debian's xmlsec1 when missing and export
#   KEYHOUSE_XMLSEC1=path of the program (normally /usr/bin/xmlsec1)
keyhouse_xmlsec1_install() {
    local program
    if ! program="$(command -v xmlsec1 2>/dev/null)" || [[ -z "$program" ]]; then
        keyhouse_apt_install xmlsec1 || return 1
        program="$(command -v xmlsec1 2>/dev/null)" || {
            printf 'xmlsec1.sh: xmlsec1 installed but not found on PATH\n' >&2
            return 1
        }
    fi
    printf 'xmlsec1.sh: %s\n' "$("$program" --version 2>/dev/null | head -n 1)" >&2
    export KEYHOUSE_XMLSEC1="$program"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    case "${1:-}" in
    install)
        keyhouse_xmlsec1_install >&2
        printf 'export KEYHOUSE_XMLSEC1=%q\n' "$KEYHOUSE_XMLSEC1"
        ;;
    *)
        # shellcheck disable=SC2016 # the $(...) is meant literally
        printf 'usage: eval "$(%s install)"\n' "$0" >&2
        exit 2
        ;;
    esac
fi
