# shellcheck shell=bash
# Shared helpers for the operator scripts (scripts/*.sh). Source it:
#   . "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
#
# Provides:
#   MX8_ROOT              repository root
#   MX8_CMD               the mx8 command as an array: "$MX8_BIN" when set
#                         (e.g. dist/mx8 from `deno task compile`), else
#                         `deno run -A --unsafe-proto --quiet main.ts`
#   mx8 ARGS...           runs MX8_CMD with ARGS
#   mx8_bg OUT ERR ARGS…  starts mx8 in the background, records its pid for
#                         cleanup; the pid is in MX8_LAST_PID
#   mx8_tmpdir VAR        makes a temp dir, removed on exit
#   mx8_cleanup           kills every recorded child, removes temp dirs
#                         (installed as the EXIT trap by mx8_install_trap)
#   wait_coordinator_ready OUTFILE PID TIMEOUT_S  → MX8_COORD_URL, MX8_COORD_HASH,
#                         MX8_COORD_SAMPLES from the coordinator's ready line
#   metric URL NAME       prints one value of GET URL/metrics
#   pid_alive PID         0 while PID runs (zombies count as gone)
#   wait_pid_exit PID TIMEOUT_S   0 when PID exited in time
#   free_port             prints a free 127.0.0.1 TCP port
#   write_small_files DIR N [CLASSES]   N tiny files (class dirs when CLASSES > 0)
#   ids_cover FILE... -- N   0 when the union of ids files is exactly 0..N-1
#   now_ms                milliseconds since the epoch

MX8_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MX8_ROOT
export NO_COLOR=1

if [[ -n "${MX8_BIN:-}" ]]; then
  MX8_CMD=("$MX8_BIN")
else
  MX8_CMD=(deno run -A --unsafe-proto --quiet "$MX8_ROOT/main.ts")
fi

MX8_CHILD_PIDS=()
MX8_TMP_DIRS=()
MX8_LAST_PID=""

mx8() {
  "${MX8_CMD[@]}" "$@"
}

now_ms() {
  date +%s%3N
}

# mx8_bg STDOUT_FILE STDERR_FILE ARGS...
mx8_bg() {
  local out="$1" err="$2"
  shift 2
  "${MX8_CMD[@]}" "$@" >"$out" 2>"$err" </dev/null &
  MX8_LAST_PID=$!
  MX8_CHILD_PIDS+=("$MX8_LAST_PID")
}

# bg_track PID: records a background pid started by the caller for cleanup.
bg_track() {
  MX8_CHILD_PIDS+=("$1")
}

mx8_tmpdir() {
  # The name is recorded before the directory exists, so a signal between the
  # two can never leave an unrecorded directory behind.
  local __var="$1" __dir
  while true; do
    __dir="${TMPDIR:-/tmp}/mx8-${2:-run}.$$.${RANDOM}${RANDOM}"
    MX8_TMP_DIRS+=("$__dir")
    if mkdir -m 700 "$__dir" 2>/dev/null; then
      break
    fi
    # A mkdir killed by our own SIGTERM may have made the directory before it
    # died: keep such a name recorded (it holds our PID, so it is ours or a
    # dead process's) and try the next name.
    [[ -e "$__dir" ]] || unset 'MX8_TMP_DIRS[-1]'
    [[ -d "${TMPDIR:-/tmp}" ]] || {
      echo "temp root ${TMPDIR:-/tmp} does not exist" >&2
      return 1
    }
  done
  printf -v "$__var" '%s' "$__dir"
}

mx8_cleanup() {
  local pid
  for pid in "${MX8_CHILD_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${MX8_CHILD_PIDS[@]}"; do
    if ! wait_pid_exit "$pid" 3; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  MX8_CHILD_PIDS=()
  if [[ "${MX8_KEEP_WORK:-0}" != "1" ]]; then
    local d
    for d in "${MX8_TMP_DIRS[@]}"; do
      rm -rf -- "$d"
    done
  else
    local d
    for d in "${MX8_TMP_DIRS[@]}"; do
      echo "kept work dir $d"
    done
  fi
  MX8_TMP_DIRS=()
}

mx8_install_trap() {
  # Drop bash's "line N: PID Killed  cmd" notices for children killed on purpose
  # (agents with --kill-after-ms, a SIGKILLed coordinator); keep all other stderr.
  # The filter ignores INT/TERM (a timeout signals the whole process group):
  # it lives until our stderr closes, so bash never writes into a dead pipe
  # (SIGPIPE would kill it before the EXIT trap cleans up).
  exec 2> >(
    trap '' INT TERM
    exec grep -v --line-buffered -E '^.*line [0-9]+: +[0-9]+ Killed +' >&2
  )
  trap 'mx8_cleanup 2>/dev/null' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 141' PIPE
}

