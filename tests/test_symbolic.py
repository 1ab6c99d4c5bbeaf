"""The sympy derivation (gaussian_theory.symbolic) agrees with the numeric closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from gaussian_theory import symbolic
from gaussian_theory.two_gaussians import TwoGaussians

# The lambdified expressions and the library evaluate the same formulas in different algebraic
# forms (e.g. the library's cancellation-free t*); with |sigma1^2 - sigma0^2| bounded away from 0
# below, the rounding of either is ~1e-14 relative, so rtol 1e-10 is a safe, still strict, bound.
RTOL = 1e-10


def _random_params(rng, n):
    """Well-separated models with stds at least 10% apart (the closed form divides by s1^2 - s0^2)."""
    out = []
    for _ in range(n):
        mu0 = rng.uniform(-3, 3)
        mu1 = mu0 + rng.uniform(1, 8)
        s0 = rng.uniform(0.3, 3)
        s1 = s0 * 10 ** (rng.choice([-1, 1]) * rng.uniform(0.05, 0.6))  # ratio in [1.12, 4] either way
        phi0 = rng.uniform(0.1, 0.9)
        out.append((mu0, mu1, s0, s1, phi0, 1 - phi0))
    return out


def test_symbols_are_named_and_typed():
    sym = symbolic.symbols()
    assert len(sym) == 7
    assert sym.s0.is_positive and sym.phi1.is_positive and sym.t.is_real
    assert symbolic.symbols() is sym  # cached


def test_stationarity_equation_holds_at_numeric_threshold():
    sym = symbolic.symbols()
    eq = symbolic.stationarity_equation()
    assert isinstance(eq, sp.Equality)
    f = sp.lambdify(sym, eq.lhs - eq.rhs, "numpy")
    model = TwoGaussians((0, 6), (1, 2), (0.5, 0.5))
    t = model.optimal_threshold()
    # The log-densities are O(1) here; rounding is ~1e-15.
    assert abs(f(0, 6, 1, 2, 0.5, 0.5, t)) < 1e-12
    assert abs(f(0, 6, 1, 2, 0.5, 0.5, t + 0.1)) > 1e-3  # and does not hold elsewhere


def test_stationary_roots_are_both_roots():
    sym = symbolic.symbols()
    eq = symbolic.stationarity_equation()
    roots = symbolic.stationary_roots()
    assert len(roots) == 2
    vals = {sym.mu0: 0.3, sym.mu1: 4.0, sym.s0: 1.1, sym.s1: 2.2, sym.phi0: 0.4, sym.phi1: 0.6}
    for r in roots:
        tr = float(r.subs(vals))
        assert abs(float((eq.lhs - eq.rhs).subs(vals).subs(sym.t, tr))) < 1e-12


def test_optimal_threshold_expr_matches_numeric():
    sym = symbolic.symbols()
    f = sp.lambdify(sym[:6], symbolic.optimal_threshold_expr(), "numpy")
    rng = np.random.default_rng(123)
    n_compared = 0
    for mu0, mu1, s0, s1, phi0, phi1 in _random_params(rng, 200):
        model = TwoGaussians((mu0, mu1), (s0, s1), (phi0, phi1))
        t_num = model.optimal_threshold()
        if not np.isfinite(t_num):  # the global minimiser is an end; the expression is the local one
            continue
        assert f(mu0, mu1, s0, s1, phi0, phi1) == pytest.approx(t_num, rel=RTOL, abs=RTOL)
        n_compared += 1
    assert n_compared >= 150


def test_optimal_threshold_expr_is_selected_local_minimum_not_the_other_root():
    sym = symbolic.symbols()
    t_expr = symbolic.optimal_threshold_expr()
    other = [r for r in symbolic.stationary_roots()
             if sp.simplify(sp.expand_log(r - t_expr, force=True)) != 0]
    assert len(other) == 1
    # For both signs of s1 - s0 the selected root is the one where R'' > 0, i.e. h(t) > 0.
    for s0, s1 in [(1.0, 2.0), (2.0, 1.0)]:
        vals = {sym.mu0: 0.0, sym.mu1: 6.0, sym.s0: s0, sym.s1: s1, sym.phi0: 0.5, sym.phi1: 0.5}
        t_min, t_max = float(t_expr.subs(vals)), float(other[0].subs(vals))
        assert (t_min - 0) / s0**2 - (t_min - 6) / s1**2 > 0
        assert (t_max - 0) / s0**2 - (t_max - 6) / s1**2 < 0


def test_optimal_threshold_equal_std_limit():
    # lim_{s1 -> s0} t* = (mu0 + mu1)/2 + s^2 log(phi0/phi1)/(mu1 - mu0), the numeric s0 == s1 branch.
    sym = symbolic.symbols()
    delta = sp.Symbol("Delta", positive=True)
    expr = symbolic.optimal_threshold_expr().subs(sym.mu1, sym.mu0 + delta)
    lim = sp.limit(expr, sym.s1, sym.s0)
    expected = sym.mu0 + delta / 2 + sym.s0**2 * sp.log(sym.phi0 / sym.phi1) / delta
    assert sp.simplify(sp.expand_log(lim - expected, force=True)) == 0
    f = sp.lambdify((sym.mu0, delta, sym.s0, sym.phi0, sym.phi1), lim)
    model = TwoGaussians((0.5, 2.5), (1.3, 1.3), (0.35, 0.65))
    assert f(0.5, 2.0, 1.3, 0.35, 0.65) == pytest.approx(model.optimal_threshold(), rel=RTOL)


def test_worst_class_threshold_expr_matches_numeric():
    sym = symbolic.symbols()
    f = sp.lambdify(sym[:4], symbolic.worst_class_threshold_expr(), "numpy")
    rng = np.random.default_rng(321)
    for mu0, mu1, s0, s1, phi0, phi1 in _random_params(rng, 100):
        model = TwoGaussians((mu0, mu1), (s0, s1), (phi0, phi1))
        assert f(mu0, mu1, s0, s1) == pytest.approx(model.worst_class_threshold(), rel=RTOL, abs=RTOL)


def test_worst_class_optimal_prior_ratio_expr_matches_numeric():
    sym = symbolic.symbols()
    ratio = symbolic.worst_class_optimal_prior_ratio_expr()
    assert sp.simplify(ratio - sym.s0 / sym.s1) == 0
    f = sp.lambdify(sym[:6], ratio, "numpy")
    rng = np.random.default_rng(99)
    for mu0, mu1, s0, s1, phi0, phi1 in _random_params(rng, 100):
        model = TwoGaussians((mu0, mu1), (s0, s1), (phi0, phi1))
        p = model.worst_class_optimal_priors()
        assert f(mu0, mu1, s0, s1, phi0, phi1) == pytest.approx(p[0] / p[1], rel=RTOL)


def test_substituting_optimal_ratio_gives_worst_class_threshold():
    # t*(sigma0/sigma1) == t_wc symbolically: the log term of the discriminant vanishes
    # (worst-class-optimal priors, arXiv 2404.05579 App. B.2).
    sym = symbolic.symbols()
    t = symbolic.optimal_threshold_expr().subs(sym.phi0, sym.phi1 * sym.s0 / sym.s1)
    diff = sp.simplify(t - symbolic.worst_class_threshold_expr())
    # sqrt((mu1-mu0)^2) = |mu1-mu0|, which is mu1-mu0 under the model's mu0 < mu1.
    delta = sp.Symbol("Delta", positive=True)
    assert sp.simplify(diff.subs(sym.mu1, sym.mu0 + delta)) == 0


def test_latex_summary():
    text = symbolic.latex_summary()
    assert isinstance(text, str) and text.strip()
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("t^*") and r"\sqrt" in lines[0] and r"\log" in lines[0]
    assert r"\mathrm{wc}" in lines[1] and r"\sigma_{0}" in lines[1]
    assert lines[2].rstrip().endswith(r"\frac{\sigma_{0}}{\sigma_{1}}")
    # Balanced braces: it is well-formed enough to paste into a document.
    assert text.count("{") == text.count("}")


def test_probit_density_ratio_expr_matches_worst_class_optimum():
    """The derived d0/d1 in terms of the recalls of t* equals the ratio of the two-Gaussian
    worst-class-optimal densities (unsaturated cases, several priors), evaluated numerically."""
    expr = symbolic.probit_density_ratio_expr()
    r0, r1 = sorted(expr.free_symbols, key=lambda s: s.name)
    assert (r0.name, r1.name) == ("r_0", "r_1")
    f = sp.lambdify((r0, r1), expr, modules="scipy")
    for means, stds, priors in [((0, 6), (1, 2), (0.5, 0.5)), ((0, 4), (1, 3), (0.3, 0.7)),
                                ((-1, 1.5), (1.5, 1), (0.6, 0.4)), ((0, 5), (1, 2.5), (0.8, 0.2))]:
        model = TwoGaussians(means, stds, priors)
        rec = 1 - model.class_risks(model.optimal_threshold())
        opt = model.worst_class_optimal_densities(0.1)
        assert (opt < 1).all()
        # erfinv near 1 loses ~1/(1-r) relative digits (r up to 0.99 here): 1e-10 is ample.
        assert float(f(*rec)) == pytest.approx(opt[0] / opt[1], rel=1e-10)


def test_probit_density_ratio_expr_is_the_normal_density_ratio():
    # exp(erfinv^2(2 r1 - 1) - erfinv^2(2 r0 - 1)) = phi(Phi^-1(r0)) / phi(Phi^-1(r1)).
    from scipy.stats import norm
    expr = symbolic.probit_density_ratio_expr()
    r0, r1 = sorted(expr.free_symbols, key=lambda s: s.name)
    for a, b in [(0.9, 0.7), (0.6, 0.99), (0.75, 0.75)]:
        val = float(expr.subs({r0: a, r1: b}).evalf(30))
        assert val == pytest.approx(norm.pdf(norm.ppf(a)) / norm.pdf(norm.ppf(b)), rel=1e-12)
