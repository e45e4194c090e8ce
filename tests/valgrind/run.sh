#!/bin/sh
# make valgrind: the unit suites under valgrind, then the integration suites
# with the server binary under valgrind (tests/valgrind/scratchnet-vg), then
# every log is read: any error (invalid read or write, uninitialised value,
# bad free…) or any definitely or indirectly lost byte fails the run.
#
# Usage: run.sh BUILD "UNIT_TESTS" "INTEG_TESTS"
#   VG_UNIT=0 / VG_INTEG=0     skip a half
#   VG_SUITES="test_http …"     only these integration suites (default: all…)
#   VG_SKIP="test_shutdown"     …but these (default: test_shutdown, whose
#                              --grace test needs a job to finish within 120 s
#                              of SIGTERM, which valgrind's slowdown prevents)
#   VG_TIMEOUT_MULTIPLIER      scales Check's test timeouts and the harness's
#                              start/stop waits (CK_TIMEOUT_MULTIPLIER), default 10
# Integration suites run with their own runner (tools/run-tests.sh), so a
# failing test fails the run too. Logs: BUILD/valgrind/.
build=$1
unit=$2
integ=$3
logs=${VG_LOGS:-$build/valgrind}
rm -rf "$logs" && mkdir -p "$logs"
export CK_TIMEOUT_MULTIPLIER="${VG_TIMEOUT_MULTIPLIER:-10}"
vg="valgrind --fair-sched=yes --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30"
status=0
start=$(date +%s)

if [ "${VG_UNIT:-1}" != 0 ]; then
    echo "== unit suites under valgrind"
    for t in $unit; do
        name=$(basename "$t")
        # Check forks a child per test; each process gets its own log.
        $vg --log-file="$logs/unit-$name.%p.log" "$t" >"$logs/unit-$name.out" 2>&1
        rc=$?
        grep 'Checks:' "$logs/unit-$name.out" | tail -n 1 | sed "s|^|$name: |"
        [ "$rc" -ne 0 ] && { echo "$name: exit status $rc"; status=1; }
    done
fi

if [ "${VG_INTEG:-1}" != 0 ]; then
    echo "== integration suites, server under valgrind"
    suites=""
    for t in $integ; do
        name=$(basename "$t")
        if echo " ${VG_SKIP-test_shutdown} " | grep -q " $name "; then
            echo "skipped under valgrind: $name"
        elif [ -z "${VG_SUITES:-}" ] || echo " $VG_SUITES " | grep -q " $name "; then
            suites="$suites $t"
        fi
    done
    VG_LOGDIR=$(cd "$logs" && pwd) VG_BIN=$(cd "$(dirname "$build/scratchnet")" && pwd)/scratchnet \
        SCRATCHNET_BIN=$(pwd)/tests/valgrind/scratchnet-vg \
        sh tools/run-tests.sh "valgrind integration" $suites || status=1
fi

# Read the logs. Each process that exits writes "ERROR SUMMARY: N errors"
# (leaks of the kinds above count as errors). A log without it is a process
# that was killed (test_crash's SIGKILLs, a stop timeout): no leak check,
# but errors reported before the kill still count.
bad=0 clean=0 incomplete=0
for f in "$logs"/*.log; do
    [ -e "$f" ] || continue
    summary=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f" | tail -n 1)
    if [ -z "$summary" ] && grep -q '^==[0-9]*== \(Invalid\|Conditional jump\|Use of uninitialised\|Syscall param\|Mismatched\|Source and destination overlap\)' "$f"; then
        bad=$((bad + 1)) # killed, but not before an error was reported
        echo "---- $f"
        grep -v '^==[0-9]*== *$' "$f" | head -n 100
    elif [ -z "$summary" ]; then
        incomplete=$((incomplete + 1))
    elif [ "$summary" -ne 0 ]; then
        bad=$((bad + 1))
        echo "---- $f"
        grep -v '^==[0-9]*== *$' "$f" | head -n 100
    else
        clean=$((clean + 1))
    fi
done
end=$(date +%s)
echo "valgrind: $((clean + bad + incomplete)) processes, $bad with errors or leaks, $clean clean, $incomplete killed before exit ($((end - start)) s)"
[ "$bad" -eq 0 ] && [ "$status" -eq 0 ]
