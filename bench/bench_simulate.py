"""Monte Carlo throughput of gaussian_theory.simulation vs a straightforward per-trial loop.

Run:  python bench/bench_simulate.py [--samples 10000000] [--loop-trials 1000] [--sklearn-trials 100]

For each learner and training-set size n the vectorised simulator runs ``--samples / n`` training
sets; the baseline fits one trial at a time (numpy per trial for ``erm`` and ``plugin``,
scikit-learn ``LogisticRegression`` (newton-cg, the fastest sklearn solver of the same penalised
problem) per trial for ``logistic``) on the *same* draws -- numpy Generators fill arrays
sequentially, so row i of the vectorised draw is trial i of the loop -- and the learned thresholds
are compared. Throughput = trials x samples / second; the ratio is measured in one run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gaussian_theory.simulation import simulate
from gaussian_theory.two_gaussians import TwoGaussians

MODEL = TwoGaussians((0.0, 6.0), (1.0, 2.0), (0.5, 0.5))
L2 = 1e-4  # simulate's default ridge on the standardised slope (mean log-loss)


def erm_one(x, y):
    """Exact 0-1 ERM over thresholds for one trial; lower-median minimising gap, midpoint."""
    o = np.argsort(x)
    xs, ys = x[o], y[o]
    n0 = int((y == 0).sum())
    err = np.concatenate([[n0], 2 * np.cumsum(ys) - np.arange(1, x.size + 1) + n0])
    wins = np.flatnonzero(err == err.min())
    j = wins[(wins.size - 1) // 2]
    if j == 0:
        return -np.inf
    if j == x.size:
        return np.inf
    return 0.5 * (xs[j - 1] + xs[j])


def plugin_one(x, y):
    x0, x1 = x[y == 0], x[y == 1]
    try:
        m = TwoGaussians((x0.mean(), x1.mean()), (x0.std(), x1.std()), (x0.size / x.size, x1.size / x.size))
    except ValueError:  # estimated means out of order: not a threshold model
        return np.nan
    return m.optimal_threshold()


def make_sklearn_logistic(n):
    from sklearn.linear_model import LogisticRegression

    # sklearn minimises 0.5 w^2 + C sum(loss); dividing by C n gives mean loss + w^2 / (2 C n),
    # i.e. the simulator's ridge L2 when C = 1 / (L2 n).
    clf = LogisticRegression(C=1.0 / (L2 * n), solver="newton-cg", tol=1e-10, max_iter=1000)

    def fit(x, y):
        m, s = x.mean(), x.std()
        clf.fit(((x - m) / s)[:, None], y)
        a, b = clf.intercept_[0], clf.coef_[0, 0]
        return m - s * a / b

    return fit


def loop(model, n, trials, seed, fit):
    rng = np.random.default_rng(seed)
    n0 = n // 2  # exact class counts for phi = (1/2, 1/2)
    y = (np.arange(n) >= n0).astype(int)
    t = np.empty(trials)
    for i in range(trials):
        z = rng.standard_normal(n)
        x = np.where(y == 1, model.means[1] + model.stds[1] * z, model.means[0] + model.stds[0] * z)
        t[i] = fit(x, y)
    return t


def timed(f, *a, **k):
    t0 = time.perf_counter()
    out = f(*a, **k)
    return out, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10_000_000, help="trials x n for the vectorised runs")
    ap.add_argument("--loop-trials", type=int, default=1000)
    ap.add_argument("--sklearn-trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"model {MODEL!r}, seed {args.seed}")
    print(
        f"{'learner':<9} {'n':>5} {'vectorised':>30} {'per-trial loop':>30} {'ratio':>6}  "
        "max |t_vec - t_loop|"
    )
    for learner, n in (("erm", 100), ("erm", 1000), ("plugin", 100), ("plugin", 1000), ("logistic", 1000)):
        simulate(MODEL, n, None, learner, trials=50, seed=1)  # warm-up (imports, caches)
        trials = args.samples // n
        res, tv = timed(simulate, MODEL, n, None, learner, trials=trials, seed=args.seed)
        if learner == "logistic":
            fit, lt, name = make_sklearn_logistic(n), args.sklearn_trials, "sklearn"
        else:
            fit, lt, name = (erm_one if learner == "erm" else plugin_one), args.loop_trials, "numpy"
        t_loop, tl = timed(loop, MODEL, n, lt, args.seed, fit)
        vec_rate = trials * n / tv
        loop_rate = lt * n / tl
        diff = np.nanmax(np.abs(res.thresholds[:lt] - t_loop))
        print(
            f"{learner:<9} {n:>5} {trials:>6} trials {tv:6.3f} s {vec_rate:8.3g}/s "
            f"{lt:>5} trials {tl:6.3f} s {loop_rate:8.3g}/s {vec_rate / loop_rate:6.0f}x  {diff:.1e} ({name})"
        )


if __name__ == "__main__":
    main()
