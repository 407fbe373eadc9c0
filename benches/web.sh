#!/usr/bin/env bash
# Web comparison: knot against nginx with one worker (config: ../shared/bench/nginx.conf),
# served one after another on the same core, loaded by wrk pinned to the other core.
#
# Usage: bash benches/web.sh [--duration SECONDS] [--conns "100 1000"]
# Needs: wrk, nginx, curl (apt-get install -y wrk nginx-light curl), taskset. Prints a markdown table:
# req/s, p50/p99 latency, server RSS, and req/s as a ratio to knot.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD

duration=5
conns="100 1000"
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "web.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

for prog in wrk nginx taskset curl; do
  command -v "$prog" >/dev/null || { echo "web.sh: $prog is not installed" >&2; exit 2; }
done
shared="$root_dir/../shared/bench"
[ -f "$shared/nginx.conf" ] || { echo "web.sh: $shared/nginx.conf not found" >&2; exit 2; }

work=$(mktemp -d /tmp/tame-web.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Identical bytes for every server: a 1 KiB and a 14 KiB file.
mkdir -p "$work/root"
head -c 1024 /dev/urandom | base64 -w 76 | head -c 1024 > "$work/root/1k.html"
head -c 14336 /dev/urandom | base64 -w 76 | head -c 14336 > "$work/root/14k.html"
chmod -R a+rX "$work" # nginx's worker runs as nobody

echo "building knot (release)..." >&2
cargo build --release --quiet --example knot
knot_bin=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/knot

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "web.sh: nothing listens on port $1" >&2; return 1
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

start_knot() {
  port=$(free_port)
  taskset -c 0 "$knot_bin" --root "$work/root" --addr "127.0.0.1:$port" --max-conns 20000 &
  server_pid=$!
}
start_nginx() {
  port=$(free_port)
  sed -e "s#@ROOT@#$work/root#" -e "s#@PORT@#$port#" "$shared/nginx.conf" > "$work/nginx.conf"
  taskset -c 0 nginx -p "$work" -c "$work/nginx.conf" \
    -g "pid $work/nginx.pid; error_log $work/nginx-error.log;" &
  server_pid=$!
}

declare -A RPS
rows=()
for server in knot nginx; do
  "start_$server"
  pids+=("$server_pid")
  wait_port "$port"
  for file in 1k.html 14k.html; do
    # Same bytes from every server, or the comparison means nothing.
    got=$(curl -s "http://127.0.0.1:$port/$file" | cmp - "$work/root/$file" && echo same || echo different)
    [ "$got" = same ] || { echo "web.sh: $server serves different bytes for $file" >&2; exit 1; }
    for c in $conns; do
      echo "wrk: $server $file c=$c ${duration}s..." >&2
      out=$(taskset -c 1 wrk -t1 -c"$c" -d"${duration}s" --latency "http://127.0.0.1:$port/$file" 2>&1)
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p50=$(awk '$1=="50%" {print $2}' <<<"$out")
      p99=$(awk '$1=="99%" {print $2}' <<<"$out")
      errs=$(awk '/Socket errors|Non-2xx/ {print}' <<<"$out" | tr '\n' ' ')
      # nginx's worker is a child of the master: measure the worker's RSS.
      pid=$server_pid
      if [ "$server" = nginx ]; then pid=$(pgrep -P "$server_pid" | head -1); fi
      rss=$(( $(rss_kb "$pid") / 1024 ))
      RPS[$server,$file,$c]=$rps
      rows+=("$server|$file|$c|$rps|$p50|$p99|$rss|${errs:-none}")
    done
  done
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
done

echo
echo "| server | file | conns | req/s | p50 | p99 | server RSS (MiB) | req/s vs knot | errors |"
echo "|---|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r server file c rps p50 p99 rss errs <<<"$row"
  ratio=$(python3 -c "print(f'{float(\"$rps\")/float(\"${RPS[knot,$file,$c]}\"):.2f}')")
  echo "| $server | $file | $c | $rps | $p50 | $p99 | $rss | $ratio | $errs |"
done
