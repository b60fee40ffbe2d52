#!/usr/bin/env bash
# Real Kafka Streams applications against the example broker.
#
#   tests/e2e/kafka-streams.sh            # from the repository root (CI runs it from .ci/run)
#
# Needs ../shared/realclient beside the repository (Apache Kafka's own clients and
# Streams library, built from source with javac) and Java 17: the shared build.sh
# installs openjdk-17-jdk-headless and the jars it needs with apt when missing.
# It builds the client into target/realclient and the broker with
# `cargo build --release --features kafka-protocol --example broker`, then runs:
#   1. the shared word-count e2e against one broker node;
#   2. the same against --nodes 3, with SIGUSR1 coordinator moves during the traffic;
#   3. a move check and Kafka's real Admin client on a real group (3 nodes): the app keeps
#      its tasks and member epoch through a full round of coordinator moves and no committed
#      offset is lost (exact counts after); the group is listed, described, its offsets
#      listed, deleted (refused while the app runs: NON_EMPTY_GROUP) and gone afterwards.
# Logs: $E2E_LOG_DIR (default: a new temporary directory, printed). Exit 0 only if all passed.
set -uo pipefail
case "${1:-}" in -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0;; esac
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=$ROOT/../shared/realclient
[ -x "$SHARED/wordcount-e2e.sh" ] || { echo "kafka-streams e2e: needs ../shared/realclient beside the repository"; exit 2; }
LOGS=${E2E_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kafka-streams-e2e.XXXXXX")}
mkdir -p "$LOGS"; LOGS=$(cd "$LOGS" && pwd)
echo "kafka-streams e2e: logs in $LOGS"
T0=$SECONDS
export REALCLIENT_OUT=$ROOT/target/realclient REALCLIENT_SKIP_BUILD=1
pass=0; fail=0; PIDS=()
check() { if eval "$2"; then echo "ok   $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi; }
finish() { echo "kafka-streams e2e: logs in $LOGS"; echo "$pass passed, $fail failed   ($((SECONDS - T0))s)"; [ "$fail" = 0 ]; exit $?; }
cleanup() { local p; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; }
trap cleanup EXIT

echo "== building the Kafka Streams client (../shared/realclient/build.sh)"
"$SHARED/build.sh" "$REALCLIENT_OUT" > "$LOGS/realclient-build.log" 2>&1 || { tail -20 "$LOGS/realclient-build.log"; check "the real client builds" false; finish; }
echo "== building the example broker"
cargo build --release --features kafka-protocol --example broker > "$LOGS/broker-build.log" 2>&1 || { tail -20 "$LOGS/broker-build.log"; check "the broker builds" false; finish; }
BROKER_BIN=$ROOT/target/release/examples/broker
WC=$REALCLIENT_OUT/bin/wordcount

# ---- 1. single node -------------------------------------------------------------------
echo "== 1. word count, one node"
BROKER_CMD=$BROKER_BIN LOG_DIR=$LOGS/single "$SHARED/wordcount-e2e.sh" > "$LOGS/single.out" 2>&1
rc=$?; grep -E '^(ok|FAIL) ' "$LOGS/single.out" | sed 's/^/     /'
check "shared word-count e2e, one node: $(tail -1 "$LOGS/single.out")" '[ $rc = 0 ]'

# ---- 2. three nodes, coordinator moves during traffic -----------------------------------
echo "== 2. word count, three nodes, SIGUSR1 coordinator moves during the traffic"
PIDFILE=$LOGS/three.pid; rm -f "$PIDFILE"
BROKER_PIDFILE=$PIDFILE BROKER_BIN=$BROKER_BIN BROKER_NODES=3 BROKER_CMD=$ROOT/tests/e2e/broker-pidfile.sh \
  LOG_DIR=$LOGS/three "$SHARED/wordcount-e2e.sh" > "$LOGS/three.out" 2>&1 &
E2E=$!
moves=0
# Move every 7 s once app1 runs, until the e2e ends (bounded: at most 20 moves). A load
# re-arms every member's session timer (as Kafka's coordinator does on load), so moves
# closer together than the 6 s session timeout would keep a killed app's session alive.
while kill -0 "$E2E" 2>/dev/null && [ $moves -lt 20 ]; do
  if [ -s "$PIDFILE" ] && grep -q "STATE REBALANCING -> RUNNING" "$LOGS/three/app1.log" 2>/dev/null; then
    kill -USR1 "$(cat "$PIDFILE")" 2>/dev/null && moves=$((moves + 1))
    sleep 7
  else
    sleep 0.5
  fi
done
wait "$E2E"; rc=$?
grep -E '^(ok|FAIL) ' "$LOGS/three.out" | sed 's/^/     /'
moved=$(grep -c "coordinator moved" "$LOGS/three/broker.err" 2>/dev/null || true)
echo "     $moves SIGUSR1 sent, $moved partition moves logged by the broker"
check "shared word-count e2e, three nodes with coordinator moves: $(tail -1 "$LOGS/three.out")" '[ $rc = 0 ]'
check "coordinators moved during the traffic (at least 2 rounds of 4 partitions)" '[ "${moved:-0}" -ge 8 ]'

# ---- 3. moves on a steady group, and Kafka's Admin client ---------------------------------
echo "== 3. a steady group through a round of moves, and the Admin client (three nodes)"
L=$LOGS/admin; mkdir -p "$L"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=
for try in $(seq 1 50); do p=$((20000 + RANDOM % 40000)); port_free $p && port_free $((p + 1)) && port_free $((p + 2)) && { PORT=$p; break; }; done
[ -n "$PORT" ] || { check "free ports for three nodes" false; finish; }
BS=127.0.0.1:$PORT,127.0.0.1:$((PORT + 1)),127.0.0.1:$((PORT + 2))
"$BROKER_BIN" --port "$PORT" --nodes 3 --config group.streams.min.heartbeat.interval.ms=100 \
  --config group.streams.heartbeat.interval.ms=1000 --config group.streams.min.session.timeout.ms=1000 \
  --config group.streams.session.timeout.ms=6000 --config group.streams.initial.rebalance.delay.ms=1000 \
  input:4 output:2 > "$L/broker.out" 2> "$L/broker.err" &
BROKER=$!; PIDS+=("$BROKER")
wait_for() { local end=$((SECONDS + $3)); until grep -qE "$2" "$1" 2>/dev/null; do [ $SECONDS -ge $end ] && return 1; sleep 0.3; done; }
count_of() { awk -v w="$2" '$1 == w {print $2}' "$1"; }
verify_exact() {  # verify_exact N: until the=N fox=N 7=N/10, within 60 s
  local end=$((SECONDS + 60))
  while :; do
    timeout 60 "$WC" verify "$BS" 20 > "$L/verify.out" 2>> "$L/verify.err"
    [ "$(count_of "$L/verify.out" the)" = "$1" ] && [ "$(count_of "$L/verify.out" fox)" = "$1" ] && [ "$(count_of "$L/verify.out" 7)" = "$(($1 / 10))" ] && return 0
    [ $SECONDS -ge $end ] && return 1
    sleep 1
  done
}
check "broker with three nodes starts" 'wait_for "$L/broker.out" "^listening on" 60'
timeout 90 "$WC" produce "$BS" 1000 > "$L/produce-1.log" 2>&1
"$WC" app "$BS" "$L/state" > "$L/app.log" 2>&1 & APP=$!; PIDS+=("$APP")
check "the app runs with all 8 tasks" 'wait_for "$L/app.log" "Assigning active tasks \{0_0, 0_1, 0_2, 0_3, 1_0, 1_1, 1_2, 1_3\}" 90 && wait_for "$L/app.log" "STATE REBALANCING -> RUNNING" 30'
check "counts after 1000 lines are exact" 'verify_exact 1000'
"$WC" admin "$BS" describe wordcount > "$L/describe-before.out" 2>&1
epoch_before=$(grep -oE '^member .* epoch=[0-9]+' "$L/describe-before.out" | grep -oE 'epoch=[0-9]+$')
assigned_before=$(grep -c "Assigning active tasks" "$L/app.log")
for round in 1 2 3; do
  kill -USR1 "$BROKER"
  end=$((SECONDS + 30)); until [ "$(grep -c 'coordinator moved' "$L/broker.err")" -ge $((round * 4)) ] || [ $SECONDS -ge $end ]; do sleep 0.3; done
  sleep 2
done
check "three rounds of moves: every partition visited every node ($(grep -c 'coordinator moved' "$L/broker.err") moves)" '[ "$(grep -c "coordinator moved" "$L/broker.err")" -ge 12 ]'
timeout 90 "$WC" produce "$BS" 1000 > "$L/produce-2.log" 2>&1
check "counts after the moves and 1000 more lines are exact (no committed offset lost)" 'verify_exact 2000'
"$WC" admin "$BS" describe wordcount > "$L/describe.out" 2>&1
epoch_after=$(grep -oE '^member .* epoch=[0-9]+' "$L/describe.out" | grep -oE 'epoch=[0-9]+$')
note_epochs="member $epoch_before before, $epoch_after after"
check "the app kept its tasks through the moves (no new assignment, $note_epochs)" \
  '[ -n "$epoch_before" ] && [ "$epoch_before" = "$epoch_after" ] && [ "$(grep -c "Assigning active tasks" "$L/app.log")" = "$assigned_before" ]'
"$WC" admin "$BS" list > "$L/list.out" 2>&1
check "Admin list: $(tr '\n' ';' < "$L/list.out")" 'grep -qx "wordcount Stable Streams" "$L/list.out"'
check "Admin describe: $(head -1 "$L/describe.out")" \
  'grep -qE "^group wordcount state=Stable .*members=1" "$L/describe.out" && grep -qE "^member .* active=0_0,0_1,0_2,0_3,1_0,1_1,1_2,1_3 " "$L/describe.out"'
"$WC" admin "$BS" offsets wordcount > "$L/offsets.out" 2>&1
check "Admin offsets: committed offsets of the input topic ($(grep -c '^input ' "$L/offsets.out") partitions, $(awk '$1 == "input" {s += $3} END {print s + 0}' "$L/offsets.out") in all)" \
  '[ "$(awk '"'"'$1 == "input" {s += $3} END {print s + 0}'"'"' "$L/offsets.out")" = 2000 ]'
"$WC" admin "$BS" delete wordcount > "$L/delete-running.out" 2> "$L/delete-running.err"
check "Admin delete while the app runs is refused: $(cat "$L/delete-running.err" | head -1 | cut -c1-80)" 'grep -q "^ERROR NON_EMPTY_GROUP" "$L/delete-running.err"'
kill -TERM "$APP"
check "the app closes and leaves the group" 'wait_for "$L/app.log" "CLOSED" 60'
end=$((SECONDS + 30)); until "$WC" admin "$BS" list > "$L/list-empty.out" 2>&1 && grep -qx "wordcount Empty Streams" "$L/list-empty.out" || [ $SECONDS -ge $end ]; do sleep 1; done
check "Admin list after the app left: $(tr '\n' ';' < "$L/list-empty.out")" 'grep -qx "wordcount Empty Streams" "$L/list-empty.out"'
"$WC" admin "$BS" delete wordcount > "$L/delete.out" 2>&1
check "Admin delete: $(head -1 "$L/delete.out")" 'grep -qx "deleted wordcount" "$L/delete.out"'
"$WC" admin "$BS" list > "$L/list-after.out" 2>&1; lrc=$?
"$WC" admin "$BS" offsets wordcount > "$L/offsets-after.out" 2>&1; orc=$?
check "the group and its offsets are gone" '[ $lrc = 0 ] && [ $orc = 0 ] && ! grep -q wordcount "$L/list-after.out" && [ ! -s "$L/offsets-after.out" ]'
kill -TERM "$BROKER"; wait "$BROKER" 2>/dev/null
finish
