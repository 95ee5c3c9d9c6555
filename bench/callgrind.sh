#!/usr/bin/env bash
# callgrind.sh — instructions per proxied request, for proxyd and nginx.
#
#   bench/callgrind.sh [PROXYD_BIN] [REQUESTS]
#
# Counts instructions (valgrind --tool=callgrind), not seconds, so the figure
# repeats to within 0.01 % on a busy machine: use it for before/after figures
# of hot-path changes. One nginx backend (`return 200 "hello\n"`), then the
# proxy under callgrind with one worker and no access log, driven by
# `h2load --h1 -n REQUESTS -c 8` over keep-alive; the same for nginx as a
# proxy, for scale. Loopback only; everything started is stopped on exit.
# Needs: valgrind, nginx, nghttp2-client (h2load), curl.
# CALLGRIND_ARGS adds callgrind options to both runs, e.g.
# "--cache-sim=yes --branch-sim=yes" for simulated cache and branch misses
# (KEEP=1 keeps the output files for callgrind_annotate).
# MODE=close measures a new connection per request instead: wrk with
# `Connection: close`, 8 connections, for REQUESTS/2000 seconds (default
# 10 s), divided by the requests wrk completed. Needs wrk.
set -euo pipefail
bin=${1:-target/release/proxyd}
n=${2:-20000}
mode=${MODE:-keepalive}
base=${CALLGRIND_BASE_PORT:-28180}
work=$(mktemp -d /tmp/pd-cg.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM -- "-$p" 2>/dev/null || true; done
  sleep 1
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT
start() { setsid "$@" >"$work/$(basename "$1").$RANDOM.log" 2>&1 & pids+=("$!"); }
wait_up() { for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.2; done; echo "nothing answers on :$1" >&2; exit 1; }
temps() { for t in body proxy fastcgi uwsgi scgi; do printf '%s_temp_path %s/%s-%s;\n' "$t" "$work" "$1" "$t"; done | sed 's/^body_/client_body_/'; }
per_request() {  # callgrind file, requests -> instructions per request
  callgrind_annotate "$1" 2>/dev/null | awk -v n="$2" '/PROGRAM TOTALS/ {gsub(",", "", $1); printf "%d", $1 / n}'
}
drive() {  # port -> prints the requests completed
  if [ "$mode" = close ]; then
    wrk -t1 -c8 -d"$(( n / 2000 > 0 ? n / 2000 : 1 ))s" -H "Connection: close" "http://127.0.0.1:$1/" \
      | awk '/requests in/ {print $1}'
  else
    h2load --h1 -n "$n" -c 8 "http://127.0.0.1:$1/" | grep -E '^requests:' >&2
    echo "$n"
  fi
}

cat >"$work/backend.conf" <<EOF2
worker_processes 1; daemon off; pid $work/backend.pid; error_log $work/backend.err warn;
events { worker_connections 1024; }
http { access_log off; $(temps backend) keepalive_requests 1000000;
  server { listen 127.0.0.1:$base; location / { return 200 "hello\n"; } } }
EOF2
start nginx -c "$work/backend.conf"; wait_up "$base"

cat >"$work/proxyd.toml" <<EOF2
[admin]
socket = "$work/admin.sock"
[health]
listen = ""
[runtime]
worker_threads = 1
access_log = false
log_format = "text"
log_level = "warn"
[[listener]]
name = "bench"
http = "127.0.0.1:$((base + 1))"
[[site]]
name = "bench"
hosts = ["*"]
  [[site.route]]
  upstream = "backend"
[[upstream]]
name = "backend"
servers = [{ address = "127.0.0.1:$base" }]
EOF2
start valgrind --tool=callgrind ${CALLGRIND_ARGS:-} --callgrind-out-file="$work/cg.proxyd" "$bin" -c "$work/proxyd.toml"
wait_up $((base + 1))
done_proxyd=$(drive $((base + 1)))
kill -INT -- "-${pids[-1]}"; while kill -0 "${pids[-1]}" 2>/dev/null; do sleep 0.2; done

cat >"$work/nginx.conf" <<EOF2
worker_processes 1; master_process off; daemon off; pid $work/nginx.pid; error_log $work/nginx.err warn;
events { worker_connections 1024; }
http { access_log off; $(temps proxy) keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$base; keepalive 64; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$((base + 2)); location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
EOF2
start valgrind --tool=callgrind ${CALLGRIND_ARGS:-} --callgrind-out-file="$work/cg.nginx" nginx -c "$work/nginx.conf"
wait_up $((base + 2))
done_nginx=$(drive $((base + 2)))
kill -QUIT -- "-${pids[-1]}"; while kill -0 "${pids[-1]}" 2>/dev/null; do sleep 0.2; done

echo "instructions per request: proxyd $(per_request "$work/cg.proxyd" "$done_proxyd"), nginx $(per_request "$work/cg.nginx" "$done_nginx") ($done_proxyd and $done_nginx $mode requests, startup included)"
