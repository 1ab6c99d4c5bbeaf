"""Images/s of the on-device batched uint8 augmentation + normalisation (empirical.augment) against a
plain DataLoader-style pipeline (per-sample numpy transform + default collate), same run, same data.

Both produce normalised float32 batches (B, 3, 32, 32) with random shifts of up to 4 px (zero fill)
and random horizontal flips. Run by hand (not in CI):

    python bench/bench_empirical_loader.py [--n 16384] [--batch-size 256] [--repeats 5] [--device cpu]

On a shared machine the multi-threaded batched numbers swing with the load of other processes
(OpenMP threads wait for each other), hence interleaved repeats, medians and a 1-thread row.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from empirical.augment import BatchAugment

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


class PerSampleDataset(torch.utils.data.Dataset):
    """torchvision-style: one uint8 HWC image at a time -> pad+random crop, flip, to float, normalise."""

    def __init__(self, x_hwc: np.ndarray, y: np.ndarray, seed: int = 0, pad: int = 4):
        self.x, self.y, self.pad = x_hwc, y, pad
        self.rng = np.random.default_rng(seed)
        self.mean = np.array(MEAN, dtype=np.float32)
        self.std = np.array(STD, dtype=np.float32)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        img = self.x[i]
        p = self.pad
        padded = np.pad(img, ((p, p), (p, p), (0, 0)))
        dy, dx = self.rng.integers(0, 2 * p + 1, size=2)
        img = padded[dy:dy + img.shape[0], dx:dx + img.shape[1]]
        if self.rng.random() < 0.5:
            img = img[:, ::-1]
        img = (img.astype(np.float32) / 255.0 - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))), int(self.y[i])


def bench_dataloader(x_hwc, y, batch_size, workers, epochs) -> float:
    ds = PerSampleDataset(x_hwc, y)
    dl = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers,
                                     generator=torch.Generator().manual_seed(0))
    n = 0
    t = time.perf_counter()
    for _ in range(epochs):
        for xb, _yb in dl:
            n += len(xb)
    return n / (time.perf_counter() - t)


def bench_batched(x_nchw, y, batch_size, device, epochs) -> float:
    x = torch.as_tensor(x_nchw).to(device)
    yt = torch.as_tensor(y).to(device)
    aug = BatchAugment(MEAN, STD, shift=4)
    g = torch.Generator().manual_seed(0)
    n = 0
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(batch_size):
            idx = idx.to(device)
            xb = aug(x[idx], g)
            _ = yt[idx]
            n += len(xb)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=16384, help="number of 32x32 RGB images")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=1, help="epochs per measurement")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved measurements of each pipeline")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (default 0)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    x_hwc = rng.integers(0, 256, size=(args.n, 32, 32, 3), dtype=np.uint8)
    x_nchw = np.ascontiguousarray(x_hwc.transpose(0, 3, 1, 2))
    y = rng.integers(0, 10, size=args.n)
    threads = torch.get_num_threads()
    bench_batched(x_nchw[:1024], y[:1024], args.batch_size, device, 1)  # warm-up
    res = {"batched": [], "batched_1thread": [], "loader": []}
    for _ in range(args.repeats):  # interleaved, so that load from other processes hits all alike
        torch.set_num_threads(threads)
        res["batched"].append(bench_batched(x_nchw, y, args.batch_size, device, args.epochs))
        torch.set_num_threads(1)
        res["batched_1thread"].append(bench_batched(x_nchw, y, args.batch_size, device, args.epochs))
        torch.set_num_threads(threads)
        res["loader"].append(bench_dataloader(x_hwc, y, args.batch_size, args.workers, args.epochs))
    med = {k: float(np.median(v)) for k, v in res.items()}
    best = {k: float(np.max(v)) for k, v in res.items()}
    print(f"torch {torch.__version__}, device {device}, {threads} threads, {args.n} images x {args.epochs} "
          f"epoch(s), batch {args.batch_size}, {args.repeats} interleaved repeats (median / best)")
    rows = [("batched on-device uint8 augment+normalise", "batched"),
            ("  same, torch.set_num_threads(1)", "batched_1thread"),
            (f"DataLoader per-sample numpy (workers={args.workers})", "loader")]
    for label, k in rows:
        print(f"{label:<44}: {med[k]:10,.0f} / {best[k]:10,.0f} images/s")
    print(f"ratio batched / per-sample (median)         : {med['batched'] / med['loader']:10.1f}x")
    print(f"ratio batched (1 thread) / per-sample       : {med['batched_1thread'] / med['loader']:10.1f}x")


if __name__ == "__main__":
    main()
