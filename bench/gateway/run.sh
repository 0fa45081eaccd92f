#!/usr/bin/env bash
# Gateway benchmark: measures, in one run and on loopback only, the backend
# direct, a bare httputil.ReverseProxy in three configurations, the
# forgeproof gateway with every layer on (gateway.yaml), Caddy's
# reverse_proxy and nginx's proxy_pass (each without and with upstream
# keepalive; Caddy too with its default and with a larger idle connection
# pool), for a GET and a 1 KiB JSON POST that carries a valid token,
# cookie, Origin and custom header. Each proxy runs pinned to one CPU and
# wrk and the backend to the other. Prints Markdown tables of requests per
# second, CPU time per request of the proxy process (from /proc/PID/stat,
# the steady figure on a shared machine) and p50/p99 latency, and how the
# gateway compares with the bare proxies against the targets.
#
# Usage: bench/gateway/run.sh
# Environment: DURATION (seconds per run, default 10), CONNECTIONS
# (default 64), THREADS (wrk threads, default 1), ROUNDS (default 3; the
# targets are measured in turn that many times and the medians shown),
# TARGETS (space-separated subset of: direct bare-default bare-pooled
# bare-tuned gateway gateway-reduced caddy caddy-keepalive nginx
# nginx-keepalive; default all; gateway-reduced is gateway-reduced.yaml,
# the gateway with its token, header and HTML layers off),
# PROXY_CPU (default 0) and CLIENT_CPU (default 1): the CPUs that the
# proxy and wrk with the backend are pinned to (PIN=0 pins nothing).
# Needs wrk, curl, Go, taskset; nginx (Debian nginx-light) for its rows.
# Caddy is built from its Go module (bench/gateway/caddy).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
PIN=${PIN:-1}
PROXY_CPU=${PROXY_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
TARGETS=${TARGETS:-direct bare-default bare-pooled bare-tuned gateway gateway-reduced caddy caddy-keepalive nginx nginx-keepalive}

for p in wrk curl go taskset; do
  command -v "$p" >/dev/null || { echo "run.sh: error: $p is not installed (apt-get install -y $p)" >&2; exit 1; }
done
read -ra targets <<<"$TARGETS"
want() { [[ " ${targets[*]} " == *" $1 "* ]]; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if { want nginx || want nginx-keepalive; } && [ ! -x "$nginx_bin" ]; then
  echo "run.sh: error: nginx is not installed (apt-get install -y nginx-light), or leave it out of TARGETS" >&2; exit 1
fi
if [ "$PIN" = 1 ] && [ "$(nproc)" -lt 2 ]; then
  echo "run.sh: fewer than 2 CPUs: nothing is pinned" >&2; PIN=0
fi
# Command prefixes that pin to the proxy's and the client's CPU. (taskset
# executes the command in its own process, so $! is the command's pid.)
on_proxy=() on_client=()
if [ "$PIN" = 1 ]; then on_proxy=(taskset -c "$PROXY_CPU") on_client=(taskset -c "$CLIENT_CPU"); fi

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
if want caddy || want caddy-keepalive; then
  # Its own module (bench/gateway/caddy/go.mod), outside go.work.
  (cd bench/gateway/caddy && GOWORK=off go build -o "$tmp/caddy" .)
fi

# start NAME proxy|client CMD...: runs CMD in the background, pinned to the
# proxy's or the client's CPU, and waits
# for the URL it prints on its first line, which it stores in url[NAME];
# its process id goes in pid[NAME].
declare -A url pid
start() {
  local name=$1 cpu=$2; shift 2
  local -n pin=on_$cpu
  "${pin[@]}" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!); pid[$name]=$!
  for _ in $(seq 100); do
    if [ -s "$tmp/$name.out" ]; then url[$name]=$(head -n1 "$tmp/$name.out"); return; fi
    sleep 0.05
  done
  echo "run.sh: error: $name did not start:" >&2; cat "$tmp/$name.err" >&2; exit 1
}
# wait_http NAME URL: waits until URL answers, after starting NAME.
wait_http() {
  for _ in $(seq 200); do
    curl -fs -o /dev/null "$2" 2>/dev/null && return
    sleep 0.05
  done
  echo "run.sh: error: $1 did not start:" >&2; cat "$tmp/$1.err" >&2; exit 1
}

start backend client "$tmp/benchd" backend
backend=${url[backend]}
backend_hostport=${backend#http://}
url[direct]=$backend; pid[direct]=${pid[backend]}
for c in default pooled tuned; do
  want "bare-$c" && start "bare-$c" proxy "$tmp/benchd" proxy -upstream "$backend" -config "$c"
done

port=$("$tmp/benchd" freeport)
admin_port=$("$tmp/benchd" freeport)
gateway=http://127.0.0.1:$port
"${on_proxy[@]}" "$tmp/forgeproof" serve --config bench/gateway/gateway.yaml --upstream "$backend" \
  --addr "127.0.0.1:$port" --admin-addr "127.0.0.1:$admin_port" >"$tmp/gateway.out" 2>"$tmp/gateway.err" &
pids+=($!); pid[gateway]=$!; url[gateway]=$gateway
wait_http gateway "http://127.0.0.1:$admin_port/readyz"
if want gateway-reduced; then
  rport=$("$tmp/benchd" freeport)
  radmin=$("$tmp/benchd" freeport)
  "${on_proxy[@]}" "$tmp/forgeproof" serve --config bench/gateway/gateway-reduced.yaml --upstream "$backend" \
    --addr "127.0.0.1:$rport" --admin-addr "127.0.0.1:$radmin" >"$tmp/gateway-reduced.out" 2>"$tmp/gateway-reduced.err" &
  pids+=($!); pid[gateway-reduced]=$!; url[gateway-reduced]=http://127.0.0.1:$rport
  wait_http gateway-reduced "http://127.0.0.1:$radmin/readyz"
fi

if want caddy || want caddy-keepalive; then
  caddy_port=$("$tmp/benchd" freeport)
  mkdir -p "$tmp/caddy-home"
  caddy_keep_port=$("$tmp/benchd" freeport)
  # "caddy" is reverse_proxy as it comes: its transport keeps up to 32
  # idle connections per upstream host; "caddy-keepalive" keeps 256, as
  # the gateway does.
  cat >"$tmp/Caddyfile" <<CADDY
{
	admin off
	auto_https off
	persist_config off
}
http://127.0.0.1:$caddy_port {
	reverse_proxy $backend_hostport
}
http://127.0.0.1:$caddy_keep_port {
	reverse_proxy $backend_hostport {
		transport http {
			keepalive_idle_conns 512
			keepalive_idle_conns_per_host 256
		}
	}
}
CADDY
  HOME=$tmp/caddy-home XDG_DATA_HOME=$tmp/caddy-home XDG_CONFIG_HOME=$tmp/caddy-home \
    "${on_proxy[@]}" "$tmp/caddy" run --config "$tmp/Caddyfile" --adapter caddyfile >"$tmp/caddy.out" 2>"$tmp/caddy.err" &
  pids+=($!); pid[caddy]=$!; url[caddy]=http://127.0.0.1:$caddy_port
  pid[caddy-keepalive]=$!; url[caddy-keepalive]=http://127.0.0.1:$caddy_keep_port
  wait_http caddy "${url[caddy]}/api/item"
  wait_http caddy "${url[caddy-keepalive]}/api/item"