# pid_alive PID: 0 while PID runs (an exited, unreaped child counts as gone).
pid_alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != "Z" ]]
}

# wait_pid_exit PID TIMEOUT_S: 0 when PID is gone within TIMEOUT_S seconds.
wait_pid_exit() {
  local pid="$1" deadline
  deadline=$(($(now_ms) + ${2} * 1000))
  while pid_alive "$pid"; do
    if (($(now_ms) >= deadline)); then
      return 1
    fi
    sleep 0.05
  done
  return 0
}

# wait_coordinator_ready OUTFILE PID TIMEOUT_S
wait_coordinator_ready() {
  local out="$1" pid="$2" deadline line
  deadline=$(($(now_ms) + ${3} * 1000))
  while true; do
    line="$(grep -m1 '^mx8 coordinator ready ' "$out" 2>/dev/null || true)"
    if [[ -n "$line" ]]; then
      break
    fi
    if ! pid_alive "$pid"; then
      echo "coordinator exited before its ready line" >&2
      return 1
    fi
    if (($(now_ms) >= deadline)); then
      echo "coordinator not ready after ${3} s" >&2
      return 1
    fi
    sleep 0.05
  done
  MX8_COORD_URL="$(sed -E 's/.* url=([^ ]+).*/\1/' <<<"$line")"
  MX8_COORD_HASH="$(sed -E 's/.* manifest_hash=([0-9a-f]+).*/\1/' <<<"$line")"
  MX8_COORD_SAMPLES="$(sed -E 's/.* samples=([0-9]+).*/\1/' <<<"$line")"
  export MX8_COORD_URL MX8_COORD_HASH MX8_COORD_SAMPLES
}

# metric URL NAME: prints the value of NAME from GET URL/metrics (empty if absent).
metric() {
  curl -fsS --max-time 5 "$1/metrics" 2>/dev/null |
    awk -v n="$2" '$1 == n { print $2; exit }'
}

# wait_metric URL NAME VALUE TIMEOUT_S: 0 once NAME == VALUE.
wait_metric() {
  local deadline
  deadline=$(($(now_ms) + ${4} * 1000))
  while [[ "$(metric "$1" "$2")" != "$3" ]]; do
    if (($(now_ms) >= deadline)); then
      return 1
    fi
    sleep 0.1
  done
}

free_port() {
  # shellcheck disable=SC2016
  deno eval --quiet \
    'const l = Deno.listen({ hostname: "127.0.0.1", port: 0 }); console.log((l.addr as Deno.NetAddr).port); l.close();'
}

# write_small_files DIR N [CLASSES]: N tiny files 00000000.bin…, spread over
# CLASSES class folders (c0/, c1/, …) when CLASSES > 0.
write_small_files() {
  # shellcheck disable=SC2016 # TypeScript template literals, not shell
  deno eval --quiet '
const [dir, nText, classesText] = Deno.args;
const n = Number(nText);
const classes = Number(classesText ?? "0");
const enc = new TextEncoder();
for (let c = 0; c < Math.max(classes, 1); c++) {
  Deno.mkdirSync(classes > 0 ? `${dir}/c${c}` : dir, { recursive: true });
}
for (let i = 0; i < n; i++) {
  const name = String(i).padStart(8, "0") + ".bin";
  const path = classes > 0 ? `${dir}/c${i % classes}/${name}` : `${dir}/${name}`;
  Deno.writeFileSync(path, enc.encode(`mx8 sample ${i} `.repeat(1 + (i % 7))));
}
' "$1" "$2" "${3:-0}"
}

# ids_cover N FILE...: 0 when the union of the ids files is exactly {0..N-1}.
# Prints "delivered=D unique=U missing=M out_of_range=O first_missing=X".
ids_cover() {
  local n="$1"
  shift
  cat -- "$@" 2>/dev/null | awk -v n="$n" '
    /^[0-9]+$/ { d++; if ($1 + 0 >= n) { bad++ } else if (!seen[$1 + 0]++) { u++ } ; next }
    NF > 0 { bad++ }
    END {
      miss = 0; first = "-"
      for (i = 0; i < n; i++) if (!(i in seen)) { if (!miss) first = i; miss++ }
      printf "delivered=%d unique=%d missing=%d out_of_range=%d first_missing=%s\n", d, u, miss, bad + 0, first
      exit (miss == 0 && bad + 0 == 0) ? 0 : 1
    }'
}
