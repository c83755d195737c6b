#!/usr/bin/env bash
#
# Keyhouse's benchmark suite: token issuance, token validation, introspection,
# password login and memory, each measured against keyhouse-plain (the
# physical-limit baseline, crates/keyhouse-bench) with the same requests in the
# same run. See docs/performance.md for what the figures mean and the targets.
#
#     scripts/bench.sh                  # full run: pinned and unpinned, 3 rounds of 10 s
#     scripts/bench.sh --quick          # smoke run, about two minutes after the build
#     scripts/bench.sh --postgres       # Keyhouse on a throwaway PostgreSQL instead of SQLite
#
# Options:
#   --quick            short runs (DURATION=2s WARMUP=1s ROUNDS=1 MEMORY_TOKENS=20000)
#   --postgres         store Keyhouse's data in a throwaway PostgreSQL server
#                      (scripts/lib/postgres.sh; fsync=off there, see docs/performance.md)
#   --pinned-only      only the pinned configuration (server on SERVER_CPUS, wrk on LOAD_CPUS)
#   --unpinned-only    only the unpinned configuration (no taskset)
#   --modes LIST       comma-separated subset of:
#                      bearer,bearer-app,introspect,issue-form,issue-basic,login,memory
#   --no-build         use the binaries already in target/release
#   --no-doc           do not rewrite the results section of docs/performance.md
#   -h, --help         this text
#
# Settings (environment; defaults for a full run, --quick lowers some):
#   CONNECTIONS [64]        wrk connections (keep-alive, HTTP/1.1)
#   LOGIN_CONNECTIONS [8]   connections for the login mode: a few per core saturate
#                           Argon2id; more only add queueing (and 19 MiB per hash in flight)
#   DURATION [10s]          measured time per run        WARMUP [2s]   unrecorded warm-up per run
#   ROUNDS [3]              interleaved rounds (plain, keyhouse, plain, keyhouse, ...); medians reported
#   THREADS [1]             wrk threads
#   WRK_TIMEOUT [10s]       wrk request timeout (timeouts are counted as socket errors)
#   MEMORY_TOKENS [100000]  tokens issued by the memory mode (MEMORY_MAX_SECONDS [600] at most)
#   LOGIN_SAMPLES [10]      sequential logins timed to estimate one Argon2id hash
#   SERVER_CPUS [0] LOAD_CPUS [1]  taskset CPU lists of the pinned configuration
#   PLAIN_GET [same]        what keyhouse-plain answers to GET: "same" = the bytes Keyhouse
#                           answered to the admin's GET /accounts/api/me in the fixtures
#                           (same answer size, so the difference is the identity work),
#                           "small" = an 85-byte profile JSON
#   QUIET_MAX [15] QUIET_WAIT [30] before each run, wait up to QUIET_WAIT s for the
#                           machine's background CPU use to drop to QUIET_MAX %
#
# Everything runs on 127.0.0.1. Every process this script starts (keyhouse,
# keyhouse-plain, wrk, PostgreSQL) is stopped on exit, and its temporary
# directories are removed. Needs: cargo, curl, jq, wrk, taskset; the missing
# ones among curl, jq, wrk and taskset are installed with apt-get (root or sudo).

set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh

# ---------------------------------------------------------------- arguments --

usage() {
    sed -n '3,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
    printf 'bench.sh: %s\n' "$*" >&2
    exit 1
}

log() {
    printf '==> %s\n' "$*" >&2
}

# The exact command, for the report: arguments plus the settings given in the environment.
invocation="scripts/bench.sh"
for a in "$@"; do invocation+=" $(printf '%q' "$a")"; done
setting_names=(PLAIN_GET CONNECTIONS LOGIN_CONNECTIONS DURATION WARMUP ROUNDS THREADS WRK_TIMEOUT
    MEMORY_TOKENS MEMORY_MAX_SECONDS LOGIN_SAMPLES SERVER_CPUS LOAD_CPUS QUIET_MAX QUIET_WAIT)
env_given=""
for v in "${setting_names[@]}"; do
    if [[ -n "${!v:-}" ]]; then env_given+="$v=${!v} "; fi
done
invocation="$env_given$invocation"

quick=0 postgres=0 pinned=1 unpinned=1 build=1 write_doc=1
all_modes="bearer,bearer-app,introspect,issue-form,issue-basic,login,memory"
modes_arg=$all_modes
while (($#)); do
    case "$1" in
    --quick) quick=1 ;;
    --postgres) postgres=1 ;;
    --pinned-only) unpinned=0 ;;
    --unpinned-only) pinned=0 ;;
    --modes)
        [[ $# -ge 2 ]] || die "--modes needs a list"
        modes_arg=$2
        shift
        ;;
    --modes=*) modes_arg=${1#--modes=} ;;
    --no-build) build=0 ;;
    --no-doc) write_doc=0 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done
((pinned || unpinned)) || die "--pinned-only and --unpinned-only exclude each other"

