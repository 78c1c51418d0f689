#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 60); fails on the first crash.
# Each run starts from, and adds to, the committed corpus in fuzz/corpus/TARGET; minimize it
# with fuzz/cmin.sh before committing it (`cargo test` replays every file of it through the
# target's body, fuzz/replay.rs). A crash input goes to fuzz/artifacts/TARGET: fix the bug,
# then copy the input into fuzz/corpus/TARGET so the replay keeps testing it.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Usage: fuzz/run.sh [SECONDS] [TARGET...]   (default: every target)
set -euo pipefail

# All in a function that runs once it is read whole: bash reads a script as it goes, so an
# edit to this file during a long run would otherwise change what the run does next.
main() {
  cd "$(dirname "$0")"
  local secs="${1:-60}"
  shift || true
  local targets=("$@")
  [ "${#targets[@]}" -gt 0 ] || targets=(open_cookie open_authenticated open_values cookie_header config)
  local t status
  for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "== fuzzing $t for ${secs}s"
    # -print_final_stats=1: the execution count and coverage that SECURITY.md reports.
    # `set +e` around the pipeline: a crash must reach the report below, not end the script.
    set +e
    cargo +nightly fuzz run "$t" "corpus/$t" -- \
      -max_total_time="$secs" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1 \
      2>&1 | tee "/tmp/fuzz-$t.log" | grep -E "^(#|INFO|stat::|==)" | tail -n 12
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ]; then
      echo "!! $t crashed (exit $status); see fuzz/artifacts/$t and /tmp/fuzz-$t.log" >&2
      exit "$status"
    fi
  done
  echo "all fuzz targets ran ${secs}s without a crash"
}

main "$@"
exit
