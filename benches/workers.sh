#!/usr/bin/env bash
# knot --workers 1 against --workers 2 (or any two counts), side by side in one run, on the
# same cores: the server and wrk both run on every core listed by --cpus (taskset), so the
# client takes its share of them too, as it does when both run on one small machine. The two
# counts take turns (a fresh server each time, the order alternating by round), and each cell
# keeps the median of --rounds runs and the median of the per-round ratios (B ÷ A), which is
# steadier than the ratio of medians while the background load drifts.
#
# Usage: bash benches/workers.sh [--duration SECONDS] [--conns "100 1000"] [--rounds N]
#                                [--workers "1 2"] [--cpus 0,1] [--threads N]
# --threads: wrk's threads (default: one per core in --cpus). Needs: wrk, curl, taskset,
# python3, /usr/bin/time. Prints a markdown table: for each file, connection count and worker
# count, the median req/s, p99, the server's CPU µs per request, wrk's CPU µs per request,
# the ratio of req/s to the first count's (median of the paired ratios), and errors.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=5
conns="100 1000"
rounds=3
workers="1 2"
cpus=0,1
threads=
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
    *) echo "workers.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
read -r -a counts <<<"$workers"
[ "${#counts[@]}" -eq 2 ] || { echo "workers.sh: --workers takes two counts, as \"1 2\"" >&2; exit 2; }
ncpus=$(tr ',' '\n' <<<"$cpus" | wc -l)
threads=${threads:-$ncpus}
for prog in wrk taskset curl python3 /usr/bin/time; do
  command -v "$prog" >/dev/null || { echo "workers.sh: $prog is not installed" >&2; exit 2; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# The scratch directory and its two files, `$bin`, free_port, wait_port, cpu_ticks.
. benches/common.sh workers # (the working directory is the repository, see above)

echo "building knot (release)..." >&2
cargo build --release --quiet --example knot

hz=$(getconf CLK_TCK)

declare -A RPS P99 CPU WRK ERRS
for round in $(seq "$rounds"); do
  for file in 1k.html 14k.html; do
    for c in $conns; do
      for i in 0 1; do
        w=${counts[$(( (i + round - 1) % 2 ))]}
        port=$(free_port)
        taskset -c "$cpus" "$bin/examples/knot" --root "$work/root" --addr "127.0.0.1:$port" \
          --max-conns 20000 --workers "$w" 2>/dev/null &
        server_pid=$!
        wait_port "$port"
        curl -s "http://127.0.0.1:$port/$file" | cmp -s - "$work/root/$file" \
          || { echo "workers.sh: knot serves different bytes" >&2; exit 1; }
        echo "wrk: round $round, $file c=$c --workers $w ${duration}s..." >&2
        t0=$(cpu_ticks "$server_pid")
        out=$(taskset -c "$cpus" /usr/bin/time -f 'wrk-cpu %U %S' \
          wrk -t"$threads" -c"$c" -d"${duration}s" --latency "http://127.0.0.1:$port/$file" 2>&1)
        t1=$(cpu_ticks "$server_pid")
        kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
        server_pid=
        key=$w,$file,$c,$round
        RPS[$key]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        P99[$key]=$(awk '$1=="99%" {print $2}' <<<"$out")
        n=$(awk '/requests in/ {print $1}' <<<"$out")
        CPU[$key]=$(python3 -c "n=int('${n:-0}' or 0); print(f'{($t1-$t0)*1e6/$hz/n:.1f}' if n else '-')")
        WRK[$key]=$(awk -v n="${n:-0}" '/^wrk-cpu/ {if (n > 0) printf "%.1f", ($2 + $3) * 1e6 / n; else print "-"}' <<<"$out")
        errs=$(sed -n -e 's/.*Socket errors: //p' -e 's/.*Non-2xx or 3xx responses: \(.*\)/non-2xx \1/p' <<<"$out" | tr '\n' ' ')
        ERRS[$key]=${errs:-none}
      done
    done
  done
done

a=${counts[0]}
echo
echo "cores: $cpus (server and wrk -t$threads on all of them); ${duration}s per run, median of $rounds rounds"
echo
echo "| file | conns | --workers | req/s | p99 | server CPU µs/req | wrk CPU µs/req | req/s ÷ --workers $a | errors |"
echo "|---|---|---|---|---|---|---|---|---|"
for file in 1k.html 14k.html; do
  for c in $conns; do
    for w in "${counts[@]}"; do
      rps="" p99="" cpu="" wrkc="" ratios="" errs=""
      for round in $(seq "$rounds"); do
        rps="$rps ${RPS[$w,$file,$c,$round]:-0}"
        cpu="$cpu ${CPU[$w,$file,$c,$round]}"
        wrkc="$wrkc ${WRK[$w,$file,$c,$round]}"
        p99="$p99 ${P99[$w,$file,$c,$round]}"
        ratios="$ratios ${RPS[$w,$file,$c,$round]:-0}/${RPS[$a,$file,$c,$round]:-0}"
        [ "${ERRS[$w,$file,$c,$round]}" = none ] || errs="$errs ${ERRS[$w,$file,$c,$round]}"
      done
      python3 - "$file" "$c" "$w" "$rps" "$p99" "$cpu" "$wrkc" "$ratios" "${errs:-none}" <<'EOF'
import statistics, sys
file, c, w, rps, p99, cpu, wrk, ratios, errs = sys.argv[1:]
num = lambda s: [float(x) for x in s.split() if x not in ("-", "")]
def med(s):
    v = num(s)
    return statistics.median(v) if v else float("nan")
def lat(s):
    # wrk prints 1.23ms, 456.00us, 1.20s: the median in its own unit, as printed.
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    vals = []
    for x in s.split():
        for u in ("us", "ms", "s"):
            if x.endswith(u):
                vals.append((float(x[: -len(u)]) * unit[u], x))
                break
    vals.sort()
    return vals[(len(vals) - 1) // 2][1] if vals else "-"
def ratio(x):
    b, a = (float(v) for v in x.split("/"))
    return b / a if a else float("nan")
r = [ratio(x) for x in ratios.split()]
print(f"| {file[:-5]} | {c} | {w} | {med(rps):.0f} | {lat(p99)} | {med(cpu):.1f} | {med(wrk):.1f} | "
      f"{statistics.median(r):.2f} | {errs.strip()} |")
EOF
    done
  done
done
