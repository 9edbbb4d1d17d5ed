#!/usr/bin/env bash
# prod_readiness: every production gate, as real processes.
#
#   requeue_drain        demo2.sh (small): an agent killed mid-lease, lease expiry,
#                        requeue, drain, every sample id delivered
#   coordinator_restart  coordinator on a fixed port SIGKILLed mid-job and restarted
#                        on the same port: agents re-register and finish, all ids delivered
#   rss_failfast         a DataLoader with maxProcessRssBytes (and one with
#                        MX8_MAX_PROCESS_RSS_BYTES) below the current RSS fails with
#                        `process rss X exceeds max_process_rss_bytes Y`
#   autotune_sim         deno task sim:autotune (memory-pressure simulation)
#   tui_headless         mx8 tui --headless-polls against a live job prints the OK line
#   s3_path              s3rver: mx8 pack local -> s3://, mx8 resolve s3://… gives the
#                        same manifest_hash (also @sha256:, an S3 manifest store, a local
#                        pack of the same input) and an agent reads every sample from S3
#   pack_roundtrip       pack a folder, tar -xf every shard, compare every file with
#                        its input, and every manifest byte range too
#
# Each gate prints `gate NAME ... PASS|FAIL (S s)`; a failed gate's log tail follows.
# Last line: `prod_readiness PASS (N gates)` or `prod_readiness FAIL (F of N gates: a b)`.
#
# Env: MX8_PR_ONLY=gate1,gate2 (run a subset), MX8_PR_SAMPLES (demo2 samples, default 600),
#   MX8_PR_GATE_TIMEOUT_S (per gate, default 180), MX8_KEEP_WORK=1, MX8_BIN.
set -euo pipefail
SCRIPT="${BASH_SOURCE[0]}"
# shellcheck source=scripts/_lib.sh
. "$(dirname "$SCRIPT")/_lib.sh"

ALL_GATES=(requeue_drain coordinator_restart rss_failfast autotune_sim tui_headless s3_path pack_roundtrip)

die() {
  echo "FAIL: $*"
  exit 1
}

# start_coordinator WORK NAME ARGS... : starts `mx8 coordinator ARGS`, waits for
# the ready line; sets COORD_PID and MX8_COORD_URL.
start_coordinator() {
  local work="$1" name="$2"
  shift 2
  mx8_bg "$work/$name.out" "$work/$name.err" coordinator "$@"
  COORD_PID="$MX8_LAST_PID"
  if ! wait_coordinator_ready "$work/$name.out" "$COORD_PID" 60; then
    tail -n 20 "$work/$name.err" || true
    die "coordinator $name did not start"
  fi
  echo "coordinator $name ready url=$MX8_COORD_URL samples=$MX8_COORD_SAMPLES"
}

# wait_event FILE EVENT TIMEOUT_S
wait_event() {
  local deadline
  deadline=$(($(now_ms) + ${3} * 1000))
  until grep -q "\"event\":\"$2\"" "$1" 2>/dev/null; do
    (($(now_ms) < deadline)) || die "event $2 not logged in $1 within ${3} s"
    sleep 0.05
  done
}

# wait_exit0 PID NAME ERRFILE TIMEOUT_S
wait_exit0() {
  local code=0
  wait_pid_exit "$1" "$4" || die "$2 still running after ${4} s"
  { wait "$1"; } 2>/dev/null || code=$?
  if ((code != 0)); then
    tail -n 20 "$3" || true
    die "$2 exited $code"
  fi
}

packed_small() { # DIR N CLASSES -> DIR/packed
  write_small_files "$1/raw" "$2" "$3"
  mx8 pack --in "$1/raw" --out "$1/packed" --label-mode none >"$1/pack.out" 2>"$1/pack.err" ||
    {
      cat "$1/pack.err"
      die "mx8 pack failed"
    }
}

