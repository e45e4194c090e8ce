#!/usr/bin/python3
"""compare.py — `make bench`: scratchnet's training benchmark beside PyTorch's,
in one go, on 1 and 2 threads, medians of several runs, then the ratios the
speed issue asks for (with the seed's 2-2-1 network's 1000 epochs) and a
10-epoch accuracy run. Figures only: never fails
on speed (exit status 1 only if a program cannot run).

    compare.py PATH/TO/bench_train

Environment: SN_BENCH_EPOCHS (default 3: 1 warm-up + 2 timed epochs),
SN_BENCH_RUNS (default 3), SN_BENCH_ACC_EPOCHS (default 10, 0 skips),
SN_BENCH_THREADS (default "1 2"), SN_BENCH_TORCH (0 skips PyTorch),
SN_BENCH_ALSO_CORETYPE (default Haswell; empty skips): when OPENBLAS_CORETYPE
is not set, PyTorch on 1 thread and the probe are also run with it forced to
this value, to show OpenBLAS's AVX2 kernels beside its own choice.

OpenBLAS: the environment may set OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) to
keep old OpenBLAS builds away from kernels they get wrong; that slows sgemm.
When it is set, PyTorch and the sgemm probe are measured both with it and
with both variables unset, and both figures are printed.
"""
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable or "/usr/bin/python3"

PROBE = r"""
import time, numpy as np
n = 1024
a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
for _ in range(3): a @ b
best = 0.0
for _ in range(5):
    t = time.perf_counter(); reps = 10
    for _ in range(reps): a @ b
    best = max(best, 2 * n**3 * reps / (time.perf_counter() - t) / 1e9)
print(f"gflops={best:.1f}")
"""


def parse(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def run(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"compare.py: {' '.join(cmd)} failed")
    line = [l for l in out.stdout.splitlines() if "=" in l][-1]
    r = parse(line)
    # OpenBLAS names the kernel family it picked when OPENBLAS_VERBOSE=2 ("Core: SkylakeX").
    r["openblas_core"] = next((l.split(":", 1)[1].strip() for l in out.stderr.splitlines()
                               if l.startswith("Core:")), "?")
    return r


def blas_label(name):
    return f"OPENBLAS_CORETYPE{name}" if name.startswith("=") else f"OPENBLAS_CORETYPE {name}"


def main():
    ours = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../build/bench/bench_train")
    epochs = os.environ.get("SN_BENCH_EPOCHS", "3")
    runs = int(os.environ.get("SN_BENCH_RUNS", "3"))
    acc_epochs = int(os.environ.get("SN_BENCH_ACC_EPOCHS", "10"))
    threads = [int(t) for t in os.environ.get("SN_BENCH_THREADS", "1 2").split()]
    with_torch = os.environ.get("SN_BENCH_TORCH", "1") != "0"

    env = dict(os.environ)
    blas_envs = [("as set" if "OPENBLAS_CORETYPE" in env else "auto", env)]
    if "OPENBLAS_CORETYPE" in env:
        clean = {k: v for k, v in env.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        blas_envs.append(("unset", clean))
    else:
        # Also the AVX2 kernels (what OPENBLAS_CORETYPE=Haswell forces), 1 thread only.
        also = os.environ.get("SN_BENCH_ALSO_CORETYPE", "Haswell")
        if also:
            blas_envs.append((f"={also}", dict(env, OPENBLAS_CORETYPE=also)))

    print(f"training benchmark: 784-256-128-10 relu MLP, adam 0.001, batch 64, Fashion-MNIST; "
          f"{epochs} epochs per run (first untimed), median of {runs} runs")
    peaks = {}
    for name, e in blas_envs:
        pe = dict(e, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_VERBOSE="2")
        try:
            r = run([PY, "-c", PROBE], pe)
            peaks[name] = float(r["gflops"])
            print(f"sgemm probe (numpy/OpenBLAS 1024², 1 thread, {blas_label(name)}"
                  f"{'=' + e['OPENBLAS_CORETYPE'] if name == 'as set' else ''}): "
                  f"{r['gflops']} GFLOP/s, core {r['openblas_core']}")
        except SystemExit as ex:
            print(f"sgemm probe unavailable ({ex})")

    results = {}  # (impl, blas, threads) -> list of samples/s
    extra = {}
    for i in range(runs):
        for t in threads:
            r = run([ours, str(t), epochs], env)
            results.setdefault(("scratchnet", "", t), []).append(float(r["samples_per_s"]))
            extra["kernels"] = r["kernels"]
            if with_torch:
                for k, (name, e) in enumerate(blas_envs):
                    if k and name.startswith("=") and t != 1:
                        continue
                    r = run([PY, os.path.join(HERE, "bench_torch.py"), str(t), epochs], e)
                    results.setdefault(("pytorch", name, t), []).append(float(r["samples_per_s"]))

    flop = 6 * (784 * 256 + 256 * 128 + 128 * 10)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"\n{'implementation':38s} {'threads':>7s} {'samples/s':>10s} {'GFLOP/s':>8s}   runs")
    for (impl, blas, t), v in sorted(results.items()):
        label = impl + (f" ({blas_label(blas)})" if impl == "pytorch" else f" ({extra['kernels']})")
        print(f"{label:38s} {t:7d} {med[(impl, blas, t)]:10.0f} {med[(impl, blas, t)] * flop / 1e9:8.1f}"
              f"   {' '.join(f'{x:.0f}' for x in v)}")

    print("\nratios (targets in brackets)")
    s1 = med.get(("scratchnet", "", 1))
    for name, _ in blas_envs:
        p1 = med.get(("pytorch", name, 1))
        if s1 and p1:
            print(f"  ours / PyTorch, 1 thread, {blas_label(name)}: {s1 / p1:.2f}  [>= 1.3]")
    s2 = med.get(("scratchnet", "", 2))
    if s1 and s2:
        print(f"  ours 2 threads / ours 1 thread: {s2 / s1:.2f}  [>= 1.8]")
    for name, peak in peaks.items():
        if s1 and not name.startswith("="):
            print(f"  ours 1-thread GFLOP/s / sgemm peak ({name}, {peak:.0f}): "
                  f"{s1 * flop / 1e9 / peak:.2f}  [>= 0.60]")

    r = run([ours, "seed"], env)
    print(f"  the seed's 2-2-1 network, 1000 epochs over its 4 rows (SGD 0.1, batch 1): "
          f"{r['ms_median']} ms (median of 101; fastest {r['ms_min']} ms)  [well under 1 ms]")

    if acc_epochs > 0:
        t = max(threads)
        r = run([ours, str(t), str(acc_epochs)], env)
        print(f"\naccuracy run: {acc_epochs} epochs, {t} threads, kernels {r['kernels']}: "
              f"test accuracy {r['test_accuracy']}  [>= 0.885]")


if __name__ == "__main__":
    main()
