#!/usr/bin/env bash
# Minimizes each target's corpus in place (`cargo fuzz cmin`: keeps the smallest inputs that
# together reach every edge the corpus reaches), so the committed corpus stays small.
# `cargo test` replays every file of fuzz/corpus/TARGET through the target's body
# (fuzz/replay.rs). Run after fuzz/run.sh, then commit fuzz/corpus.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Usage: fuzz/cmin.sh [TARGET...]   (default: every target)
set -euo pipefail

# In a function, read whole before it runs (see fuzz/run.sh).
main() {
  cd "$(dirname "$0")"
  targets=("$@")
  [ "${#targets[@]}" -gt 0 ] || targets=(open_cookie open_authenticated open_values cookie_header config)
  for t in "${targets[@]}"; do
    before=$(find "corpus/$t" -type f | wc -l)
    cargo +nightly fuzz cmin "$t" "corpus/$t" -- -max_len=8192 -rss_limit_mb=2048 \
      >"/tmp/fuzz-cmin-$t.log" 2>&1 || { tail -n 20 "/tmp/fuzz-cmin-$t.log" >&2; exit 1; }
    after=$(find "corpus/$t" -type f | wc -l)
    echo "$t: $before -> $after files, $(du -sb "corpus/$t" | cut -f1) bytes"
  done
}

main "$@"
exit
