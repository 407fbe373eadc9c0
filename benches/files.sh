# Sourced by web.sh and workers.sh (`. benches/files.sh NAME`): a scratch directory `$work`
# (/tmp/tame-NAME.XXXXXX), removed on exit together with the server `$server_pid` if one still
# runs, holding `root/1k.html` and `root/14k.html`: the same bytes for every server of a run.
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
