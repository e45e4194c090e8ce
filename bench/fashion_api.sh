#!/bin/sh
# fashion_api.sh — Fashion-MNIST through the HTTP API, end to end: a benchmark,
# not a test (it prints figures and fails only when a step fails).
#
#   1. turns Debian's IDX files (/usr/share/datasets/fashion-mnist, package
#      fashion-mnist) into train.csv and test.csv, label column "label";
#   2. starts the server (SCRATCHNET_BIN, default ./scratchnet) on a free port
#      with a temporary database;
#   3. uploads both CSVs with curl (upload MB/s);
#   4. trains 784-256-128-10 relu/softmax/crossentropy, Adam lr 0.001, batch
#      64, 10 epochs through POST /train (samples/s from the job's duration_ms,
#      and steady samples/s from the arrival of its epoch events), inputs scaled to [0, 1] (minmax) and Xavier/Glorot
#      initialisation, as Keras's defaults for this classic MLP;
#   5. scores the test set with POST /evaluate (target accuracy >= 0.885);
#   6. prints the server's peak RSS (VmHWM) beside the float32 size of the
#      data it holds (target <= 2x: no text or JSON tree kept).
#
# Environment: SCRATCHNET_BIN, FASHION_DIR, EPOCHS (10), SEED (1), THREADS
# (server default: all cores), KEEP=1 keeps the work directory. Test accuracy
# moves by about ±0.003 with the seed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${SCRATCHNET_BIN:-$root/scratchnet}
src=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
epochs=${EPOCHS:-10}
cc=${CC:-cc}

die() { echo "fashion_api: $*" >&2; exit 1; }
[ -x "$bin" ] || die "no server binary at $bin (run make first)"
[ -r "$src/train-images-idx3-ubyte.gz" ] || die "no Fashion-MNIST in $src (apt-get install fashion-mnist)"
command -v curl >/dev/null || die "curl is needed"