want_mode() { [[ ",$modes_arg," == *",$1,"* ]]; }
for m in ${modes_arg//,/ }; do
    [[ ",$all_modes," == *",$m,"* ]] || die "unknown mode: $m (known: $all_modes)"
done
# Load modes, in the order they run within a round (login last: it is the slowest).
load_modes=()
for m in bearer bearer-app introspect issue-form issue-basic login; do
    if want_mode "$m"; then load_modes+=("$m"); fi
done

if ((quick)); then
    d_duration=2s d_warmup=1s d_rounds=1 d_mem=20000 d_samples=5 d_quiet_wait=0
else
    d_duration=10s d_warmup=2s d_rounds=3 d_mem=100000 d_samples=10 d_quiet_wait=30
fi
CONNECTIONS=${CONNECTIONS:-64}
LOGIN_CONNECTIONS=${LOGIN_CONNECTIONS:-8}
DURATION=${DURATION:-$d_duration}
WARMUP=${WARMUP:-$d_warmup}
ROUNDS=${ROUNDS:-$d_rounds}
THREADS=${THREADS:-1}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
MEMORY_TOKENS=${MEMORY_TOKENS:-$d_mem}
MEMORY_MAX_SECONDS=${MEMORY_MAX_SECONDS:-600}
LOGIN_SAMPLES=${LOGIN_SAMPLES:-$d_samples}
SERVER_CPUS=${SERVER_CPUS:-0}
LOAD_CPUS=${LOAD_CPUS:-1}
QUIET_MAX=${QUIET_MAX:-15}
QUIET_WAIT=${QUIET_WAIT:-$d_quiet_wait}
PLAIN_GET=${PLAIN_GET:-same}
[[ $PLAIN_GET == same || $PLAIN_GET == small ]] || die "PLAIN_GET must be same or small (got $PLAIN_GET)"

for v in CONNECTIONS LOGIN_CONNECTIONS ROUNDS THREADS MEMORY_TOKENS MEMORY_MAX_SECONDS LOGIN_SAMPLES QUIET_MAX QUIET_WAIT; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number (got ${!v})"
done
for v in DURATION WARMUP WRK_TIMEOUT; do
    [[ "${!v}" =~ ^[0-9]+[smh]?$ ]] || die "$v must look like 10s, 2m or 1h (got ${!v})"
done
((ROUNDS >= 1 && CONNECTIONS >= 1 && LOGIN_CONNECTIONS >= 1 && THREADS >= 1)) ||
    die "ROUNDS, CONNECTIONS, LOGIN_CONNECTIONS and THREADS must be at least 1"
((CONNECTIONS >= THREADS && LOGIN_CONNECTIONS >= THREADS)) || die "wrk needs CONNECTIONS >= THREADS"

# --------------------------------------------------------------- processes --

work="$(mktemp -d "${TMPDIR:-/tmp}/keyhouse-bench.XXXXXXXX")"
started_pids=()   # every server this script started, stopped on exit
pg_started=0
pg_databases=()   # databases created in PostgreSQL, dropped on exit

# stop_pid PID: SIGTERM, up to 10 s grace, then SIGKILL.
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local pid db
    trap - EXIT INT TERM
    for pid in "${started_pids[@]}"; do
        stop_pid "$pid"
    done
    if ((pg_started)); then
        keyhouse_pg_stop || true
    elif ((${#pg_databases[@]})); then
        for db in "${pg_databases[@]}"; do
            pg_psql -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
        done
    fi
    rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------- tools --

ensure_tools() {
    local -a pkgs=()
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    command -v jq >/dev/null 2>&1 || pkgs+=(jq)
    command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
    command -v taskset >/dev/null 2>&1 || pkgs+=(util-linux)
    command -v getconf >/dev/null 2>&1 || pkgs+=(libc-bin)
    if ((${#pkgs[@]})); then
        log "installing ${pkgs[*]}"
        keyhouse_apt_install "${pkgs[@]}" || die "could not install ${pkgs[*]}"
    fi
    command -v cargo >/dev/null 2>&1 || ((!build)) || die "cargo not found (needed to build the release binaries)"
}

clk_tck=100
ncpu=1
tab=$'\t'

# ------------------------------------------------------------ measurement --

# cpu_ticks PID: utime + stime of the whole process (all threads), in clock ticks.
cpu_ticks() {
    [[ -r "/proc/$1/stat" ]] || {
        echo 0
        return
    }
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# pg_cpu_ticks: CPU ticks of the PostgreSQL server: the postmaster, its exited
# children (cutime + cstime) and its live children (backends, background workers).
pg_postmaster=""
pg_cpu_ticks() {
    [[ -n "$pg_postmaster" && -r "/proc/$pg_postmaster/stat" ]] || {
        echo 0
        return
    }
    local total p t
    total=$(sed 's/^.*) //' "/proc/$pg_postmaster/stat" | awk '{print $12 + $13 + $14 + $15}')
    for p in $(ps -o pid= --ppid "$pg_postmaster" 2>/dev/null || true); do
        t=$(cpu_ticks "$p")
        total=$((total + t))
    done
    echo "$total"
}

# rss_kb PID: resident set size in kB.
rss_kb() {
    awk '/^VmRSS:/ {print $2; found = 1} END {if (!found) print 0}' "/proc/$1/status" 2>/dev/null || echo 0
}

# busy_pct: whole-machine busy CPU % over one second (our servers are idle then,
# so this is other processes competing for the cores).
busy_pct() {
    local a b
    a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); t = y[2] - x[2];
        printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0)}'
}

# wait_quiet: prints the last background CPU % seen (waits up to QUIET_WAIT s for <= QUIET_MAX).
wait_quiet() {
    local waited=0 bg
    bg=$(busy_pct)
    while ((bg > QUIET_MAX && waited < QUIET_WAIT)); do
        sleep 1
        waited=$((waited + 2))
        bg=$(busy_pct)
    done
    echo "$bg"
}

# ----------------------------------------------------------------- servers --

# wait_listening LOGFILE PID NAME: waits for "NAME listening on http://ADDR" and prints ADDR.
wait_listening() {
    local file=$1 pid=$2 name=$3 i addr
    for ((i = 0; i < 600; i++)); do
        addr=$(sed -n "s|^$name listening on http://\\([0-9.:]*\\).*|\\1|p" "$file" 2>/dev/null | head -n 1)
        if [[ -n "$addr" ]]; then
            echo "$addr"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    printf '%s did not start; its output:\n' "$name" >&2
    tail -n 40 "$file" "$file.err" >&2 2>/dev/null || true
    return 1
}

# Set by start_plain / start_keyhouse.
plain_pid="" plain_addr="" kh_pid="" kh_addr="" kh_idle_rss_kb=0

# server_pin CONFIG: the taskset prefix for servers in this configuration.
server_pin() { if [[ $1 == pinned ]]; then echo "taskset -c $SERVER_CPUS"; fi; }
load_pin() { if [[ $1 == pinned ]]; then echo "taskset -c $LOAD_CPUS"; fi; }

start_plain() { # CONFIG
    local log="$work/plain-$1.log" get_body=()
    # The answer to GET: Keyhouse's own /me answer when the fixtures saved it.
    if [[ $PLAIN_GET == same && -s $work/me-body.json ]]; then get_body=(--get-body "$work/me-body.json"); fi
    # shellcheck disable=SC2046 # the pin prefix is meant to split
    $(server_pin "$1") target/release/keyhouse-plain --listen 127.0.0.1:0 "${get_body[@]}" >"$log" 2>"$log.err" &
    plain_pid=$!
    started_pids+=("$plain_pid")
    plain_addr=$(wait_listening "$log" "$plain_pid" keyhouse-plain) || die "keyhouse-plain did not start"
}

pg_psql() {
    local bindir
    bindir=$(keyhouse_pg_bindir) || return 1
    "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$KEYHOUSE_TEST_DATABASE_URL" "$@"
}

db_counter=0
start_keyhouse() { # CONFIG
    local cfg=$1 dir log url=""
    dir="$work/data-$cfg"
    log="$work/keyhouse-$cfg.log"
    mkdir -p "$dir"
    if ((postgres)); then
        db_counter=$((db_counter + 1))
        local db="keyhouse_bench_$$_$db_counter"
        pg_psql -c "CREATE DATABASE \"$db\"" >/dev/null || die "could not create database $db"
        pg_databases+=("$db")
        url="${KEYHOUSE_TEST_DATABASE_URL%/*}/$db"
        if [[ -n "$pg_postmaster" ]]; then
            # The database server shares the server's CPUs (new backends inherit this).
            if [[ $cfg == pinned ]]; then
                taskset -p -c "$SERVER_CPUS" "$pg_postmaster" >/dev/null
            else
                taskset -p -c "0-$((ncpu - 1))" "$pg_postmaster" >/dev/null
            fi
        fi
    fi
    # shellcheck disable=SC2046 # the pin prefix is meant to split
    env -u KEYHOUSE_CONFIG -u KEYHOUSE_LISTEN -u KEYHOUSE_PUBLIC_URL -u KEYHOUSE_TLS_CERT \
        -u KEYHOUSE_TLS_KEY -u KEYHOUSE_TLS_SELF_SIGNED -u KEYHOUSE_DATA_DIR -u KEYHOUSE_DATABASE_URL \
        ${url:+KEYHOUSE_DATABASE_URL="$url"} KEYHOUSE_ADMIN_PASSWORD="$admin_password" \
        $(server_pin "$cfg") target/release/keyhouse --data-dir "$dir" serve --listen 127.0.0.1:0 \
        >"$log" 2>"$log.err" &
    kh_pid=$!
    started_pids+=("$kh_pid")
    kh_addr=$(wait_listening "$log" "$kh_pid" keyhouse) || die "keyhouse did not start"
    sleep 1 # let start-up settle before reading the idle RSS
    kh_idle_rss_kb=$(rss_kb "$kh_pid")
}

stop_servers() {
    stop_pid "$kh_pid"
    stop_pid "$plain_pid"
}

# ---------------------------------------------------------------- fixtures --

uri() { jq -rn --arg v "$1" '$v | @uri'; }

# http METHOD URL [curl args...]: prints "STATUS" and leaves the body in $work/body.
http() {
    local method=$1 url=$2
    shift 2
    local code
    code=$(curl -sS -o "$work/body" -w '%{http_code}' -X "$method" "$@" "$url" 2>"$work/curl.err") || true
    [[ $code =~ ^[0-9]{3}$ ]] || code=000
    echo "$code"
}

body_snippet() { tr -d '\n' <"$work/body" 2>/dev/null | head -c 300; }

admin_password="Bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')-Z9"
admin_token="" org_id="" env_id="" client_id="" client_secret="" app_token="" me_bytes=""
apps_status="" # empty = available; otherwise why the app-dependent modes cannot run
hash_s=""      # median single-login latency (s): the Argon2id hash time estimate
hash_cpu_s=""  # server CPU time per sequential login (s): a second estimate

setup_fixtures() {
    local base="http://$kh_addr" code
    admin_token="" org_id="" env_id="" client_id="" client_secret="" app_token="" apps_status=""
    code=$(http POST "$base/accounts/login" -H 'Content-Type: application/json' \
        --data-raw "{\"username\":\"admin\",\"password\":\"$admin_password\"}")
    [[ $code == 200 ]] || die "admin login answered $code: $(body_snippet)"
    admin_token=$(jq -r '.access_token // empty' "$work/body")
    [[ -n $admin_token ]] || die "admin login gave no access_token: $(body_snippet)"

    code=$(http GET "$base/accounts/api/me" -H "Authorization: Bearer $admin_token")
    [[ $code == 200 ]] || die "GET /accounts/api/me answered $code: $(body_snippet)"
    org_id=$(jq -r '.user.organization.id // empty' "$work/body")
    [[ -n $org_id ]] || die "no .user.organization.id in /accounts/api/me: $(body_snippet)"
    cp "$work/body" "$work/me-body.json"
    me_bytes=$(wc -c <"$work/me-body.json")

    code=$(http GET "$base/accounts/api/organizations/$org_id/environments" \
        -H "Authorization: Bearer $admin_token")
    [[ $code == 200 ]] || die "GET environments answered $code: $(body_snippet)"
    env_id=$(jq -r '.data[0].id // empty' "$work/body")
    [[ -n $env_id ]] || die "no environment in the root organization: $(body_snippet)"

    code=$(http POST "$base/accounts/api/connectedApplications" \
        -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
        --data-raw '{"client_name":"bench","grant_types":["client_credentials"],"redirect_uris":[],"public_keys":[],"scopes":[],"audience":"internal"}')
    if [[ $code == 404 ]]; then
        apps_status="the connected-app API is not available in this build (POST /accounts/api/connectedApplications answered 404)"
        return 0
    elif [[ $code != 201 ]]; then
        apps_status="creating a connected app failed: POST /accounts/api/connectedApplications answered $code: $(body_snippet)"
        return 0
    fi
    client_id=$(jq -r '.client_id // empty' "$work/body")
    client_secret=$(jq -r '.client_secret // empty' "$work/body")
    if [[ -z $client_id || -z $client_secret ]]; then
        apps_status="the connected-app answer has no client_id/client_secret: $(body_snippet)"
        return 0
    fi
    code=$(http PUT "$base/accounts/api/connectedApplications/$client_id/scopes" \
        -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
        --data-raw "{\"scopes\":[{\"scope\":\"view:environment\",\"context_params\":{\"org\":\"$org_id\",\"envId\":\"$env_id\"}},{\"scope\":\"view:organization\",\"context_params\":{\"org\":\"$org_id\"}}]}")
    if [[ $code != 204 && $code != 200 ]]; then
        apps_status="granting scopes failed: PUT .../connectedApplications/{id}/scopes answered $code: $(body_snippet)"
        return 0
    fi
    code=$(http POST "$base/accounts/api/v2/oauth2/token" -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-raw "grant_type=client_credentials&client_id=$(uri "$client_id")&client_secret=$(uri "$client_secret")")
    if [[ $code != 200 ]]; then
        apps_status="the token endpoint answered $code to client_credentials: $(body_snippet)"
        return 0
    fi
    app_token=$(jq -r '.access_token // empty' "$work/body")
    [[ -n $app_token ]] || apps_status="the token endpoint gave no access_token: $(body_snippet)"
    return 0
}

# measure_hash_time: median latency of LOGIN_SAMPLES sequential logins (one Argon2id
# verification each) after one unrecorded login; sets hash_s, and hash_cpu_s from
# the server's CPU time over the same logins.
measure_hash_time() {
    local base="http://$kh_addr" i t t0=0 t1
    : >"$work/login-times"
    for ((i = 0; i <= LOGIN_SAMPLES; i++)); do
        ((i != 1)) || t0=$(cpu_ticks "$kh_pid")
        t=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' -X POST -H 'Content-Type: application/json' \
            --data-raw "{\"username\":\"admin\",\"password\":\"$admin_password\"}" "$base/accounts/login") ||
            die "login sample failed"
        [[ ${t%% *} == 200 ]] || die "login sample answered ${t%% *}"
        ((i == 0)) || echo "${t#* }" >>"$work/login-times"
    done
    t1=$(cpu_ticks "$kh_pid")
    hash_s=$(sort -g "$work/login-times" | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}')
    hash_cpu_s=$(awk -v t="$((t1 - t0))" -v hz="$clk_tck" -v n="$LOGIN_SAMPLES" 'BEGIN {printf "%.4f", t / hz / n}')
}

# ------------------------------------------------------------ request shapes --

# write_lua FILE METHOD CONTENT_TYPE AUTHORIZATION BODY [LIMIT FLAG]: a wrk script
# sending one fixed request; done() prints one "BENCH ..." line. With LIMIT, the
# thread stops after LIMIT responses and creates the file FLAG (wrk's main thread
# still sleeps for the whole duration: the caller sends it SIGINT when FLAG appears).
write_lua() {
    local file=$1 method=$2 ct=$3 auth=$4 body=$5 limit=${6:-} flag=${7:-}
    {
        printf 'wrk.method = "%s"\n' "$method"
        [[ -n $ct ]] && printf 'wrk.headers["Content-Type"] = [==[%s]==]\n' "$ct"
        [[ -n $auth ]] && printf 'wrk.headers["Authorization"] = [==[%s]==]\n' "$auth"
        [[ -n $body ]] && printf 'wrk.body = [==[%s]==]\n' "$body"
        if [[ -n $limit ]]; then
            printf 'local seen = 0\nfunction response(status, headers, body)\n'
            printf '  seen = seen + 1\n  if seen == %d then\n' "$limit"
            printf '    local f = io.open([==[%s]==], "w")\n    if f then f:close() end\n' "$flag"
            printf '    wrk.thread:stop()\n  end\nend\n'
        fi
        cat <<'LUA'
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max, e.status,
    e.connect + e.read + e.write + e.timeout))
end
LUA
    } >"$file"
}

# shape MODE: sets req_method req_path req_ct req_auth req_body for MODE, or
# req_skip with the reason it cannot run.
shape() {
    req_method="" req_path="" req_ct="" req_auth="" req_body="" req_skip=""
    local form=application/x-www-form-urlencoded basic=""
    if [[ -n $client_id ]]; then
        basic="Basic $(printf '%s:%s' "$(uri "$client_id")" "$(uri "$client_secret")" | base64 -w0)"
    fi
    case "$1" in
    bearer)
        req_method=GET req_path=/accounts/api/me req_auth="Bearer $admin_token"
        ;;
    bearer-app)
        [[ -z $apps_status ]] || req_skip=$apps_status
        req_method=GET req_path=/accounts/api/me req_auth="Bearer $app_token"
        ;;
    introspect)
        [[ -z $apps_status ]] || req_skip=$apps_status
        req_method=POST req_path=/accounts/api/v2/oauth2/introspect req_ct=$form req_auth=$basic
        req_body="token=$(uri "$app_token")"
        ;;
    issue-form)
        [[ -z $apps_status ]] || req_skip=$apps_status
        req_method=POST req_path=/accounts/api/v2/oauth2/token req_ct=$form
        req_body="grant_type=client_credentials&client_id=$(uri "$client_id")&client_secret=$(uri "$client_secret")"
        ;;
    issue-basic)
        [[ -z $apps_status ]] || req_skip=$apps_status
        req_method=POST req_path=/accounts/api/v2/oauth2/token req_ct=$form req_auth=$basic
        req_body="grant_type=client_credentials"
        ;;
    login)
        req_method=POST req_path=/accounts/login req_ct=application/json
        req_body="{\"username\":\"admin\",\"password\":\"$admin_password\"}"
        ;;
    *) die "no request shape for mode $1" ;;
    esac
}

