#!/usr/bin/env bash
# Memory and scale of blocked calls: runs benches/src/bin/scale.rs once per variant, each in
# its own process (so each RSS figure is its own), one after another, and prints a markdown
# table: heap bytes per blocked call, RSS with all calls blocked and at its peak (VmHWM), time
# to create them all and to complete them all, and ratios to tame.
#
# Variants: tame (N #[tamed] calls blocked in twait!{}), tokio (N spawn_local tasks on a
# current_thread runtime + LocalSet, blocked on a oneshot), thread (std threads blocked on a
# channel, with std's default 2 MiB stack and with the smallest stack, 16 KiB).
#
# Usage: bash benches/scale.sh [--n 1000000] [--threads 10000] [--rounds 1]
# --n        calls for tame and tokio (default 1000000)
# --threads  threads for the thread variants (default 10000; a million threads would need
#            2 TiB of stack reserve and more than the kernel's thread limit)
# --rounds   runs every variant R times and keeps, per column, the median (default 1)
# Builds with `cargo build --release` (honours CARGO_TARGET_DIR). Needs: cargo, awk, sort.
set -euo pipefail
cd "$(dirname "$0")/.."

n=1000000
threads=10000
rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --n) n=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
    *) echo "scale.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

cargo build --release --quiet -p tame-benches --bin scale
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/scale"

# One line per variant and round: label and the RESULT fields.
results=$(mktemp)
trap 'rm -f "$results"' EXIT
run() { # label, args...
  local label=$1; shift
  for _ in $(seq "$rounds"); do
    echo "scale.sh: $label: scale $*" >&2
    local line
    line=$("$bin" "$@" | grep '^RESULT ')
    echo "label=$label ${line#RESULT }" >>"$results"
  done
}
run tame --which tame --n "$n"
run tokio --which tokio --n "$n"
run "thread (2 MiB stack)" --which thread --n "$threads"
run "thread (16 KiB stack)" --which thread --n "$threads" --stack-kib 16

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo),"\
  "$(uname -sr); medians of $rounds round(s)."
echo
awk -v rounds="$rounds" '
  function med(label, key,    k, i, j, t, a) {
    k = 0
    for (i = 1; i <= cnt[label]; i++) a[++k] = v[label, i, key]
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((k + 1) / 2)]
  }
  {
    label = ""; line = $0
    sub(/^label=/, "", line); split(line, parts, / which=/); label = parts[1]
    if (!(label in cnt)) order[++nl] = label
    c = ++cnt[label]
    m = split("which=" parts[2], kv, " ")
    for (i = 1; i <= m; i++) { split(kv[i], p, "="); v[label, c, p[1]] = p[2] }
  }
  END {
    print "| variant | N | heap per blocked call | one call allocates | its live locals | allocated beyond live locals | RSS with N blocked | peak RSS | RSS per call | create all | complete all |"
    print "|---|---|---|---|---|---|---|---|---|---|---|"
    for (l = 1; l <= nl; l++) {
      L = order[l]; N = med(L, "n")
      heap[L] = med(L, "heap_per_call"); rpc[L] = med(L, "rss_per_call")
      cr[L] = med(L, "create_s") / N * 1e9; co[L] = med(L, "complete_s") / N * 1e9
      allocs = v[L, 1, "allocs"]; one = med(L, "one_call_bytes"); live = med(L, "live_locals")
      gsub(/\+/, " + ", allocs)
      stack = (L ~ /^thread/) ? sprintf(" + %d KiB stack", med(L, "stack") / 1024) : ""
      printf "| %s | %d | %.0f B | %s B%s | %d B | %d B | %.0f MiB | %.0f MiB | %.0f B | %.3f s (%.0f ns/call) | %.3f s (%.0f ns/call) |\n",
        L, N, heap[L], allocs, stack, live, one - live, med(L, "rss_blocked") / 1048576,
        med(L, "hwm") / 1048576, rpc[L],
        med(L, "create_s"), cr[L], med(L, "complete_s"), co[L]
    }
    print ""
    print "Per call, as a ratio to tame (higher is worse than tame):"
    print ""
    print "| variant | heap per call | RSS per call | create per call | complete per call |"
    print "|---|---|---|---|---|"
    for (l = 1; l <= nl; l++) {
      L = order[l]
      printf "| %s | %.2f | %.2f | %.2f | %.2f |\n", L, heap[L] / heap["tame"],
        rpc[L] / rpc["tame"], cr[L] / cr["tame"], co[L] / co["tame"]
    }
  }' "$results"
