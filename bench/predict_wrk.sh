#!/bin/bash
# /predict under load: wrk against scratchnet serving the seed's model and
# against predict_floor (a bare libmicrohttpd server that answers the same
# bytes: the same body and headers), at 32 connections. The two take turns,
# ROUNDS times each, so that the machine's drifts hit both alike; it prints
# every round and the medians of req/s and p99 latency, and their ratio.
# A benchmark: it never fails on speed.
#
# The load generator and the servers run on separate CPUs (taskset): wrk on
# the first quarter of them (at least one), the server on the rest, with one
# HTTP thread per CPU. Sharing CPUs, the server's tail latency is the
# scheduler's time slices between it and wrk (on 2 CPUs, p99 swings from 0.4
# to 5 ms from one round to the next, for the floor as for scratchnet), and
# the req/s ratio is diluted by wrk's own share of the CPU.
#
#   bash bench/predict_wrk.sh [SECONDS_PER_ROUND]     (from the repository root, after make)
#   ROUNDS=5; PIN=0 to share every CPU (then THREADS=2 HTTP threads, wrk -t2)
set -eu
secs=${1:-5}
rounds=${ROUNDS:-5}
cpus=$(nproc)
if [ "${PIN:-1}" = 1 ] && [ "$cpus" -ge 2 ] && command -v taskset >/dev/null; then
    load_cpus=$(( cpus / 4 > 0 ? cpus / 4 : 1 ))
    on_load="taskset -c 0-$((load_cpus - 1))"
    on_server="taskset -c $load_cpus-$((cpus - 1))"
    threads=${THREADS:-$((cpus - load_cpus))}
    wrk_threads=$load_cpus
    placement="wrk on CPUs 0-$((load_cpus - 1)), servers on CPUs $load_cpus-$((cpus - 1))"
else
    on_load="" on_server=""
    threads=${THREADS:-2}
    wrk_threads=2
    placement="wrk and servers sharing all $cpus CPUs"
fi
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
port_app=18431
port_floor=18432
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
cc -O2 -o "$out/predict_floor" "$root/bench/predict_floor.c" $(pkg-config --cflags --libs libmicrohttpd)

$on_server "$root/scratchnet" --port $port_app --bind 127.0.0.1 --db "$out/bench.db" --http-threads "$threads" \
    >/dev/null 2>"$out/server.log" &
app=$!
trap 'kill $app ${floor:-} 2>/dev/null; rm -rf "$out"' EXIT
sleep 0.5
curl -s --json '{"model":"gender","layers":[2,2,1],"init":"normal","seed":42,
  "inputs":[[-2,-1],[25,6],[17,4],[-15,-6]],"targets":[[1],[0],[0],[1]]}' \
  "http://127.0.0.1:$port_app/train?wait=true" >/dev/null
body='{"model":"gender","inputs":[[-7,-3]]}'
answer=$(curl -s -D "$out/headers" --json "$body" "http://127.0.0.1:$port_app/predict")
# The floor sends the same headers; libmicrohttpd adds Date and Content-Length itself.
mapfile -t headers < <(tr -d '\r' <"$out/headers" | grep -v -i -E '^(HTTP/|date:|content-length:|$)')
$on_server "$out/predict_floor" $port_floor "$threads" "$answer" "${headers[@]}" &
floor=$!
sleep 0.3
cat >"$out/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
run() { # url → "req/s p99-in-ms"
    $on_load wrk -t$wrk_threads -c32 -d"${secs}s" --latency -s "$out/post.lua" "$1" >"$out/wrk.txt"
    if grep -q -E 'Non-2xx|Socket errors' "$out/wrk.txt"; then
        grep -E 'Non-2xx|Socket errors' "$out/wrk.txt" >&2
    fi
    awk '/Requests\/sec/ {rps = $2}
         $1 == "99%" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                      p99 = u == "us" ? v / 1000 : u == "s" ? v * 1000 : v}
         END {printf "%s %.3f\n", rps, p99}' "$out/wrk.txt"
}
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo "answer: $answer"
echo "headers: ${headers[*]}"
printf '%-6s %-28s %12s %10s\n' round server req/s p99
: >"$out/floor.txt"
: >"$out/app.txt"
for r in $(seq "$rounds"); do
    set -- $(run "http://127.0.0.1:$port_floor/predict")
    echo "$1 $2" >>"$out/floor.txt"
    printf '%-6s %-28s %12s %8sms\n' "$r" "bare libmicrohttpd (floor)" "$1" "$2"
    set -- $(run "http://127.0.0.1:$port_app/predict")
    echo "$1 $2" >>"$out/app.txt"
    printf '%-6s %-28s %12s %8sms\n' "$r" "scratchnet /predict" "$1" "$2"
done
floor_rps=$(cut -d' ' -f1 "$out/floor.txt" | median)
floor_p99=$(cut -d' ' -f2 "$out/floor.txt" | median)
app_rps=$(cut -d' ' -f1 "$out/app.txt" | median)
app_p99=$(cut -d' ' -f2 "$out/app.txt" | median)
printf 'median of %s rounds of %ss, %s HTTP threads each, wrk -t%s -c32, %s:\n' "$rounds" "$secs" "$threads" "$wrk_threads" "$placement"
printf '%-35s %12s %8sms\n' "bare libmicrohttpd (floor)" "$floor_rps" "$floor_p99"
printf '%-35s %12s %8sms   (target: p99 < 1 ms)\n' "scratchnet /predict" "$app_rps" "$app_p99"
awk -v a="$app_rps" -v f="$floor_rps" 'BEGIN { printf "ratio scratchnet/floor: %.2f (target >= 0.8)\n", a / f }'