work=$(mktemp -d "${TMPDIR:-/tmp}/fashion_api.XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ "${KEEP:-0}" = 1 ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Seconds since the epoch with fractions, for rates.
now() { date +%s.%N; }
# A JSON number or string field of a flat answer: json_field NAME < body
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" | head -n 1; }

# ---- 1. IDX → CSV
"$cc" -O2 -o "$work/idx2csv" "$here/idx2csv.c"
for set in train t10k; do
    gunzip -c "$src/$set-images-idx3-ubyte.gz" > "$work/$set-images"
    gunzip -c "$src/$set-labels-idx1-ubyte.gz" > "$work/$set-labels"
done
"$work/idx2csv" "$work/train-images" "$work/train-labels" > "$work/train.csv"
"$work/idx2csv" "$work/t10k-images" "$work/t10k-labels" > "$work/test.csv"
rm -f "$work"/*-images "$work"/*-labels
train_rows=$(($(wc -l < "$work/train.csv") - 1))
test_rows=$(($(wc -l < "$work/test.csv") - 1))

# ---- 2. the server
threads_arg=
[ -n "${THREADS:-}" ] && threads_arg="--threads $THREADS"
# shellcheck disable=SC2086
"$bin" --port 0 --bind 127.0.0.1 --db "$work/bench.db" --max-dataset 1G $threads_arg \
    > "$work/server.out" 2> "$work/server.log" &
pid=$!
url=
for _ in $(seq 100); do
    url=$(grep -ho 'http://[0-9.]*:[0-9]*' "$work/server.out" "$work/server.log" 2>/dev/null | head -n 1 || true)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || die "the server did not start: $(cat "$work/server.log")"
    sleep 0.1
done
[ -n "$url" ] || die "the server did not say where it listens"

# ---- 3. uploads
upload() { # name file → prints "bytes seconds"
    out=$(curl -sS -o "$work/$1.json" -w '%{http_code} %{size_upload} %{time_total}' \
        -H 'Content-Type: text/csv' --data-binary "@$2" "$url/dataset?name=$1&target=label&target_type=label")
    [ "${out%% *}" = 201 ] || die "upload of $1 answered ${out%% *}: $(cat "$work/$1.json")"
    echo "${out#* }"
}
set -- $(upload fashion-train "$work/train.csv"); up_bytes=$1; up_secs=$2
set -- $(upload fashion-test "$work/test.csv"); up_bytes=$((up_bytes + $1)); up_secs=$(awk "BEGIN { print $up_secs + $2 }")
rm -f "$work/train.csv" "$work/test.csv"

# ---- 4. training
cat > "$work/train.req" <<JSON
{"model": "fashion", "dataset": "fashion-train", "target": "label",
 "layers": [784, 256, 128, 10], "activation": "relu", "output_activation": "softmax",
 "loss": "crossentropy", "optimizer": {"type": "adam", "learning_rate": 0.001},
 "batch_size": 64, "epochs": $epochs, "normalize": "minmax", "init": "xavier", "seed": ${SEED:-1}}
JSON
# Queued (202), then its event stream: the arrival time of every epoch event
# gives the steady rate from the end of epoch 1 to the end of the last, as
# the core's own benchmark times it; the job's duration_ms also counts
# loading the dataset from the store.
t0=$(now)
code=$(curl -sS -o "$work/queued.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$work/train.req" "$url/train")
[ "$code" = 202 ] || die "training answered $code: $(cat "$work/queued.json")"
job=$(json_field id < "$work/queued.json")
curl -sS -N "$url/train/$job/events" | while IFS= read -r line; do
    case $line in "event: epoch"*) now ;; esac
done > "$work/epoch.times"
t1=$(now)
curl -sS -o "$work/job.json" "$url/train/$job"
[ "$(json_field status < "$work/job.json")" = succeeded ] || die "training failed: $(cat "$work/job.json")"
train_ms=$(json_field duration_ms < "$work/job.json")
train_loss=$(json_field loss < "$work/job.json")
steady=$(awk -v rows="$train_rows" 'NR == 1 { first = $1 } { last = $1; n = NR }
    END { if (n > 1) printf "%.0f", (n - 1) * rows / (last - first); else print "n/a" }' "$work/epoch.times")

# ---- 5. evaluation
code=$(curl -sS -o "$work/eval.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"model": "fashion", "dataset": "fashion-test"}' "$url/evaluate")
[ "$code" = 200 ] || die "evaluation answered $code: $(cat "$work/eval.json")"
accuracy=$(json_field accuracy < "$work/eval.json")
test_loss=$(json_field loss < "$work/eval.json")

# ---- 6. memory
hwm_kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
held=$(( (train_rows + test_rows) * (784 + 1) * 4 ))

awk -v rows="$train_rows" -v epochs="$epochs" -v ms="$train_ms" -v wall0="$t0" -v wall1="$t1" \
    -v bytes="$up_bytes" -v secs="$up_secs" -v acc="$accuracy" -v tl="$test_loss" \
    -v loss="$train_loss" -v hwm="$hwm_kb" -v held="$held" -v threads="${THREADS:-all cores}" \
    -v steady="$steady" 'BEGIN {
    printf "fashion_api: Fashion-MNIST through the HTTP API (server threads: %s)\n", threads
    printf "  upload          %.1f MB in %.2f s = %.1f MB/s (CSV parsed as it streams)\n", bytes / 1e6, secs, bytes / 1e6 / secs
    printf "  training        %d epochs x %d rows in %.1f s = %.0f samples/s (job duration, dataset load included; wall %.1f s)\n", epochs, rows, ms / 1000, epochs * rows / (ms / 1000), wall1 - wall0
    printf "                  %s samples/s steady (epochs 2..%d, from the event stream)\n", steady, epochs
    printf "  final loss      %s (training), %s (test)\n", loss, tl
    printf "  test accuracy   %s (target >= 0.885)\n", acc
    printf "  peak RSS        %.1f MB; data held as float32 %.1f MB; ratio %.2f (target <= 2)\n", hwm / 1024, held / 1048576, hwm * 1024 / held
}'
