#!/usr/bin/env bash
# Warm-up tasks with the real Kafka Streams client: how long a moved stateful task stops processing.
#
#   bash tests/e2e/warmup-pause.sh            # from the repository root; ~8 min (6 runs, docs/benchmarks.md)
#   RUNS=1 RECORDS=40000 APP_XMX=1g bash tests/e2e/warmup-pause.sh   # the quick check .ci/run runs (~2 min)
#
# A Streams app (tests/e2e/apps/WarmupStore.java, in-memory store "big", no cache) runs alone with a
# large store on the 4 tasks of wu-input (RECORDS values of VALUE_BYTES bytes, changelogged), under a
# steady input of RATE records/s. A second instance joins; the sticky assignor moves 2 tasks to it.
# With warm-ups (broker group.streams.num.warmup.replicas=2, the default) the new instance first holds
# the 2 tasks as warm-ups and gets the actives once it has caught up; with 0 (Kafka's behaviour) the
# actives move at once and the new instance restores them from the changelog before processing.
# The pause of a moved task: the time between the last record the old instance processed for that
# input partition and the first the new one processed (from the processing times the app writes to
# wu-output). Each run uses a fresh broker.
# Checks (exit 1 if any fails): with warm-ups, the new instance's client log shows it holding warm-up
# tasks before any active task moves to it, and those tasks become its actives; without, it holds
# none; every run hands over 2 tasks; no instance enters ERROR. Prints the pauses per run and, per
# setting, the median and range over all moved tasks of all runs.
# Needs Java 17 and ../shared/realclient beside the repository (as tests/e2e/kafka-streams.sh).
# Env (defaults):
#   RUNS=3 runs per setting; WARMUPS="2 0" the settings, in run order (alternated per run)
#   RECORDS=250000 VALUE_BYTES=4096 the store (total RECORDS x VALUE_BYTES: 1 GB, a quarter per task)
#   RATE=200 steady records/s (all partitions); AFTER_S=12 s of traffic once app2 processes records
#   APP_XMX=3g the largest JVM heap of each app instance (the example broker keeps the changelog in memory too)
#   LOG_DIR (default: a new temporary directory, printed); REALCLIENT_SKIP_BUILD=1 skips build.sh
set -uo pipefail
case "${1:-}" in -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0;; esac
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=$ROOT/../shared/realclient
[ -x "$SHARED/build.sh" ] || { echo "warmup-pause: needs ../shared/realclient beside the repository"; exit 2; }
RUNS=${RUNS:-3} WARMUPS=${WARMUPS:-"2 0"} RECORDS=${RECORDS:-250000} VALUE_BYTES=${VALUE_BYTES:-4096}
RATE=${RATE:-200} AFTER_S=${AFTER_S:-12} APP_XMX=${APP_XMX:-3g}
LOGS=${LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/warmup-pause.XXXXXX")}
mkdir -p "$LOGS"; LOGS=$(cd "$LOGS" && pwd)
echo "warmup-pause: logs in $LOGS"
T0=$SECONDS
pass=0; fail=0; PIDS=(); BROKER=
check() { if eval "$2"; then echo "ok   $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi; }
note() { echo "     $*"; }
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  [ -n "$BROKER" ] && kill -9 "$BROKER" 2>/dev/null
}
trap cleanup EXIT
trap 'echo "warmup-pause: interrupted"; exit 130' INT TERM

# ---- builds ----------------------------------------------------------------------------------------------------
export REALCLIENT_OUT=${REALCLIENT_OUT:-$ROOT/target/realclient}
if [ "${REALCLIENT_SKIP_BUILD:-0}" != 1 ]; then
  echo "== building the Kafka Streams client (../shared/realclient/build.sh)"
  "$SHARED/build.sh" "$REALCLIENT_OUT" > "$LOGS/realclient-build.log" 2>&1 \
    || { tail -20 "$LOGS/realclient-build.log"; echo "FAIL the real client builds"; exit 1; }
fi
echo "== building the example broker and the app"
cargo build --release --features kafka-protocol --example broker > "$LOGS/broker-build.log" 2>&1 \
  || { tail -20 "$LOGS/broker-build.log"; echo "FAIL the broker builds"; exit 1; }
BROKER_BIN=$ROOT/target/release/examples/broker
JAVA=$(cat "$REALCLIENT_OUT/java")
CLASSES=$ROOT/target/warmup-e2e/classes
mkdir -p "$CLASSES"
"$(dirname "$JAVA")/javac" -nowarn -d "$CLASSES" -cp "$(cat "$REALCLIENT_OUT/classpath")" tests/e2e/apps/WarmupStore.java \
  > "$LOGS/javac.log" 2>&1 || { cat "$LOGS/javac.log"; echo "FAIL the app compiles"; exit 1; }
# "${RUN[@]}" MODE ARGS...: the app on the client's classpath. run-class execs java, so $! of a
# background run is the JVM itself (what cleanup and stop_pid kill). Modest heaps: 2 shared cores.
export EXTRA_CP=$CLASSES
RUN=("$REALCLIENT_OUT/bin/run-class" e2e.WarmupStore)
small_jvm="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m"
app_jvm="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx$APP_XMX"

# ---- helpers ---------------------------------------------------------------------------------------------------
wait_for() { local end=$((SECONDS + $3)); until grep -qE "$2" "$1" 2>/dev/null; do [ $SECONDS -ge $end ] && return 1; sleep 0.3; done; }
# wait_progress FILE FIELD MIN TIMEOUT_S: true once the app's last "PROGRESS load=N steady=N" line has FIELD >= MIN
wait_progress() {
  local end=$((SECONDS + $4))
  until grep -oE "PROGRESS load=[0-9]+ steady=[0-9]+" "$1" 2>/dev/null | tail -1 | grep -oE "$2=[0-9]+" | awk -F= -v m="$3" '{exit !($2 >= m)}'; do
    [ $SECONDS -ge $end ] && return 1; sleep 0.3
  done
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { local p; for _ in $(seq 1 100); do p=$((20000 + RANDOM % 40000)); port_free $p && { echo $p; return 0; }; done; return 1; }
# the task sets of "Assigning active tasks {A}, standby tasks {S}, and warm-up tasks {W}" lines: "A|S|W" per line
assignments() { grep -oE 'Assigning active tasks \{[^}]*\}, standby tasks \{[^}]*\}, and warm-up tasks \{[^}]*\}' "$1" 2>/dev/null \
  | sed -E 's/Assigning active tasks \{([^}]*)\}, standby tasks \{([^}]*)\}, and warm-up tasks \{([^}]*)\}/\1|\2|\3/; s/ //g'; }
stop_pid() { kill -TERM "$1" 2>/dev/null; local end=$((SECONDS + 15)); while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.3; done; kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# ms of the day of an HH:MM:SS.mmm[nnn] time; the first such time of the first line matching ERE in FILE: at FILE ERE
ms_of() { awk -F'[:.]' '{printf "%d\n", (($1 * 60 + $2) * 60 + $3) * 1000 + substr($4 "000", 1, 3)}'; }
at() { grep -m1 -E "$2" "$1" 2>/dev/null | grep -oE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+' | ms_of; }
# seconds from $1 to $2 (ms of the day), two decimals; "-" if either is missing
since() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b - a) / 1000}' || echo -; }
median() { sort -n | awk '{v[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
TIMINGS=(group.streams.min.heartbeat.interval.ms=100 group.streams.heartbeat.interval.ms=1000
         group.streams.min.session.timeout.ms=1000 group.streams.session.timeout.ms=10000
         group.streams.initial.rebalance.delay.ms=1000)

# ---- one run ---------------------------------------------------------------------------------------------------
# run_once WARMUPS RUN: appends "WARMUPS PAUSE_MS" lines to $LOGS/pauses and a line to $LOGS/runs
run_once() {
  local w=$1 i=$2 L=$LOGS/w$1-run$2 port bs args c
  mkdir -p "$L"
  port=$(free_port) || { check "w=$w run $i: a free port" false; return; }
  bs=127.0.0.1:$port
  args=(--port "$port"); for c in "${TIMINGS[@]}" "group.streams.num.warmup.replicas=$w"; do args+=(--config "$c"); done
  "$BROKER_BIN" "${args[@]}" wu-input:4 wu-output:4 > "$L/broker.out" 2> "$L/broker.err" < /dev/null &
  BROKER=$!
  wait_for "$L/broker.out" '^listening on' 30 || { check "w=$w run $i: the broker starts" false; kill -9 "$BROKER"; wait "$BROKER" 2>/dev/null; BROKER=; return; }
  local t=$SECONDS
  JAVA_OPTS=$small_jvm "${RUN[@]}" load "$bs" "$RECORDS" "$VALUE_BYTES" > "$L/load.log" 2>&1
  JAVA_OPTS="$app_jvm -Xlog:gc:file=$L/app1-gc.log" "${RUN[@]}" app "$bs" "$L/state-1" app1 > "$L/app1.out" 2> "$L/app1.err" & local a1=$!; PIDS+=("$a1")
  if ! wait_progress "$L/app1.out" load "$RECORDS" 300; then
    check "w=$w run $i: app1 loads its store ($RECORDS records)" false; stop_pid "$a1"; kill -9 "$BROKER"; wait "$BROKER" 2>/dev/null; BROKER=; return
  fi
  local load_s=$((SECONDS - t))
  JAVA_OPTS=$small_jvm "${RUN[@]}" steady "$bs" "$RATE" 3600 64 > "$L/steady.log" 2>&1 & local st=$!; PIDS+=("$st")
  sleep 6
  JAVA_OPTS="$app_jvm -Xlog:gc:file=$L/app2-gc.log" "${RUN[@]}" app "$bs" "$L/state-2" app2 > "$L/app2.out" 2> "$L/app2.err" & local a2=$!; PIDS+=("$a2")
  local joined=$SECONDS
  # the hand-over: app2's assignment has active tasks, then app2 processes records
  local end=$((SECONDS + 180)) moved=
  while [ $SECONDS -lt $end ]; do
    if assignments "$L/app2.err" | grep -qE '^[0-9]'; then moved=$SECONDS; break; fi
    sleep 0.3
  done
  [ -n "$moved" ] && wait_progress "$L/app2.out" steady 1 180
  sleep "$AFTER_S"
  stop_pid "$st"
  sleep 2
  JAVA_OPTS=$small_jvm "${RUN[@]}" measure "$bs" > "$L/measure.out" 2> "$L/measure.err"
  stop_pid "$a2"; stop_pid "$a1"
  kill -TERM "$BROKER" 2>/dev/null; wait "$BROKER" 2>/dev/null; BROKER=

  # the checks
  local first_active first_warm handovers warm_tasks active_tasks
  assignments "$L/app2.err" > "$L/app2.assignments"
  first_active=$(grep -nE '^[0-9]' "$L/app2.assignments" | head -1 | cut -d: -f1)
  first_warm=$(grep -nE '\|[0-9][^|]*$' "$L/app2.assignments" | head -1 | cut -d: -f1)
  warm_tasks=$(grep -E '\|[0-9][^|]*$' "$L/app2.assignments" | head -1 | cut -d'|' -f3)
  active_tasks=$(grep -E '^[0-9]' "$L/app2.assignments" | tail -1 | cut -d'|' -f1)
  handovers=$(grep -c '^handover [0-9]* app1->app2 ' "$L/measure.out")
  check "w=$w run $i: app2 gets active tasks ($(( ${moved:-$SECONDS} - joined ))s after it started): {$active_tasks}" '[ -n "$moved" ]'
  if [ "$w" -gt 0 ]; then
    check "w=$w run $i: app2's client log shows warm-up tasks {$warm_tasks} before its first active task, and they become its actives" \
      '[ -n "$first_warm" ] && [ -n "$first_active" ] && [ "$first_warm" -lt "$first_active" ] && [ "$warm_tasks" = "$active_tasks" ]'
  else
    check "w=$w run $i: app2 holds no warm-up task" '[ -z "$first_warm" ]'
  fi
  check "w=$w run $i: 2 tasks handed over from app1 to app2 ($handovers seen in wu-output)" '[ "$handovers" = 2 ]'
  check "w=$w run $i: no instance entered ERROR" '! grep -qE "STATE [A-Z_]+ -> (PENDING_)?ERROR" "$L/app1.out" "$L/app2.out"'
  local pauses restore
  pauses=$(awk '$1 == "handover" && $3 == "app1->app2" {print $5}' "$L/measure.out" | paste -sd' ')
  awk -v w="$w" '$1 == "handover" && $3 == "app1->app2" {print w, $5}' "$L/measure.out" >> "$LOGS/pauses"
  restore=$(grep -E 'RESTORE end' "$L/app2.out" | awk '{printf "%s%s:%s records/%s ms", sep, $4, $6, $8; sep = ", "}')
  local line="warmups=$w run $i: pauses ${pauses:-none} ms; app2 restored ${restore:-nothing}; load ${load_s}s"
  echo "$line" >> "$LOGS/runs"; note "$line"
  # the timeline, in seconds after app2 started (client logs; the promotion from the broker's log)
  local gc
  gc=$(cat "$L"/app[12]-gc.log 2>/dev/null | grep -oE '[0-9.]+ms$' | sort -n | tail -1)
  note "longest GC pause of the apps: ${gc:--}"
  local t_start= t_warm= t_prom= t_revoke= t_assign= t_restored= t_last= t_first= prom_utc=
  t_start=$(at "$L/app2.out" 'STATE CREATED -> REBALANCING')
  t_warm=$(at "$L/app2.err" 'Assigning active tasks \{[^}]*\}, standby tasks \{[^}]*\}, and warm-up tasks \{[0-9]')
  prom_utc=$(grep -m1 'cause="warmup_promoted"' "$L/broker.err" | grep -oE '^[0-9T:.-]+Z')
  [ -n "$prom_utc" ] && t_prom=$(date -d "$prom_utc" +%H:%M:%S.%3N | ms_of)
  t_revoke=$(at "$L/app1.err" 'Revoking active tasks \[')
  t_assign=$(at "$L/app2.err" 'Assigning active tasks \{[0-9]')
  t_last=$(awk '$1 == "handover" && $3 == "app1->app2" {print $7}' "$L/measure.out" | sort | head -1 | ms_of)
  t_first=$(awk '$1 == "handover" && $3 == "app1->app2" {print $9}' "$L/measure.out" | sort | head -1 | ms_of)
  t_restored=$(grep -E 'RESTORE end' "$L/app2.out" | tail -1 | ms_of)
  line="    timeline (s after app2 started): warm-ups assigned $(since "$t_start" "$t_warm"), promoted $(since "$t_start" "$t_prom"), last app1 record $(since "$t_start" "$t_last"), app1 revokes $(since "$t_start" "$t_revoke"), app2 gets actives $(since "$t_start" "$t_assign"), app2 restored $(since "$t_start" "$t_restored"), first app2 record $(since "$t_start" "$t_first")"
  echo "$line" >> "$LOGS/runs"; note "$line"
  grep -E '^partition ' "$L/measure.out" | sed 's/^/       /'
}

: > "$LOGS/pauses"; : > "$LOGS/runs"
echo "== $RUNS runs per setting (warm-ups: $WARMUPS); store $RECORDS x $VALUE_BYTES bytes; $RATE records/s; uptime: $(uptime | sed 's/.*load/load/')"
for i in $(seq 1 "$RUNS"); do
  for w in $WARMUPS; do
    echo "== warmups=$w run $i"
    run_once "$w" "$i"
  done
done
echo "== pauses of the moved tasks (ms), per setting: median [min, max] over all runs"
for w in $WARMUPS; do
  vals=$(awk -v w="$w" '$1 == w {print $2}' "$LOGS/pauses")
  n=$(printf '%s\n' $vals | grep -c .)
  echo "     num.warmup.replicas=$w: median $(printf '%s\n' $vals | median) [$(printf '%s\n' $vals | sort -n | head -1), $(printf '%s\n' $vals | sort -n | tail -1)] over $n moved tasks: $(echo $vals)"
done
echo "     uptime at the end: $(uptime | sed 's/.*load/load/')"
echo "warmup-pause: logs in $LOGS"
echo "$pass passed, $fail failed   ($((SECONDS - T0))s)"
[ "$fail" = 0 ]