gate_requeue_drain() {
  local out
  out="$(MX8_TOTAL_SAMPLES="${MX8_PR_SAMPLES:-600}" MX8_BLOCK_SIZE=100 MX8_SINK_SLEEP_MS=5 \
    MX8_KILL_AFTER_MS=250 MX8_BATCH_SIZE=10 MX8_LEASE_TTL_MS=1000 MX8_HEARTBEAT_MS=200 \
    bash "$MX8_ROOT/scripts/demo2.sh")" || {
    echo "$out"
    die "demo2 failed"
  }
  echo "$out"
  [[ "$(tail -n1 <<<"$out")" == "demo2 PASS "* ]] || die "no demo2 PASS line"
}

gate_coordinator_restart() {
  local work port n=400 before
  mx8_tmpdir work pr-restart
  packed_small "$work" "$n" 0
  port="$(free_port)"
  local args=(--job-id restart --dataset "$work/packed" --bind "127.0.0.1:$port"
    --world-size 2 --block-size 20 --lease-ttl-ms 2000 --heartbeat-ms 200
    --manifest-store "$work/store")
  start_coordinator "$work" coord1 "${args[@]}"
  local first_pid="$COORD_PID" url="$MX8_COORD_URL"
  local pids=() id
  for id in x y; do
    mx8_bg "$work/agent-$id.out" "$work/agent-$id.err" agent --coord-url "$url" --job-id restart \
      --node-id "agent-$id" --sink "ids:$work/ids-$id.txt" --batch-size 5 --sink-sleep-ms 10
    pids+=("$MX8_LAST_PID")
  done
  wait_event "$work/coord1.err" lease_granted 60
  sleep 0.5
  before="$(metric "$url" completed_samples)"
  kill -KILL "$first_pid"
  wait_pid_exit "$first_pid" 5 || die "coordinator did not die"
  { wait "$first_pid"; } 2>/dev/null || true
  echo "killed coordinator (SIGKILL) at completed_samples=${before:-?}/$n"
  sleep 0.5
  start_coordinator "$work" coord2 "${args[@]}"
  [[ "$MX8_COORD_URL" == "$url" ]] || die "restarted on $MX8_COORD_URL, expected $url"
  wait_exit0 "${pids[0]}" agent-x "$work/agent-x.err" 120
  wait_exit0 "${pids[1]}" agent-y "$work/agent-y.err" 120
  for id in x y; do
    # It joined the restarted coordinator too (however it noticed: a failed
    # heartbeat or report, an unreachable or refused lease request).
    [[ "$(grep -c '"event":"registered"' "$work/agent-$id.err")" -ge 2 ]] ||
      die "agent-$id never registered with the restarted coordinator"
    echo "agent-$id: $(tail -n1 "$work/agent-$id.out")"
  done
  local cover
  cover="$(ids_cover "$n" "$work/ids-x.txt" "$work/ids-y.txt")" || die "ids: $cover"
  echo "ids cover 0..$((n - 1)): $cover"
  wait_metric "$url" job_drained 1 10 || die "restarted coordinator not drained"
  echo "restarted coordinator drained: completed_samples=$(metric "$url" completed_samples)"
}

