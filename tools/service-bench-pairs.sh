#!/usr/bin/env bash
# Runs two builds of the service bench's steady-state heartbeats one after the
# other, in alternating pairs (before, after, before, after, ...), so that both
# see the same machine, and prints each pair and a summary. Used for the
# service row of issue 12's 5% rule in docs/benchmarks.md.
#
# usage: tools/service-bench-pairs.sh BEFORE_BIN AFTER_BIN [PAIRS]
#   BEFORE_BIN, AFTER_BIN  built service bench binaries
#                          (`cargo bench --bench service --no-run`
#                          prints the path), e.g. one copied from before a change
#   PAIRS                  number of pairs (default 8)
# env: MEASURE_S (criterion's measurement time, default 10), WARMUP_S (default 2)
# stdout: one line per pair (criterion's middle estimate of one round of 10,000
#      heartbeats, and the bench's on-CPU µs per heartbeat, for each build), then
#      the mean and median of the after/before ratios.
set -euo pipefail
if [ $# -lt 2 ] || [ "$1" = --help ] || [ "$1" = -h ]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -ge 2 ] && exit 0 || exit 2
fi
BEFORE=$1; AFTER=$2; PAIRS=${3:-8}
for b in "$BEFORE" "$AFTER"; do [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 1; }; done
BEFORE=$(realpath "$BEFORE"); AFTER=$(realpath "$AFTER")
# criterion writes its reports under ./target: keep them out of the way.
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT; cd "$WORK"

run() { # bin -> "round_ms cpu_us"
  "$1" --bench service_heartbeats --warm-up-time "${WARMUP_S:-2}" \
    --measurement-time "${MEASURE_S:-10}" 2>&1 |
    awk '/on-CPU/ { for (i = 1; i <= NF; i++) if ($i == "on-CPU") cpu = $(i + 1) }
         /time:/ && !t { t = $4 } END { print t, cpu }'
}

echo "# pair  load  before_ms before_cpu_us  after_ms after_cpu_us  after/before"
ratios=()
for i in $(seq 1 "$PAIRS"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  read -r bw bc <<<"$(run "$BEFORE")"
  read -r aw ac <<<"$(run "$AFTER")"
  r=$(awk -v a="$aw" -v b="$bw" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }')
  ratios+=("$aw $bw $ac $bc")
  echo "$i  $load  $bw $bc  $aw $ac  $r"
done
printf '%s\n' "${ratios[@]}" | awk '
  { r[NR] = ($1 / $2 - 1) * 100; s += r[NR]; aw += $1; bw += $2; ac += $3; bc += $4 }
  END {
    n = NR; for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
    med = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
    m = s / n; for (i = 1; i <= n; i++) v += (r[i] - m) ^ 2
    se = (n > 1) ? sqrt(v / (n - 1) / n) : 0
    printf "# %d pairs: round time after/before mean %+.1f%% (standard error %.1f), median %+.1f%%; means %.3f / %.3f ms; on-CPU means %.2f / %.2f us (%+.1f%%)\n", n, m, se, med, aw / n, bw / n, ac / n, bc / n, (ac / bc - 1) * 100
  }'