# preflight ADDR: one request of the current shape with curl; prints the status code.
preflight() {
    local -a args=()
    [[ -n $req_ct ]] && args+=(-H "Content-Type: $req_ct")
    [[ -n $req_auth ]] && args+=(-H "Authorization: $req_auth")
    [[ -n $req_body ]] && args+=(--data-raw "$req_body")
    http "$req_method" "http://$1$req_path" "${args[@]}"
}

# ------------------------------------------------------------------- runs --

results="$work/results.tsv" # cfg mode server round rps p50_us p99_us non2xx sockerr cpu_us db_cpu_us rss_mb bg
notes="$work/notes"         # one markdown bullet per line
: >"$results"
: >"$notes"

note() { printf -- '- %s\n' "$*" >>"$notes"; }

# run_wrk CONFIG CONNS DURATION LUA URL: runs wrk (pinned per CONFIG); prints its output.
run_wrk() {
    local cfg=$1 conns=$2 dur=$3 lua=$4 url=$5
    # shellcheck disable=SC2046 # the pin prefix is meant to split
    $(load_pin "$cfg") wrk -t"$THREADS" -c"$conns" -d"$dur" --latency --timeout "$WRK_TIMEOUT" -s "$lua" "$url"
}

# run_one CONFIG MODE SERVER ROUND: one warm-up and one measured run; appends a row.
run_one() {
    local cfg=$1 mode=$2 server=$3 round=$4 addr pid lua conns out line bg t0 t1 d0 d1
    if [[ $server == plain ]]; then addr=$plain_addr pid=$plain_pid; else addr=$kh_addr pid=$kh_pid; fi
    shape "$mode" # sets req_path (and the rest, already baked into the wrk script)
    lua="$work/$mode.lua"
    conns=$CONNECTIONS
    [[ $mode == login ]] && conns=$LOGIN_CONNECTIONS
    run_wrk "$cfg" "$conns" "$WARMUP" "$lua" "http://$addr$req_path" >/dev/null 2>&1 || true
    bg=$(wait_quiet)
    t0=$(cpu_ticks "$pid")
    d0=0 d1=0
    [[ $server == keyhouse ]] && d0=$(pg_cpu_ticks)
    out=$(run_wrk "$cfg" "$conns" "$DURATION" "$lua" "http://$addr$req_path" 2>&1) || true
    t1=$(cpu_ticks "$pid")
    [[ $server == keyhouse ]] && d1=$(pg_cpu_ticks)
    line=$(grep '^BENCH ' <<<"$out" || true)
    if [[ -z $line ]]; then
        printf '%s\n' "$out" >&2
        note "$cfg / $mode / $server round $round: wrk gave no result (its output is above in the log)"
        return 0
    fi
    local _ requests dur_us p50 p99 non2xx sockerr
    read -r _ requests dur_us p50 p99 _ non2xx sockerr <<<"$line"
    awk -v OFS='\t' -v cfg="$cfg" -v m="$mode" -v s="$server" -v r="$round" -v n="$requests" \
        -v d="$dur_us" -v p50="$p50" -v p99="$p99" -v e="$non2xx" -v se="$sockerr" -v t="$((t1 - t0))" \
        -v dt="$((d1 - d0))" -v hz="$clk_tck" -v rss="$(rss_kb "$pid")" -v bg="$bg" -v pg="${pg_postmaster:+1}" \
        'BEGIN {
            rps = (d > 0 ? n / (d / 1e6) : 0)
            cpu = (n > 0 ? t / hz * 1e6 / n : 0)
            dbcpu = (pg && s == "keyhouse" && n > 0) ? sprintf("%.1f", dt / hz * 1e6 / n) : "-"
            print cfg, m, s, r, sprintf("%.0f", rps), p50, p99, e, se, sprintf("%.1f", cpu), dbcpu,
                sprintf("%.1f", rss / 1024), bg
        }' >>"$results"
    if ((non2xx + sockerr > 0)) && [[ $server == keyhouse ]]; then
        local code
        code=$(preflight "$addr")
        note "$cfg / $mode / keyhouse round $round: $non2xx non-2xx responses and $sockerr socket errors; the same request right after the run answered $code: $(body_snippet)"
    fi
    tail -n 1 "$results" | awk -F'\t' '{printf "    %-8s %-11s %-8s round %s: %8s req/s  p50 %6.2f ms  p99 %7.2f ms  non-2xx %s  sock err %s  CPU %s us/req  RSS %s MB  bg CPU %s%%\n",
        $1, $2, $3, $4, $5, $6 / 1000, $7 / 1000, $8, $9, $10, $12, $13}' >&2
}

