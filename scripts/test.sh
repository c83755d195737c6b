#!/usr/bin/env bash
#
# Runs Keyhouse's whole test suite. This is the one command CI runs (through
# .ci/run), and it works on a fresh Debian machine:
#
#     scripts/test.sh                  # everything
#     scripts/test.sh -- FILTER        # pass arguments on to both `cargo test` runs
#
# Steps:
#   1. install what is missing: PostgreSQL, Node.js + npm, anypoint-cli-v4,
#      Chromium + chromedriver, xmlsec1 (apt-get needs root, or sudo);
#   2. cargo fmt --check and cargo clippy -D warnings;
#   3. start a throwaway PostgreSQL server (scripts/lib/postgres.sh), unless
#      KEYHOUSE_TEST_DATABASE_URL already names one;
#   4. cargo test --workspace, with the end-to-end tests on SQLite and the
#      storage conformance tests on both SQLite and PostgreSQL;
#   5. the end-to-end tests (crates/keyhouse/tests/e2e) again, on PostgreSQL.
#
# Every step must pass; the script stops at the first failure and exits
# non-zero. The PostgreSQL server is stopped and deleted on exit, whatever
# happened.
#
# Settings (all optional):
#   KEYHOUSE_TEST_DATABASE_URL  use this PostgreSQL database instead of a
#                               throwaway server (its contents may be changed)
#   KEYHOUSE_CLI_DIR            cache for anypoint-cli-v4
#                               (default: $HOME/.cache/keyhouse/anypoint-cli)

set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh
# shellcheck source=scripts/lib/anypoint-cli.sh
source scripts/lib/anypoint-cli.sh
# shellcheck source=scripts/lib/chromium.sh
source scripts/lib/chromium.sh
# shellcheck source=scripts/lib/xmlsec1.sh
source scripts/lib/xmlsec1.sh

# Arguments for `cargo test`, e.g. `-- some_filter`.
cargo_test_args=("$@")

# step TITLE: print a header line that stands out in a long log.
step() {
    printf '\n==> %s\n' "$*"
}

# The output of the `cargo test` runs, copied here to count the results.
test_log="$(mktemp)"

# Stop the PostgreSQL server (if this script started one) and clean up
# however we exit. On SIGINT/SIGTERM exit explicitly so the EXIT trap runs.
cleanup() {
    keyhouse_pg_stop || true
    rm -f -- "$test_log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_tests CARGO_TEST_ARG...: cargo test, its output also copied to $test_log.
run_tests() {
    cargo test "$@" "${cargo_test_args[@]}" | tee -a "$test_log"
}

# print_totals: add up the "test result:" lines of all runs into one line.
print_totals() {
    awk '/^test result:/ {
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^passed;?$/)  passed  += $(i - 1)
                if ($i ~ /^failed;?$/)  failed  += $(i - 1)
                if ($i ~ /^ignored;?$/) ignored += $(i - 1)
            }
         }
         END { printf "Total: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' \
        "$test_log"
}

# ---------------------------------------------------------------------------
step "1/5 Installing prerequisites (PostgreSQL, Node.js, anypoint-cli-v4@$KEYHOUSE_CLI_VERSION, Chromium, xmlsec1)"
keyhouse_pg_install
keyhouse_cli_install      # exports KEYHOUSE_ANYPOINT_CLI
keyhouse_chromium_install # exports KEYHOUSE_CHROMIUM, KEYHOUSE_CHROMEDRIVER
keyhouse_xmlsec1_install  # exports KEYHOUSE_XMLSEC1 (the SAML tests' signer)
command -v cargo >/dev/null || {
    echo "cargo not found: install the Rust toolchain (with rustfmt and clippy)" >&2
    exit 1
}

# ---------------------------------------------------------------------------
step "2/5 Formatting and lints (cargo fmt --check, cargo clippy -D warnings)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

# ---------------------------------------------------------------------------
step "3/5 Starting a throwaway PostgreSQL server"
keyhouse_pg_start # exports KEYHOUSE_TEST_DATABASE_URL (unless already set)

# What every test run below sees:
#   KEYHOUSE_TEST_DATABASE_URL       the PostgreSQL database for the tests
#   KEYHOUSE_REQUIRE_POSTGRES=1      PostgreSQL tests fail instead of skipping
#   KEYHOUSE_ANYPOINT_CLI            path of the anypoint-cli-v4 executable
#   KEYHOUSE_REQUIRE_ANYPOINT_CLI=1  CLI tests fail instead of skipping
#   KEYHOUSE_CHROMIUM                path of the Chromium browser
#   KEYHOUSE_CHROMEDRIVER            path of chromedriver (WebDriver for it)
#   KEYHOUSE_REQUIRE_BROWSER=1       browser tests fail instead of skipping
export KEYHOUSE_TEST_DATABASE_URL
export KEYHOUSE_REQUIRE_POSTGRES=1
export KEYHOUSE_ANYPOINT_CLI
export KEYHOUSE_REQUIRE_ANYPOINT_CLI=1
export KEYHOUSE_CHROMIUM
export KEYHOUSE_CHROMEDRIVER
export KEYHOUSE_REQUIRE_BROWSER=1

# ---------------------------------------------------------------------------
step "4/5 cargo test --workspace (end-to-end tests on SQLite)"
KEYHOUSE_TEST_BACKEND=sqlite run_tests --workspace

# ---------------------------------------------------------------------------
step "5/5 cargo test -p keyhouse --test e2e (end-to-end tests on PostgreSQL)"
KEYHOUSE_TEST_BACKEND=postgres run_tests -p keyhouse --test e2e

keyhouse_pg_stop
step "All steps passed"
print_totals
