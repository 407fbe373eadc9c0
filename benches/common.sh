# Sourced by web.sh and workers.sh (`. benches/common.sh NAME`, from the repository): what both
# need to run servers under wrk.
# - `$work`: a scratch directory (/tmp/tame-NAME.XXXXXX), removed on exit together with the
#   server `$server_pid` if one still runs, holding `root/1k.html` and `root/14k.html`: the same
#   bytes for every server of a run.
# - `$bin`: the release binaries' directory (`cargo metadata` honours CARGO_TARGET_DIR).
# - `free_port`, `wait_port PORT`, `cpu_ticks PID` (user + system, all its threads, in clock
#   ticks), `user_ticks PID` (user only).
work=$(mktemp -d "/tmp/tame-$1.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/root"
head -c 1024 /dev/urandom | base64 -w 76 | head -c 1024 > "$work/root/1k.html"
head -c 14336 /dev/urandom | base64 -w 76 | head -c 14336 > "$work/root/14k.html"

bin=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "$(basename "$0"): nothing listens on port $1" >&2; return 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
user_ticks() { awk '{print $14}' "/proc/$1/stat" 2>/dev/null || echo 0; }