# config_run CONFIG: fresh servers, fixtures, ROUNDS interleaved rounds of every load mode.
hash_line=()
config_run() {
    local cfg=$1 m r s code
    log "configuration: $cfg$([[ $cfg == pinned ]] && echo " (servers on CPU $SERVER_CPUS, wrk on CPU $LOAD_CPUS)")"
    start_keyhouse "$cfg"
    setup_fixtures
    # After the fixtures: keyhouse-plain answers GET with Keyhouse's /me answer.
    start_plain "$cfg"
    log "keyhouse-plain on $plain_addr (pid $plain_pid), keyhouse on $kh_addr (pid $kh_pid)"
    if [[ -n $apps_status ]]; then
        log "NOTE: $apps_status"
        log "NOTE: running bearer (admin login token) and login only; bearer-app, introspect, issue-* are skipped"
    fi
    local -a runnable=()
    for m in "${load_modes[@]}"; do
        shape "$m"
        if [[ -n $req_skip ]]; then
            note "$cfg / $m: not run: $req_skip"
            continue
        fi
        code=$(preflight "$kh_addr")
        if [[ $code != 2?? ]]; then
            note "$cfg / $m: not run: Keyhouse answered $code to the preflight $req_method $req_path: $(body_snippet)"
            continue
        fi
        code=$(preflight "$plain_addr")
        [[ $code == 2?? ]] || die "keyhouse-plain answered $code to $req_method $req_path"
        write_lua "$work/$m.lua" "$req_method" "$req_ct" "$req_auth" "$req_body"
        runnable+=("$m")
    done
    if [[ " ${runnable[*]} " == *" login "* ]]; then
        measure_hash_time
        local cpus=$ncpu
        [[ $cfg == pinned ]] && cpus=$(cpu_count "$SERVER_CPUS")
        hash_line+=("$cfg$tab$hash_s$tab$cpus$tab$hash_cpu_s")
        log "login: $LOGIN_SAMPLES sequential logins: median latency $(awk -v h="$hash_s" 'BEGIN {printf "%.1f", h * 1000}') ms, server CPU $(awk -v h="$hash_cpu_s" 'BEGIN {printf "%.1f", h * 1000}') ms per login; $cpus CPU(s) for the server"
    fi
    for ((r = 1; r <= ROUNDS; r++)); do
        for m in "${runnable[@]}"; do
            for s in plain keyhouse; do
                run_one "$cfg" "$m" "$s" "$r"
            done
        done
    done
    stop_servers
}

