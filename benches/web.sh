#!/usr/bin/env bash
# Web servers side by side: knot (one worker) against a hand-written mio server, a tokio
# current_thread server, a thread-per-connection server, what a Rust user would pick instead of
# writing one: axum with tower-http's ServeDir on tokio current_thread (axum) and multi-thread
# (axum-mt) (benches/src/bin/), and nginx with one worker (benches/nginx.conf). Each server runs
# alone, one after another (taking turns for
# every file and connection count), pinned to core 0; wrk (one thread, keep-alive) is pinned
# to core 1. Every server serves the same two files
# (1 KiB and 14 KiB, checked byte for byte before it is loaded).
#
# Usage: bash benches/web.sh [--duration SECONDS] [--conns "10 100 1000"]
#                            [--servers "knot mio tokio axum axum-mt threads nginx"]
#                            [--rounds N] [--close] [--knot-base PATH]
# --rounds N runs the whole sequence N times and keeps, for each cell, the run with the median
# req/s. --close sends `Connection: close` with every request, so each request is a connection
# of its own (accept, answer, close) instead of keep-alive. --knot-base PATH adds a server
# `knot-base`: another build of knot (an older commit, say), run exactly as knot is.
# Needs: wrk, nginx, curl (apt-get install -y wrk nginx-light curl), taskset, python3.
# Prints markdown tables: req/s, p50/p99 latency, the server's CPU time per request (user +
# system, and the user part alone; steadier than req/s on a busy machine), peak server RSS
# during the run, errors, req/s as a ratio to knot; then knot's req/s divided by each other
# server's, and knot's CPU time per request (all of it, then its user-space part) divided by
# each other server's.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD

duration=5
conns="10 100 1000"
servers="knot mio tokio axum axum-mt threads nginx"
rounds=1
close=
knot_base=
close_header=()
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --close) close=1; close_header=(-H "Connection: close"); shift ;;
    --knot-base) knot_base=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
    *) echo "web.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$knot_base" ]; then
  [ -x "$knot_base" ] || { echo "web.sh: --knot-base $knot_base is not an executable" >&2; exit 2; }
  case " $servers " in *" knot-base "*) ;; *) servers="$servers knot-base" ;; esac
fi
for s in $servers; do
  case "$s" in
    knot|mio|tokio|axum|axum-mt|threads|nginx) ;;
    knot-base) [ -n "$knot_base" ] || { echo "web.sh: knot-base needs --knot-base PATH" >&2; exit 2; } ;;
    *) echo "web.sh: unknown server $s (knot mio tokio axum axum-mt threads nginx)" >&2; exit 2 ;;
  esac
done

needs="wrk taskset curl python3"
case " $servers " in *" nginx "*) needs="$needs nginx" ;; esac
for prog in $needs; do
  command -v "$prog" >/dev/null || { echo "web.sh: $prog is not installed" >&2; exit 2; }
done
nginx_conf="$root_dir/benches/nginx.conf"
# 1000 connections on each side, plus the listener and friends.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# The scratch directory and its two files, `$bin`, free_port, wait_port, cpu_ticks.
. benches/common.sh web # (the working directory is the repository, see above)
chmod -R a+rX "$work" # nginx's worker runs as nobody

echo "building knot and the baselines (release)..." >&2
cargo build --release --quiet --example knot
cargo build --release --quiet -p tame-benches --bins


# Every server listens on 127.0.0.1 only, runs on core 0, and is killed by its PID.
start() {
  port=$(free_port)
  case "$1" in
    knot) taskset -c 0 "$bin/examples/knot" --root "$work/root" --addr "127.0.0.1:$port" --max-conns 20000 --workers 1 2>/dev/null & ;;
    knot-base) taskset -c 0 "$knot_base" --root "$work/root" --addr "127.0.0.1:$port" --max-conns 20000 --workers 1 2>/dev/null & ;;
    mio) taskset -c 0 "$bin/mio_server" --root "$work/root" --addr "127.0.0.1:$port" 2>/dev/null & ;;
    tokio) taskset -c 0 "$bin/tokio_server" --root "$work/root" --addr "127.0.0.1:$port" 2>/dev/null & ;;
    axum) taskset -c 0 "$bin/axum_server" --root "$work/root" --addr "127.0.0.1:$port" 2>/dev/null & ;;
    # Pinned to one core, the multi-thread runtime starts one worker thread (it counts the
    # cores it may run on) and keeps its work-stealing machinery.
    axum-mt) taskset -c 0 "$bin/axum_mt_server" --root "$work/root" --addr "127.0.0.1:$port" 2>/dev/null & ;;
    threads) taskset -c 0 "$bin/thread_server" --root "$work/root" --addr "127.0.0.1:$port" 2>/dev/null & ;;
    nginx)
      sed -e "s#@ROOT@#$work/root#" -e "s#@PORT@#$port#" "$nginx_conf" > "$work/nginx.conf"
      taskset -c 0 nginx -p "$work" -c "$work/nginx.conf" \
        -g "pid $work/nginx.pid; error_log $work/nginx-error.log;" & ;;
  esac
  server_pid=$!
  wait_port "$port"
  # The process that serves: nginx's worker is a child of its master.
  serving_pid=$server_pid
  if [ "$1" = nginx ]; then
    for _ in $(seq 50); do
      serving_pid=$(pgrep -P "$server_pid" | head -1) && break
      sleep 0.05
    done
  fi
}

# Peak resident memory over one wrk run: the kernel's high-water mark, reset before the run
# (writing 5 to clear_refs); the current RSS where that is not allowed.
reset_peak() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }
hz=$(getconf CLK_TCK)
# `per_request TICKS N DIGITS`: clock ticks over N requests, in µs per request.
per_request() {
  python3 -c "n=int('${2:-0}' or 0); print(f'{$1*1e6/$hz/n:.$3f}' if n else '-')"
}
peak_mib() {
  local kb
  kb=$(awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0)
  python3 -c "print(f'{${kb:-0}/1024:.1f}')"
}

