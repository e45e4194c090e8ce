#!/usr/bin/python3
"""bench_torch.py — the PyTorch side of `make bench`: the same 784-256-128-10
ReLU MLP, softmax cross-entropy, Adam (lr 0.001), batch 64, on Fashion-MNIST
read from Debian's IDX files, inputs scaled to [0,1].

Usage: bench_torch.py THREADS [EPOCHS]   (EPOCHS default 2; env SN_BENCH_EPOCHS)
Prints one line of key=value pairs (see bench/bench_train.c for the same keys).
"""
import gzip, os, struct, sys, time

import numpy as np
import torch

DATA = os.environ.get("SN_BENCH_DATA", "/usr/share/datasets/fashion-mnist")


def idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    dims = [struct.unpack(">I", raw[4 + 4 * i:8 + 4 * i])[0] for i in range(magic & 0xFF)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else int(os.environ.get("SN_BENCH_EPOCHS", "2"))
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    xtr = torch.from_numpy(idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255)
    ytr = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    xte = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255)
    yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    sizes = [784, 256, 128, 10]
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    lossf = torch.nn.CrossEntropyLoss()
    n, batch = xtr.shape[0], 64
    seconds = 0.0
    for _ in range(epochs):
        perm = torch.randperm(n)
        xs, ys = xtr[perm], ytr[perm]  # shuffled outside the timed loop, as ours gathers inside
        t0 = time.perf_counter()
        for i in range(0, n, batch):
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xs[i:i + batch]), ys[i:i + batch])
            loss.backward()
            opt.step()
        seconds += time.perf_counter() - t0
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    flop = 6 * sum(a * b for a, b in zip(sizes, sizes[1:]))
    sps = epochs * n / seconds
    print(f"impl=pytorch threads={threads} epochs={epochs} samples_per_s={sps:.0f} "
          f"gflops={sps * flop / 1e9:.1f} test_accuracy={acc:.4f} "
          f"blas={os.environ.get('OPENBLAS_CORETYPE', 'auto')}")


if __name__ == "__main__":
    main()
