#!/bin/sh
# Runs the libFuzzer harnesses built in build-fuzz/fuzz/ (make fuzz-build).
#
#   run.sh run SECONDS HARNESS...     fuzz each for SECONDS (-max_total_time),
#                                     print its executions, fail on a crash
#   run.sh replay 0 HARNESS...        run each once on its seed corpus and its
#                                     committed regressions, no fuzzing
#
# Seeds: tests/fuzz/corpus/<harness>/; crashes kept as regression inputs:
# tests/fuzz/regressions/<harness>/. New inputs found while fuzzing go to
# build-fuzz/corpus/<harness>/ (kept between runs, never committed); a crash
# is written to build-fuzz/crashes/<harness>/ — copy it to regressions/ once
# fixed. JSON harnesses get tests/fuzz/json.dict (field names, enum values).
# Ends with one line per harness and a summary line.
mode=$1
seconds=$2
shift 2
bin=build-fuzz/fuzz
failed=""
summary=""
for h in "$@"; do
    seeds=tests/fuzz/corpus/$h
    regress=tests/fuzz/regressions/$h
    if [ "$mode" = replay ]; then
        files=$(find "$seeds" "$regress" -type f 2>/dev/null | sort)
        n=$(printf '%s\n' "$files" | grep -c .)
        if [ "$n" -eq 0 ] || "$bin/$h" -runs=1 $files >"$bin/$h.replay.log" 2>&1; then
            summary="$summary
fuzz-regress $h: $n inputs ok"
        else
            cat "$bin/$h.replay.log"
            failed="$failed $h"
            summary="$summary
fuzz-regress $h: FAILED (log: $bin/$h.replay.log)"
        fi
        continue
    fi
    work=build-fuzz/corpus/$h
    crashes=build-fuzz/crashes/$h
    mkdir -p "$work" "$crashes"
    log=$bin/$h.log
    dict=""
    case $h in csv|model_blob|router) ;; *) dict=-dict=tests/fuzz/json.dict ;; esac
    echo "== fuzzing $h for ${seconds}s"
    "$bin/$h" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 $dict \
        -artifact_prefix="$crashes/" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        sed -n '/ERROR:\|invariant broken\|deadly signal/,/^SUMMARY/p' "$log" | head -40
        failed="$failed $h"
        summary="$summary
fuzz $h: CRASH after ${execs:-?} executions (log: $log; inputs: $crashes/)"
    else
        summary="$summary
fuzz $h: ${execs:-?} executions in ${seconds}s, $cov, corpus $(ls "$work" | wc -l) files"
    fi
done
echo "$summary" | sed '/^$/d'
if [ -n "$failed" ]; then
    echo "fuzz $mode: failed:$failed"
    exit 1
fi
echo "fuzz $mode: $# harnesses ok"
