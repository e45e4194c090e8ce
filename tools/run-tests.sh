#!/bin/sh
# Runs test programs one after another, shows their output, and ends with one
# line summing up every Check suite: "LABEL: N passed, N failed".
# Exits nonzero if any program failed, even one that printed no summary.
# Usage: run-tests.sh LABEL PROGRAM...
label=$1
shift
passed=0
failed=0
crashed=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$@"; do
    echo "== $t"
    "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    counts=$(sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' "$log" | tail -n 1)
    if [ -n "$counts" ]; then
        set -- $counts
        passed=$((passed + $1 - $2 - $3))
        failed=$((failed + $2 + $3))
    fi
    [ "$rc" -ne 0 ] && crashed="$crashed $t"
done
[ -n "$crashed" ] && echo "failed:$crashed"
echo "$label: $passed passed, $failed failed"
[ -z "$crashed" ] && [ "$failed" -eq 0 ]