gate_rss_failfast() {
  local work out
  mx8_tmpdir work pr-rss
  packed_small "$work" 64 0
  cat >"$work/rss.ts" <<EOF
import { DataLoader } from "$MX8_ROOT/mod.ts";
const [data, mode] = Deno.args;
const rss = Deno.memoryUsage().rss;
const cap = Math.floor(rss / 2);
const loader = new DataLoader(data, {
  batchSizeSamples: 8,
  ...(mode === "option" ? { maxProcessRssBytes: cap } : {}),
});
let samples = 0;
try {
  for await (const batch of loader) samples += batch.sampleIds.length;
  console.log(\`no error: delivered \${samples} samples with rss \${rss}\`);
} catch (e) {
  console.log(\`error: \${e instanceof Error ? e.message : String(e)}\`);
} finally {
  await loader.close();
}
EOF
  # 1. the option, below the current RSS
  out="$(MX8_MANIFEST_STORE="$work/store" deno run -A --unsafe-proto --quiet \
    --config "$MX8_ROOT/deno.json" "$work/rss.ts" "$work/packed" option 2>&1)" || true
  echo "maxProcessRssBytes: $out"
  grep -Eq 'process rss [0-9]+ exceeds max_process_rss_bytes [0-9]+' <<<"$out" ||
    die "maxProcessRssBytes below RSS did not fail fast"
  # 2. the env var (1 MiB)
  out="$(MX8_MANIFEST_STORE="$work/store" MX8_MAX_PROCESS_RSS_BYTES=1048576 deno run -A \
    --unsafe-proto --quiet --config "$MX8_ROOT/deno.json" "$work/rss.ts" "$work/packed" env 2>&1)" || true
  echo "MX8_MAX_PROCESS_RSS_BYTES=1048576: $out"
  grep -Eq 'process rss [0-9]+ exceeds max_process_rss_bytes 1048576' <<<"$out" ||
    die "MX8_MAX_PROCESS_RSS_BYTES below RSS did not fail fast"
  # 3. control: no cap given (derived default) delivers everything
  out="$(MX8_MANIFEST_STORE="$work/store" deno run -A --unsafe-proto --quiet \
    --config "$MX8_ROOT/deno.json" "$work/rss.ts" "$work/packed" none 2>&1)" || true
  echo "default cap: $out"
  grep -q 'no error: delivered 64 samples' <<<"$out" || die "default cap run did not deliver 64 samples"
}

gate_autotune_sim() {
  local out
  out="$(cd "$MX8_ROOT" && deno task -q sim:autotune 2>&1)" || {
    tail -n 20 <<<"$out"
    die "sim:autotune exited non-zero"
  }
  tail -n 3 <<<"$out"
  [[ "$(tail -n1 <<<"$out")" == "sim:autotune PASS "* ]] || die "no sim:autotune PASS line"
}

gate_tui_headless() {
  local work n=120 out agent
  mx8_tmpdir work pr-tui
  packed_small "$work" "$n" 0
  start_coordinator "$work" coord --job-id tui --dataset "$work/packed" --bind 127.0.0.1:0 \
    --block-size 20 --heartbeat-ms 200 --manifest-store "$work/store"
  mx8_bg "$work/agent.out" "$work/agent.err" agent --coord-url "$MX8_COORD_URL" --job-id tui \
    --node-id agent-1 --batch-size 4 --sink-sleep-ms 40
  agent="$MX8_LAST_PID"
  wait_event "$work/coord.err" lease_granted 60
  out="$(mx8 tui --coord-url "$MX8_COORD_URL" --job-id tui --headless-polls 3 --poll-ms 300 \
    --manifest-path "$work/packed/_mx8/manifest.tsv" 2>&1)" || {
    echo "$out"
    die "mx8 tui headless exited non-zero"
  }
  echo "$out"
  [[ "$(tail -n1 <<<"$out")" == "mx8 tui headless OK lease=true runtime=true manifest=true" ]] ||
    die "no headless OK line"
  grep -Eq '^poll=1 health=(healthy|degraded|stalled|drained) ready=true' <<<"$out" ||
    die "first poll did not see a ready job"
  wait_exit0 "$agent" agent-1 "$work/agent.err" 60
}

gate_s3_path() {
  local work n=150 s3 endpoint hash local_hash out deadline
  mx8_tmpdir work pr-s3
  deno run -A --unsafe-proto --quiet --config "$MX8_ROOT/deno.json" "$MX8_ROOT/scripts/_s3rver.ts" \
    mx8-gate >"$work/s3.out" 2>"$work/s3.err" </dev/null &
  s3=$!
  bg_track "$s3"
  deadline=$(($(now_ms) + 60000))
  until grep -q '^s3rver ready ' "$work/s3.out"; do
    pid_alive "$s3" || {
      cat "$work/s3.err"
      die "s3rver exited"
    }
    (($(now_ms) < deadline)) || die "s3rver not ready in 60 s"
    sleep 0.05
  done
  endpoint="$(sed -E 's/.* endpoint=([^ ]+).*/\1/' "$work/s3.out")"
  echo "s3rver at $endpoint"
  export MX8_S3_ENDPOINT="$endpoint" AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
    AWS_REGION=us-east-1
  write_small_files "$work/raw" "$n" 3
  out="$(mx8 pack --in "$work/raw" --out s3://mx8-gate/packed/ 2>&1)" || {
    echo "$out"
    die "mx8 pack local -> s3 failed"
  }
  echo "pack -> s3: $(tail -n1 <<<"$out")"
  hash="$(tail -n1 <<<"$out" | sed -nE 's/.* manifest_hash=([0-9a-f]{64}) .*/\1/p')"
  [[ -n "$hash" ]] || die "no manifest_hash in pack output"
  out="$(mx8 resolve s3://mx8-gate/packed --manifest-store "$work/store" 2>&1)" || {
    echo "$out"
    die "mx8 resolve s3:// failed"
  }
  echo "resolve s3://mx8-gate/packed: $(tail -n1 <<<"$out")"
  [[ "$(tail -n1 <<<"$out")" == "manifest_hash=$hash samples=$n" ]] || die "resolve hash differs from pack"
  out="$(mx8 resolve "s3://mx8-gate/packed@sha256:$hash" --manifest-store "$work/store" 2>&1)" ||
    die "resolve @sha256 failed: $out"
  [[ "$(tail -n1 <<<"$out")" == "manifest_hash=$hash samples=$n" ]] || die "@sha256 resolve: $out"
  echo "resolve @sha256:$hash ... ok"
  out="$(mx8 resolve s3://mx8-gate/packed --manifest-store s3://mx8-gate/store 2>&1)" ||
    die "resolve with an S3 manifest store failed: $out"
  [[ "$(tail -n1 <<<"$out")" == "manifest_hash=$hash samples=$n" ]] || die "S3 store resolve: $out"
  echo "resolve with --manifest-store s3://mx8-gate/store ... ok"
  local_hash="$(mx8 pack --in "$work/raw" --out "$work/local" 2>/dev/null | tail -n1 |
    sed -nE 's/.* manifest_hash=([0-9a-f]{64}) .*/\1/p')"
  [[ "$local_hash" == "$hash" ]] || die "local pack hash $local_hash != s3 pack hash $hash"
  echo "local pack of the same input: same manifest_hash ... ok"
  # runtime: one agent reads every sample from S3 through a coordinator
  start_coordinator "$work" coord --job-id s3 --dataset s3://mx8-gate/packed --bind 127.0.0.1:0 \
    --block-size 50 --heartbeat-ms 200 --manifest-store "$work/store"
  [[ "$MX8_COORD_HASH" == "$hash" ]] || die "coordinator pinned $MX8_COORD_HASH"
  mx8_bg "$work/agent.out" "$work/agent.err" agent --coord-url "$MX8_COORD_URL" --job-id s3 \
    --node-id agent-s3 --sink "ids:$work/ids.txt" --batch-size 16
  wait_exit0 "$MX8_LAST_PID" agent-s3 "$work/agent.err" 120
  out="$(ids_cover "$n" "$work/ids.txt")" || die "agent over S3: $out"
  echo "agent over S3: $(tail -n1 "$work/agent.out"); $out"
}

gate_pack_roundtrip() {
  local work n=240 rows=0 id loc off len ext name input
  mx8_tmpdir work pr-pack
  write_small_files "$work/raw" "$n" 3
  mx8 pack --in "$work/raw" --out "$work/packed" --shard-mb 0.004 >"$work/pack.out" 2>"$work/pack.err" ||
    {
      cat "$work/pack.err"
      die "mx8 pack failed"
    }
  echo "pack: $(tail -n1 "$work/pack.out")"
  mkdir -p "$work/extract"
  local shards=0 shard
  for shard in "$work"/packed/shards/*.tar; do
    tar -xf "$shard" -C "$work/extract" || die "tar -xf $shard failed"
    shards=$((shards + 1))
  done
  ((shards >= 2)) || die "expected several shards, got $shards"
  [[ "$(find "$work/extract" -type f | wc -l)" == "$n" ]] || die "extracted file count != $n"
  mapfile -t inputs < <(cd "$work/raw" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
  [[ "$(head -n1 "$work/packed/_mx8/manifest.tsv")" == "schema_version=0" ]] || die "manifest header"
  while IFS=$'\t' read -r id loc off len _; do
    input="$work/raw/${inputs[$id]}"
    ext="${input##*.}"
    name="$(printf '%020d' "$id").$ext"
    cmp -s "$work/extract/$name" "$input" || die "sample $id: extracted $name differs from ${inputs[$id]}"
    [[ "$(stat -c %s "$input")" == "$len" ]] || die "sample $id: byte_length $len"
    cmp -s -n "$len" -i "$off:0" "$work/packed/$loc" "$input" ||
      die "sample $id: byte range $loc@$off+$len differs from ${inputs[$id]}"
    rows=$((rows + 1))
  done < <(tail -n +2 "$work/packed/_mx8/manifest.tsv")
  ((rows == n)) || die "manifest rows $rows != $n"
  [[ -f "$work/packed/_mx8/labels.tsv" ]] || die "no labels.tsv for 3 class folders"
  echo "tar -xf of $shards shards: $n files equal to their inputs; $rows manifest byte ranges equal; labels: $(($(wc -l <"$work/packed/_mx8/labels.tsv") - 1)) classes"
}

# --gate NAME: run one gate body (the parent runs each gate this way, under `timeout`).
if [[ "${1:-}" == "--gate" ]]; then
  mx8_install_trap
  "gate_$2"
  exit 0
fi

GATES=("${ALL_GATES[@]}")
if [[ -n "${MX8_PR_ONLY:-}" ]]; then
  IFS=',' read -r -a GATES <<<"$MX8_PR_ONLY"
  for g in "${GATES[@]}"; do
    [[ " ${ALL_GATES[*]} " == *" $g "* ]] || {
      echo "prod_readiness FAIL: unknown gate '$g' (gates: ${ALL_GATES[*]})"
      exit 2
    }
  done
fi

mx8_install_trap
mx8_tmpdir LOGS pr-logs
GATE_TIMEOUT="${MX8_PR_GATE_TIMEOUT_S:-180}"
FAILED=()
for g in "${GATES[@]}"; do
  t0="$(now_ms)"
  code=0
  timeout -k 5 "$GATE_TIMEOUT" bash "$SCRIPT" --gate "$g" >"$LOGS/$g.log" 2>&1 || code=$?
  secs="$(awk -v ms=$(($(now_ms) - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')"
  if ((code == 0)); then
    echo "gate $g ... PASS (${secs} s)"
    if [[ "${MX8_PR_VERBOSE:-0}" == "1" ]]; then
      sed 's/^/    /' "$LOGS/$g.log"
    fi
  else
    if ((code == 124)); then
      echo "    timed out after ${GATE_TIMEOUT} s (MX8_PR_GATE_TIMEOUT_S)" >>"$LOGS/$g.log"
    fi
    echo "gate $g ... FAIL (${secs} s, exit $code)"
    tail -n 25 "$LOGS/$g.log" | sed 's/^/    /'
    FAILED+=("$g")
  fi
done

if ((${#FAILED[@]} == 0)); then
  echo "prod_readiness PASS (${#GATES[@]} gates)"
else
  echo "prod_readiness FAIL (${#FAILED[@]} of ${#GATES[@]} gates: ${FAILED[*]})"
  exit 1
fi
