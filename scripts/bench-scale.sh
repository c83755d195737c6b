#!/usr/bin/env bash
#
# Keyhouse at scale (issue 4): the same build with 1 000 and with 1 000 000
# connected apps, users and live tokens in its SQLite store. Measures start-up
# time, idle RSS, token validation and token issuance rates, and the 1M/1k
# ratios of the rates. See docs/performance.md, "Scale: 1k vs 1M".
#
#     scripts/bench-scale.sh            # full: 3 rounds, 2 s warm-up + 10 s per run, ~15 min
#     scripts/bench-scale.sh --quick    # 1 round, 1 s + 3 s per run, ~3 min after the build
#
# Options:
#   --quick          short runs (DURATION=3s WARMUP=1s ROUNDS=1 QUIET_WAIT=0)
#   --sizes LIST     comma-separated store sizes (default 1000,1000000); the
#                    ratios compare the largest with the smallest
#   --unpinned       no taskset (default: server on SERVER_CPUS, wrk on LOAD_CPUS)
#   --no-build       use the binaries already in target/release
#   --no-doc         do not rewrite the "Scale: 1k vs 1M" results in docs/performance.md
#   -h, --help       this text
#
# Settings (environment; defaults for a full run, --quick lowers some):
#   CONNECTIONS [64]       wrk connections (keep-alive, HTTP/1.1)
#   DURATION [10s]         measured time per run          WARMUP [2s]  unrecorded warm-up per run
#   ROUNDS [3]             rounds; each round runs every size in turn (1k, 1M, 1k, 1M, ...)
#   THREADS [1]            wrk threads                    WRK_TIMEOUT [10s]  wrk request timeout
#   SERVER_CPUS [0] LOAD_CPUS [1]  taskset CPU lists when pinned
#   QUIET_MAX [15] QUIET_WAIT [30] before each run, wait up to QUIET_WAIT s for the
#                          machine's background CPU use to drop to QUIET_MAX %
#   START_TIMEOUT [120]    seconds Keyhouse may take to start
#
# For each size N a data directory is made once: `keyhouse init`, then
# `keyhouse-seed -n N` (N apps, N users, N client_credentials tokens live for an
# hour). Each round, for each N: a copy of that directory, `keyhouse serve` on
# it (start-up = process start to its "keyhouse listening on" line; idle RSS =
# VmRSS one second later), fixtures through the API (admin login, a connected
# app with client_credentials and view scopes, one token of it), then wrk on
# validation (GET /accounts/api/me with that bearer token) and on issuance
# (POST /accounts/api/v2/oauth2/token, client_credentials, form), then the
# server stops. A fresh copy per round keeps the tokens issued in one round out
# of the next.
#
# Everything runs on 127.0.0.1. Every process this script starts is stopped on
# exit and its temporary directory (about 2.5 GB with 1M) is removed. Needs
# cargo, curl, jq, wrk and taskset; the missing ones among curl, jq, wrk and
# taskset are installed with apt-get (root or sudo).

set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# shellcheck source=scripts/lib/apt.sh
source scripts/lib/apt.sh

# ---------------------------------------------------------------- arguments --

usage() {
    sed -n '3,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
    printf 'bench-scale.sh: %s\n' "$*" >&2
    exit 1
}

log() {
    printf '==> %s\n' "$*" >&2
}

invocation="scripts/bench-scale.sh"
for a in "$@"; do invocation+=" $(printf '%q' "$a")"; done
setting_names=(CONNECTIONS DURATION WARMUP ROUNDS THREADS WRK_TIMEOUT SERVER_CPUS LOAD_CPUS
    QUIET_MAX QUIET_WAIT START_TIMEOUT)
env_given=""
for v in "${setting_names[@]}"; do
    if [[ -n "${!v:-}" ]]; then env_given+="$v=${!v} "; fi
done
invocation="$env_given$invocation"

quick=0 pinned=1 build=1 write_doc=1 sizes_arg=1000,1000000
while (($#)); do
    case "$1" in
    --quick) quick=1 ;;
    --sizes)
        [[ $# -ge 2 ]] || die "--sizes needs a list"
        sizes_arg=$2
        shift
        ;;
    --sizes=*) sizes_arg=${1#--sizes=} ;;
    --unpinned) pinned=0 ;;
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

sizes=()
for n in ${sizes_arg//,/ }; do
    if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1)); then die "sizes must be whole numbers of at least 1 (got $n)"; fi
    sizes+=("$n")
