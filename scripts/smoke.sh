#!/usr/bin/env bash
# smoke: the main smoke gate. Steps, each printed as `step NAME ... PASS|FAIL (S s)`:
#   fmt         deno fmt --check
#   lint        deno lint
#   typecheck   deno check main.ts mod.ts tests/ scripts/
#   tests       deno task test                     (skip: MX8_SMOKE_SKIP_TESTS=1)
#   demo        mx8 demo --images MX8_SMOKE_DEMO_IMAGES (default 300): a coordinator
#               + agents as processes, one killed mid-lease, requeue, drain, loader stats;
#               requires its last line `mx8 demo OK … drained=true …`
#   s3          prod_readiness.sh gate s3_path (s3rver)   (only with MX8_SMOKE_S3=1)
# Last line: `smoke PASS (N steps)` or `smoke FAIL (failed: …)`; exit 1 on failure.
# MX8_SMOKE_SKIP_STATIC=1 skips fmt/lint/typecheck. Logs: MX8_KEEP_WORK=1 keeps them.
set -euo pipefail
# shellcheck source=scripts/_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
mx8_install_trap
cd "$MX8_ROOT"
mx8_tmpdir LOGS smoke

FAILED=()
STEPS=0

# step NAME COMMAND...: runs COMMAND with its output in LOGS/NAME.log.
step() {
  local name="$1" t0 code=0 secs
  shift
  t0="$(now_ms)"
  "$@" >"$LOGS/$name.log" 2>&1 || code=$?
  secs="$(awk -v ms=$(($(now_ms) - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')"
  STEPS=$((STEPS + 1))
  if ((code == 0)); then
    echo "step $name ... PASS (${secs} s)"
  else
    echo "step $name ... FAIL (${secs} s, exit $code)"
    tail -n 30 "$LOGS/$name.log" | sed 's/^/    /'
    FAILED+=("$name")
  fi
}

demo_step() {
  local out last
  out="$(mx8 demo --images "${MX8_SMOKE_DEMO_IMAGES:-300}" --agents 3 2>&1)" || {
    echo "$out"
    echo "mx8 demo exited non-zero"
    return 1
  }
  echo "$out"
  last="$(tail -n1 <<<"$out")"
  [[ "$last" == "mx8 demo OK "*" drained=true "* ]] || {
    echo "last line is not 'mx8 demo OK … drained=true …': $last"
    return 1
  }
}

if [[ "${MX8_SMOKE_SKIP_STATIC:-0}" != "1" ]]; then
  step fmt deno fmt --check
  step lint deno lint
  step typecheck deno check main.ts mod.ts tests/ scripts/
fi
if [[ "${MX8_SMOKE_SKIP_TESTS:-0}" != "1" ]]; then
  step tests deno task test
fi
step demo demo_step
if [[ "${MX8_SMOKE_S3:-0}" == "1" ]]; then
  step s3 env MX8_PR_ONLY=s3_path bash scripts/prod_readiness.sh
fi
if grep -h '^mx8 demo OK ' "$LOGS/demo.log" >/dev/null 2>&1; then
  echo "  $(grep -h '^mx8 demo OK ' "$LOGS/demo.log" | tail -n1)"
fi

if ((${#FAILED[@]} == 0)); then
  echo "smoke PASS ($STEPS steps)"
else
  echo "smoke FAIL (failed: ${FAILED[*]})"
  exit 1
fi
