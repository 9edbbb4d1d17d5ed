#!/usr/bin/env bash
# demo2: failure injection with requeue + drain, as real processes.
#
# Makes a packed dataset of MX8_TOTAL_SAMPLES tiny files, starts
# `mx8 coordinator` (world size = MX8_AGENTS) on a free loopback port and the
# agents with `--sink ids:FILE`; agent-K (MX8_KILL_AGENT, default 0) gets
# `--kill-after-ms MX8_KILL_AFTER_MS` and dies mid-lease. Then checks:
#   1. the killed agent died by SIGKILL, every other agent exited 0
#   2. the union of the ids files is exactly 0..N-1 (at-least-once, nothing lost)
#   3. GET /metrics: leases_expired_total >= 1, ranges_requeued_total >= 1
#   4. the job drained (job_drained 1, completed_samples N)
# Last line: `demo2 PASS samples=N …` (exit 0) or `demo2 FAIL: reason` (exit 1).
#
# Env (defaults): MX8_TOTAL_SAMPLES 12000, MX8_BLOCK_SIZE 1000,
#   MX8_SINK_SLEEP_MS 1, MX8_KILL_AFTER_MS 500, MX8_AGENTS 3,
#   MX8_KILL_AGENT 0, MX8_BATCH_SIZE 50, MX8_LEASE_TTL_MS 2000,
#   MX8_HEARTBEAT_MS 250, MX8_SEED (set: coordinator --shuffle --seed),
#   MX8_DEMO2_TIMEOUT_S 300, MX8_KEEP_WORK=1 keeps the work dir,
#   MX8_BIN (use a compiled mx8 instead of `deno run main.ts`).
set -euo pipefail
# shellcheck source=scripts/_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
mx8_install_trap

fail() {
  echo "demo2 FAIL: $*"
  exit 1
}

# int_env VAR ENV_NAME DEFAULT: VAR = $ENV_NAME (or DEFAULT), a non-negative integer.
int_env() {
  local value="${!2:-$3}"
  [[ "$value" =~ ^[0-9]+$ ]] || fail "$2 must be a non-negative integer, got '$value'"
  printf -v "$1" '%s' "$value"
}

int_env N MX8_TOTAL_SAMPLES 12000
int_env BLOCK MX8_BLOCK_SIZE 1000
int_env SLEEP_MS MX8_SINK_SLEEP_MS 1
int_env KILL_MS MX8_KILL_AFTER_MS 500
int_env AGENTS MX8_AGENTS 3
int_env KILL_AGENT MX8_KILL_AGENT 0
int_env BATCH MX8_BATCH_SIZE 50
int_env TTL_MS MX8_LEASE_TTL_MS 2000
int_env HB_MS MX8_HEARTBEAT_MS 250
int_env TIMEOUT_S MX8_DEMO2_TIMEOUT_S 300
SEED="${MX8_SEED:-}"
JOB="demo2"

((N >= 1)) || fail "MX8_TOTAL_SAMPLES must be >= 1"
((AGENTS >= 2)) || fail "MX8_AGENTS must be >= 2 (one is killed)"
((KILL_AGENT < AGENTS)) || fail "MX8_KILL_AGENT must be < MX8_AGENTS"
[[ -z "$SEED" || "$SEED" =~ ^[0-9]+$ ]] || fail "MX8_SEED must be an integer"

START_MS="$(now_ms)"
mx8_tmpdir WORK demo2
echo "demo2: samples=$N block_size=$BLOCK agents=$AGENTS kill=agent-$KILL_AGENT@${KILL_MS}ms" \
  "sink_sleep_ms=$SLEEP_MS lease_ttl_ms=$TTL_MS seed=${SEED:--} work=$WORK"

# 1. dataset
write_small_files "$WORK/raw" "$N" 0
if ! mx8 pack --in "$WORK/raw" --out "$WORK/packed" --label-mode none \
  >"$WORK/pack.out" 2>"$WORK/pack.err"; then
  cat "$WORK/pack.err" >&2
  fail "mx8 pack failed"
fi
echo "demo2: packed $(tail -n1 "$WORK/pack.out")"

# 2. coordinator
COORD_ARGS=(coordinator --job-id "$JOB" --dataset "$WORK/packed" --bind 127.0.0.1:0
  --world-size "$AGENTS" --block-size "$BLOCK" --lease-ttl-ms "$TTL_MS"
  --heartbeat-ms "$HB_MS" --manifest-store "$WORK/store")
if [[ -n "$SEED" ]]; then
  COORD_ARGS+=(--shuffle --seed "$SEED")
fi
mx8_bg "$WORK/coord.out" "$WORK/coord.err" "${COORD_ARGS[@]}"
COORD_PID="$MX8_LAST_PID"
if ! wait_coordinator_ready "$WORK/coord.out" "$COORD_PID" 60; then
  tail -n 20 "$WORK/coord.err" >&2 || true
  fail "coordinator did not start"
