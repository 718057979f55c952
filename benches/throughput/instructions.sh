#!/bin/bash
# Instructions per operation of the throughput bench's clients outside the harness (callgrind, as
# instructions.rs does): starts `BIN serve-mock`, runs `BIN profile CONTENDER OP CONC N ...` under
# callgrind with N and 2N operations, prints (count(2N) - count(N)) / N for put and get.
# usage: bash benches/throughput/instructions.sh BIN N CONTENDER... (CONC=64 for concurrency 64;
# BIN is target/release/deps/throughput-HASH, printed by `cargo bench -p edge-kv --bench throughput --no-run`)
BIN=$1; N=$2; shift 2
D=$(mktemp -d); mkfifo $D/in
"$BIN" serve-mock < $D/in > $D/out &
SRV=$!
exec 4>$D/in
for i in $(seq 50); do [ "$(wc -l < $D/out)" -ge 4 ] && break; sleep 0.2; done
BASE=$(awk '$1=="base_url"{print $2}' $D/out); ACC=$(awk '$1=="account_id"{print $2}' $D/out); NS=$(awk '$1=="namespace_id"{print $2}' $D/out)
for op in put get; do
  for c in "$@"; do
    one=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" profile $c $op ${CONC:-1} $N $BASE $ACC $NS 2>&1 | grep -o "Collected : [0-9]*" | grep -o "[0-9]*$")
    two=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" profile $c $op ${CONC:-1} $((2*N)) $BASE $ACC $NS 2>&1 | grep -o "Collected : [0-9]*" | grep -o "[0-9]*$")
    echo "$op $c $(( (two-one)/N ))"
  done
done
exec 4>&-
wait $SRV
rm -rf $D
