#!/bin/bash
# The in-memory hot path before and after a storage change, side by side: two release kv-mock
# binaries (BEFORE, AFTER) driven in turn by wrk, PUT then GET of 1 KiB values over 10,000 keys,
# at 1 and 64 connections, ROUNDS rounds of SECS seconds (default 3 x 5 s), alternating which
# binary goes first. Prints req/s per round and the median AFTER/BEFORE ratio per case.
# usage: bash benches/snapshot/hot_path.sh BEFORE AFTER [ROUNDS] [SECS]
set -euo pipefail
BEFORE=$1; AFTER=$2; ROUNDS=${3:-3}; SECS=${4:-5}
D=$(mktemp -d)
trap 'kill $(cat $D/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf $D' EXIT
start() { # name binary
  "$2" --listen 127.0.0.1:0 --no-rate-limit > $D/$1.out 2>/dev/null &
  echo $! > $D/$1.pid
  for _ in $(seq 100); do grep -q '^ready' $D/$1.out 2>/dev/null && break; sleep 0.05; done
  local base acc ns
  base=$(awk '$1=="base_url"{print $2}' $D/$1.out); acc=$(awk '$1=="account_id"{print $2}' $D/$1.out)
  ns=$(awk '$1=="namespace_id"{print $2; exit}' $D/$1.out)
  echo "$base/accounts/$acc/storage/kv/namespaces/$ns/values" > $D/$1.url
}
start before "$BEFORE"; start after "$AFTER"
for op in PUT GET; do cat > $D/$op.lua <<LUA
local n = 0
local body = string.rep("v", 1024)
request = function()
  n = n + 1
  local path = wrk.path .. "/k" .. (n % 10000)
  if "$op" == "PUT" then return wrk.format("PUT", path, nil, body) end
  return wrk.format("GET", path)
end
LUA
done
run() { # name op conns -> req/s
  timeout $((SECS + 15)) wrk -t1 -c$3 -d${SECS}s --timeout 5s -s $D/$2.lua "$(cat $D/$1.url)" 2>/dev/null \
    | awk '/Requests\/sec/{print $2}'
}
declare -A R
for round in $(seq $ROUNDS); do
  order="before after"; [ $((round % 2)) -eq 0 ] && order="after before"
  for op in PUT GET; do for c in 1 64; do for name in $order; do
    R[$name,$op,$c,$round]=$(run $name $op $c)
  done; done; done
done
echo "| op | connections | before req/s (rounds) | after req/s (rounds) | after/before (median of rounds) |"
echo "|---|---:|---|---|---:|"
for op in PUT GET; do for c in 1 64; do
  b=""; a=""; ratios=""
  for round in $(seq $ROUNDS); do
    b="$b ${R[before,$op,$c,$round]}"; a="$a ${R[after,$op,$c,$round]}"
    ratios="$ratios $(awk -v x=${R[after,$op,$c,$round]} -v y=${R[before,$op,$c,$round]} 'BEGIN{printf "%.3f", x/y}')"
  done
  med=$(echo $ratios | tr ' ' '\n' | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
  echo "| $op 1 KiB | $c |$b |$a | $med |"
done; done
