"""``droplab theory``: closed-form risks and allocations of a two-Gaussian model (paper §4 and App. B,
arXiv 2404.05579; README, "The paper's formulas, one hop away")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .format import format_table, name_option

if TYPE_CHECKING:  # imported when the command runs: ``droplab --help`` stays fast
    from ..two_gaussians import TwoGaussians

__all__ = ["theory_report", "register"]


def theory_report(model: TwoGaussians, density: float) -> str:
    """The text ``droplab theory`` prints: risks at t*, t_wc, and allocations at one density."""
    import numpy as np

    t_star = model.optimal_threshold()
    risks = model.class_risks(t_star)
    t_wc = model.worst_class_threshold()
    opt_priors = model.worst_class_optimal_priors()
    lines = [f"model: {model!r}", ""]
    lines.append(
        format_table(
            ["threshold", "t", "R0", "R1", "average", "worst-class"],
            [
                ["t* (trained on all data)", t_star, *risks, model.average_risk(t_star), risks.max()],
                ["t_wc (worst-class optimum)", t_wc, *model.class_risks(t_wc),
                 model.average_risk(t_wc), model.worst_class_risk(t_wc)],
            ],
        )
    )
    lines.append("")
    lines.append("worst-class-optimal training priors: "
                 f"phi0 = {opt_priors[0]:.4g}, phi1 = {opt_priors[1]:.4g}")
    recalls = 1.0 - risks
    rows = []
    allocations = {
        "uniform": np.array([density, density]),
        "DRoP (recalls of t*)": model.drop_densities(density),
        "worst-class optimal": model.worst_class_optimal_densities(density),
    }
    for name, d in allocations.items():
        r = model.pruned_risks(d)
        rows.append([name, d[0], d[1], model.prune(d).optimal_threshold(), r[0], r[1],
                     float(r @ model.priors), r.max()])
    lines += ["", f"allocations at dataset density d = {density:g} (recalls of t*: "
              f"r0 = {recalls[0]:.4g}, r1 = {recalls[1]:.4g}):"]
    header = ["allocation", "d0", "d1", "learned t", "R0", "R1", "average", "worst-class"]
    lines.append(format_table(header, rows))
    return "\n".join(lines)


#: library argument -> the ``droplab theory`` option that supplies it
_OPTION_OF = {"means": "--means", "stds": "--stds", "priors": "--priors", "density": "--density"}


def _cmd_theory(args) -> int:
    from ..two_gaussians import TwoGaussians

    try:
        model = TwoGaussians(means=args.means, stds=args.stds, priors=args.priors)
        text = theory_report(model, args.density)
    except (ValueError, TypeError) as exc:
        raise name_option(exc, _OPTION_OF) from None
    print(text)
    return 0


def register(sub) -> None:
    """Add ``droplab theory`` to the sub-parsers ``sub``."""
    p = sub.add_parser("theory", help="closed-form risks and allocations of a two-Gaussian model",
                       description="Print t*, its class/average/worst-class risks, t_wc and the "
                       "worst-class-optimal priors, and compare uniform, DRoP and optimal class "
                       "densities at one dataset density. The model: x | y=k ~ N(MU_k, S_k^2) with "
                       "prior PHI_k; class 0 is the one with the smaller mean.")
    p.add_argument("--means", nargs=2, type=float, default=[0.0, 6.0], metavar=("MU0", "MU1"),
                   help="class means, MU0 < MU1")
    p.add_argument("--stds", nargs=2, type=float, default=[1.0, 2.0], metavar=("S0", "S1"),
                   help="class standard deviations, both > 0")
    p.add_argument("--priors", nargs=2, type=float, default=[0.5, 0.5], metavar=("PHI0", "PHI1"),
                   help="class priors of the full training set, in [0, 1], summing to 1")
    p.add_argument("--density", type=float, default=0.5,
                   help="dataset density d: fraction of the training data kept, in (0, 1]")
    p.set_defaults(func=_cmd_theory)