fi

# nginx: one master and one worker in the foreground, with everything under
# a prefix directory of its own. "nginx" is proxy_pass as it comes
# (HTTP/1.0 to the upstream, a new connection for every request);
# "nginx-keepalive" keeps idle upstream connections (keepalive 64 with
# HTTP/1.1), the tuning nginx's documentation gives for it.
start_nginx() { # start_nginx NAME KEEPALIVE(0|1)
  local name=$1 keep=$2 p n_port
  p=$tmp/$name; mkdir -p "$p/logs" "$p/conf"
  n_port=$("$tmp/benchd" freeport)
  {
    echo "daemon off; worker_processes 1; pid $p/nginx.pid; error_log $p/logs/error.log warn;"
    [ "$(id -u)" = 0 ] && echo "user root;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "  access_log off;"
    echo "  client_body_temp_path $p/body; proxy_temp_path $p/proxy; fastcgi_temp_path $p/fastcgi;"
    echo "  uwsgi_temp_path $p/uwsgi; scgi_temp_path $p/scgi;"
    echo "  keepalive_requests 1000000;"
    if [ "$keep" = 1 ]; then
      echo "  upstream backend { server $backend_hostport; keepalive 64; keepalive_requests 1000000; }"
    else
      echo "  upstream backend { server $backend_hostport; }"
    fi
    echo "  server {"
    echo "    listen 127.0.0.1:$n_port;"
    echo "    location / {"
    echo "      proxy_pass http://backend;"
    echo "      proxy_set_header Host \$host;"
    echo "      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
    echo "      proxy_set_header X-Forwarded-Proto \$scheme;"
    if [ "$keep" = 1 ]; then
      echo "      proxy_http_version 1.1;"
      echo "      proxy_set_header Connection \"\";"
    fi
    echo "    }"
    echo "  }"
    echo "}"
  } >"$p/conf/nginx.conf"
  "${on_proxy[@]}" "$nginx_bin" -p "$p" -c conf/nginx.conf -e "$p/logs/error.log" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!); pid[$name]=$!; url[$name]=http://127.0.0.1:$n_port
  wait_http "$name" "${url[$name]}/api/item"
}
want nginx && start_nginx nginx 0
want nginx-keepalive && start_nginx nginx-keepalive 1

