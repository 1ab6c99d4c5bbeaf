r"""Monte-Carlo draws of a Gaussian mixture's class log densities, in bounded memory.

The Monte-Carlo class risks of :class:`~gaussian_theory.mixture.GaussianMixture` (README, "Finite
samples, many classes") draw ``n_mc`` points from each class :math:`k` and keep, for each point, the
K log densities :math:`\log\mathcal N(x;\mu_j,\Sigma_j)`. Held at once that is a
:math:`K\times Kn_{mc}` matrix (16 GB for K = 100 and :math:`n_{mc}=2\cdot10^5`), so the draws are
organised in *blocks* (class :math:`k`, up to ``BLOCK`` consecutive points of it): a
:class:`MCDraws` keeps the blocks in memory when they fit in ``max_bytes`` and otherwise regenerates
them, block by block, from its integer seed on every pass. Every computation sums over the same
blocks in the same order either way, so the results are identical (bit for bit) with and without
the memory bound.
"""

from __future__ import annotations

import numpy as np

from .intervals import wilson_interval
from .validation import as_generator, check_int, check_seed

__all__ = ["MCDraws", "BLOCK", "MAX_BYTES", "integer_seed"]

#: points per block (the draws of one class are generated in blocks of this many rows)
BLOCK = 2**16
#: default memory bound of the cached log densities (bytes)
MAX_BYTES = 200 * 2**20
_SOFT_CHUNK = 16384


def integer_seed(seed) -> int:
    """An int seed from ``seed`` (an int is returned as is; a Generator gives one draw of it), so
    that draws can be replayed."""
    seed = check_seed(seed)
    return int(seed.integers(2**63)) if isinstance(seed, np.random.Generator) else seed


class MCDraws:
    r"""``n_mc`` draws per class of ``mixture``, from ``numpy.random.default_rng(seed)``: class 0's
    points first, in blocks of ``BLOCK`` rows of ``standard_normal((m, p))``, then class 1's, ...

    ``blocks(limit)`` yields ``(k, ll)`` with ``ll`` the ``(K, m)`` log densities of ``m`` points of
    class ``k`` (only the first ``limit`` points of each class when given). Cached when
    :math:`8K^2n_{mc}\le` ``max_bytes`` (default :data:`MAX_BYTES`), regenerated on every pass
    otherwise (then at most one block, :math:`8K\cdot` ``BLOCK`` bytes, is held at a time).
    """

    def __init__(self, mixture, n_mc: int, seed=0, max_bytes: int | None = None):
        self.mixture = mixture
        self.n_mc = check_int(n_mc, "n_mc", minimum=2)
        self.seed = integer_seed(seed)
        self.n_classes = mixture.n_classes
        limit = MAX_BYTES if max_bytes is None else check_int(max_bytes, "max_bytes", minimum=0)
        self.cached = 8 * self.n_classes**2 * self.n_mc <= limit
        self._cache = list(self._generate()) if self.cached else None
        if self._cache is not None:
            for _, ll in self._cache:
                ll.setflags(write=False)

    def _generate(self):
        gm = self.mixture
        rng = as_generator(self.seed)
        for k in range(self.n_classes):
            for s in range(0, self.n_mc, BLOCK):
                m = min(BLOCK, self.n_mc - s)
                x = gm.class_points(k, rng.standard_normal((m, gm.dim)))
                yield k, gm.log_densities(x).T.copy()

    def blocks(self, limit: int | None = None):
        """Yield ``(k, ll)`` blocks; with ``limit``, only the first ``limit`` points of each class."""
        seen = np.zeros(self.n_classes, dtype=np.int64)
        for k, ll in self._cache if self.cached else self._generate():
            if limit is not None:
                take = min(ll.shape[1], limit - int(seen[k]))
                if take <= 0:
                    continue
                ll = ll[:, :take]
            seen[k] += ll.shape[1]
            yield k, ll

    def error_counts(self, priors, limit: int | None = None) -> np.ndarray:
        r"""Per class, how many of its points the Bayes rule :math:`\arg\max_j[\log w_j+\ell_j(x)]`
        (first maximum, as :meth:`GaussianMixture.predict`) misclassifies."""
        with np.errstate(divide="ignore"):
            logw = np.log(np.asarray(priors, dtype=float))
        errors = np.zeros(self.n_classes, dtype=np.int64)
        for k, ll in self.blocks(limit):
            pred = np.argmax(ll + logw[:, None], axis=0)
            errors[k] += int(np.count_nonzero(pred != k))
        return errors

    def risks(self, priors, limit: int | None = None):
        """Class risks, binomial standard errors and 95% Wilson bounds: ``(risks, se, low, high)``."""
        n = self.n_mc if limit is None else min(self.n_mc, limit)
        errors = self.error_counts(priors, limit)
        r = errors / n
        low, high = wilson_interval(errors, n)
        return r, np.sqrt(r * (1 - r) / n), low, high

    def soft_risks(self, log_priors, tau: float, limit: int | None = None):
        r"""Smoothed class risks and their Jacobian in the log priors :math:`u=\log w`.

        :math:`\tilde R_k=1-\overline{p_k}` over class :math:`k`'s points, with
        :math:`p_j(x)=\mathrm{softmax}_j\big((\ell_j(x)+u_j)/\tau\big)` (:math:`\tau\to0`: the 0-1
        risk of the Bayes rule), and :math:`\partial\tilde R_k/\partial u_j=
        -\tau^{-1}\big(\delta_{kj}\overline{p_k}-\overline{p_kp_j}\big)`.
        """
        k_ = self.n_classes
        u = np.asarray(log_priors, dtype=float)
        sum_pk = np.zeros(k_)
        cross = np.zeros((k_, k_))
        count = np.zeros(k_)
        for k, block in self.blocks(limit):
            for c in range(0, block.shape[1], _SOFT_CHUNK):  # cache-sized pieces: 2-3x faster
                ll = block[:, c : c + _SOFT_CHUNK]
                s = ll + u[:, None]
                s -= s.max(axis=0)
                s *= 1.0 / tau
                p = np.exp(s, out=s)
                p *= 1.0 / p.sum(axis=0)
                pk = p[k]
                sum_pk[k] += pk.sum()
                cross[k] += p @ pk
                count[k] += ll.shape[1]
        mean_pk = sum_pk / count
        jac = -(np.diag(mean_pk) - cross / count[:, None]) / tau
        return 1.0 - mean_pk, jac
