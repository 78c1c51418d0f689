#!/usr/bin/env bash
# Instructions per request of every case of the router bench, under callgrind (user space,
# only `profile_loop` counted), as BENCHMARKS.md "Instructions per request" reports them.
#
#   scripts/router-instructions.sh [BENCH_BINARY] [REQUESTS] > table.tsv
#
# BENCH_BINARY defaults to the newest target/release/deps/router-*; build it with
# `cargo bench -p sealed-session-benches --bench router --no-run`. REQUESTS defaults to 500.
# Prints `case<TAB>instructions per request`, one line per case. Instruction counts do not
# move with the machine's load, unlike the timings.
set -euo pipefail
bin=${1:-$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/router-* | grep -v '\.d$' | head -1)}
n=${2:-500}
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
libs=${ROUTER_LIBS:-"bare noop_layer sealed_client sealed_client_aes sealed_memory_eager sealed_memory_lazy tower_sessions sealed_tower_sessions private_jar"}
rows="untouched counter_read counter_rw struct_rw struct_read seven_rw seven_read"
for lib in $libs; do
  for row in $rows; do
    { [ "$lib" = bare ] || [ "$lib" = noop_layer ]; } && [ "$row" != untouched ] && continue
    case="$lib/$row"
    ROUTER_PROFILE="$case:$n" valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
      --toggle-collect='*profile_loop*' "$bin" >/dev/null 2>"$out/log" \
      || { cat "$out/log" >&2; exit 1; }
    total=$(callgrind_annotate "$out/cg" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done {gsub(",", "", $1); print $1; done = 1}')
    printf '%s\t%d\n' "$case" $((total / n))
  done
done
