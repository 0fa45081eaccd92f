#!/usr/bin/env bash
# Gateway benchmark: measures, in one run and on loopback only, the backend
# direct, a bare httputil.ReverseProxy, and the forgeproof gateway with
# every layer on (gateway.yaml), for a GET and a 1 KiB JSON POST that
# carries a valid token, cookie, Origin and custom header. Prints a
# Markdown table of requests per second and p50/p99 latency, and how the
# gateway compares with the bare proxy against the targets (at least 85%
# of its requests per second, at most 1 ms added to p99).
#
# Usage: bench/gateway/run.sh
# Environment: DURATION (seconds per run, default 10), CONNECTIONS
# (default 64), THREADS (default 2), ROUNDS (default 1; with more, the
# targets are measured in turn that many times and the medians shown),
# LIGHT_CONNECTIONS (default 4; a second, unsaturated measurement, 0 to
# skip it).
# Needs wrk, curl and Go.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-1}
LIGHT_CONNECTIONS=${LIGHT_CONNECTIONS:-4}

for p in wrk curl go; do
  command -v "$p" >/dev/null || { echo "run.sh: error: $p is not installed (apt-get install -y $p)" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "building..." >&2
go build -o "$tmp/forgeproof" ./cmd/forgeproof
(cd bench && go build -o "$tmp/benchd" ./gateway)

# start NAME CMD...: runs CMD in the background and waits for the URL it
# prints on its first line, which it stores in url[NAME].
declare -A url
start() {
  local name=$1; shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do
    if [ -s "$tmp/$name.out" ]; then url[$name]=$(head -n1 "$tmp/$name.out"); return; fi
    sleep 0.05
  done
  echo "run.sh: error: $name did not start:" >&2; cat "$tmp/$name.err" >&2; exit 1
}

start backend "$tmp/benchd" backend
backend=${url[backend]}
start proxy "$tmp/benchd" proxy -upstream "$backend"
bare=${url[proxy]}
port=$("$tmp/benchd" freeport)
admin_port=$("$tmp/benchd" freeport)
gateway=http://127.0.0.1:$port
"$tmp/forgeproof" serve --config bench/gateway/gateway.yaml --upstream "$backend" \
  --addr "127.0.0.1:$port" --admin-addr "127.0.0.1:$admin_port" >"$tmp/gateway.out" 2>"$tmp/gateway.err" &
pids+=($!)
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -fs "http://127.0.0.1:$admin_port/readyz" >/dev/null || { echo "run.sh: error: the gateway did not start:" >&2; cat "$tmp/gateway.err" >&2; exit 1; }

# A token for the session "bench", and the token cookie it goes with.
session=bench-session
curl -fs -D "$tmp/token.headers" -b "session=$session" "$gateway/.forgeproof/token" >"$tmp/token.json"
token=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$tmp/token.json")
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(csrf=[^;]*\).*/\1/p' "$tmp/token.headers" | tr -d '\r')
[ -n "$token" ] && [ -n "$cookie" ] || { echo "run.sh: error: no token from $gateway/.forgeproof/token" >&2; exit 1; }

body='{"data":"'$(head -c 1013 /dev/zero | tr '\0' 'a')'"}'
[ ${#body} -eq 1024 ] || { echo "run.sh: error: body is ${#body} bytes" >&2; exit 1; }

headers=(-H "Cookie: session=$session; $cookie" -H "X-CSRF-Token: $token" -H "Origin: $gateway"
  -H "Sec-Fetch-Site: same-origin" -H "X-Requested-With: XMLHttpRequest")

# The POST must pass every layer, and a forged one must not.
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${headers[@]}" -H 'Content-Type: application/json' -d "$body" "$gateway/api/item")
[ "$status" = 200 ] || { echo "run.sh: error: a valid POST through the gateway got $status" >&2; cat "$tmp/gateway.err" >&2; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Origin: https://evil.example' -H 'Content-Type: application/json' -d "$body" "$gateway/api/item")
[ "$status" = 403 ] || { echo "run.sh: error: a forged POST through the gateway got $status, want 403" >&2; exit 1; }
no_token=("${headers[@]}"); no_token[3]="X-CSRF-Token: "
reason=$(curl -s -X POST "${no_token[@]}" -H 'Content-Type: application/json' -d "$body" "$gateway/api/item" | sed -n 's/.*"reason":"\([^"]*\)".*/\1/p')
[ "$reason" = token-missing ] || { echo "run.sh: error: a same-origin POST without a token got reason \"$reason\", want token-missing" >&2; exit 1; }

lua_headers() {
  cat <<LUA
wrk.headers["Cookie"] = "session=$session; $cookie"
wrk.headers["X-CSRF-Token"] = "$token"
wrk.headers["Origin"] = "$gateway"
wrk.headers["Sec-Fetch-Site"] = "same-origin"
wrk.headers["X-Requested-With"] = "XMLHttpRequest"
LUA
}
{ echo 'wrk.method = "GET"'; lua_headers; } >"$tmp/get.lua"
{ echo 'wrk.method = "POST"'; echo "wrk.body = '$body'"; echo 'wrk.headers["Content-Type"] = "application/json"'; lua_headers; } >"$tmp/post.lua"

# to_ms VALUE: converts a wrk latency such as 512.00us, 1.20ms or 1.01s to
# milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}

declare -A rps p50 p99
run() { # run TARGET KIND URL ROUND CONNECTIONS
  local out threads=$THREADS
  [ "$5" -lt "$threads" ] && threads=$5
  out=$(wrk -t"$threads" -c"$5" -d"${DURATION}s" --latency -s "$tmp/$2.lua" "$3/api/item")
  if grep -q "Non-2xx" <<<"$out"; then
    echo "run.sh: error: $1 $2 answered errors:" >&2; echo "$out" >&2; exit 1
  fi
  local k=$1,$2,$5,$4
  rps[$k]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
  p50[$k]=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99[$k]=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  echo "  round $4: $1 $2 at $5 connections: ${rps[$k]} req/s, p50 ${p50[$k]} ms, p99 ${p99[$k]} ms" >&2
}

# median ARRAY TARGET KIND CONNECTIONS: the median over the rounds.
median() {
  local -n a=$1
  local vals=()
  for r in $(seq "$ROUNDS"); do vals+=("${a[$2,$3,$4,$r]}"); done
  printf "%s\n" "${vals[@]}" | sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}

declare -A urls=([direct]=$backend [bare-proxy]=$bare [gateway]=$gateway)
targets=(direct bare-proxy gateway)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "warming up..." >&2
for t in "${targets[@]}"; do
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$tmp/post.lua" "${urls[$t]}/api/item" >/dev/null
done
echo "measuring: $ROUNDS round(s) of ${DURATION}s per target, request and load..." >&2
# Rounds interleave the targets, so that a burst of load from elsewhere on
# the machine does not fall on one target only; the table shows medians.
loads=("$CONNECTIONS")
[ "$LIGHT_CONNECTIONS" -gt 0 ] && loads+=("$LIGHT_CONNECTIONS")
for r in $(seq "$ROUNDS"); do
  for c in "${loads[@]}"; do
    for kind in get post; do
      for t in "${targets[@]}"; do run "$t" "$kind" "${urls[$t]}" "$r" "$c"; done
    done
  done
done

names=([0]="backend direct" [1]="bare httputil.ReverseProxy" [2]="forgeproof gateway, all layers")
label() { if [ "$1" = post ]; then echo "POST 1 KiB JSON"; else echo GET; fi; }
for c in "${loads[@]}"; do
  echo
  if [ "$c" = "$CONNECTIONS" ]; then
    echo "**$c connections** (saturated: every process competes for the CPUs, and latency is mostly queueing)"
  else
    echo "**$c connections** (lighter load: little queueing, so latency is mostly the time to serve a request)"
  fi
  echo
  echo "| Target | Request | Requests/s | p50 latency | p99 latency |"
  echo "|---|---|---:|---:|---:|"
  for kind in get post; do
    for i in 0 1 2; do
      t=${targets[$i]}
      printf "| %s | %s | %s | %s ms | %s ms |\n" "${names[$i]}" "$(label $kind)" \
        "$(median rps "$t" "$kind" "$c")" "$(median p50 "$t" "$kind" "$c")" "$(median p99 "$t" "$kind" "$c")"
    done
  done
  echo
  echo "| Request | Gateway / bare proxy req/s (target ≥ 85%) | Added p99 (target ≤ 1 ms) |"
  echo "|---|---:|---:|"
  for kind in get post; do
    awk -v l="$(label $kind)" -v g="$(median rps gateway "$kind" "$c")" -v b="$(median rps bare-proxy "$kind" "$c")" \
        -v gp="$(median p99 gateway "$kind" "$c")" -v bp="$(median p99 bare-proxy "$kind" "$c")" 'BEGIN {
      r = 100 * g / b; d = gp - bp
      printf "| %s | %.1f%% %s | %+.3f ms %s |\n", l, r, (r >= 85 ? "✓" : "✗"), d, (d <= 1 ? "✓" : "✗") }'
  done
done
echo
echo "wrk with up to $THREADS threads, ${DURATION}s per run, median of $ROUNDS round(s), on $(nproc) CPUs ($(go version | awk '{print $3}'), $(uname -sr)); backend, proxies and wrk share the machine; load average before the runs $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)."
