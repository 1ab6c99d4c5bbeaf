"""Micro-benchmarks of droplab's foundations. Run by hand: ``python bench/bench_foundation.py``.

(a) Vectorised ``TwoGaussians.class_risks`` over 10^6 thresholds vs a Python loop calling
    ``scipy.stats.norm.cdf`` per threshold. The loop is timed on a subset and extrapolated per
    element (it is linear in the number of thresholds; a full 10^6-element loop takes minutes).
(b) ``drop_counts`` for K = 1000 classes (both rules), median of repeats.

Timings are wall-clock on whatever machine runs this; numbers from a shared or busy machine are
noisy, so each measurement is the median of several repeats.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import scipy
from scipy.stats import norm

from gaussian_theory.allocation import drop_counts, uniform_counts
from gaussian_theory.two_gaussians import TwoGaussians


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_class_risks(n_vec, n_loop, repeats, rng):
    model = TwoGaussians(means=(0.0, 6.0), stds=(1.0, 2.0), priors=(0.5, 0.5))
    t = rng.uniform(-10, 16, size=n_vec)
    (mu0, mu1), (s0, s1) = model.means, model.stds

    def loop(ts):
        out = np.empty((len(ts), 2))
        for i, x in enumerate(ts):
            out[i, 0] = norm.cdf((mu0 - x) / s0)
            out[i, 1] = norm.cdf((x - mu1) / s1)
        return out

    # Same results (the loop is a correctness reference too).
    sub = t[:n_loop]
    np.testing.assert_allclose(model.class_risks(sub), loop(sub), rtol=1e-12, atol=1e-300)

    t_vec = median_time(lambda: model.class_risks(t), repeats)
    t_loop = median_time(lambda: loop(sub), max(1, repeats // 2))
    per_vec = t_vec / n_vec
    per_loop = t_loop / n_loop
    print(f"(a) class_risks over {n_vec:,} thresholds")
    print(f"    vectorised TwoGaussians.class_risks : {t_vec * 1e3:9.2f} ms total, "
          f"{per_vec * 1e9:8.1f} ns/threshold (median of {repeats})")
    print(f"    Python loop of scipy.stats.norm.cdf : timed on {n_loop:,} thresholds "
          f"({t_loop:.2f} s), {per_loop * 1e6:8.1f} us/threshold")
    print(f"        extrapolated to {n_vec:,} thresholds: {per_loop * n_vec:9.1f} s (linear, per element)")
    print(f"    speed ratio (loop / vectorised, per threshold): {per_loop / per_vec:,.0f}x")


def bench_drop_counts(k, repeats, rng):
    sizes = rng.integers(50, 5000, size=k)
    recalls = rng.uniform(0.3, 1.0, size=k)
    print(f"(b) allocation for K = {k} classes (N = {sizes.sum():,}), median of {repeats}")
    for d in (0.3, 0.9):  # 0.9 saturates many classes
        for rule in ("paper", "code"):
            counts = drop_counts(recalls, sizes, d, rule=rule)
            assert counts.sum() == int(np.floor(d * sizes.sum() + 0.5))
            sec = median_time(lambda d=d, rule=rule: drop_counts(recalls, sizes, d, rule=rule), repeats)
            label = f"drop_counts(rule={rule!r}, d={d})"
            print(f"    {label:36}: {sec * 1e3:7.3f} ms")
    sec = median_time(lambda: uniform_counts(sizes, 0.3), repeats)
    print(f"    {'uniform_counts(d=0.3)':36}: {sec * 1e3:7.3f} ms")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10**6, help="thresholds for the vectorised call")
    parser.add_argument("--n-loop", type=int, default=2 * 10**4, help="thresholds for the Python loop")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{platform.machine()} {platform.system()}")
    bench_class_risks(args.n, args.n_loop, args.repeats, rng)
    bench_drop_counts(args.classes, args.repeats, rng)


if __name__ == "__main__":
    main()