fi
URL="$MX8_COORD_URL"
[[ "$MX8_COORD_SAMPLES" == "$N" ]] || fail "coordinator pinned $MX8_COORD_SAMPLES samples, expected $N"
echo "demo2: coordinator ready url=$URL manifest_hash=$MX8_COORD_HASH"

# 3. agents
AGENT_PIDS=()
for ((i = 0; i < AGENTS; i++)); do
  args=(agent --coord-url "$URL" --job-id "$JOB" --node-id "agent-$i"
    --sink "ids:$WORK/ids-$i.txt" --batch-size "$BATCH" --sink-sleep-ms "$SLEEP_MS")
  if ((i == KILL_AGENT)); then
    args+=(--kill-after-ms "$KILL_MS")
  fi
  mx8_bg "$WORK/agent-$i.out" "$WORK/agent-$i.err" "${args[@]}"
  AGENT_PIDS+=("$MX8_LAST_PID")
done
echo "demo2: started $AGENTS agents (agent-$KILL_AGENT has --kill-after-ms $KILL_MS)"

# 4. wait for every agent
DEADLINE=$(($(now_ms) + TIMEOUT_S * 1000))
for ((i = 0; i < AGENTS; i++)); do
  left=$(((DEADLINE - $(now_ms)) / 1000))
  ((left > 0)) || left=1
  if ! wait_pid_exit "${AGENT_PIDS[$i]}" "$left"; then
    fail "agent-$i still running after ${TIMEOUT_S} s (MX8_DEMO2_TIMEOUT_S)"
  fi
done
for ((i = 0; i < AGENTS; i++)); do
  code=0
  { wait "${AGENT_PIDS[$i]}"; } 2>/dev/null || code=$?
  if ((i == KILL_AGENT)); then
    if ((code != 137)); then
      tail -n 5 "$WORK/agent-$i.err" >&2 || true
      fail "agent-$i was not killed mid-job (exit $code): it finished its share before" \
        "--kill-after-ms $KILL_MS; raise MX8_TOTAL_SAMPLES or MX8_SINK_SLEEP_MS, or lower MX8_KILL_AFTER_MS"
    fi
    echo "check killed agent: agent-$i died by SIGKILL after $(wc -l <"$WORK/ids-$i.txt" 2>/dev/null || echo 0) samples ... ok"
  else
    if ((code != 0)); then
      tail -n 20 "$WORK/agent-$i.err" >&2 || true
      fail "agent-$i exited $code"
    fi
    echo "check agent: $(tail -n1 "$WORK/agent-$i.out") ... ok"
  fi
done

# 5. every id delivered
IDS=()
for ((i = 0; i < AGENTS; i++)); do
  IDS+=("$WORK/ids-$i.txt")
done
if ! COVER="$(ids_cover "$N" "${IDS[@]}")"; then
  fail "ids do not cover 0..$((N - 1)): $COVER"
fi
echo "check ids cover 0..$((N - 1)): $COVER ... ok"
DELIVERED="$(sed -E 's/^delivered=([0-9]+).*/\1/' <<<"$COVER")"

# 6. metrics and drain
wait_metric "$URL" job_drained 1 10 || fail "job not drained: job_drained=$(metric "$URL" job_drained) completed_samples=$(metric "$URL" completed_samples)/$N"
COMPLETED="$(metric "$URL" completed_samples)"
[[ "$COMPLETED" == "$N" ]] || fail "completed_samples=$COMPLETED, expected $N"
echo "check drained: job_drained=1 completed_samples=$COMPLETED ... ok"
EXPIRED="$(metric "$URL" leases_expired_total)"
REQUEUED="$(metric "$URL" ranges_requeued_total)"
((${EXPIRED:-0} >= 1)) || fail "leases_expired_total=${EXPIRED:-missing}, expected >= 1"
((${REQUEUED:-0} >= 1)) || fail "ranges_requeued_total=${REQUEUED:-missing}, expected >= 1"
echo "check metrics: leases_expired_total=$EXPIRED ranges_requeued_total=$REQUEUED (both >= 1) ... ok"
if grep -q '"event":"lease_overlap"' "$WORK/coord.err"; then
  fail "coordinator logged lease_overlap"
fi

SECONDS_TAKEN="$(awk -v ms=$(($(now_ms) - START_MS)) 'BEGIN { printf "%.1f", ms / 1000 }')"
echo "demo2 PASS samples=$N delivered=$DELIVERED duplicates=$((DELIVERED - N))" \
  "leases_expired=$EXPIRED ranges_requeued=$REQUEUED drained=true seconds=$SECONDS_TAKEN"
