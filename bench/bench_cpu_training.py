"""CPU training throughput of the pipeline's chosen path against the eager fp32 baseline, same run.

Trains the small CNN for one epoch of the fast recipe on real CIFAR-10 images (the JPEG copy in
``../shared/data/cifar10``) with ``empirical.train.train_model`` -- the code the pipeline runs, with
augmentation, shuffling, the optimiser step and the per-epoch validation pass -- once per path, from
the same initial weights and the same generator:

* baseline: fp32, default (NCHW-contiguous) memory format, as the pipeline ran before;
* chosen:   bf16 autocast + channels_last (``--precision auto`` on a CPU with native bf16).

Prints images/s of each (training steps only, and the whole epoch including validation), the
ratio, and each path's test accuracy after the epoch. Run by hand::

    python bench/bench_cpu_training.py [--n 20000] [--repeats 2] [--data-dir ../shared/data/cifar10]

``--models``: the paper-regime networks against the small CNN instead, each with bf16 on and off (bf16
autocast + channels_last, and fp32 channels_last): one epoch of ``--n`` images of each model's study
recipe (small CNN: ``fast``, the committed grid's; whitenet-128/256: ``airbench``), then the time of
one full-data run priced from it (50,000 images x the recipe's epochs, plus the final evaluation of
the 10,000 held-out images with the recipe's test-time augmentation)::

    python bench/bench_cpu_training.py --models [--n 10000]

Both modes also print the **achieved training FLOP/s** and its **fraction of the machine's peak**, so
that "close to the limit" is a number. Training FLOPs per image are counted by
``torch.utils.flop_counter.FlopCounterMode`` over one forward and backward pass of a batch (convolutions
and matrix products; element-wise work is not counted, so the fraction is a lower bound). The peak is
estimated as ``threads x clock x FLOPs per cycle per core``, where the clock is the highest of
``/proc/cpuinfo``'s "cpu MHz" and lscpu's maximum, and FLOPs per cycle assume two fused multiply-add
pipes per core, each as wide as the widest vector unit torch uses (``torch.backends.cpu.
get_cpu_capability()``): AVX2 8 fp32 lanes -> 2 x 2 x 8 = 32 FLOP/cycle; AVX-512 16 lanes -> 64; bf16
on a CPU with native bf16 dot products (AVX512_BF16) twice the fp32 rate, with AMX tiles far more (the
estimate then says "AMX: peak not modelled"). A CPU with one FMA pipe, or a clock that boosts above the
reported one, moves the peak by that factor: the printed fraction says which assumptions it used.

The data is the original CIFAR-10 (``../shared/data/cifar10-bin``) when present, else the JPEG copy.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from empirical import data, evaluation, models, recipes, train
from empirical.augment import BatchAugment
from gaussian_theory.validation import derive_seed


def training_flops_per_image(model_name: str, batch: int = 64) -> float:
    """FLOPs of one training step per image (forward + backward) of ``model_name`` on 3x32x32 images,
    counted by torch's FlopCounterMode (matrix products and convolutions only)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = models.build_model(model_name, 10, (3, 32, 32), generator=torch.Generator().manual_seed(0))
    x = torch.randn(batch, 3, 32, 32)
    with FlopCounterMode(display=False) as counter:
        model(x).float().sum().backward()
    return counter.get_total_flops() / batch


def _clock_hz() -> float:
    """The highest clock the OS reports (Hz): lscpu's maximum, else /proc/cpuinfo's "cpu MHz"."""
    import re
    import subprocess

    mhz = []
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        mhz += [float(v) for v in re.findall(r"CPU max MHz:\s*([0-9.]+)", out)]
    except OSError:
        pass
    try:
        mhz += [float(v) for v in re.findall(r"cpu MHz\s*:\s*([0-9.]+)", Path("/proc/cpuinfo").read_text())]
    except OSError:
        pass
    return max(mhz) * 1e6 if mhz else float("nan")


