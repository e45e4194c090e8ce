#!/bin/sh
# /predict under load: wrk against scratchnet serving the seed's model and,
# in the same run, against predict_floor (a bare libmicrohttpd server that
# answers the same bytes), at 32 connections. Prints req/s and p99 latency of
# both and the ratio. A benchmark: it never fails on speed.
#
#   sh bench/predict_wrk.sh [SECONDS]     (from the repository root, after make)
set -eu
secs=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
port_app=18431
port_floor=18432
threads=${THREADS:-2}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
cc -O2 -o "$out/predict_floor" "$root/bench/predict_floor.c" $(pkg-config --cflags --libs libmicrohttpd)

"$root/scratchnet" --port $port_app --bind 127.0.0.1 --db "$out/bench.db" --http-threads $threads \
    >/dev/null 2>"$out/server.log" &
app=$!
trap 'kill $app ${floor:-} 2>/dev/null; rm -rf "$out"' EXIT
sleep 0.5
curl -s --json '{"model":"gender","layers":[2,2,1],"init":"normal","seed":42,
  "inputs":[[-2,-1],[25,6],[17,4],[-15,-6]],"targets":[[1],[0],[0],[1]]}' \
  "http://127.0.0.1:$port_app/train?wait=true" >/dev/null
body='{"model":"gender","inputs":[[-7,-3]]}'
answer=$(curl -s --json "$body" "http://127.0.0.1:$port_app/predict")
"$out/predict_floor" $port_floor $threads "$answer" &
floor=$!
sleep 0.3
cat >"$out/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
run() { # url → "req/s p99"
    wrk -t2 -c32 -d"${secs}s" --latency -s "$out/post.lua" "$1" >"$out/wrk.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$out/wrk.txt")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' "$out/wrk.txt")
    echo "$rps $p99 ${errors:-}"
}
set -- $(run "http://127.0.0.1:$port_floor/predict")
floor_rps=$1 floor_p99=$2
set -- $(run "http://127.0.0.1:$port_app/predict")
app_rps=$1 app_p99=$2
echo "answer: $answer"
printf '%-28s %12s %10s\n' "" "req/s" "p99"
printf '%-28s %12s %10s\n' "bare libmicrohttpd (floor)" "$floor_rps" "$floor_p99"
printf '%-28s %12s %10s\n' "scratchnet /predict" "$app_rps" "$app_p99"
awk -v a="$app_rps" -v f="$floor_rps" 'BEGIN { printf "ratio scratchnet/floor: %.2f (target >= 0.8)\n", a / f }'
