"""The options of ``droplab empirical run`` and ``sweep`` (one pipeline configuration, or a grid of them),
and the :class:`~empirical.run_config.RunConfig` they build: one place for every run option's name, type,
default and help, shared by the two commands (:mod:`empirical.cli`)."""

from __future__ import annotations

import argparse

from .cli_types import density as _density
from .cli_types import nonnegative_float as _nonnegative_float
from .cli_types import nonnegative_int as _nonnegative_int
from .cli_types import positive_int as _positive_int
from .options import (
    CHANNELS_LAST,
    DATASETS,
    DEFAULT_COVARIANCE,
    EPOCH_RULES,
    FORMATS,
    GAUSSIAN_DEFAULTS,
    MODELS,
    PRECISIONS,
    QUOTAS,
    RECIPE_KINDS,
    RULES,
    SCORES,
    SURROGATES,
)

__all__ = ["add_config_args", "add_gaussian_args", "config_from_args", "explicit_counts",
           "synthetic_from_args"]

_GAUSSIAN_HELP = ("x | y=k ~ N(s e_k, sigma_k^2 I_p), sigma_k rising geometrically from 1 to the std ratio "
                  "(class 0 the easiest), classes drawn in equal numbers from a fixed draw (data seed 0); "
                  "droplab empirical gaussian-optimum gives the population's worst-class-optimal densities. "
                  "A value equal to its default names the same run")
#: ``--gaussian-*`` options: (flag, key of :data:`~empirical.small_datasets.GAUSSIAN_DEFAULTS`, type, help)
_GAUSSIAN_FLAGS = (
    ("--gaussian-classes", "num_classes", int, "number of classes K (<= dimension)"),
    ("--gaussian-dim", "dim", int, "dimension p of the feature vectors"),
    ("--gaussian-separation", "separation", float, "distance s of each class mean from the origin"),
    ("--gaussian-std-ratio", "std_ratio", float, "standard deviation of the hardest class (the easiest: 1)"),
    ("--gaussian-train-per-class", "n_train_per_class", int, "training vectors per class"),
    ("--gaussian-test-per-class", "n_test_per_class", int,
     "held-out vectors per class (the first half validation, the rest test)"),
)

_DATA_HELP = ("CIFAR python pickles (the cifar-10-batches-py / cifar-100-python folder, its parent, or the "
              ".tar.gz), CIFAR-10's official binary version (cifar-10-batches-bin, its parent, or "
              "cifar-10-binary.tar.gz or a folder holding it: the original pixels), an image folder "
              "(train/<class>/*, and test/<class>/* and/or val/<class>/*: val/ is the validation set "
              "when present, else the first half of each class of the held-out folder), or the CIFAR-10 "
              "JPEG copy folder "
              "(cifar10_index_labels_exactsubset.npz + .tar.gz); for mnist1d the MNIST-1D pickle "
              "(mnist1d_data.pkl, or a folder holding it), for fashion-mnist the folder of its four official "
              "IDX .gz files. The run JSON records whether the data is "
              "the original (published checksums) and the sha256 of its arrays")


_QUERY_EPOCHS_HELP = ("query-model epochs. Default, per --score: random (the DRoP recalls) = the recipe's "
                      "query_epochs (fast: smallcnn/whitenet 4, resnet18/vgg16/vgg19 10, mlp/linear 5; "
                      "paper: 16, constant LR; airbench: 4); el2n, grand = 10%% of the final "
                      "epochs, 5 inits averaged; forgetting, dynunc, coreset = one run of full length")
_EPOCHS_HELP = ("final-training epochs on full data, overriding the recipe (default: the recipe's epochs; "
                "fast: smallcnn/whitenet 10, resnet18/vgg16/vgg19 30, mlp/linear 10; paper: vgg16/vgg19 160, "
                "resnet18 200, smallcnn/whitenet 60, mlp/linear 40; airbench, whitenet only: 10)")
_BATCH_HELP = ("mini-batch size (default: the recipe's; fast: 512 for resnet18/vgg16/vgg19/whitenet, 256 "
               "smallcnn, 64 mlp/linear; paper: 128, 256 for resnet18; airbench: 512)")
_LR_HELP = ("peak learning rate (default: the recipe's; fast: 0.2 vgg16/vgg19/smallcnn/whitenet, 0.4 "
            "resnet18, 0.1 mlp/linear; paper: 0.1 vgg16/vgg19/smallcnn/whitenet, 0.2 resnet18, 0.05 "
            "mlp/linear; airbench: 11.5 x batch / 7851, 0.75 at batch 512)")


