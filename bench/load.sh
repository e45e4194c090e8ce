#!/bin/sh
# Mixed traffic against the real server: /predict (single rows and batches),
# the registry (/model…), a trickle of /train jobs and a churned pool of
# /dataset uploads and deletes (bench/load.lua has the mix), from wrk at 64
# connections for 60 s. Reports req/s, p50/p99 latency, every status
# counted, errors (anything but 2xx and the expected 404/409/429) and 5xx,
# wrk's socket errors (connect/read/write/timeout), and the server's RSS at
# the start, every 10 s, and at the end. A benchmark: it never fails on
# speed; it exits 1 only when the server answered 5xx, dropped connections
# or died.
#
#   make -C bench load                 (builds the server first)
#   SECONDS_=60 CONNECTIONS=64 THREADS=2 HTTP_THREADS=4 sh bench/load.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${SECONDS_:-60}
conns=${CONNECTIONS:-64}
threads=${THREADS:-2}
http_threads=${HTTP_THREADS:-4}
bin=${SCRATCHNET_BIN:-$root/scratchnet}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
out=$(mktemp -d)

# --max-connections above the client's count: every connection is served.
"$bin" --port 0 --bind 127.0.0.1 --db "$out/load.db" --http-threads "$http_threads" \
    --workers 1 --threads 1 >"$out/stdout" 2>"$out/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 50); do grep -q listening "$out/stdout" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\) .*/\1/p' "$out/stdout")
[ -n "$port" ] || { echo "the server did not start"; cat "$out/server.log"; exit 1; }
base="http://127.0.0.1:$port"

# The model /predict uses, imported with fixed weights ([4, 16, 3]).
python3 - "$base" <<'PY'
import json, random, sys, urllib.request
random.seed(1)
sizes = [4, 16, 3]
params = [{"W": [[round(random.uniform(-1, 1), 3) for _ in range(sizes[l])] for _ in range(sizes[l + 1])],
           "b": [round(random.uniform(-1, 1), 3) for _ in range(sizes[l + 1])]} for l in range(2)]
body = json.dumps({"layers": sizes, "activation": ["relu", "softmax"], "loss": "crossentropy",
                   "parameters": params}).encode()
req = urllib.request.Request(sys.argv[1] + "/model/load/versions", data=body,
                             headers={"Content-Type": "application/json"})
assert urllib.request.urlopen(req).status == 201
PY

rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; } # KiB
rss_start=$(rss)
(
    t=0
    while sleep 10; do
        t=$((t + 10))
        [ "$t" -ge "$secs" ] && break
        kill -0 $pid 2>/dev/null || break
        echo "rss at ${t}s: $(rss) KiB"
    done
) >"$out/rss.txt" &
sampler=$!

echo "scratchnet load: ${secs}s, $conns connections, $threads wrk threads, --http-threads $http_threads"
wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s -s "$root/bench/load.lua" "$base" >"$out/wrk.txt" 2>&1 || true
wait $sampler 2>/dev/null || true
alive=yes
kill -0 $pid 2>/dev/null || alive=no
rss_end=$(rss 2>/dev/null || echo 0)
sleep 2 # jobs queued at the end drain; memory should settle
rss_settled=$(rss 2>/dev/null || echo 0)

grep '^LOAD' "$out/wrk.txt" | sed 's/^LOAD //'
cat "$out/rss.txt"
echo "rss start ${rss_start} KiB, end ${rss_end} KiB, 2 s later ${rss_settled} KiB; server alive: $alive"
jobs=$(curl -s "$base/metrics" | awk '/^scratchnet_jobs/ && !/^#/' | tr '\n' ' ' || true)
[ -n "$jobs" ] && echo "jobs: $jobs"

errors=$(sed -n 's/^LOAD errors=\([0-9]*\) 5xx=\([0-9]*\) socket_errors=\([0-9]*\).*/\1 \2 \3/p' "$out/wrk.txt")
set -- ${errors:-1 1 1}
if [ "$alive" = no ] || [ "$2" -ne 0 ] || [ "$3" -ne 0 ]; then
    echo "FAILED: 5xx, connection errors or a dead server"; tail -20 "$out/server.log"; exit 1
fi
