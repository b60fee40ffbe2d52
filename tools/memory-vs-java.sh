#!/usr/bin/env bash
# Memory per member and per group in steady state, ours beside Kafka's Java coordinator on the
# same groups (issue 14 item 2; docs/benchmarks.md, "## Memory"). For each case it runs
# `cargo bench --bench memory -- steady` (bytes of live allocations, counting global allocator)
# and tools/memory-java's harness (Kafka's GroupMetadataManager, live bytes of a class histogram
# after a full GC), one after the other.
#
# usage: tools/memory-vs-java.sh JAVA_BUILD_DIR [GROUPSxMEMBERSxTASKS ...]
#   JAVA_BUILD_DIR  the OUT_DIR given to tools/memory-java/build.sh
#   cases           default: 1x1000x10000 10000x10x100 (tasks per group)
# env: JAVA_OPTS (default "-Xms2g -Xmx2g": compressed oops, as any heap under 32 GB), JAVA.
# stdout: CASE ours_bytes_per_member java_bytes_per_member ours/java, then both tools' lines.
set -euo pipefail
if [ $# -lt 1 ]; then echo "usage: $0 JAVA_BUILD_DIR [GROUPSxMEMBERSxTASKS ...]" >&2; exit 2; fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" && pwd); shift
[ -f "$BUILD/classpath" ] || { echo "$0: $BUILD/classpath missing; run tools/memory-java/build.sh" >&2; exit 1; }
JAVA=${JAVA:-java}
JAVA_OPTS=${JAVA_OPTS:--Xms2g -Xmx2g}
CP=$BUILD/classes:$(cat "$BUILD/classpath")
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(1x1000x10000 10000x10x100)

cd "$ROOT"
cargo bench --bench memory --no-run >/dev/null 2>&1
details=()
for c in "${cases[@]}"; do
  IFS=x read -r groups members tasks <<<"$c"
  ours=$(MEMORY_STEADY_CASES=$c cargo bench --bench memory -- steady 2>/dev/null | grep 'built by heartbeats')
  # shellcheck disable=SC2086
  java=$("$JAVA" $JAVA_OPTS -cp "$CP" org.apache.kafka.coordinator.group.MemoryHarness "$groups" "$members" "$tasks")
  ours_pm=$(sed -E 's/.* per group, ([0-9]+) per member.*/\1/' <<<"$ours")
  java_pm=$(head -1 <<<"$java" | sed -E 's/.* per group, ([0-9]+) per member.*/\1/')
  ratio=$(awk -v o="$ours_pm" -v j="$java_pm" 'BEGIN { printf "%.2f", o / j }')
  echo "$c $ours_pm $java_pm $ratio"
  details+=("$ours" "$java")
done
printf '%s\n' "${details[@]}"
