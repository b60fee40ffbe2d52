#!/usr/bin/env bash
# Times Kafka's Java StickyTaskAssignor and our `sticky` assignor on the same
# cases of the benchmark grid, one case after the other (Java, then ours), so
# both see the same machine load. Used for the side-by-side tables of
# docs/benchmarks.md.
#
# usage: tools/assignor-vs-java.sh JAVA_BUILD_DIR CASE... | all
#   JAVA_BUILD_DIR  the OUT_DIR given to ../shared/oracle/assignor-bench/build.sh
#   CASE            e.g. full/m100_p10_s10_sb0_pp1_none (with or without "assign/")
# env: ORACLE (default ../shared/oracle beside the project), WARMUP_S / MEASURE_S
#      for the Java harness (its defaults: 5 s / 8 s), ASSIGNOR_BENCH_CLOCK for ours,
#      OURS_BIN: a built assignor bench binary to run instead of `cargo bench`
#      (e.g. a copy kept from before a change, so the sources can change meanwhile),
#      BEFORE_BIN: a second bench binary (say, the build before a change), timed
#      right after ours and printed as two more columns.
# stdout: CASE java_median_ms ours_ms java/ours [before_ms java/before]
#      (ours: criterion's middle estimate)
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 JAVA_BUILD_DIR CASE... | all" >&2; exit 2; fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ORACLE=${ORACLE:-$ROOT/../shared/oracle}
RUN=$ORACLE/assignor-bench/run.sh
BUILD=$1; shift
[ -x "$RUN" ] || { echo "$0: $RUN not found (set ORACLE)" >&2; exit 1; }

cases=()
for a in "$@"; do
  if [ "$a" = all ]; then
    JARS=$(cat "$BUILD/classpath")
    # shellcheck disable=SC2207
    cases+=($(java -cp "$BUILD/classes${JARS:+:$JARS}" oracle.assignorbench.AssignorBench --list))
  else
    cases+=("assign/${a#assign/}")
  fi
done

# criterion: "time:   [low mid high]" with a unit per figure; prints mid in ms.
middle_ms() {
  awk '/time:/ { v = $4; u = $5;
    f = (u == "ns") ? 1e-6 : (u == "µs" || u == "us") ? 1e-3 : (u == "ms") ? 1 : 1e3;
    printf "%.5f", v * f; exit }'
}
ratio() { awk -v j="$1" -v o="$2" 'BEGIN { if (o > 0) printf "%.1f", j / o; else print "-" }'; }

cd "$ROOT"
if [ -n "${OURS_BIN:-}" ]; then
  ours() { "$OURS_BIN" --bench "$1"; }
else
  cargo bench --bench assignor --no-run >/dev/null 2>&1
  ours() { cargo bench --bench assignor -- "$1"; }
fi
for c in "${cases[@]}"; do
  java_ms=$("$RUN" "$BUILD" "$c" 2>/dev/null | awk '{print $2}')
  ours_ms=$(ours "$c\$" 2>/dev/null | middle_ms)
  line="$c $java_ms $ours_ms $(ratio "$java_ms" "$ours_ms")"
  if [ -n "${BEFORE_BIN:-}" ]; then
    before_ms=$("$BEFORE_BIN" --bench "$c\$" 2>/dev/null | middle_ms)
    line="$line $before_ms $(ratio "$java_ms" "$before_ms")"
  fi
  echo "$line"
done
