"""GraNd per-sample gradient norms: the layerwise closed forms against ``torch.func.vmap``, same run.

Scores ``--n`` CIFAR-shaped inputs with ``empirical.scores.grand_scores`` on a fresh ``--model`` (eval
mode, as after the query training) by both methods, checks that they agree, and prints samples/s of
each and the ratio. The query of ``--score grand`` scores all 50,000 training images for each of its 5
initialisations, so the rate prices it::

    OMP_NUM_THREADS=1 python bench/bench_grand.py [--model whitenet-256] [--n 512]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from empirical import models, scores


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="whitenet-256")
    ap.add_argument("--n", type=int, default=512)
    args = ap.parse_args(argv)
    gen = torch.Generator().manual_seed(0)
    model = models.build_model(args.model, 10, (3, 32, 32), generator=gen)
    x = torch.randn(args.n, 3, 32, 32, generator=gen)
    if hasattr(model, "fit_whitening"):
        model.fit_whitening(x)
    y = torch.randint(0, 10, (args.n,), generator=gen)
    rates, results = {}, {}
    for method, precision in (("vmap", "fp32"), ("layerwise", "fp32"), ("layerwise-bf16", "bf16")):
        t0 = time.perf_counter()
        results[method] = scores.grand_scores(model, x, y, method=method.split("-")[0], precision=precision)
        rates[method] = args.n / (time.perf_counter() - t0)
        print(f"{method:>9}: {rates[method]:8.1f} samples/s  (50,000 images x 5 inits: "
              f"{5 * 50_000 / rates[method] / 60:6.1f} min)")
    for method in ("layerwise", "layerwise-bf16"):
        err = np.max(np.abs(results[method] / results["vmap"] - 1))
        ranks = [np.argsort(np.argsort(results[m])) for m in (method, "vmap")]
        rho = np.corrcoef(*ranks)[0, 1]
        print(f"{method} / vmap: {rates[method] / rates['vmap']:.1f}x faster; max relative difference "
              f"{err:.1e}, Spearman {rho:.5f}")
    print(f"torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
