r"""Symbolic (sympy) derivation of the two-Gaussian results of :mod:`gaussian_theory.two_gaussians`.

Everything here is derived by sympy from the model's definition rather than typed in, and the
derivation is checked against the closed forms of the paper (DRoP, arXiv 2404.05579, §4 and App. B;
README, "The paper's formulas"):

* average-risk minimiser (eq. 3)

  .. math::
      t^* = \frac{\mu_0\sigma_1^2-\mu_1\sigma_0^2+\sigma_0\sigma_1\sqrt{(\mu_1-\mu_0)^2
            +2(\sigma_1^2-\sigma_0^2)\log\frac{\phi_0\sigma_1}{\phi_1\sigma_0}}}{\sigma_1^2-\sigma_0^2};

* worst-class minimiser (eq. 4): :math:`t_{wc}=(\mu_0\sigma_1+\mu_1\sigma_0)/(\sigma_0+\sigma_1)`;
* worst-class-optimal prior ratio (eq. 5): :math:`\phi_0/\phi_1=\sigma_0/\sigma_1`;
* the probit rule: the worst-class-optimal class-density ratio from the full-data recalls alone,
  :math:`d_0/d_1=\varphi(\Phi^{-1}(r_0))/\varphi(\Phi^{-1}(r_1))`
  (:func:`probit_density_ratio_expr`, used by ``allocation_rule="probit"`` in
  :mod:`gaussian_theory.allocation`).

The expressions are general in the symbols; :math:`t^*` is singular at :math:`\sigma_0=\sigma_1`
(its limit is :math:`(\mu_0+\mu_1)/2+\sigma^2\log(\phi_0/\phi_1)/(\mu_1-\mu_0)`), and it is the
*global* minimiser only under the conditions documented in
:meth:`~gaussian_theory.two_gaussians.TwoGaussians.optimal_threshold`. Results are cached (sympy is
slow); the returned expressions are immutable, so sharing them is safe.
"""

from __future__ import annotations

from collections import namedtuple
from functools import lru_cache

import sympy as sp

__all__ = [
    "symbols",
    "class_density",
    "stationarity_equation",
    "stationary_roots",
    "optimal_threshold_expr",
    "closed_form_threshold_expr",
    "worst_class_threshold_expr",
    "worst_class_optimal_prior_ratio_expr",
    "probit_density_ratio_expr",
    "latex_summary",
]

Symbols = namedtuple("Symbols", ["mu0", "mu1", "s0", "s1", "phi0", "phi1", "t"])


@lru_cache(maxsize=None)
def symbols() -> Symbols:
    r"""The model's symbols ``(mu0, mu1, s0, s1, phi0, phi1, t)``, as a named tuple.

    Means and the threshold are real; stds and priors are positive (a zero prior gives an infinite
    threshold, which is outside the symbolic derivation).
    """
    mu0, mu1 = sp.symbols("mu_0 mu_1", real=True)
    s0, s1 = sp.symbols("sigma_0 sigma_1", positive=True)
    phi0, phi1 = sp.symbols("phi_0 phi_1", positive=True)
    t = sp.Symbol("t", real=True)
    return Symbols(mu0, mu1, s0, s1, phi0, phi1, t)


def class_density(k: int, x=None) -> sp.Expr:
    r"""Class-conditional density :math:`f_k(x)=\exp(-(x-\mu_k)^2/(2\sigma_k^2))/(\sqrt{2\pi}\sigma_k)`."""
    sym = symbols()
    if k not in (0, 1):
        raise ValueError(f"k must be 0 or 1, got {k!r}")
    mu, s = (sym.mu0, sym.s0) if k == 0 else (sym.mu1, sym.s1)
    x = sym.t if x is None else x
    return sp.exp(-((x - mu) ** 2) / (2 * s**2)) / (sp.sqrt(2 * sp.pi) * s)


@lru_cache(maxsize=None)
def stationarity_equation() -> sp.Eq:
    r"""Stationarity of the average risk, in logs: :math:`\log(\phi_0f_0(t))=\log(\phi_1f_1(t))`.

    :math:`R'(t)=\phi_1f_1(t)-\phi_0f_0(t)` (App. B), so :math:`R'=0` iff the two weighted
    densities meet; both sides are positive, so taking logs is an equivalence and turns the
    condition into a quadratic in :math:`t`.
    """
    sym = symbols()
    return sp.Eq(sp.log(sym.phi0 * class_density(0)), sp.log(sym.phi1 * class_density(1)))


@lru_cache(maxsize=None)
def stationary_roots() -> tuple:
    r"""Both roots of the stationarity quadratic, as returned by ``sympy.solve``."""
    eq = stationarity_equation()
    quadratic = sp.expand_log(eq.lhs - eq.rhs, force=True)
    roots = sp.solve(quadratic, symbols().t)
    if len(roots) != 2:  # pragma: no cover - would mean sympy changed its output form
        raise RuntimeError(f"expected two roots of the stationarity quadratic, got {roots}")
    return tuple(roots)