def add_config_args(p: argparse.ArgumentParser, grid: bool) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, required=True,
                   help="cifar10/cifar100/imagefolder/fashion-mnist: images from --data-dir; mnist1d: 1-D "
                   "signals from --data-dir (models cnn1d, mlp, linear); gaussian: a synthetic "
                   "Gaussian mixture of feature vectors (no --data-dir; models mlp or linear)")
    g.add_argument("--data-dir", help=_DATA_HELP)
    g.add_argument("--data-format", choices=FORMATS, default="auto",
                   help="layout of --data-dir; auto: detected from its contents")
    g.add_argument("--limit-per-class", type=int, metavar="N",
                   help="keep only the first N training samples of each class, N >= 2, for quick runs "
                   "(default: all of them)")
    g.add_argument("--long-tail", type=float, metavar="RHO",
                   help="long-tailed training set (Cao et al. 2019): class k of K keeps the first "
                   "floor(n_k RHO^(-k/(K-1))) of its n_k samples, RHO >= 1 the ratio of the largest class to "
                   "the smallest (CIFAR-10-LT: 10 or 100); validation and test sets unchanged (default: all)")
    g.add_argument("--image-size", type=_positive_int, nargs="+", metavar="N",
                   help="resize an image folder's images to H W pixels (one number: a square), bilinear; "
                   "the run prints and records how many were resized (default: no resize, the images must "
                   "have one size)")
    g.add_argument("--eval-limit-per-class", type=int, metavar="N",
                   help="evaluate on only the first N images of each class of the validation half and of "
                   "the test half, N >= 2, for smoke runs (default: all of them)")
    add_gaussian_args(p)
    g = p.add_argument_group("method")
    g.add_argument("--model", choices=MODELS, required=True,
                   help="network: resnet18, vgg16, vgg19, smallcnn, whitenet-128, whitenet-256 (the fast "
                   "airbench-style nets; use --recipe airbench --shift 2) for images; mlp, linear for "
                   "--dataset gaussian")
    if grid:
        g.add_argument("--densities", type=_density, nargs="+", required=True,
                       help="fractions of the training set kept, each in (0, 1]")
        g.add_argument("--scores", choices=SCORES, nargs="+", default=["random"],
                       help="within-class rankings to compare (higher = kept; rcap runs with quota none "
                       "only)")
        g.add_argument("--quotas", choices=QUOTAS, nargs="+", default=["none", "drop"],
                       help="class quotas to compare (none: global top-k; uniform; drop: DRoP; probit; "
                       "minimax: see droplab empirical run --help)")
        g.add_argument("--rules", choices=RULES, nargs="+", default=["paper"],
                       help="DRoP rounding rules to compare (only for --quotas drop)")
    else:
        g.add_argument("--density", type=_density, required=True,
                       help="fraction of the training set kept, in (0, 1]")
        g.add_argument("--score", choices=SCORES, default="random",
                       help="within-class ranking (higher = kept); rcap: the dynamic RCAP baseline of the "
                       "datacull package, a new subset every epoch (with --quota none)")
        g.add_argument("--quota", choices=QUOTAS, default="drop",
                       help="none: global top-k; uniform: class proportions kept; drop: DRoP quotas, "
                       "densities ∝ (1-recall)^alpha; probit: densities ∝ φ(Φ⁻¹(recall)), the "
                       "two-Gaussian worst-class optimum; minimax: the budget-constrained minimax densities "
                       "of the calibrated tied Gaussian surrogate of the query model's validation logits")
        g.add_argument("--rule", choices=RULES, default="paper",
                       help="integer quotas of drop/probit: 'paper' densities ∝ weight (Algorithm 1), 'code' "
                       "counts ∝ weight (official code)")
    if not grid:
        g.add_argument("--counts", metavar="FILE",
                       help="with --quota counts: the per-class counts (or class densities) to keep, from a "
                       "JSON file ({\"counts\": [...]} or {\"densities\": [...]}, optionally \"label\"; what "
                       "droplab allocate --runs --json and droplab pilots --out write); the counts must sum "
                       "to round(density x N)")
        g.add_argument("--counts-label", metavar="NAME",
                       help="the method name of --counts runs in reports (default: the file's \"label\", "
                       "else Counts), e.g. Learned")
    g.add_argument("--alpha", type=_nonnegative_float, default=1.0,
                   help="damped DRoP exponent: densities ∝ (1-recall)^alpha (1 = the paper's DRoP, "
                   "0 = uniform)")
    g.add_argument("--min-per-class", type=_nonnegative_int, default=0,
                   help="keep at least this many samples of every class (capped by its size)")
    g.add_argument("--allow-empty-classes", action="store_true",
                   help="train even when the selection keeps no sample of some class (it deletes the "
                   "class); without it such a run is refused before the final training. Does not change the "
                   "run id")
    g.add_argument("--seeds", type=_nonnegative_int, nargs="+", default=[0],
                   help="one run per seed (non-negative integers); a seed fixes the query model, the "
                   "random scores, the initialisation and the data order")
    g = p.add_argument_group("training")
    g.add_argument("--recipe", choices=RECIPE_KINDS, default="fast",
                   help="paper: official step schedules; fast: one-cycle + label smoothing, few epochs; "
                   "airbench: the fast-CIFAR recipe (Nesterov, label smoothing 0.2, lookahead, alternating "
                   "flips, flip+translate test-time augmentation), for the whitenet models only")
    g.add_argument("--epochs", type=int, help=_EPOCHS_HELP)
    g.add_argument("--batch-size", type=int, help=_BATCH_HELP)
    g.add_argument("--lr", type=float, help=_LR_HELP)
    g.add_argument("--epoch-rule", choices=EPOCH_RULES, default="fixed",
                   help="fixed: the recipe's epochs on pruned data; code: E_d = floor((0.5+0.5d)E/d) "
                   "epochs (official code)")
    g.add_argument("--query-epochs", type=int, help=_QUERY_EPOCHS_HELP)
    g.add_argument("--query-inits", type=int,
                   help="query models averaged (default: 5 for EL2N/GraNd, else 1)")
    g.add_argument("--query-augment", action="store_true", help="augment the query model (default: off)")
    g.add_argument("--no-augment", dest="augment", action="store_false",
                   help="no augmentation in final training")
    g.add_argument("--shift", type=int, default=4, help="max random translation in pixels (images only)")
    g.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    g.add_argument("--channels-last", choices=CHANNELS_LAST, default="auto",
                   help="channels_last memory format (auto: on for image models)")
    g.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: bf16 autocast on CUDA and on CPUs with native bf16 (AVX-512 BF16/AMX), else "
                   "fp32; fp32 turns the fast path off")
    g.add_argument("--surrogate", choices=SURROGATES, default=DEFAULT_COVARIANCE,
                   help="Gaussian surrogate of the query model's features (theory bridge; the default of "
                   "droplab surrogate; a diagnostic: it does not change the run id)")
    p.add_argument("--out", required=True, help="output folder (one JSON per run)")