# A token for the session "bench", and the token cookie it goes with.
session=bench-session
curl -fs -D "$tmp/token.headers" -b "session=$session" "$gateway/.forgeproof/token" >"$tmp/token.json"
token=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$tmp/token.json")
token_header=$(sed -n 's/.*"header":"\([^"]*\)".*/\1/p' "$tmp/token.json")
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' "$tmp/token.headers" | head -n1 | tr -d '\r')
[ -n "$token" ] && [ -n "$token_header" ] && [ -n "$cookie" ] || { echo "run.sh: error: no token from $gateway/.forgeproof/token" >&2; exit 1; }

body='{"data":"'$(head -c 1013 /dev/zero | tr '\0' 'a')'"}'
[ ${#body} -eq 1024 ] || { echo "run.sh: error: body is ${#body} bytes" >&2; exit 1; }

headers=(-H "Cookie: session=$session; $cookie" -H "$token_header: $token" -H "Origin: $gateway"
  -H "Sec-Fetch-Site: same-origin" -H "X-Requested-With: XMLHttpRequest")

# The POST must pass every layer, and a forged one must not.
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${headers[@]}" -H 'Content-Type: application/json' -d "$body" "$gateway/api/item")
[ "$status" = 200 ] || { echo "run.sh: error: a valid POST through the gateway got $status" >&2; cat "$tmp/gateway.err" >&2; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Origin: https://evil.example' -H 'Content-Type: application/json' -d "$body" "$gateway/api/item")
[ "$status" = 403 ] || { echo "run.sh: error: a forged POST through the gateway got $status, want 403" >&2; exit 1; }
no_token=("${headers[@]}"); no_token[3]="$token_header: "
reason=$(curl -s -X POST "${no_token[@]}" -H 'Content-Type: application/json' -d "$body" "$gateway/api/item" | sed -n 's/.*"reason":"\([^"]*\)".*/\1/p')
[ "$reason" = token-missing ] || { echo "run.sh: error: a same-origin POST without a token got reason \"$reason\", want token-missing" >&2; exit 1; }

lua_headers() {
  cat <<LUA
wrk.headers["Cookie"] = "session=$session; $cookie"
wrk.headers["$token_header"] = "$token"
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

# cpu_ticks PID: the user and system CPU time, in clock ticks, of the
# process and its children (nginx's worker), from /proc/PID/stat.
cpu_ticks() {
  local total=0 p t
  for p in "$1" $(pgrep -P "$1" || true); do
    # Fields 14 and 15 after the command name, which may hold spaces.
    t=$(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}') || continue
    total=$((total + t))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)

declare -A rps p50 p99 cpu
run() { # run TARGET KIND ROUND
  local out k=$1,$2,$3 before after n
  before=$(cpu_ticks "${pid[$1]}")
  out=$("${on_client[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$tmp/$2.lua" "${url[$1]}/api/item")
  after=$(cpu_ticks "${pid[$1]}")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
    echo "run.sh: error: $1 $2 answered errors:" >&2; echo "$out" >&2; exit 1
  fi
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  rps[$k]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
  p50[$k]=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99[$k]=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  cpu[$k]=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN {printf "%.1f", t / hz / n * 1e6}')
  echo "  round $3: $1 $2: ${rps[$k]} req/s, ${cpu[$k]} µs CPU/request, p50 ${p50[$k]} ms, p99 ${p99[$k]} ms" >&2
}

# median ARRAY TARGET KIND: the median over the rounds.
median() {
  local -n a=$1
  local vals=()
  for r in $(seq "$ROUNDS"); do vals+=("${a[$2,$3,$r]}"); done
  printf "%s\n" "${vals[@]}" | sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "warming up..." >&2
for t in "${targets[@]}"; do
  "${on_client[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$tmp/post.lua" "${url[$t]}/api/item" >/dev/null
done
echo "measuring: $ROUNDS round(s) of ${DURATION}s per target and request..." >&2
# Rounds interleave the targets, so that a burst of load from elsewhere on
# the machine does not fall on one target only; the tables show medians.
for r in $(seq "$ROUNDS"); do
  for kind in get post; do
    for t in "${targets[@]}"; do run "$t" "$kind" "$r"; done
  done
done

declare -A names=(
  [direct]="backend direct (its own CPU use)"
  [bare-default]="bare httputil.ReverseProxy, default configuration"
  [bare-pooled]="bare httputil.ReverseProxy, idle connections per host"
  [bare-tuned]="bare httputil.ReverseProxy, tuned (idle connections, buffer pool)"
  [gateway]="**forgeproof gateway, all layers** (tuned)"
  [gateway-reduced]="forgeproof gateway, reduced (origin layer, cookie hardening, metrics; no tokens, headers, injection)"
  [caddy-keepalive]="Caddy reverse_proxy, 256 idle connections per host"
  [caddy]="Caddy $( (cd bench/gateway/caddy && GOWORK=off go list -m -f '{{.Version}}' github.com/caddyserver/caddy/v2) 2>/dev/null) reverse_proxy, default"
  [nginx]="nginx $("$nginx_bin" -v 2>&1 | sed 's,.*nginx/,,') proxy_pass, default (no upstream keepalive)"
  [nginx-keepalive]="nginx proxy_pass, upstream keepalive 64"
)
label() { if [ "$1" = post ]; then echo "POST 1 KiB JSON"; else echo GET; fi; }
echo
echo "| Target | Request | CPU per request | Requests/s | p50 latency | p99 latency |"
echo "|---|---|---:|---:|---:|---:|"
for kind in get post; do
  for t in "${targets[@]}"; do
    printf "| %s | %s | %s µs | %s | %s ms | %s ms |\n" "${names[$t]}" "$(label $kind)" \
      "$(median cpu "$t" "$kind")" "$(median rps "$t" "$kind")" "$(median p50 "$t" "$kind")" "$(median p99 "$t" "$kind")"
  done
done
if want gateway; then
  # ratio GATEWAY BARE [LIMIT]: the median over the rounds of GATEWAY's CPU
  # per request divided by BARE's in the same round (measured minutes
  # apart at most, so under much the same load), with the range over the
  # rounds.
  ratio() {
    want "$1" && want "$2" || { printf "–"; return; }
    local r vals=()
    for r in $(seq "$ROUNDS"); do
      vals+=("$(awk -v g="${cpu[$1,$kind,$r]}" -v b="${cpu[$2,$kind,$r]}" 'BEGIN {printf "%.3f", g / b}')")
    done
    printf "%s\n" "${vals[@]}" | sort -g | awk -v lim="${3:-}" '{v[NR] = $1} END {
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.2f×", m; if (NR > 1) printf " (%.2f–%.2f)", v[1], v[NR]
      if (lim != "") printf " %s", (m <= lim ? "✓" : "✗") }'
  }
  echo
  echo "Gateway CPU per request ÷ the bare proxy's, median of the per-round ratios (range):"
  echo
  echo "| Request | ÷ bare default (target < 1) | ÷ bare tuned (target ≤ 1.05) | ÷ bare idle connections | reduced gateway ÷ bare tuned |"
  echo "|---|---:|---:|---:|---:|"
  for kind in get post; do
    printf "| %s | %s | %s | %s | %s |\n" "$(label $kind)" "$(ratio gateway bare-default 0.9999)" "$(ratio gateway bare-tuned 1.05)" \
      "$(ratio gateway bare-pooled)" "$(ratio gateway-reduced bare-tuned)"
  done
fi
echo
pinning="the proxy pinned to CPU $PROXY_CPU, wrk and the backend to CPU $CLIENT_CPU"
[ "$PIN" = 1 ] || pinning="nothing pinned"
echo "wrk with $THREADS thread(s) and $CONNECTIONS connections, ${DURATION}s per run, median of $ROUNDS round(s), on $(nproc) CPUs ($pinning; $(go version | awk '{print $3}'), $(uname -sr)); CPU per request is the proxy process's user + system time over the run (nginx: master and worker) divided by the requests wrk completed; load average before the runs $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)."