def _is_local_minimum(root) -> bool:
    r"""Whether ``root`` is the local minimum of :math:`R` (decided symbolically).

    At a root, :math:`\phi_0f_0=\phi_1f_1=g>0`, so
    :math:`R''=\phi_1f_1'-\phi_0f_0'=g\,h(t)` with :math:`h(t)=(t-\mu_0)/\sigma_0^2-(t-\mu_1)/\sigma_1^2`.
    On the real-root branch the radical :math:`\sqrt{\cdot}` is a positive number :math:`q`; sympy
    reduces :math:`h` to :math:`\pm q/(\sigma_0\sigma_1)`, whose sign it then knows.
    """
    sym = symbols()
    radicals = [p for p in root.atoms(sp.Pow) if p.exp == sp.Rational(1, 2) and p.base.has(sym.phi0)]
    if len(radicals) != 1:  # pragma: no cover
        raise RuntimeError(f"expected one discriminant radical in {root}")
    q = sp.Symbol("q", positive=True)
    h = (root - sym.mu0) / sym.s0**2 - (root - sym.mu1) / sym.s1**2
    sign = sp.simplify(h.subs(radicals[0], q)).is_positive
    if sign is None:  # pragma: no cover
        raise RuntimeError(f"could not decide the sign of R'' at {root}")
    return bool(sign)


@lru_cache(maxsize=None)
def closed_form_threshold_expr() -> sp.Expr:
    r"""The paper's closed form (eq. 3), typed in, for comparison with the derivation:

    .. math::
        \frac{\mu_0\sigma_1^2-\mu_1\sigma_0^2+\sigma_0\sigma_1\sqrt{(\mu_1-\mu_0)^2
        +2(\sigma_1^2-\sigma_0^2)\log\frac{\phi_0\sigma_1}{\phi_1\sigma_0}}}{\sigma_1^2-\sigma_0^2}.
    """
    mu0, mu1, s0, s1, phi0, phi1, _ = symbols()
    disc = (mu1 - mu0) ** 2 + 2 * (s1**2 - s0**2) * sp.log(phi0 * s1 / (phi1 * s0))
    return (mu0 * s1**2 - mu1 * s0**2 + s0 * s1 * sp.sqrt(disc)) / (s1**2 - s0**2)


@lru_cache(maxsize=None)
def optimal_threshold_expr() -> sp.Expr:
    r"""The stationary point of the average risk that is its local minimum, :math:`t^*(\phi_0/\phi_1)`.

    Derived by solving :func:`stationarity_equation` with ``sympy.solve`` and keeping the root
    where :math:`R''>0` (see :func:`_is_local_minimum`): the root with :math:`+\sigma_0\sigma_1\sqrt D`
    over :math:`\sigma_1^2-\sigma_0^2`, whatever the sign of that denominator. The selected root is
    checked to equal :func:`closed_form_threshold_expr` symbolically (difference simplifies to 0),
    and returned in that closed form:

    .. math::
        t^* = \frac{\mu_0\sigma_1^2-\mu_1\sigma_0^2+\sigma_0\sigma_1\sqrt D}{\sigma_1^2-\sigma_0^2},\qquad
        D=(\mu_1-\mu_0)^2+2(\sigma_1^2-\sigma_0^2)\log\frac{\phi_0\sigma_1}{\phi_1\sigma_0}.

    It is real iff :math:`D\ge0` and is the global minimiser over :math:`\mathbb R\cup\{\pm\infty\}`
    only when :math:`R(t^*)\le\min(\phi_0,\phi_1)`; the numeric function handles those cases.
    """
    minima = [r for r in stationary_roots() if _is_local_minimum(r)]
    if len(minima) != 1:  # pragma: no cover
        raise RuntimeError(f"expected exactly one local-minimum root, got {minima}")
    closed = closed_form_threshold_expr()
    if sp.simplify(sp.expand_log(minima[0] - closed, force=True)) != 0:  # pragma: no cover
        raise RuntimeError(f"derived root {minima[0]} does not match the closed form {closed}")
    return closed


@lru_cache(maxsize=None)
def worst_class_threshold_expr() -> sp.Expr:
    r"""Solution of :math:`R_0(t)=R_1(t)`, i.e. :math:`(\mu_0-t)/\sigma_0=(t-\mu_1)/\sigma_1`:

    .. math:: t_{wc}=\frac{\mu_0\sigma_1+\mu_1\sigma_0}{\sigma_0+\sigma_1}.

    :math:`\Phi` is strictly increasing, so equal risks means equal arguments; :math:`R_0` falls and
    :math:`R_1` rises in :math:`t`, so this crossing minimises :math:`\max_kR_k` (App. B.2).
    """
    mu0, mu1, s0, s1, _, _, t = symbols()
    (root,) = sp.solve(sp.Eq((mu0 - t) / s0, (t - mu1) / s1), t)
    return sp.simplify(root)