# cpu_count LIST: number of CPUs in a taskset list such as 0, 0-1 or 0,2-3.
cpu_count() {
    awk -v l="$1" 'BEGIN {n = split(l, p, ","); c = 0
        for (i = 1; i <= n; i++) { if (split(p[i], q, "-") == 2) c += q[2] - q[1] + 1; else c++ }
        print c}'
}

# memory_run: a fresh Keyhouse (unpinned): idle RSS, then RSS after MEMORY_TOKENS tokens.
mem_line=""
memory_run() {
    log "memory: fresh keyhouse, idle RSS, then $MEMORY_TOKENS tokens issued"
    start_plain memory
    start_keyhouse memory
    local plain_idle_kb kh_idle_kb=$kh_idle_rss_kb before_kb after_kb out line
    plain_idle_kb=$(rss_kb "$plain_pid")
    setup_fixtures
    sleep 1
    before_kb=$(rss_kb "$kh_pid")
    if [[ -n $apps_status ]]; then
        note "memory: tokens not issued: $apps_status (only the idle RSS is reported)"
        mem_line="$kh_idle_kb$tab$before_kb$tab-$tab-${tab}0${tab}0$tab$plain_idle_kb"
        stop_servers
        return 0
    fi
    shape issue-form
    local flag="$work/memory.done" wrk_pid i
    rm -f -- "$flag"
    write_lua "$work/memory.lua" "$req_method" "$req_ct" "$req_auth" "$req_body" "$MEMORY_TOKENS" "$flag"
    # One wrk thread so that the response limit is exact (give or take the requests
    # in flight); at most MEMORY_MAX_SECONDS.
    wrk -t1 -c"$CONNECTIONS" -d"${MEMORY_MAX_SECONDS}s" --timeout "$WRK_TIMEOUT" -s "$work/memory.lua" \
        "http://$kh_addr$req_path" >"$work/memory.wrk" 2>&1 &
    wrk_pid=$!
    started_pids+=("$wrk_pid")
    for ((i = 0; i < MEMORY_MAX_SECONDS * 10; i++)); do
        [[ -e $flag ]] && break
        kill -0 "$wrk_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -INT "$wrk_pid" 2>/dev/null || true # wrk prints its summary on SIGINT
    wait "$wrk_pid" 2>/dev/null || true
    out=$(cat "$work/memory.wrk")
    [[ -e $flag ]] || note "memory: wrk did not reach $MEMORY_TOKENS responses within $MEMORY_MAX_SECONDS s"
    line=$(grep '^BENCH ' <<<"$out" || true)
    [[ -n $line ]] || {
        printf '%s\n' "$out" >&2
        die "memory: wrk gave no result"
    }
    local _ requests dur_us non2xx sockerr
    read -r _ requests dur_us _ _ _ non2xx sockerr <<<"$line"
    sleep 2
    after_kb=$(rss_kb "$kh_pid")
    local issued=$((requests - non2xx))
    mem_line="$kh_idle_kb$tab$before_kb$tab$after_kb$tab$issued$tab$non2xx$tab$sockerr$tab$plain_idle_kb"
    log "memory: idle $((kh_idle_kb / 1024)) MB, $issued tokens issued in $((dur_us / 1000)) ms ($non2xx non-2xx, $sockerr socket errors), RSS after $((after_kb / 1024)) MB"
    stop_servers
}

