#!/usr/bin/env bash
# Compiles tools/memory-java (the retained-heap harness of Kafka's streams-group coordinator)
# against a build of ../shared/oracle, pulling in from the Kafka source tree only the classes
# it reaches (as the oracle's own build does). Nothing from Kafka is stored in this project.
#
# usage: tools/memory-java/build.sh KAFKA_SRC_DIR ORACLE_BUILD_DIR OUT_DIR
#   KAFKA_SRC_DIR     a Kafka source tree at 06d492d813 (the one the oracle was built from)
#   ORACLE_BUILD_DIR  the OUT_DIR given to ../shared/oracle/build.sh (generated message classes,
#                     hash4j, pcollections, opentelemetry-proto)
#   OUT_DIR           where the classes go (OUT_DIR/classes) and the run-time class path
#                     (OUT_DIR/classpath)
# Needs javac 17 and the Debian jars ../shared/oracle/build.sh installs.
set -euo pipefail
if [ $# -ne 3 ]; then echo "usage: $0 KAFKA_SRC_DIR ORACLE_BUILD_DIR OUT_DIR" >&2; exit 2; fi
K=$(cd "$1" && pwd)
O=$(cd "$2" && pwd)
mkdir -p "$3"; OUT=$(cd "$3" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ORACLE=${ORACLE:-$HERE/../../../shared/oracle}
[ -d "$O/generated" ] || { echo "$0: $O/generated missing: build ../shared/oracle first" >&2; exit 1; }
[ -d "$ORACLE/stubs" ] || { echo "$0: $ORACLE/stubs not found (set ORACLE)" >&2; exit 1; }

J=/usr/share/java
DEPS=$J/jackson-databind.jar:$J/jackson-core.jar:$J/jackson-annotations.jar:$J/slf4j-api.jar:$J/lz4-java.jar
DEPS=$DEPS:$J/zstd-jni.jar:$J/snappy-java.jar:$J/protobuf.jar:$J/hdrhistogram.jar:$J/caffeine.jar:$J/re2j.jar
DEPS=$DEPS:$J/joptsimple.jar:$J/commons-net.jar
LIBS=$O/hash4j-classes:$O/pcoll-classes:$O/otel-classes

# The oracle's source path: Kafka's trees, its generated classes, test fixtures, the oracle's stubs.
SP=$K/clients/src/main/java:$K/server-common/src/main/java:$K/coordinator-common/src/main/java
SP=$SP:$K/group-coordinator/src/main/java:$K/group-coordinator/group-coordinator-api/src/main/java
SP=$SP:$K/metadata/src/main/java:$K/raft/src/main/java:$K/storage/src/main/java:$K/storage/api/src/main/java
SP=$SP:$O/generated:$K/clients/src/testFixtures/java:$K/server-common/src/testFixtures/java
SP=$SP:$K/coordinator-common/src/testFixtures/java:$ORACLE/stubs

rm -rf "$OUT/classes"; mkdir -p "$OUT/classes"
javac -nowarn -encoding UTF-8 -proc:none -implicit:class -Xmaxerrs 100 -d "$OUT/classes" \
  -cp "$DEPS:$LIBS" -sourcepath "$SP" \
  "$HERE/src/org/apache/kafka/coordinator/group/MemoryHarness.java"
echo "$LIBS:$DEPS:$J/slf4j-nop.jar" > "$OUT/classpath"
git -C "$K" rev-parse HEAD > "$OUT/kafka-commit" 2>/dev/null || true
echo "built $OUT/classes"
