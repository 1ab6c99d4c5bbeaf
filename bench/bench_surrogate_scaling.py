"""Cost of the surrogate's predicted recalls against the number of classes K.

Run:  python bench/bench_surrogate_scaling.py [--ks 10 20 50 100] [--dim 100] [--per-class 50]
                                              [--n-mc 200000] [--old-n-mc 500]

For each K: synthetic CIFAR-100-scale validation features (K classes, ``--dim`` features,
``--per-class`` samples per class, class means drawn so that the accuracy is moderate), then the call a
user makes, ``fit_gaussian_surrogate(X, y).recalls()`` with its defaults (tied Ledoit-Wolf covariance,
200,000 Monte Carlo draws per class). Printed: the wall time of the fit and of the recalls, the recall
time per class and per draw, and the ratio of each K's time to K = 10's.

The old path -- the general Monte Carlo of :class:`gaussian_theory.montecarlo.MCDraws` that draws
p-dimensional points class by class and evaluates K Gaussian log densities with a triangular solve each
(cost K p^2 per draw) -- is timed on the same mixture with ``--old-n-mc`` draws per class and
extrapolated linearly to the new path's draws (its cost is linear in the draws), giving the speed-up;
the two estimates are compared class by class in binomial standard errors (statistically equivalent:
z-scores of mean about 0 and standard deviation about 1).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gaussian_theory import fit_gaussian_surrogate


def dataset(k: int, p: int, per_class: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, p)) * 0.35
    x = np.concatenate([means[c] + rng.normal(size=(per_class, p)) for c in range(k)])
    return x, np.repeat(np.arange(k), per_class)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", type=int, nargs="+", default=[10, 20, 50, 100])
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--per-class", type=int, default=50)
    ap.add_argument("--n-mc", type=int, default=200_000, help="draws per class of the new path (the default)")
    ap.add_argument("--old-n-mc", type=int, default=1000, help="draws per class timed on the old path")
    args = ap.parse_args()
    print(f"p = {args.dim}, {args.per_class} samples per class, {args.n_mc} draws per class")
    print(f"{'K':>4s} {'fit s':>7s} {'recalls s':>10s} {'per class s':>12s} {'ns/draw/class':>14s} "
          f"{'x K=10':>7s} {'old path s (extrap.)':>21s} {'speed-up':>9s} {'z mean / sd':>14s} "
          f"{'mean recall':>12s}")
    base = None
    for k in args.ks:
        x, y = dataset(k, args.dim, args.per_class)
        t0 = time.perf_counter()
        gm = fit_gaussian_surrogate(x, y)
        t1 = time.perf_counter()
        est = gm.class_risks(n_mc=args.n_mc)  # = gm.recalls() with its defaults, plus the SEs
        t2 = time.perf_counter()
        new = t2 - t1
        base = new if base is None else base
        gm_old = fit_gaussian_surrogate(x, y)
        gm_old.tied = False  # the general path: p-dimensional draws, K triangular solves per draw
        t3 = time.perf_counter()
        old = gm_old.class_risks(n_mc=args.old_n_mc)
        old_s = (time.perf_counter() - t3) * args.n_mc / args.old_n_mc
        # z-scores of the old estimates around the new ones (binomial SEs at the new risks): mean about 0
        # and standard deviation about 1 when the two paths estimate the same risks
        p = np.clip(est.risks, 1.0 / args.n_mc, 1 - 1.0 / args.n_mc)
        z = (old.risks - est.risks) / np.sqrt(p * (1 - p) * (1.0 / args.old_n_mc + 1.0 / args.n_mc))
        mean = float(est.recalls.mean())
        print(f"{k:4d} {t1 - t0:7.2f} {new:10.2f} {new / k:12.4f} {1e9 * new / (k * k * args.n_mc):14.2f} "
              f"{new / base:7.1f} {old_s:21.0f} {old_s / new:9.0f} {z.mean():+6.2f} / {z.std():5.2f} "
              f"{mean:12.3f}")
    print("(ns/draw/class: seconds per draw and per evaluated class score; constant when the per-draw cost "
          "grows linearly in K)")


if __name__ == "__main__":
    main()