def explicit_counts(args) -> dict:
    """The RunConfig fields of ``--counts FILE`` / ``--counts-label`` (none when not given)."""
    path = getattr(args, "counts", None)
    label = getattr(args, "counts_label", None)
    if path is None:
        return {"counts_label": label} if label is not None else {}
    from gaussian_theory.quota_rules import read_allocation_file

    alloc = read_allocation_file(path, "--counts")
    return {"class_counts": alloc.get("counts"), "class_densities": alloc.get("densities"),
            "counts_label": label if label is not None else alloc["label"]}


def _image_size(values):
    """``--image-size``: None, or ``[H, W]`` from one number (a square) or two; ValueError naming the
    option for any other count."""
    if values is None:
        return None
    if len(values) not in (1, 2):
        raise ValueError(f"--image-size takes one number (a square) or two (height width), got "
                         f"{' '.join(map(str, values))}")
    return [values[0], values[-1]]


def add_gaussian_args(p: argparse.ArgumentParser) -> None:
    """The ``--gaussian-*`` options of the synthetic dataset (``run``, ``sweep``, ``gaussian-optimum``)."""
    g = p.add_argument_group("synthetic data (--dataset gaussian)", _GAUSSIAN_HELP)
    for flag, key, kind, what in _GAUSSIAN_FLAGS:
        g.add_argument(flag, dest=f"gaussian_{key}", type=kind, metavar="N" if kind is int else "X",
                       help=f"{what} (default: {GAUSSIAN_DEFAULTS[key]:g})")


def synthetic_from_args(args) -> dict:
    """The ``synthetic`` options of the ``--gaussian-*`` flags given (defaults dropped); ValueError when
    one is given with another dataset than gaussian."""
    given = {key: getattr(args, f"gaussian_{key}", None) for _, key, _, _ in _GAUSSIAN_FLAGS}
    if getattr(args, "dataset", "gaussian") != "gaussian":
        flags = [flag for flag, key, _, _ in _GAUSSIAN_FLAGS if given[key] is not None]
        if flags:
            raise ValueError(f"{', '.join(flags)}: only with --dataset gaussian, got --dataset "
                             f"{args.dataset}")
        return {}
    from .small_datasets import gaussian_options  # numpy: not at import, droplab --help stays light

    try:
        return gaussian_options(**given)
    except (TypeError, ValueError) as err:  # in the command line's words
        flag_of = {key: flag for flag, key, _, _ in _GAUSSIAN_FLAGS}
        text = str(err)
        for key, flag in flag_of.items():
            text = text.replace(key, flag)
        raise type(err)(text) from None


def config_from_args(args, **over):
    from .run_config import RunConfig

    kw = dict(dataset=args.dataset, data_dir=args.data_dir, data_format=args.data_format, model=args.model,
              recipe=args.recipe, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
              query_epochs=args.query_epochs, query_inits=args.query_inits, query_augment=args.query_augment,
              epoch_rule=args.epoch_rule, augment=args.augment, shift=args.shift, device=args.device,
              surrogate=args.surrogate, limit_per_class=args.limit_per_class,
              eval_limit_per_class=args.eval_limit_per_class,
              channels_last={"auto": None, "on": True, "off": False}[args.channels_last],
              precision=args.precision, alpha=args.alpha, min_per_class=args.min_per_class,
              image_size=_image_size(args.image_size), allow_empty_classes=args.allow_empty_classes,
              synthetic=synthetic_from_args(args), long_tail=args.long_tail)
    kw.update(over)
    return RunConfig(**kw)
