#!/usr/bin/env bash
# Mutation testing of the security-critical code (issue 12): cargo-mutants over the wire
# format (src/codec/), the keys (src/keys/), the sealer (src/seal.rs), cookie parsing and
# writing (src/cookies/) and the session data (src/data/). Every viable mutant there should
# be caught by a test, or be listed as equivalent in SECURITY.md ("Mutation testing").
#
# NOT RUN IN CI: it is too long. 605 mutants, each a build and a test run: ~13 s on an idle
# 2-core machine, 25-45 s beside other builds, so 2.5-7 hours for everything, one job at a
# time. Run it by hand after changing these files, one file at a time if need be:
#
#     cargo install cargo-mutants          # once (v27)
#     scripts/mutants.sh                   # every file above (hours)
#     scripts/mutants.sh --file src/seal.rs          # one file (seal.rs: 70 mutants, 15-30 min)
#     scripts/mutants.sh --file src/seal.rs --list   # just list the mutants
#
# Any argument is passed on to `cargo mutants`; a `--file` of yours replaces the default set.
# Results go to mutants.out/ under MUTANTS_OUT (default: the target directory):
# caught.txt, missed.txt, unviable.txt, timeout.txt, outcomes.json. The mutants are built in
# MUTANTS_TARGET_DIR (default: mutants-build/ in the target directory), never in the work
# tree's own target directory (see below).
#
# The tests run for each mutant are a selection that covers these files and takes ~10 s: the
# unit tests and the integration tests of the codec, tampering, bounds, expiry, keys, values,
# decoders, reload, server-mode records and the middleware (which drives cookies/ end to end).
set -euo pipefail
cd "$(dirname "$0")/.."

files=(
  --file 'src/codec/**'
  --file 'src/keys/**'
  --file src/seal.rs
  --file 'src/cookies/**'
  --file 'src/data/**'
)
for arg in "$@"; do
  case "$arg" in
    -f | --file | --file=*) files=() ;;
  esac
done

target_root="${CARGO_TARGET_DIR:-$PWD/target}"
out="${MUTANTS_OUT:-$target_root}"
mkdir -p "$out"
# cargo-mutants builds a copy of the tree. Sharing the work tree's target directory with it
# is unsafe: the copy's crates get the same hashes, so the work tree's next `cargo test` can
# reuse the last mutant's binaries (they are newer than the sources) and fail, or pass, for
# the wrong reason. The mutants get their own directory (dependencies built once, then kept).
export CARGO_TARGET_DIR="${MUTANTS_TARGET_DIR:-$target_root/mutants-build}"

# The test targets are given with --cargo-arg so that the build of each mutant compiles only
# them (after `--` they would reach `cargo test` only, and every mutant would build all
# twenty-odd test targets first).
selection=()
for target in --lib \
  tamper codec_props codec_vectors bounds expiry key_rotation values decoder_props \
  reload record_sealing middleware; do
  if [ "$target" = --lib ]; then
    selection+=(--cargo-arg=--lib)
  else
    selection+=(--cargo-arg=--test "--cargo-arg=$target")
  fi
done

# --jobs 1: one build at a time (two cores). --timeout: the selection runs in ~10 s, so a
# mutant still running after 90 s is an infinite loop (reported as a timeout, not caught).
exec cargo mutants \
  --jobs 1 \
  --timeout 90 \
  --build-timeout 900 \
  --output "$out" \
  "${selection[@]}" \
  "${files[@]}" \
  "$@"
