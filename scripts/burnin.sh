#!/usr/bin/env bash
# burnin: runs scripts/demo2.sh MX8_BURNIN_RUNS times (default 3), varying per run
# the shuffle seed, the kill timing and which agent is killed:
#   run i (from 1): MX8_SEED = MX8_BURNIN_SEED + i  (default base 0)
#                   MX8_KILL_AFTER_MS = MX8_KILL_AFTER_MS × (0.5, 1.0, 1.5 for i mod 3 = 1, 2, 0)
#                   MX8_KILL_AGENT = (i − 1) mod MX8_AGENTS
# Every other demo2 variable (MX8_TOTAL_SAMPLES, MX8_BLOCK_SIZE, MX8_SINK_SLEEP_MS,
# MX8_AGENTS, MX8_BATCH_SIZE, MX8_LEASE_TTL_MS, …) passes through unchanged.
# Prints each run's demo2 PASS/FAIL line; last line `burnin PASS runs=N` (exit 0) or
# `burnin FAIL runs=N failed=K (run numbers)` (exit 1). MX8_BURNIN_VERBOSE=1 shows
# every demo2 line.
set -euo pipefail
# shellcheck source=scripts/_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

RUNS="${MX8_BURNIN_RUNS:-3}"
BASE_SEED="${MX8_BURNIN_SEED:-0}"
KILL_BASE="${MX8_KILL_AFTER_MS:-500}"
AGENTS="${MX8_AGENTS:-3}"
for v in RUNS BASE_SEED KILL_BASE AGENTS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || {
    echo "burnin FAIL: $v must be a non-negative integer, got '${!v}'"
    exit 1
  }
done
((RUNS >= 1)) || {
  echo "burnin FAIL: MX8_BURNIN_RUNS must be >= 1"
  exit 1
}
((AGENTS >= 2)) || AGENTS=2

FAILED=()
START_MS="$(now_ms)"
for ((i = 1; i <= RUNS; i++)); do
  seed=$((BASE_SEED + i))
  case $((i % 3)) in
  1) kill_ms=$((KILL_BASE / 2)) ;;
  2) kill_ms=$KILL_BASE ;;
  *) kill_ms=$((KILL_BASE * 3 / 2)) ;;
  esac
  ((kill_ms >= 1)) || kill_ms=1
  victim=$(((i - 1) % AGENTS))
  echo "burnin run $i/$RUNS: seed=$seed kill_after_ms=$kill_ms kill_agent=$victim"
  code=0
  out="$(MX8_SEED="$seed" MX8_KILL_AFTER_MS="$kill_ms" MX8_KILL_AGENT="$victim" MX8_AGENTS="$AGENTS" \
    bash "$MX8_ROOT/scripts/demo2.sh" 2>&1)" || code=$?
  if [[ "${MX8_BURNIN_VERBOSE:-0}" == "1" ]]; then
    awk '{ print "    " $0 }' <<<"$out"
  fi
  last="$(tail -n1 <<<"$out")"
  if ((code == 0)) && [[ "$last" == "demo2 PASS "* ]]; then
    echo "  $last"
  else
    [[ "${MX8_BURNIN_VERBOSE:-0}" == "1" ]] || tail -n 15 <<<"$out" | sed 's/^/    /'
    echo "  run $i FAILED (exit $code)"
    FAILED+=("$i")
  fi
done

SECS="$(awk -v ms=$(($(now_ms) - START_MS)) 'BEGIN { printf "%.1f", ms / 1000 }')"
if ((${#FAILED[@]} == 0)); then
  echo "burnin PASS runs=$RUNS seconds=$SECS"
else
  echo "burnin FAIL runs=$RUNS failed=${#FAILED[@]} (runs ${FAILED[*]}) seconds=$SECS"
  exit 1
fi