declare -A RPS P50 P99 RSS CPU USR ERRS
# The servers take turns cell by cell (a fresh start for each), so that the runs compared in one
# cell are seconds apart, not minutes: on a shared machine the background load drifts. Each
# round starts the turn at the next server, so none is always first.
read -r -a order <<<"$servers"
for round in $(seq "$rounds"); do
  for file in 1k.html 14k.html; do
    for c in $conns; do
      for i in "${!order[@]}"; do
        server=${order[$(( (i + round - 1) % ${#order[@]} ))]}
        start "$server"
        # Same bytes from every server, or the comparison means nothing.
        if ! curl -s "http://127.0.0.1:$port/$file" | cmp -s - "$work/root/$file"; then
          echo "web.sh: $server serves different bytes for $file" >&2; exit 1
        fi
        echo "wrk: round $round, $file c=$c $server ${duration}s..." >&2
        reset_peak "$serving_pid"
        t0=$(cpu_ticks "$serving_pid")
        u0=$(user_ticks "$serving_pid")
        out=$(taskset -c 1 wrk -t1 -c"$c" -d"${duration}s" --latency "${close_header[@]}" \
          "http://127.0.0.1:$port/$file" 2>&1)
        t1=$(cpu_ticks "$serving_pid")
        u1=$(user_ticks "$serving_pid")
        key=$server,$file,$c,$round
        RPS[$key]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        P50[$key]=$(awk '$1=="50%" {print $2}' <<<"$out")
        P99[$key]=$(awk '$1=="99%" {print $2}' <<<"$out")
        RSS[$key]=$(peak_mib "$serving_pid")
        n=$(awk '/requests in/ {print $1}' <<<"$out")
        CPU[$key]=$(per_request "$((t1 - t0))" "$n" 1)
        USR[$key]=$(per_request "$((u1 - u0))" "$n" 2)
        errs=$(sed -n -e 's/.*Socket errors: //p' -e 's/.*Non-2xx or 3xx responses: \(.*\)/non-2xx \1/p' <<<"$out" | tr '\n' ' ')
        ERRS[$key]=${errs:-none}
        kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
        server_pid=
      done
    done
  done
done

# For each cell, the round with the median req/s.
declare -A PICK
for server in $servers; do
  for file in 1k.html 14k.html; do
    for c in $conns; do
      vals=""
      for round in $(seq "$rounds"); do vals="$vals $round:${RPS[$server,$file,$c,$round]:-0}"; done
      PICK[$server,$file,$c]=$(python3 -c "
v=sorted(('$vals').split(), key=lambda s: float(s.split(':')[1]))
print(v[(len(v)-1)//2].split(':')[0])")
    done
  done
done
# `picked MAP SERVER FILE CONNS`: MAP's value in the round picked for that cell.
picked() { local -n map=$1; echo "${map[$2,$3,$4,${PICK[$2,$3,$4]}]}"; }
rps() { picked RPS "$@"; }
ratio() { python3 -c "a,b=float('$1' or 0),float('$2' or 0); print(f'{a/b:.2f}' if b else '-')"; }

echo
if [ -n "$close" ]; then echo "Every request with \`Connection: close\` (a connection per request)."; echo; fi
echo "| file | conns | server | req/s | p50 | p99 | server CPU µs/req | of it, user | server RSS (MiB) | req/s ÷ knot | errors |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for file in 1k.html 14k.html; do
  for c in $conns; do
    for server in $servers; do
      k=$server,$file,$c,${PICK[$server,$file,$c]}
      r=-
      case " $servers " in *" knot "*) r=$(ratio "${RPS[$k]}" "$(rps knot "$file" "$c")") ;; esac
      echo "| ${file%.html} | $c | $server | ${RPS[$k]} | ${P50[$k]} | ${P99[$k]} | ${CPU[$k]} | ${USR[$k]} | ${RSS[$k]} | $r | ${ERRS[$k]} |"
    done
  done
done

case " $servers " in *" knot "*) ;; *) exit 0 ;; esac
others=""
for s in $servers; do [ "$s" = knot ] || others="$others $s"; done
[ -n "$others" ] || exit 0
echo
printf '| file | conns |'; for s in $others; do printf ' knot ÷ %s |' "$s"; done; echo
printf '|---|---|'; for _ in $others; do printf -- '---|'; done; echo
for file in 1k.html 14k.html; do
  for c in $conns; do
    printf '| %s | %s |' "${file%.html}" "$c"
    for s in $others; do printf ' %s |' "$(ratio "$(rps knot "$file" "$c")" "$(rps "$s" "$file" "$c")")"; done
    echo
  done
done

# The server CPU time per request, knot's divided by each other server's (lower is better for
# knot): the steadier figure on a shared machine.
# Then the same for the user-space part alone (what the servers' own code costs; the kernel's
# part is the same system calls for all of them).
cpu() { picked CPU "$@"; }
usr() { picked USR "$@"; }
for what in cpu usr; do
  echo
  label="knot CPU"; [ "$what" = usr ] && label="knot user CPU"
  printf '| file | conns |'; for s in $others; do printf ' %s ÷ %s |' "$label" "$s"; done; echo
  printf '|---|---|'; for _ in $others; do printf -- '---|'; done; echo
  for file in 1k.html 14k.html; do
    for c in $conns; do
      printf '| %s | %s |' "${file%.html}" "$c"
      for s in $others; do printf ' %s |' "$(ratio "$($what knot "$file" "$c")" "$($what "$s" "$file" "$c")")"; done
      echo
    done
  done
done
