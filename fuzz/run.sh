#!/usr/bin/env bash
# Builds and runs one libFuzzer target with stable Rust, no cargo-fuzz needed (docs/fuzzing.md).
#   fuzz/run.sh TARGET [SECONDS] [LIBFUZZER_ARGS...]
# TARGET is decode, heartbeat or topology; SECONDS defaults to 120. The corpus grows in
# fuzz/corpus/TARGET (seeded from tests/data/streams-rpc-vectors.json), crashes land in
# fuzz/artifacts/TARGET/. Both are git-ignored.
# To replay one input: fuzz/run.sh TARGET 0 fuzz/artifacts/TARGET/crash-...
set -euo pipefail

target=${1:?usage: fuzz/run.sh TARGET [SECONDS] [LIBFUZZER_ARGS...]}
seconds=${2:-120}
shift $(( $# < 2 ? $# : 2 ))

cd "$(dirname "$0")"
triple=$(rustc -vV | sed -n 's/^host: //p')
corpus=corpus/$target
mkdir -p "$corpus" "artifacts/$target"
python3 seed.py "$target" "$corpus"

# The sanitizer-coverage passes cargo-fuzz would add. An explicit --target keeps RUSTFLAGS
# away from build scripts (libc's fails when instrumented).
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions"
cargo build --release --target "$triple" --bin "$target"

bin=target/$triple/release/$target
if [ "$#" -gt 0 ] && [ -f "$1" ]; then
    # Replay the given inputs only.
    exec "$bin" "$@"
fi
exec "$bin" -max_total_time="$seconds" -artifact_prefix="artifacts/$target/" "$@" "$corpus"
