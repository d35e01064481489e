#!/usr/bin/env bash
# Run the atheris fuzz targets for a fixed time each, two at a time.
#
#   fuzz/run.sh                      # every target, 600 s each
#   FUZZ_SECONDS=60 fuzz/run.sh fuzz_scan fuzz_jsonl
#
# Environment:
#   FUZZ_SECONDS     time per target (default 600)
#   FUZZ_JOBS        targets run concurrently (default 2)
#   FUZZ_WORK        work dir: grown corpus, logs, findings (default /tmp/textfix-fuzz)
#   FUZZ_MAX_LEN     longest input in bytes (default 2048)
#   FUZZ_KEEP_GOING  1 (default): record failing inputs under $FUZZ_WORK/findings and
#                    keep fuzzing; 0: stop at the first failure (libFuzzer crash file)
#   FUZZ_TIMEOUT     libFuzzer -timeout: a call running this long ends the run (default 60)
#   TEXTFIX_FUZZ_HANG  seconds after which one call counts as a hang (default 2)
#
# The seed corpus fuzz/corpus/<target>/ is only read; new inputs go to the work dir.
# Afterwards `python fuzz/collect.py` turns the findings into tests/cases/regressions.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${FUZZ_SECONDS:-600}"
jobs="${FUZZ_JOBS:-2}"
work="${FUZZ_WORK:-/tmp/textfix-fuzz}"
max_len="${FUZZ_MAX_LEN:-2048}"
keep_going="${FUZZ_KEEP_GOING:-1}"
timeout="${FUZZ_TIMEOUT:-60}"
python="${PYTHON:-python}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(fuzz_fix_text fuzz_scan fuzz_decode_bytes fuzz_jsonl)
fi

run_one() {
    local target="$1"
    local dir="$work/$target"
    mkdir -p "$dir/corpus"
    local env=()
    if [ "$keep_going" = 1 ]; then
        env=(TEXTFIX_FUZZ_FINDINGS="$work/findings")
    fi
    echo "[$(date +%T)] $target: ${seconds}s"
    # libFuzzer's -timeout catches calls that never return (the harness itself flags
    # calls slower than TEXTFIX_FUZZ_HANG seconds).
    env "${env[@]}" "$python" "$here/$target.py" "$dir/corpus" "$here/corpus/$target" \
        -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=4096 -max_len="$max_len" \
        -artifact_prefix="$dir/" -print_final_stats=1 >"$dir/log" 2>&1 || true
    local execs
    execs="$(grep -o 'number_of_executed_units: [0-9]*' "$dir/log" | tail -1 | grep -o '[0-9]*$' || echo '?')"
    local findings=0
    if [ -d "$work/findings/${target#fuzz_}" ]; then
        findings="$(find "$work/findings/${target#fuzz_}" -name '*.json' | wc -l)"
    fi
    local artifacts
    artifacts="$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
    echo "[$(date +%T)] $target: $execs executions, $findings recorded findings, $artifacts libFuzzer artifacts (log: $dir/log)"
}

export -f run_one
export here seconds work max_len keep_going timeout python
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}