def peak_flops(precision: str) -> tuple[float, str]:
    """Estimated peak FLOP/s of this process's threads for ``precision`` (see the module docstring), and
    the assumptions in words."""
    cap = torch.backends.cpu.get_cpu_capability()          # e.g. "AVX2", "AVX512", "AVX512_BF16"
    lanes = 16 if cap.startswith("AVX512") else 8 if cap.startswith("AVX2") else 4
    per_cycle = 2 * 2 * lanes                              # 2 FMA pipes x 2 FLOPs x fp32 lanes
    note = f"{cap}: 2 FMA pipes x {lanes} fp32 lanes"
    if precision == "bf16" and train.cpu_supports_bf16():
        per_cycle *= 2
        note += ", native bf16 x2" + (" (AMX: peak not modelled)" if "AMX" in cap else "")
    threads, hz = torch.get_num_threads(), _clock_hz()
    how = f"{threads} threads x {hz / 1e9:.2f} GHz x {per_cycle} FLOP/cycle ({note})"
    return threads * hz * per_cycle, how


def flops_line(model_name: str, img_s: float, precision: str) -> str:
    """Achieved training FLOP/s at ``img_s`` images/s and its fraction of :func:`peak_flops`."""
    per_img = training_flops_per_image(model_name)
    achieved = per_img * img_s
    peak, how = peak_flops(precision)
    return (f"{per_img / 1e6:7.1f} MFLOP/img -> {achieved / 1e9:6.1f} GFLOP/s achieved = "
            f"{achieved / peak:5.1%} of a {peak / 1e9:.0f} GFLOP/s peak [{how}]")


def one_epoch(ds, n, precision, channels_last, seed=0, model_name="smallcnn", recipe="fast", with_val=True):
    val_idx, test_idx = data.validation_split(ds.y_test, ds.num_classes)
    x = torch.as_tensor(ds.x_train[:n])
    y = torch.as_tensor(ds.y_train[:n])
    xv, yv = torch.as_tensor(ds.x_test[val_idx]), torch.as_tensor(ds.y_test[val_idx])
    xt, yt = torch.as_tensor(ds.x_test[test_idx]), torch.as_tensor(ds.y_test[test_idx])
    aug = BatchAugment(ds.mean, ds.std, shift=4, channels_last=channels_last)
    gen = torch.Generator().manual_seed(derive_seed(seed, "bench-init"))
    model = models.build_model(model_name, 10, tuple(ds.x_train.shape[1:]), generator=gen)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    rec = recipes.get_recipe(recipe, model_name, epochs=1)
    t0 = time.perf_counter()
    res = train.train_model(model, x, y, rec, generator=torch.Generator().manual_seed(seed), aug=aug,
                            augment=True, val=(xv, yv) if with_val else None, num_classes=10, progress=False,
                            precision=precision)
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    evaluation.evaluate(model, xv, yv, aug, 10, precision=precision)
    val_s = time.perf_counter() - t1
    t1 = time.perf_counter()
    test = evaluation.evaluate(model, xt, yt, aug, 10, precision=precision, tta=rec.tta)
    tta_s = time.perf_counter() - t1
    return {"epoch_s": wall, "img_s": n / wall, "test_acc": test["accuracy"], "val_s": val_s, "tta_s": tta_s,
            "eval_n": len(yt), "train_acc": res.history[-1]["train_acc"]}


STUDY = {"smallcnn": "fast", "whitenet-128": "airbench", "whitenet-256": "airbench"}