@lru_cache(maxsize=None)
def worst_class_optimal_prior_ratio_expr() -> sp.Expr:
    r"""Prior ratio :math:`\rho=\phi_0/\phi_1` whose stationary point is :math:`t_{wc}`:

    substitute :math:`t=t_{wc}` and :math:`\phi_0=\rho\phi_1` into :func:`stationarity_equation` and
    solve for :math:`\rho`, giving :math:`\rho=\sigma_0/\sigma_1`, i.e.
    :math:`\phi_k=\sigma_k/(\sigma_0+\sigma_1)` (App. B.2). At this ratio the log
    term of :math:`D` vanishes and :math:`t^*=t_{wc}`.
    """
    sym = symbols()
    rho = sp.Symbol("rho", positive=True)
    eq = stationarity_equation()
    expr = (eq.lhs - eq.rhs).subs(sym.t, worst_class_threshold_expr()).subs(sym.phi0, rho * sym.phi1)
    solutions = sp.solve(sp.expand_log(expr, force=True), rho)
    if len(solutions) != 1:  # pragma: no cover
        raise RuntimeError(f"expected one prior ratio, got {solutions}")
    return sp.simplify(solutions[0])


def _std_normal_pdf(a) -> sp.Expr:
    return sp.exp(-(a**2) / 2) / sp.sqrt(2 * sp.pi)


@lru_cache(maxsize=None)
def probit_density_ratio_expr() -> sp.Expr:
    r"""Worst-class-optimal class-density ratio :math:`d_0/d_1` in terms of the recalls :math:`r_0,r_1`
    of the full-data average-risk minimiser (the probit rule), derived in three steps:

    1. pruning keeps priors :math:`\propto d_k\phi_k`; setting their ratio to
       :func:`worst_class_optimal_prior_ratio_expr` gives :math:`d_0/d_1=\sigma_0\phi_1/(\sigma_1\phi_0)`;
    2. at a stationary point :math:`t` (:func:`stationarity_equation`, solved for :math:`\phi_1`),
       :math:`\phi_1=\phi_0f_0(t)/f_1(t)`, so :math:`d_0/d_1=\sigma_0f_0(t)/(\sigma_1f_1(t))`;
    3. with :math:`a_0=(t-\mu_0)/\sigma_0`, :math:`a_1=(\mu_1-t)/\sigma_1` (recalls
       :math:`r_k=\Phi(a_k)`), :math:`\sigma_kf_k(t)=\varphi(a_k)`: the difference from
       :math:`\varphi(a_0)/\varphi(a_1)` simplifies to 0 (checked here, RuntimeError otherwise).

    Returned with :math:`a_k=\Phi^{-1}(r_k)=\sqrt2\,\mathrm{erfinv}(2r_k-1)` substituted:

    .. math::
        \frac{d_0}{d_1}=\frac{\varphi(\Phi^{-1}(r_0))}{\varphi(\Phi^{-1}(r_1))}
        =\exp\!\big(\mathrm{erfinv}^2(2r_1-1)-\mathrm{erfinv}^2(2r_0-1)\big),

    in the positive symbols ``r_0``, ``r_1`` (the free symbols of the result). It holds for any
    priors; saturation (:math:`d_k\le1`) and the infinite-threshold case of Theorem B.1 are handled
    numerically (:meth:`~gaussian_theory.two_gaussians.TwoGaussians.probit_densities`).
    """
    sym = symbols()
    ratio = sp.Symbol("delta", positive=True)
    (step1,) = sp.solve(sp.Eq(ratio * sym.phi0 / sym.phi1, worst_class_optimal_prior_ratio_expr()), ratio)
    phi1_at_t = sp.solve(stationarity_equation(), sym.phi1)
    if len(phi1_at_t) != 1:  # pragma: no cover
        raise RuntimeError(f"expected one phi_1 from the stationarity equation, got {phi1_at_t}")
    step2 = step1.subs(sym.phi1, phi1_at_t[0])
    a0, a1 = (sym.t - sym.mu0) / sym.s0, (sym.mu1 - sym.t) / sym.s1
    if sp.simplify(step2 - _std_normal_pdf(a0) / _std_normal_pdf(a1)) != 0:  # pragma: no cover
        raise RuntimeError(f"d0/d1 = {step2} does not reduce to phi(a0)/phi(a1)")
    r0, r1 = sp.symbols("r_0 r_1", positive=True)
    probit = [sp.sqrt(2) * sp.erfinv(2 * r - 1) for r in (r0, r1)]
    return sp.simplify(_std_normal_pdf(probit[0]) / _std_normal_pdf(probit[1]))


def latex_summary() -> str:
    r"""The three results (:math:`t^*`, :math:`t_{wc}`, :math:`\phi_0/\phi_1` at the worst-class optimum) as
    LaTeX, one display-math line each, joined by newlines."""
    sym = symbols()
    lines = [
        r"t^*\!\left(\tfrac{\phi_0}{\phi_1}\right) = " + sp.latex(optimal_threshold_expr()),
        r"t_{\mathrm{wc}} = " + sp.latex(worst_class_threshold_expr()),
        r"\frac{" + sp.latex(sym.phi0) + "}{" + sp.latex(sym.phi1) + r"}\bigg|_{\mathrm{wc}} = "
        + sp.latex(worst_class_optimal_prior_ratio_expr()),
    ]
    return "\n".join(lines)