done
((${#sizes[@]} >= 1)) || die "--sizes is empty"
mapfile -t sizes < <(printf '%s\n' "${sizes[@]}" | sort -n -u)
small=${sizes[0]}
large=${sizes[${#sizes[@]} - 1]}

if ((quick)); then
    d_duration=3s d_warmup=1s d_rounds=1 d_quiet_wait=0
else
    d_duration=10s d_warmup=2s d_rounds=3 d_quiet_wait=30
fi
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-$d_duration}
WARMUP=${WARMUP:-$d_warmup}
ROUNDS=${ROUNDS:-$d_rounds}
THREADS=${THREADS:-1}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
SERVER_CPUS=${SERVER_CPUS:-0}
LOAD_CPUS=${LOAD_CPUS:-1}
QUIET_MAX=${QUIET_MAX:-15}
QUIET_WAIT=${QUIET_WAIT:-$d_quiet_wait}
START_TIMEOUT=${START_TIMEOUT:-120}

for v in CONNECTIONS ROUNDS THREADS QUIET_MAX QUIET_WAIT START_TIMEOUT; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number (got ${!v})"
done
for v in DURATION WARMUP WRK_TIMEOUT; do
    [[ "${!v}" =~ ^[0-9]+[smh]?$ ]] || die "$v must look like 10s, 2m or 1h (got ${!v})"
done
((ROUNDS >= 1 && CONNECTIONS >= THREADS && THREADS >= 1)) ||
    die "ROUNDS and THREADS must be at least 1, CONNECTIONS at least THREADS"

# --------------------------------------------------------------- processes --

work="$(mktemp -d "${TMPDIR:-/tmp}/keyhouse-bench-scale.XXXXXXXX")"
started_pids=() # every process this script started, stopped on exit

# stop_pid PID: SIGTERM, up to 10 s grace, then SIGKILL.
stop_pid() {
    local pid=$1 i
    [[ -n $pid ]] || return 0
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
    local pid
    trap - EXIT INT TERM
    for pid in "${started_pids[@]}"; do
        stop_pid "$pid"
    done
    rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

# ------------------------------------------------------------ measurement --

# cpu_ticks PID: utime + stime of the whole process (all threads), in clock ticks.
cpu_ticks() {
    [[ -r "/proc/$1/stat" ]] || {
        echo 0
        return
    }
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# rss_kb PID: resident set size in kB.
rss_kb() {
    awk '/^VmRSS:/ {print $2; found = 1} END {if (!found) print 0}' "/proc/$1/status" 2>/dev/null || echo 0
}

# busy_pct: whole-machine busy CPU % over one second (our server is idle then).
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

server_pin() { if ((pinned)); then echo "taskset -c $SERVER_CPUS"; fi; }
load_pin() { if ((pinned)); then echo "taskset -c $LOAD_CPUS"; fi; }

# keyhouse_cmd DATA_DIR ARGS...: Keyhouse with only the settings given here,
# replacing the calling (sub)shell, so that `keyhouse_cmd … &` leaves the
# server's own pid in $!.
keyhouse_cmd() {
    local dir=$1
    shift
    # shellcheck disable=SC2046 # the pin prefix is meant to split
    exec env -u KEYHOUSE_CONFIG -u KEYHOUSE_LISTEN -u KEYHOUSE_PUBLIC_URL -u KEYHOUSE_TLS_CERT \
        -u KEYHOUSE_TLS_KEY -u KEYHOUSE_TLS_SELF_SIGNED -u KEYHOUSE_DATA_DIR -u KEYHOUSE_DATABASE_URL \
        -u KEYHOUSE_ADMIN_USERNAME KEYHOUSE_ADMIN_PASSWORD="$admin_password" \
        ${cur_pin:+$cur_pin} target/release/keyhouse --data-dir "$dir" "$@"
}

cur_pin="" # the taskset prefix keyhouse_cmd uses; set by start_keyhouse

admin_password="Bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')-Z9"

# Set by start_keyhouse.
kh_pid="" kh_addr="" kh_start_s="" kh_idle_kb=0

# start_keyhouse DATA_DIR LOG PIN: starts `keyhouse serve` (with the taskset
# prefix PIN, possibly empty) and times it to its "keyhouse listening on" line.
start_keyhouse() {
    local dir=$1 log=$2 t0 t1="" i addr=""
    cur_pin=$3
    t0=$(date +%s%N)
    keyhouse_cmd "$dir" serve --listen 127.0.0.1:0 >"$log" 2>"$log.err" &
    kh_pid=$!
    started_pids+=("$kh_pid")
    for ((i = 0; i < START_TIMEOUT * 100; i++)); do
        # The file may not exist yet: the background shell opens it.
        addr=$(sed -n 's|^keyhouse listening on http://\([0-9.:]*\).*|\1|p' "$log" 2>/dev/null | head -n 1) || true
        if [[ -n $addr ]]; then
            t1=$(date +%s%N)
            break
        fi
        kill -0 "$kh_pid" 2>/dev/null || break
        sleep 0.01
    done
    if [[ -z $addr ]]; then
        printf 'keyhouse did not start; its output:\n' >&2
        tail -n 40 "$log" "$log.err" >&2 2>/dev/null || true
        die "keyhouse did not start within $START_TIMEOUT s"
    fi
    kh_addr=$addr
    kh_start_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    sleep 1 # let start-up settle before reading the idle RSS
    kh_idle_kb=$(rss_kb "$kh_pid")
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

client_id="" client_secret="" app_token=""

# setup_fixtures: admin login, a connected app with client_credentials and view
# scopes (made through the API, like scripts/bench.sh), and one token of it.
setup_fixtures() {
    local base="http://$kh_addr" code admin_token org_id env_id
    client_id="" client_secret="" app_token=""
    code=$(http POST "$base/accounts/login" -H 'Content-Type: application/json' \
        --data-raw "{\"username\":\"admin\",\"password\":\"$admin_password\"}")
    [[ $code == 200 ]] || die "admin login answered $code: $(body_snippet)"
    admin_token=$(jq -r '.access_token // empty' "$work/body")
    [[ -n $admin_token ]] || die "admin login gave no access_token: $(body_snippet)"
    code=$(http GET "$base/accounts/api/me" -H "Authorization: Bearer $admin_token")
    [[ $code == 200 ]] || die "GET /accounts/api/me answered $code: $(body_snippet)"
    org_id=$(jq -r '.user.organization.id // empty' "$work/body")
    [[ -n $org_id ]] || die "no .user.organization.id in /accounts/api/me: $(body_snippet)"
    code=$(http GET "$base/accounts/api/organizations/$org_id/environments" \
        -H "Authorization: Bearer $admin_token")
    [[ $code == 200 ]] || die "GET environments answered $code: $(body_snippet)"
    env_id=$(jq -r '.data[0].id // empty' "$work/body")
    [[ -n $env_id ]] || die "no environment in the root organization: $(body_snippet)"
    code=$(http POST "$base/accounts/api/connectedApplications" \
        -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
        --data-raw '{"client_name":"bench-scale","grant_types":["client_credentials"],"redirect_uris":[],"public_keys":[],"scopes":[],"audience":"internal"}')
    [[ $code == 201 ]] || die "creating a connected app answered $code: $(body_snippet)"
    client_id=$(jq -r '.client_id // empty' "$work/body")
    client_secret=$(jq -r '.client_secret // empty' "$work/body")
    [[ -n $client_id && -n $client_secret ]] || die "the connected-app answer has no client_id/client_secret: $(body_snippet)"
    code=$(http PUT "$base/accounts/api/connectedApplications/$client_id/scopes" \
        -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
        --data-raw "{\"scopes\":[{\"scope\":\"view:environment\",\"context_params\":{\"org\":\"$org_id\",\"envId\":\"$env_id\"}},{\"scope\":\"view:organization\",\"context_params\":{\"org\":\"$org_id\"}}]}")
    [[ $code == 204 || $code == 200 ]] || die "granting scopes answered $code: $(body_snippet)"
    code=$(http POST "$base/accounts/api/v2/oauth2/token" -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-raw "grant_type=client_credentials&client_id=$(uri "$client_id")&client_secret=$(uri "$client_secret")")
    [[ $code == 200 ]] || die "the token endpoint answered $code to client_credentials: $(body_snippet)"
    app_token=$(jq -r '.access_token // empty' "$work/body")
    [[ -n $app_token ]] || die "the token endpoint gave no access_token: $(body_snippet)"
}

# write_lua FILE METHOD CONTENT_TYPE AUTHORIZATION BODY: a wrk script sending
# one fixed request; done() prints one "BENCH ..." line (as in scripts/bench.sh).
write_lua() {
    local file=$1 method=$2 ct=$3 auth=$4 body=$5
    {
        printf 'wrk.method = "%s"\n' "$method"
        [[ -n $ct ]] && printf 'wrk.headers["Content-Type"] = [==[%s]==]\n' "$ct"
        [[ -n $auth ]] && printf 'wrk.headers["Authorization"] = [==[%s]==]\n' "$auth"
        [[ -n $body ]] && printf 'wrk.body = [==[%s]==]\n' "$body"
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

# ------------------------------------------------------------------- runs --

starts="$work/starts.tsv"   # round size startup_s idle_rss_kb pinned_startup_s
results="$work/results.tsv" # round size mode rps p50_us p99_us non2xx sockerr cpu_us rss_kb bg
seeds="$work/seeds.tsv"     # size seconds output
notes="$work/notes"
: >"$starts"
: >"$results"
: >"$seeds"
: >"$notes"

note() { printf -- '- %s\n' "$*" >>"$notes"; }

# run_mode ROUND SIZE MODE PATH LUA: one warm-up and one measured wrk run; appends a row.
run_mode() {
    local round=$1 size=$2 mode=$3 path=$4 lua=$5 out line bg t0 t1
    # shellcheck disable=SC2046 # the pin prefix is meant to split
    $(load_pin) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --timeout "$WRK_TIMEOUT" -s "$lua" \
        "http://$kh_addr$path" >/dev/null 2>&1 || true
    bg=$(wait_quiet)
    t0=$(cpu_ticks "$kh_pid")
    # shellcheck disable=SC2046
    out=$($(load_pin) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency --timeout "$WRK_TIMEOUT" \
        -s "$lua" "http://$kh_addr$path" 2>&1) || true
    t1=$(cpu_ticks "$kh_pid")
    line=$(grep '^BENCH ' <<<"$out" || true)
    if [[ -z $line ]]; then
        printf '%s\n' "$out" >&2
        note "round $round, N=$size, $mode: wrk gave no result"
        return 0
    fi
    local _ requests dur_us p50 p99 non2xx sockerr
    read -r _ requests dur_us p50 p99 _ non2xx sockerr <<<"$line"
    awk -v OFS='\t' -v r="$round" -v n="$size" -v m="$mode" -v req="$requests" -v d="$dur_us" \
        -v p50="$p50" -v p99="$p99" -v e="$non2xx" -v se="$sockerr" -v t="$((t1 - t0))" -v hz="$clk_tck" \
        -v rss="$(rss_kb "$kh_pid")" -v bg="$bg" \
        'BEGIN {
            rps = (d > 0 ? req / (d / 1e6) : 0)
            cpu = (req > 0 ? t / hz * 1e6 / req : 0)
            print r, n, m, sprintf("%.0f", rps), p50, p99, e, se, sprintf("%.1f", cpu), rss, bg
        }' >>"$results"
    if ((non2xx + sockerr > 0)); then
        note "round $round, N=$size, $mode: $non2xx non-2xx responses and $sockerr socket errors"
    fi
    tail -n 1 "$results" | awk -F'\t' '{printf "    round %s  N=%-8s %-10s %8s req/s  p50 %6.2f ms  p99 %7.2f ms  non-2xx %s  sock err %s  CPU %s us/req  RSS %.1f MB  bg CPU %s%%\n",
        $1, $2, $3, $4, $5 / 1000, $6 / 1000, $7, $8, $9, $10 / 1024, $11}' >&2
}

# seed SIZE: a data directory with SIZE apps, users and live tokens.
seed() {
    local size=$1 dir="$work/seed-$1" t0 t1 out
    mkdir -p "$dir"
    (cur_pin="" && keyhouse_cmd "$dir" init) >"$work/init-$size.log" 2>&1 || {
        cat "$work/init-$size.log" >&2
        die "keyhouse init failed"
    }
    log "seeding N=$size: $size apps, $size users, $size live tokens"
    t0=$(date +%s%N)
    out=$(target/release/keyhouse-seed --database "$dir/keyhouse.db" --count "$size") ||
        die "keyhouse-seed failed: $out"
    t1=$(date +%s%N)
    printf '%s\t%s\t%s\n' "$size" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1e9}')" "$out" >>"$seeds"
    log "$out"
}

# round_for ROUND SIZE: fresh copy, start, fixtures, validation, issuance, stop.
round_for() {
    local round=$1 size=$2 dir="$work/run" form=application/x-www-form-urlencoded
    rm -rf -- "$dir"
    cp -r -- "$work/seed-$size" "$dir"
    sync
    # Start-up and idle RSS with every CPU: Keyhouse alone on the machine.
    start_keyhouse "$dir" "$work/keyhouse-$round-$size.log" ""
    local startup=$kh_start_s idle=$kh_idle_kb pinned_startup="-"
    log "round $round, N=$size: keyhouse started in $kh_start_s s, idle RSS $(awk -v k="$kh_idle_kb" 'BEGIN {printf "%.1f", k / 1024}') MB (pid $kh_pid, $kh_addr)"
    if ((pinned)); then
        stop_pid "$kh_pid"
        start_keyhouse "$dir" "$work/keyhouse-$round-$size-pinned.log" "$(server_pin)"
        pinned_startup=$kh_start_s
        log "round $round, N=$size: restarted on CPU $SERVER_CPUS for the runs in $kh_start_s s (pid $kh_pid, $kh_addr)"
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$size" "$startup" "$idle" "$pinned_startup" >>"$starts"
    setup_fixtures
    write_lua "$work/validate.lua" GET "" "Bearer $app_token" ""
    write_lua "$work/issue.lua" POST "$form" "" \
        "grant_type=client_credentials&client_id=$(uri "$client_id")&client_secret=$(uri "$client_secret")"
    run_mode "$round" "$size" validation /accounts/api/me "$work/validate.lua"
    run_mode "$round" "$size" issuance /accounts/api/v2/oauth2/token "$work/issue.lua"
    stop_pid "$kh_pid"
    kh_pid=""
    rm -rf -- "$dir"
}

# ----------------------------------------------------------------- report --

write_report() {
    local out=$1 cpu_model kernel commit dirty wrk_version ncpu
    ncpu=$(nproc)
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
        echo "- Keyhouse commit: $commit$dirty; storage: SQLite (embedded default)"
        echo "- Store: \`keyhouse init\`, then \`keyhouse-seed -n N\`: N connected apps, N users, N client_credentials tokens (one per app) live for 60 minutes; seeding took $(awk -F'\t' '{printf "%s%s s for N=%s", (NR > 1 ? ", " : ""), $2, $1}' "$seeds")"
        echo "- Load: wrk $wrk_version, $THREADS thread(s), $CONNECTIONS connections, $WARMUP unrecorded warm-up + $DURATION measured per run, $ROUNDS round(s), each running every N in turn on a fresh copy of its data directory; $( ((pinned)) && echo "server \`taskset -c $SERVER_CPUS\`, wrk \`taskset -c $LOAD_CPUS\`" || echo "unpinned (no taskset)")"
        echo "- Start-up: process start to its \`keyhouse listening on\` line (all N live tokens loaded), with every CPU (no taskset), page cache warm (the copy was just written); idle RSS: VmRSS one second after that line.$( ((pinned)) && echo " For the runs Keyhouse is then restarted on CPU $SERVER_CPUS; that start-up is under \"All runs\".")"
        echo "- Validation: \`GET /accounts/api/me\` with the bearer token of a client_credentials app made through the API; issuance: \`POST /accounts/api/v2/oauth2/token\`, form, client_credentials (each issued token is live: the table grows by the tokens issued during the run)."
        echo
        echo "| N (apps = users = live tokens) | start-up s | idle RSS MB | validation req/s | issuance req/s | validation CPU µs/req | issuance CPU µs/req | RSS MB after the runs |"
        echo "|---|---|---|---|---|---|---|---|"
        awk -F'\t' -v order="${sizes[*]}" -v small="$small" -v large="$large" '
            function median(list,    n, v, i, j, t) {
                n = split(list, v, " ")
                for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
                if (n == 0) return ""
                return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            }
            function lo(list,    n, v, i, m) { n = split(list, v, " "); m = v[1]; for (i = 2; i <= n; i++) if (v[i] + 0 < m + 0) m = v[i]; return m }
            function hi(list,    n, v, i, m) { n = split(list, v, " "); m = v[1]; for (i = 2; i <= n; i++) if (v[i] + 0 > m + 0) m = v[i]; return m }
            function cell(list, fmt,    n, v) {
                if (list == "") return "–"
                n = split(list, v, " ")
                if (n == 1) return sprintf(fmt, median(list))
                return sprintf(fmt " (" fmt "–" fmt ")", median(list), lo(list), hi(list))
            }
            function label(n) { return (n >= 1e6 && n % 1e6 == 0) ? (n / 1e6) "M" : (n >= 1e3 && n % 1e3 == 0) ? (n / 1e3) "k" : n }
            FILENAME == ARGV[1] { st[$2] = st[$2] " " $3; rss[$2] = rss[$2] " " $4 / 1024; next }
            { k = $2 SUBSEP $3; rps[k] = rps[k] " " $4; cpu[k] = cpu[k] " " $9; err[$2] += $7 + $8
              if ($10 / 1024 > after[$2] + 0) after[$2] = $10 / 1024 }
            END {
                ns = split(order, sz, " ")
                for (i = 1; i <= ns; i++) {
                    n = sz[i]
                    printf "| %s (%s) | %s | %s | %s | %s | %s | %s | %s |\n", label(n), n, cell(st[n], "%.2f"), cell(rss[n], "%.1f"),
                        cell(rps[n SUBSEP "validation"], "%.0f"), cell(rps[n SUBSEP "issuance"], "%.0f"),
                        cell(cpu[n SUBSEP "validation"], "%.1f"), cell(cpu[n SUBSEP "issuance"], "%.1f"),
                        (after[n] == "" ? "–" : sprintf("%.1f", after[n])) (err[n] > 0 ? "; ERRORS" : "")
                }
                if (ns < 2) exit
                vs = median(rps[small SUBSEP "validation"]); vl = median(rps[large SUBSEP "validation"])
                is = median(rps[small SUBSEP "issuance"]); il = median(rps[large SUBSEP "issuance"])
                cvs = median(cpu[small SUBSEP "validation"]); cvl = median(cpu[large SUBSEP "validation"])
                cis = median(cpu[small SUBSEP "issuance"]); cil = median(cpu[large SUBSEP "issuance"])
                printf "| **%s / %s** | %s | %s | **%s** | **%s** | %s | %s | |\n", label(large), label(small),
                    (median(st[small]) > 0 ? sprintf("%.1f×", median(st[large]) / median(st[small])) : "–"),
                    (median(rss[small]) > 0 ? sprintf("%.1f×", median(rss[large]) / median(rss[small])) : "–"),
                    (vs > 0 ? sprintf("%.2f", vl / vs) : "–"), (is > 0 ? sprintf("%.2f", il / is) : "–"),
                    (cvs > 0 ? sprintf("%.2f", cvl / cvs) : "–"), (cis > 0 ? sprintf("%.2f", cil / cis) : "–")
                print ""
                print "| target (issue 4) | measured | |"
                print "|---|---|---|"
                s = median(st[large]); r = median(rss[large])
                if (large >= 1e6) {
                    printf "| start-up with %s live tokens under 3 s | %.2f s | %s |\n", label(large), s, (s < 3 ? "met" : "missed")
                    printf "| RSS with %s live tokens ≤ 150 MB | %.1f MB (idle, right after start) | %s |\n", label(large), r, (r <= 150 ? "met" : "missed")
                }
                if (vs > 0) printf "| validation rate with %s and %s differs by < 15 %% | %+.1f %% | %s |\n", label(small), label(large), 100 * (vl / vs - 1), ((vl / vs > 0.85 && vl / vs < 1.15 && err[small] + err[large] == 0) ? "met" : "missed")
                if (is > 0) printf "| issuance rate with %s and %s differs by < 15 %% | %+.1f %% | %s |\n", label(small), label(large), 100 * (il / is - 1), ((il / is > 0.85 && il / is < 1.15 && err[small] + err[large] == 0) ? "met" : "missed")
            }' "$starts" "$results"
        if [[ -s $notes ]]; then
            echo
            echo "Notes:"
            echo
            cat "$notes"
        fi
        echo
        echo "<details><summary>All runs</summary>"
        echo
        echo "| round | N | start-up s | idle RSS MB | start-up s on the server CPUs | mode | req/s | p50 ms | p99 ms | non-2xx | socket errors | server CPU µs/req | RSS MB after run | background CPU % before |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        awk -F'\t' 'FILENAME == ARGV[1] { k = $1 SUBSEP $2; st[k] = $3; rss[k] = $4; pst[k] = $5; next }
            { k = $1 SUBSEP $2; printf "| %s | %s | %s | %.1f | %s | %s | %s | %.2f | %.2f | %s | %s | %s | %.1f | %s |\n",
                $1, $2, st[k], rss[k] / 1024, pst[k], $3, $4, $5 / 1000, $6 / 1000, $7, $8, $9, $10 / 1024, $11 }' "$starts" "$results"
        echo
        echo "</details>"
    } >"$out"
}

# update_doc REPORT: replaces the lines between "<!-- bench-scale:begin -->" and
# "<!-- bench-scale:end -->" in docs/performance.md with REPORT (scripts/bench.sh
# owns other markers and leaves these lines alone); appends a section "Scale:
# 1k vs 1M" with the markers if they are missing.
update_doc() {
    local doc=docs/performance.md report=$1 tmp="$work/performance.md" marker=bench-scale
    if [[ -f $doc ]] && grep -q "^<!-- $marker:begin -->" "$doc" && grep -q "^<!-- $marker:end -->" "$doc"; then
        awk -v rep="$report" -v b="<!-- $marker:begin -->" -v e="<!-- $marker:end -->" '
            index($0, b) == 1 { print; while ((getline l < rep) > 0) print l; skip = 1; next }
            index($0, e) == 1 { skip = 0 }
            !skip { print }' "$doc" >"$tmp"
    else
        {
            if [[ -f $doc ]]; then cat "$doc"; fi
            # shellcheck disable=SC2016 # the backquotes are markdown
            printf '\n## Scale: 1k vs 1M\n\nWritten by `scripts/bench-scale.sh`.\n\n<!-- %s:begin -->\n' "$marker"
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
if ((pinned)) && (($(nproc) < 2)); then
    note "pinned configuration not possible with $(nproc) CPU: ran unpinned"
    pinned=0
fi

if ((build)); then
    log "cargo build --release -p keyhouse -p keyhouse-bench"
    cargo build --release -p keyhouse -p keyhouse-bench ||
        die "the release build failed (if the workspace is mid-edit, retry later)"
fi
[[ -x target/release/keyhouse && -x target/release/keyhouse-seed ]] ||
    die "target/release/keyhouse and target/release/keyhouse-seed are needed (run without --no-build)"

log "settings: sizes ${sizes[*]}, $CONNECTIONS connections, warm-up $WARMUP, $DURATION per run, $ROUNDS round(s), $( ((pinned)) && echo "server on CPU $SERVER_CPUS, wrk on CPU $LOAD_CPUS" || echo unpinned)"
for n in "${sizes[@]}"; do seed "$n"; done
for ((r = 1; r <= ROUNDS; r++)); do
    for n in "${sizes[@]}"; do round_for "$r" "$n"; done
done

write_report "$work/report.md"
echo
cat "$work/report.md"
if ((write_doc)); then update_doc "$work/report.md"; fi
