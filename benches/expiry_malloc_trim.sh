#!/usr/bin/env bash
# Diagnostic for item 6 of BENCHMARKS.md: is the resident memory kept after 1M keys expire held
# by kv-mock, or by the system allocator? Runs the memory bench's `expiry` role (fill, expire),
# then asks glibc to hand its free pages back (malloc_trim(0), called through gdb) and prints the
# resident memory before and after. Needs gdb and ptrace permission (root, or ptrace_scope 0).
#
#   bash benches/expiry_malloc_trim.sh [KEYS]
set -euo pipefail
keys="${1:-1000000}"
cd "$(dirname "$0")/.."
bin=$(cargo bench -p edge-kv --bench memory --no-run 2>&1 \
    | sed -n 's/.*Executable benches\/memory\/main.rs (\(.*\))/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not build the memory bench" >&2; exit 1; }
coproc EXPIRY { exec "$bin" expiry "$keys"; }
pid=$EXPIRY_PID
while read -r -u "${EXPIRY[0]}" line; do
    case "$line" in
        ready) break ;;
        *_rss\ *|*_heap\ *) echo "$line" ;;
    esac
done
echo "resident now:                  $(grep VmRSS "/proc/$pid/status")"
gdb -p "$pid" -batch -ex 'call (int) malloc_trim(0)' >/dev/null 2>&1 \
    || { echo "gdb could not attach" >&2; exit 1; }
echo "resident after malloc_trim(0): $(grep VmRSS "/proc/$pid/status")"
exec {EXPIRY[1]}>&-
wait "$pid"
