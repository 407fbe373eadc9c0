#!/usr/bin/env bash
# DNS comparison: multidns at several windows against adnshost (GNU adns), both resolving the
# same names (A records; every 10th name is NXDOMAIN) from a local unbound with a static zone.
# unbound runs on one core, the client on the other; each run is timed, the median is kept.
#
# Usage: bash benches/dns.sh [--names 10000] [--windows "1 16 64 256"] [--runs 3] [--addr 127.0.0.53]
# Needs: unbound, adnshost, taskset (apt-get install -y unbound adns-tools util-linux), and root:
# adnshost only speaks to port 53. Prints a markdown table: tool, window, seconds, names/s,
# and names/s as a ratio to adnshost.
set -euo pipefail
cd "$(dirname "$0")/.."

names=10000
windows="1 16 64 256"
runs=3
addr=127.0.0.53
while [ $# -gt 0 ]; do
  case "$1" in
    --names) names=$2; shift 2 ;;
    --windows) windows=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --addr) addr=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "dns.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

for prog in unbound adnshost taskset python3; do
  command -v "$prog" >/dev/null || { echo "dns.sh: $prog is not installed" >&2; exit 2; }
done
if python3 -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$addr', 53))" 2>/dev/null; then :; else
  echo "dns.sh: cannot bind $addr:53 (not root, or taken: try --addr 127.0.0.54)" >&2; exit 2
fi

work=$(mktemp -d /tmp/tame-dns.XXXXXX)
unbound_pid=
cleanup() {
  [ -n "$unbound_pid" ] && kill "$unbound_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The zone: h00000.bench.test … with addresses 10.X.Y.Z from the index, every 10th left out.
awk -v n="$names" 'BEGIN { for (i = 0; i < n; i++) { if (i % 10 == 9) continue;
  printf "local-data: \"h%05d.bench.test. 300 IN A 10.%d.%d.%d\"\n", i, int(i/65536)%256, int(i/256)%256, i%256 } }' \
  > "$work/zone.conf"
awk -v n="$names" 'BEGIN { for (i = 0; i < n; i++) printf "h%05d.bench.test\n", i }' > "$work/names.txt"
cat > "$work/unbound.conf" <<EOF
server:
    interface: $addr@53
    port: 53
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$work"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 0
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    num-threads: 1
    module-config: "iterator"
    so-rcvbuf: 4m
    so-sndbuf: 4m
    ratelimit: 0
    ip-ratelimit: 0
    do-not-query-localhost: yes
    local-zone: "bench.test." static
    include: "$work/zone.conf"
remote-control:
    control-enable: no
EOF

# Built once and run directly (not through `cargo run`), so cargo's own start is not timed.
echo "building multidns (release)..." >&2
cargo build --release --quiet --example multidns
multidns=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/multidns

taskset -c 0 unbound -d -c "$work/unbound.conf" 2> "$work/unbound.log" &
unbound_pid=$!
for _ in $(seq 100); do
  "$multidns" --server "$addr:53" --timeout-ms 100 <<<"h00000.bench.test" 2>/dev/null | grep -q 10.0.0.0 && break
  sleep 0.05
done

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Answers as sorted "name address" pairs, to check that every tool found the same ones.
pairs_multidns() { awk -F'\t' '$2 ~ /^[0-9]/ { n = split($2, a, ","); for (i = 1; i <= n; i++) print $1, a[i] }' | sort; }
pairs_adns() { awk '$2 == "A" { print $1, $3 }' | sort; }

expected=$(( names - names / 10 ))
rows=()
time_run() { # tool window command... : runs the command $runs times, records the median time
  local tool=$1 window=$2; shift 2
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$EPOCHREALTIME # bash 5: the wall clock, read without starting a process
    # adnshost exits non-zero when some names fail (the NXDOMAINs): the answers are checked below.
    taskset -c 1 "$@" < "$work/names.txt" > "$work/out" 2> "$work/err" || true
    t1=$EPOCHREALTIME
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')")
    "pairs_$tool" < "$work/out" > "$work/pairs.$tool.$window"
    local got
    got=$(wc -l < "$work/pairs.$tool.$window")
    if [ "$got" -ne "$expected" ]; then
      echo "dns.sh: $tool (window $window) found $got addresses, not $expected" >&2
      tail -2 "$work/err" >&2
      exit 1
    fi
  done
  local secs
  secs=$(printf '%s\n' "${times[@]}" | median)
  rows+=("$tool|$window|$secs")
}

for w in $windows; do
  echo "multidns --window $w ($runs runs)..." >&2
  time_run multidns "$w" "$multidns" --server "$addr:53" --window "$w"
done
echo "adnshost -a -f ($runs runs)..." >&2
time_run adns - adnshost --config "nameserver $addr" -a -ta -f

# Same answers from every run of every tool, or the comparison means nothing.
first=$(ls "$work"/pairs.* | head -1)
for f in "$work"/pairs.*; do
  cmp -s "$first" "$f" || { echo "dns.sh: $(basename "$f") differs from $(basename "$first")" >&2; exit 1; }
done

adns_secs=${rows[-1]##*|}
echo
echo "$names names ($expected with an address, $(( names / 10 )) NXDOMAIN), median of $runs runs"
echo
echo "| tool | window | seconds | names/s | vs adnshost |"
echo "|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r tool w secs <<<"$row"
  [ "$tool" = adns ] && tool=adnshost
  python3 -c "
n, s, a = $names, $secs, $adns_secs
print(f'| $tool | $w | {s:.3f} | {n / s:,.0f} | {a / s:.2f} |')"
done
