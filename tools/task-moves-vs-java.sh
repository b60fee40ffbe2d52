#!/usr/bin/env bash
# Counts the tasks Kafka's Java StickyTaskAssignor and our `sticky` assignor
# move on the same scale-out, scale-in and crash inputs (issue 14 item 7), and
# prints them side by side for docs/benchmarks.md ("Task movement").
#
# The Java side is our own harness, tools/task-moves/TaskMoves.java, compiled
# here against the Kafka classes that ../shared/oracle/assignor-bench/build.sh
# put into JAVA_BUILD_DIR; ours is examples/task_moves.rs. Both build the same
# groups (read the example's header) and print one line per case with a digest
# of the target before and after, so equal digests show equal inputs and
# outputs.
#
# usage: tools/task-moves-vs-java.sh JAVA_BUILD_DIR [MEMBERS [STANDBYS]]
#   JAVA_BUILD_DIR  the OUT_DIR given to ../shared/oracle/assignor-bench/build.sh
# stdout: three markdown tables: each side from its own first assignment, then
#   both from Kafka's, then both from ours (the same input for both sides).
set -euo pipefail
if [ $# -lt 1 ]; then echo "usage: $0 JAVA_BUILD_DIR [MEMBERS [STANDBYS]]" >&2; exit 2; fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" && pwd); shift
[ -f "$BUILD/classpath" ] || { echo "$0: $BUILD/classpath missing; run ../shared/oracle/assignor-bench/build.sh first" >&2; exit 1; }
JARS=$(cat "$BUILD/classpath")
CP=$BUILD/classes${JARS:+:$JARS}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

javac -nowarn -encoding UTF-8 --release 17 -cp "$CP" -d "$OUT/classes" "$ROOT/tools/task-moves/TaskMoves.java"
(cd "$ROOT" && cargo build --quiet --release --example task_moves)
java_run() { java -cp "$OUT/classes:$CP" taskmoves.TaskMoves "$@"; }
ours_run() { "$ROOT/target/release/examples/task_moves" "$@"; }
mkdir -p "$OUT/java-old" "$OUT/ours-old"
# Each side from its own first assignment (what a user of each has), saving it...
TASK_MOVES_SAVE=$OUT/java-old java_run "$@" > "$OUT/java.txt"
TASK_MOVES_SAVE=$OUT/ours-old ours_run "$@" > "$OUT/ours.txt"
# ...then each side from the other's: the same input for both.
TASK_MOVES_FROM=$OUT/java-old ours_run "$@" > "$OUT/ours-from-java.txt"
TASK_MOVES_FROM=$OUT/ours-old java_run "$@" > "$OUT/java-from-ours.txt"

python3 - "$OUT" <<'PY'
import sys

def read(name):
    rows = {}
    for line in open(f"{sys.argv[1]}/{name}.txt"):
        f = line.split()
        rows[tuple(f[:3])] = dict(kv.split("=") for kv in f[3:])
    return rows

def table(title, ours, java):
    print(f"{title}\n")
    print("| members | standbys | event | active moved: ours / Kafka (min) | of them to a standby: ours / Kafka "
          "| standbys moved: ours / Kafka (min) | of them cold: ours / Kafka | same new target |")
    print("|---:|---:|---|---:|---:|---:|---:|---|")
    for key, o in ours.items():
        j = java[key]
        assert o["old"] == j["old"], f"{key}: the two sides started from different targets"
        same = "yes" if o["new"] == j["new"] else "no"
        print(f"| {key[0]} | {key[1]} | {key[2]} "
              f"| {o['active_moved']} / {j['active_moved']} ({o['min_active']}) "
              f"| {o['active_warm']} / {j['active_warm']} "
              f"| {o['standby_moved']} / {j['standby_moved']} ({o['min_standby']}) "
              f"| {o['standby_cold']} / {j['standby_cold']} | {same} |")
    print()

def own(ours, java):
    print("Each from its own first assignment\n")
    print("| members | standbys | event | active moved: ours / Kafka (min) | of them to a standby: ours / Kafka "
          "| standbys moved: ours / Kafka (min) | of them cold: ours / Kafka | same first target |")
    print("|---:|---:|---|---:|---:|---:|---:|---|")
    for key, o in ours.items():
        j = java[key]
        same = "yes" if o["old"] == j["old"] else "no"
        print(f"| {key[0]} | {key[1]} | {key[2]} "
              f"| {o['active_moved']} / {j['active_moved']} ({o['min_active']}) "
              f"| {o['active_warm']} / {j['active_warm']} "
              f"| {o['standby_moved']} / {j['standby_moved']} ({o['min_standby']}) "
              f"| {o['standby_cold']} / {j['standby_cold']} | {same} |")
    print()

own(read("ours"), read("java"))
table("Both from Kafka's first assignment", read("ours-from-java"), read("java"))
table("Both from our first assignment", read("ours"), read("java-from-ours"))
PY
