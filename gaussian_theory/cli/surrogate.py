"""``droplab surrogate``: a Gaussian surrogate of real features predicts the class recalls and compares
pruning allocations before any training (README, "Finite samples, many classes, real features").

Also the text form of :class:`gaussian_theory.surrogate_check.SurrogateComparison`
(:func:`comparison_table`): the library returns the numbers, this module prints them.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from ..options import COVARIANCES, DEFAULT_COVARIANCE
from .format import Progress, format_table, memory_words, name_option

if TYPE_CHECKING:  # numpy and the library are imported when the command runs (`droplab --help` is fast)
    from ..mixture import GaussianMixture
    from ..surrogate_check import SurrogateComparison

__all__ = ["MIN_N_MC", "comparison_table", "surrogate_report", "register"]

#: Fewest Monte Carlo draws per class ``droplab surrogate`` accepts: with 100 draws a recall's standard
#: error is at most 0.05; with a handful a recall of 1 and an SE of 0 are likely even for overlapping
#: classes.
MIN_N_MC = 100


def comparison_table(cmp: SurrogateComparison) -> str:
    """The predicted vs trained recalls of a :class:`SurrogateComparison` as a text table, with the
    rank and linear correlations and the DRoP densities each implies."""
    rows = [
        [str(c), f"{int(n)}", p, s, t, dp, dt]
        for c, n, p, s, t, dp, dt in zip(cmp.classes, cmp.train_sizes, cmp.predicted, cmp.surrogate_on_data,
                                         cmp.trained, cmp.drop_predicted, cmp.drop_trained)
    ]
    head = ["class", "n_train", "predicted recall", "surrogate on test", f"{cmp.classifier} on test",
            "DRoP d (pred.)", "DRoP d (trained)"]
    return "\n".join([
        format_table(head, rows, floatfmt="{:.3f}"),
        f"predicted vs trained recalls: Spearman {cmp.spearman:.3f}, Pearson {cmp.pearson:.3f}, "
        f"mean |diff| {cmp.mae:.3f}; DRoP densities at d = {cmp.density:g}: mean |diff| {cmp.drop_l1:.3f}",
    ])


def surrogate_report(gm: GaussianMixture, density, class_sizes, n_mc=20_000, seed=0, calibration=None, *,
                     progress=None) -> str:
    """The text ``droplab surrogate`` prints: predicted recalls, then uniform/DRoP/minimax allocations
    (of the training set's ``class_sizes``) with the class risks the surrogate predicts after each.
    ``calibration``: the :class:`~gaussian_theory.surrogate_recalls.Calibration` that gave ``gm``, if any;
    ``progress``: called with the name of each step as it starts (a :class:`~.format.Progress`), or None."""
    import numpy as np

    from ..intervals import wilson_interval
    from ..validation import check_density

    d = check_density(density)
    sizes = np.asarray(class_sizes)
    if progress is not None:
        progress("predicted recalls")
    est = gm.class_risks(n_mc=n_mc, seed=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        comp = gm.compare_allocations(d, class_sizes=sizes, n_mc=n_mc, seed=seed, progress=progress)
    labels = gm.class_labels if gm.class_labels is not None else np.arange(gm.n_classes)
    for w in caught:   # the library's few-samples warning names min_count= (an API argument): said below
        if not (issubclass(w.category, UserWarning) and _FEW_SAMPLES_WORDS in str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    _warn_few_kept(comp, sizes, d, labels, est.recalls)
    lines = [f"surrogate: {gm!r}", f"Monte Carlo: {n_mc} draws per class (seed {seed})"]
    if calibration is not None:
        lines.append(f"calibrated: class-mean separations x {calibration.scale:.4g}, predicted accuracy "
                     f"{calibration.achieved:.4f} (target {calibration.target:.4f}, se {calibration.se:.4f})")
    lines.append("")
    rows = [
        [str(c), f"{int(n)}", r, s, comp["uniform"]["densities"][i], comp["DRoP"]["densities"][i],
         comp["minimax"]["densities"][i]]
        for i, (c, n, r, s) in enumerate(zip(labels, sizes, est.recalls, est.se))
    ]
    lines.append(
        format_table(["class", "size", "predicted recall", "se", "uniform d", "DRoP d (pred.)", "minimax d"],
                     rows)
    )
    lines.append(DENSITY_NOTE)
    exact = [str(c) for c, r in zip(labels, est.risks) if r == 0] if est.method == "mc" else []
    if exact:  # 0 errors in n_mc draws: se 0 says nothing; the Wilson interval still bounds the risk
        _, high = wilson_interval(0, n_mc)
        lines.append(f"note: class(es) {', '.join(exact)} had 0 errors in {n_mc} Monte Carlo draws: a "
                     f"predicted recall of 1 with se 0 only bounds the risk, below {float(high):.2g} (95% "
                     f"Wilson upper bound; recall >= {1 - float(high):.4f}); raise --n-mc for a tighter "
                     "bound")
    lines += ["", f"predicted class risks after pruning to density {d:g} (on the unpruned surrogate):"]
    rows = [[name, res["worst_class_risk"], res["average_risk"], str(labels[int(np.argmax(res["risks"]))])]
            for name, res in comp.items()]
    lines.append(format_table(["allocation", "worst-class risk", "average risk", "worst class"], rows))
    return "\n".join(lines)


#: printed under the table of ``droplab surrogate``: where its density columns come from
DENSITY_NOTE = ("DRoP d (pred.): DRoP's class densities from the surrogate's predicted recalls above, "
                "not from measured ones (for those: droplab allocate --recalls R1 R2 ... --sizes ...); "
                "minimax d: the surrogate's minimax densities. Each keeps the fraction d of the data.")
#: words of the library's few-samples warning (``gaussian_theory.allocation``), replaced by the command's
_FEW_SAMPLES_WORDS = "pass min_count= for a per-class minimum"


def _warn_few_kept(comp: dict, sizes, density: float, labels, recalls) -> None:
    """One UserWarning when an allocation of ``comp`` keeps fewer than
    :data:`gaussian_theory.allocation.FEW_SAMPLES` samples of a class, in whole samples (the integer counts
    ``droplab allocate`` would keep) and in the command line's words: ``droplab surrogate`` has no
    per-class floor; ``droplab allocate --min-per-class`` sets one."""
    import numpy as np

    from ..allocation import FEW_SAMPLES, counts_from_densities

    sizes = np.asarray(sizes, dtype=np.int64)
    parts = []
    for name, res in comp.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                counts = counts_from_densities(res["densities"], sizes, density)
            except ValueError:
                counts = np.rint(np.asarray(res["densities"]) * sizes).astype(np.int64)
        few = np.flatnonzero((sizes > 0) & (counts < np.minimum(FEW_SAMPLES, sizes)))
        if few.size:
            shown = ", ".join(f"class {labels[k]}: {int(counts[k])} of {int(sizes[k])}" for k in few[:10])
            parts.append(f"{name} ({shown}{f' and {few.size - 10} more' if few.size > 10 else ''})")
    if not parts:
        return
    rec = " ".join(f"{float(r):.4g}" for r in recalls)
    warnings.warn(f"allocations keeping fewer than {FEW_SAMPLES} samples of a class (whole samples kept of "
                  f"the class size): {'; '.join(parts)}. droplab surrogate sets no per-class minimum; for "
                  f"DRoP with one: droplab allocate --recalls {rec} --sizes "
                  f"{' '.join(map(str, sizes.tolist()))} --density {density:g} --min-per-class N",
                  UserWarning, stacklevel=2)


def _load_array(path, name):
    """One array of a file, read as ``droplab allocate`` reads its files (:mod:`gaussian_theory.arrays`:
    ``.npy``, ``.npz``, CSV)."""
    from ..arrays import load_array_file

    return load_array_file(path, f"--{name}")


#: library argument -> the ``droplab surrogate`` option that supplies it
_OPTION_OF = {"features": "--features", "labels": "--labels", "density": "--density", "n_mc": "--n-mc",
              "calibrate_to": "--calibrate-to"}
#: steps of ``droplab surrogate`` shown by its progress line (the last three: ``compare_allocations``)
_STEPS = 7


def _cmd_surrogate(args) -> int:
    if args.n_mc < MIN_N_MC:
        raise ValueError(f"--n-mc must be >= {MIN_N_MC} Monte Carlo draws per class (fewer give recalls "
                         f"of 0 or 1 with a standard error of 0), got {args.n_mc}")
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.calibrate_to is not None and args.covariance != "tied":
        raise ValueError(f"--calibrate-to needs --covariance tied, got --covariance {args.covariance}")
    if not 0.0 < args.density <= 1.0:  # NaN too: before loading or fitting anything
        raise ValueError(f"--density must lie in (0, 1], got {args.density}")
    from ..montecarlo import check_n_mc

    check_n_mc(args.n_mc, "--n-mc", minimum=MIN_N_MC)
    try:
        with Progress(_STEPS, enabled=not args.no_progress, desc="droplab surrogate") as progress:
            progress("loading the arrays")
            x = _load_array(args.features, "features")
            y = _load_array(args.labels, "labels")
            text = _surrogate_text(args, x, y, progress)
    except (ValueError, TypeError) as exc:  # the library names its arguments; say which options gave them
        msg = memory_words(str(exc).replace("pass reg > 0", "pass --reg > 0").replace("reg=", "--reg "))
        raise name_option(type(exc)(msg), _OPTION_OF) from None
    print(text)
    return 0


def _surrogate_text(args, x, y, progress) -> str:
    import numpy as np

    from ..surrogate import fit_gaussian_surrogate
    from ..surrogate_recalls import calibrate_separation

    progress("fitting the surrogate")
    gm = fit_gaussian_surrogate(x, y, covariance=args.covariance, reg=args.reg)
    cal = None
    if args.calibrate_to is not None:
        progress("calibrating to --calibrate-to")
        floor = float(gm.priors.max())
        if not floor < args.calibrate_to < 1.0:
            raise ValueError(f"--calibrate-to: the accuracy must lie in (max prior, 1) = ({floor:.4g}, 1) "
                             f"-- always predicting the largest class achieves {floor:.4g} -- got "
                             f"{args.calibrate_to:g}")
        cal = calibrate_separation(gm, args.calibrate_to, n_mc=args.n_mc, seed=args.seed)
        gm = cal.mixture
    else:
        progress("calibration: none (no --calibrate-to)")
    _, counts = np.unique(np.asarray(y), return_counts=True)
    return surrogate_report(gm, args.density, class_sizes=counts, n_mc=args.n_mc, seed=args.seed,
                            calibration=cal, progress=progress)


def register(sub) -> None:
    """Add ``droplab surrogate`` to the sub-parsers ``sub``."""
    p = sub.add_parser(
        "surrogate",
        help="predict class recalls and pruning allocations from a Gaussian fit to features",
        description="Fit one Gaussian per class to feature vectors (best: a query model's held-out "
        "validation logits, with --calibrate-to its validation accuracy) and print the predicted class "
        "recalls of the Bayes rule, the uniform, DRoP and minimax class densities at --density, and the "
        "class risks each allocation is predicted to give.",
    )
    p.add_argument("--features", required=True, metavar="F.npy", help="(n, p) float array (numpy .npy)")
    p.add_argument("--labels", required=True, metavar="L.npy", help="(n,) integer class labels (numpy .npy)")
    p.add_argument("--density", type=float, required=True,
                   help="dataset density d: fraction of the data kept, in (0, 1]")
    p.add_argument("--covariance", choices=COVARIANCES, default=DEFAULT_COVARIANCE,
                   help="covariance of the classes' Gaussians: 'tied' one shared covariance (Ledoit-Wolf "
                   "shrinkage; the Bayes rule is linear, as a network's head), 'isotropic' s_k^2 I, or "
                   "'diagonal' per-feature variances of each class (default %(default)s)")
    p.add_argument("--calibrate-to", type=float, default=None, metavar="ACC",
                   help="measured validation accuracy: scale the class-mean separations of the tied "
                   "surrogate so that its predicted accuracy equals ACC (best with held-out logits as "
                   "--features)")
    p.add_argument("--reg", type=float, default=1e-3,
                   help="variance floor, as a multiple of the mean feature variance")
    p.add_argument("--n-mc", type=int, default=20_000, metavar="N",
                   help=f"Monte Carlo draws per class for the predicted recalls and risks (>= {MIN_N_MC})")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the Monte Carlo draws (a non-negative integer); the same seed gives "
                   "the same numbers")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress line on stderr (shown only when the command takes over a second)")
    p.set_defaults(func=_cmd_surrogate)