def compare_models(ds, n, repeats, n_full=50_000, n_eval=10_000, precisions=("bf16", "fp32")):
    """Images/s of one epoch of each study model, bf16 on and off, and a full-data run priced from it."""
    rows = {}
    for r in range(repeats):
        for name, recipe in STUDY.items():
            for prec in precisions:
                out = one_epoch(ds, n, prec, True, model_name=name, recipe=recipe, with_val=False)
                rows.setdefault((name, prec), []).append(out)
                print(f"  repeat {r}: {name:13s} {prec}: {out['img_s']:6.0f} img/s, test acc after 1 epoch "
                      f"{out['test_acc']:.4f}")
    print(f"\nbest of {repeats}; training throughput (augment + steps) on n = {n}; a full-data run = "
          f"{n_full} "
          f"images x epochs + a validation pass per epoch + the final evaluation of {n_eval} images with the "
          f"recipe's TTA:")
    for prec in precisions:
        base = max(o["img_s"] for o in rows[("smallcnn", prec)])
        for name, recipe in STUDY.items():
            best = max(rows[(name, prec)], key=lambda o: o["img_s"])
            epochs = recipes.get_recipe(recipe, name).epochs
            full_min = (n_full * epochs / best["img_s"] + epochs * best["val_s"]
                        + best["tta_s"] * n_eval / best["eval_n"]) / 60
            print(f"  {prec} {name:13s} ({recipe:8s} {epochs:2d} epochs) {best['img_s']:6.0f} img/s  ratio "
                  f"{best['img_s'] / base:4.2f}x the small CNN   full-data run {full_min:5.1f} min")
            print(f"      {flops_line(name, best['img_s'], prec)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = Path(__file__).resolve().parents[2] / "shared/data"
    ap.add_argument("--data-dir", default=str(shared / ("cifar10-bin" if (shared / "cifar10-bin").is_dir()
                                                         else "cifar10")),
                    help="the original CIFAR-10 (binary version) or the JPEG copy (default: the original "
                    "if present)")
    ap.add_argument("--n", type=int, default=20000, help="training images per epoch")
    ap.add_argument("--repeats", type=int, default=2, help="alternating repeats of each path")
    ap.add_argument("--models", action="store_true",
                    help="compare the study models (small CNN, whitenet-128, whitenet-256), bf16 on and off")
    ap.add_argument("--precisions", nargs="+", choices=("bf16", "fp32"), default=["bf16", "fp32"],
                    help="with --models: the precisions to time (on a CPU without native bf16, bf16 is "
                    "emulated and many times slower: time fp32 alone)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    ds = data.load_dataset("cifar10", args.data_dir).subset(train_idx=np.arange(args.n))
    copy = ds.meta.get("origin", {}).get("copy", "?")
    print(f"read {ds.source} ({copy}) in {time.perf_counter() - t0:.1f} s; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, native CPU bf16: "
          f"{train.cpu_supports_bf16()}, vector unit {torch.backends.cpu.get_cpu_capability()}")
    if args.models:
        compare_models(ds, args.n, args.repeats, precisions=tuple(args.precisions))
        return
    paths = {"baseline fp32 NCHW": ("fp32", False), "fp32 channels_last": ("fp32", True),
             "chosen bf16 channels_last": ("bf16", True)}
    rows = {k: [] for k in paths}
    for r in range(args.repeats):
        for name, (prec, cl) in paths.items():
            out = one_epoch(ds, args.n, prec, cl)
            rows[name].append(out)
            print(f"  repeat {r}: {name:26s} {out['img_s']:7.0f} img/s (epoch {out['epoch_s']:.1f} s incl. "
                  f"validation), test acc after 1 epoch {out['test_acc']:.4f}")
    base = max(o["img_s"] for o in rows["baseline fp32 NCHW"])
    print(f"\nbest of {args.repeats}, end-to-end epoch (augment + train steps + validation), n = {args.n}:")
    for name, outs in rows.items():
        best = max(o["img_s"] for o in outs)
        accs = ", ".join(f"{o['test_acc']:.4f}" for o in outs)
        print(f"  {name:26s} {best:7.0f} img/s  ratio {best / base:4.2f}x   test acc {accs}")
        print(f"      {flops_line('smallcnn', best, paths[name][0])}")


if __name__ == "__main__":
    main()