# ----------------------------------------------------------------- report --

# summary_table CONFIG: the markdown median table for one configuration.
summary_table() {
    local cfg=$1
    echo "| mode | server | req/s median (min–max) | p50 ms | p99 ms | non-2xx | socket errors | server CPU µs/req | $( ((postgres)) && echo 'PostgreSQL CPU µs/req | ')RSS MB after run (round 1; max) | % of plain | target |"
    echo "|---|---|---|---|---|---|---|---|$( ((postgres)) && echo '---|')---|---|---|"
    local h="" cpus="" hc=""
    for l in "${hash_line[@]}"; do
        if [[ ${l%%"$tab"*} == "$cfg" ]]; then
            h=$(cut -f2 <<<"$l")
            cpus=$(cut -f3 <<<"$l")
            hc=$(cut -f4 <<<"$l")
        fi
    done
    awk -F'\t' -v cfg="$cfg" -v pg="$postgres" -v hash_s="$h" -v hash_cpu_s="$hc" -v cpus="$cpus" -v order="${load_modes[*]}" '
        function median(list,    n, v, i, j, t) {
            n = split(list, v, " ")
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
            if (n == 0) return ""
            return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        function lo(list,    n, v, i, m) { n = split(list, v, " "); m = v[1]; for (i = 2; i <= n; i++) if (v[i] + 0 < m + 0) m = v[i]; return m }
        function hi(list,    n, v, i, m) { n = split(list, v, " "); m = v[1]; for (i = 2; i <= n; i++) if (v[i] + 0 > m + 0) m = v[i]; return m }
        $1 == cfg { k = $2 SUBSEP $3; seen[k] = 1
            rps[k] = rps[k] " " $5; p50[k] = p50[k] " " $6; p99[k] = p99[k] " " $7
            err[k] += $8; sock[k] += $9; cpu[k] = cpu[k] " " $10; db[k] = db[k] " " $11
            if ($4 == 1) rss1[k] = $12
            if ($12 + 0 > rss[k] + 0) rss[k] = $12 }
        END {
            nm = split(order, modes, " ")
            for (i = 1; i <= nm; i++) {
                m = modes[i]; pk = m SUBSEP "plain"; kk = m SUBSEP "keyhouse"
                if (!(pk in seen) && !(kk in seen)) continue
                base = median(rps[pk])
                for (s = 1; s <= 2; s++) {
                    srv = (s == 1) ? "plain" : "keyhouse"; k = m SUBSEP srv
                    if (!(k in seen)) continue
                    r = median(rps[k]); pct = (base > 0) ? sprintf("%.1f %%", 100 * r / base) : "-"
                    target = "—"
                    if (srv == "keyhouse") {
                        ok = (err[k] + sock[k] == 0)
                        kp99 = median(p99[k]) / 1000; bp99 = median(p99[pk]) / 1000
                        if (m ~ /^issue/) {
                            target = (ok && r >= 0.5 * base && kp99 <= 5) ? "met (≥ 50 %, p99 ≤ 5 ms)" : "missed (≥ 50 %, p99 ≤ 5 ms)"
                        } else if (m ~ /^bearer/) {
                            target = (ok && r >= 0.8 * base && kp99 <= bp99 + 1) ? "met (≥ 80 %, p99 ≤ plain + 1 ms)" : "missed (≥ 80 %, p99 ≤ plain + 1 ms)"
                        } else if (m == "login" && hash_s > 0) {
                            bound = cpus / hash_s
                            target = sprintf("%s (%.0f %% of the Argon2id bound %.1f/s", (ok && r >= 0.9 * bound) ? "met" : "missed", 100 * r / bound, bound)
                            if (hash_cpu_s > 0) target = target sprintf("; %.0f %% of the CPU-time bound %.1f/s", 100 * r * hash_cpu_s / cpus, cpus / hash_cpu_s)
                            target = target sprintf("; server CPUs %.0f %% busy", 100 * r * median(cpu[k]) / 1e6 / cpus)
                            target = target ")"
                        }
                        if (!ok) target = target "; ERRORS"
                    } else pct = "100 %"
                    printf "| %s | %s | %s (%s–%s) | %.2f | %.2f | %d | %d | %s | %s%s | %s | %s |\n",
                        m, srv, r, lo(rps[k]), hi(rps[k]), median(p50[k]) / 1000, median(p99[k]) / 1000,
                        err[k], sock[k], median(cpu[k]), (pg ? ((srv == "keyhouse") ? median(db[k]) : "-") " | " : ""),
                        (rss1[k] == rss[k] || rss1[k] == "") ? rss[k] : rss1[k] "; " rss[k], pct, target
                }
            }
        }' "$results"
}

write_report() {
    local out=$1 cfg cpu_model kernel commit dirty wrk_version
    cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
    kernel=$(uname -srm)
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    dirty=""
    if [[ -n "$(git status --porcelain 2>/dev/null | head -n 1)" ]]; then dirty=" (with uncommitted changes in the working tree)"; fi
    wrk_version=$( (wrk -v 2>&1 || true) | awk 'NR == 1 {print $2}')
    {
        echo "Measured $(date -u +%Y-%m-%dT%H:%M:%SZ) with \`$invocation\`."
        echo
        echo "- Machine: $ncpu CPUs (\`nproc\`), ${cpu_model:-unknown CPU}, $(awk '/^MemTotal:/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo), kernel $kernel"
        echo "- Keyhouse commit: $commit$dirty; storage: $( ((postgres)) && echo 'PostgreSQL (throwaway server from scripts/lib/postgres.sh, fsync=off)' || echo 'SQLite (embedded default)')"
        echo "- Load: wrk $wrk_version, $THREADS thread(s), $CONNECTIONS connections ($LOGIN_CONNECTIONS for login), $WARMUP unrecorded warm-up + $DURATION measured per run, $ROUNDS interleaved round(s) (plain, keyhouse, plain, keyhouse, …); medians, min–max over rounds; non-2xx and socket errors are sums over all rounds"
        echo "- Pinned: servers \`taskset -c $SERVER_CPUS\`, wrk \`taskset -c $LOAD_CPUS\`$( ((postgres)) && echo '; PostgreSQL backends on the server CPUs too'). Unpinned: no taskset."
        if [[ $PLAIN_GET == same && -n $me_bytes ]]; then
            echo "- keyhouse-plain answers every GET with the $me_bytes bytes Keyhouse answered to the admin's \`GET /accounts/api/me\` (\`PLAIN_GET=same\`), every POST with a 102-byte token JSON"
        else
            echo "- keyhouse-plain answers every GET with an 85-byte profile JSON (\`PLAIN_GET=small\`), every POST with a 102-byte token JSON"
        fi
        for cfg in pinned unpinned; do
            grep -q "^$cfg$tab" "$results" || continue
            echo
            echo "### $cfg"
            echo
            summary_table "$cfg"
        done
        if ((${#hash_line[@]})); then
            echo
            echo "Login bound = server CPUs ÷ Argon2id hash time, the hash time being the median latency of $LOGIN_SAMPLES sequential logins (one login, one hash; the target is judged on this bound). The CPU-time bound uses the server's CPU time per sequential login instead (clock-tick resolution $((1000 / clk_tck)) ms over all $LOGIN_SAMPLES logins); latency also holds waits that overlap under load, so throughput can exceed the latency bound:"
            echo
            for l in "${hash_line[@]}"; do
                awk -F'\t' '{printf "- %s: single-login latency %.1f ms, %d CPU(s) → bound %.1f logins/s; server CPU per login %.1f ms → CPU-time bound %s logins/s\n",
                    $1, $2 * 1000, $3, $3 / $2, $4 * 1000, ($4 > 0 ? sprintf("%.1f", $3 / $4) : "n/a")}' <<<"$l"
            done
        fi
        if [[ -n $mem_line ]]; then
            echo
            echo "### memory"
            echo
            awk -F'\t' -v n="$MEMORY_TOKENS" '{
                printf "| measure | value | target |\n|---|---|---|\n"
                printf "| Keyhouse RSS idle, right after start | %.1f MB | %s |\n", $1 / 1024, ($1 / 1024 <= 40 ? "met (≤ 40 MB)" : "missed (≤ 40 MB)")
                printf "| Keyhouse RSS after fixtures (admin login; connected app if available) | %.1f MB | |\n", $2 / 1024
                if ($3 != "-") {
                    t = ""
                    if ($4 >= 1e6) t = ($3 / 1024 <= 150 ? "met (≤ 150 MB with 1M)" : "missed (≤ 150 MB with 1M)")
                    printf "| Keyhouse RSS after issuing %d tokens (%d non-2xx, %d socket errors) | %.1f MB | %s |\n", $4, $5, $6, $3 / 1024, t
                    if ($4 > 0) {
                        bpt = ($3 - $2) * 1024 / $4
                        est = ($2 * 1024 + 1e6 * bpt) / 1048576
                        printf "| RSS growth per live token | %.0f bytes | |\n", bpt
                        if ($4 < 1e6) printf "| extrapolated to 1M live tokens (after-fixtures RSS + 1M × growth) | %.0f MB | %s |\n", est, (est <= 150 ? "met (≤ 150 MB), extrapolated" : "missed (≤ 150 MB), extrapolated")
                    }
                } else printf "| RSS after issuing tokens | not measured (see notes) | |\n"
                printf "| keyhouse-plain RSS idle, for comparison | %.1f MB | |\n", $7 / 1024
            }' <<<"$mem_line"
        fi
        if [[ -s $notes ]]; then
            echo
            echo "Notes:"
            echo
            sort -u "$notes"
        fi
        if [[ -s $results ]]; then
            echo
            echo "<details><summary>All runs</summary>"
            echo
            echo "| config | mode | server | round | req/s | p50 ms | p99 ms | non-2xx | socket errors | server CPU µs/req | PostgreSQL CPU µs/req | RSS MB | background CPU % before |"
            echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
            awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %.2f | %.2f | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 / 1000, $7 / 1000, $8, $9, $10, $11, $12, $13}' "$results"
            echo
            echo "</details>"
        fi
    } >"$out"
}

# update_doc REPORT: replaces the lines between "<!-- bench:begin -->" and
# "<!-- bench:end -->" in docs/performance.md (SQLite runs), or between
# "<!-- bench-postgres:begin -->" and "<!-- bench-postgres:end -->" (--postgres
# runs), with REPORT; appends a new section with the markers if they are missing.
update_doc() {
    local doc=docs/performance.md report=$1 tmp marker=bench title="Latest results"
    if ((postgres)); then marker=bench-postgres title="Latest results on PostgreSQL"; fi
    tmp="$work/performance.md"
    if [[ -f $doc ]] && grep -q "^<!-- $marker:begin -->" "$doc" && grep -q "^<!-- $marker:end -->" "$doc"; then
        awk -v rep="$report" -v b="<!-- $marker:begin -->" -v e="<!-- $marker:end -->" '
            index($0, b) == 1 { print; while ((getline l < rep) > 0) print l; skip = 1; next }
            index($0, e) == 1 { skip = 0 }
            !skip { print }' "$doc" >"$tmp"
    else
        {
            if [[ -f $doc ]]; then cat "$doc"; fi
            printf '\n## %s\n\n<!-- %s:begin -->\n' "$title" "$marker"
            cat "$report"
            printf '<!-- %s:end -->\n' "$marker"
        } >"$tmp"
    fi
    cat "$tmp" >"$doc"
    log "results written to $doc"
}

# ------------------------------------------------------------------- main --

ensure_tools
clk_tck=$(getconf CLK_TCK)
ncpu=$(nproc)
if ((pinned)) && ((ncpu < 2)); then
    note "pinned configuration skipped: it needs 2 CPUs, this machine has $ncpu"
    pinned=0
    ((unpinned)) || die "--pinned-only needs at least 2 CPUs"
fi

if ((build)); then
    log "cargo build --release -p keyhouse -p keyhouse-bench"
    cargo build --release -p keyhouse -p keyhouse-bench ||
        die "the release build failed (if the workspace is mid-edit, retry later)"
fi
[[ -x target/release/keyhouse && -x target/release/keyhouse-plain ]] ||
    die "target/release/keyhouse and target/release/keyhouse-plain are needed (run without --no-build)"

if ((postgres)); then
    keyhouse_pg_install || die "could not install PostgreSQL"
    if [[ -z "${KEYHOUSE_TEST_DATABASE_URL:-}" ]]; then
        pg_started=1
        keyhouse_pg_start || die "could not start PostgreSQL"
        if [[ -f "${KEYHOUSE_PG_DIR:-}/data/postmaster.pid" ]]; then
            pg_postmaster=$(head -n 1 "$KEYHOUSE_PG_DIR/data/postmaster.pid")
        fi
    else
        log "using the PostgreSQL server in KEYHOUSE_TEST_DATABASE_URL (a database per Keyhouse instance is created and dropped)"
    fi
fi

log "settings: $CONNECTIONS connections, warm-up $WARMUP, $DURATION per run, $ROUNDS round(s), modes ${modes_arg}"
if want_mode memory; then memory_run; fi
if ((${#load_modes[@]})); then
    if ((pinned)); then config_run pinned; fi
    if ((unpinned)); then config_run unpinned; fi
fi

write_report "$work/report.md"
echo
cat "$work/report.md"
if ((write_doc)); then update_doc "$work/report.md"; fi
