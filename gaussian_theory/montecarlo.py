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

*Tied covariances* (:math:`\Sigma_k=\Sigma=LL^\top` for every k, e.g. the default surrogate) take
another route whose cost per draw grows linearly in K instead of as :math:`Kp^2`. In whitened
coordinates :math:`u=L^{-1}(x-c)` a class-k draw is :math:`u=m_k+z`, :math:`z\sim\mathcal N(0,I_p)`,
:math:`m_j=L^{-1}(\mu_j-c)`, and

.. math::
    \log\mathcal N(x;\mu_j,\Sigma)=\underbrace{h_j+G_{kj}-\tfrac12G_{jj}}_{s_j}
    -\tfrac12|z|^2-h_k-\tfrac12G_{kk}-\tfrac12\log|\Sigma|-\tfrac p2\log2\pi,

with :math:`G=MM^\top` and :math:`h_j=m_j^\top z`. The vector :math:`h` is :math:`\xi B^\top`,
:math:`BB^\top=G`, :math:`\xi\sim\mathcal N(0,I_r)` (:math:`r=\mathrm{rank}\,G\le\min(p,K-1)`),
and :math:`|z|^2=|\xi|^2+\chi^2_{p-r}`: r + 1 numbers per draw whatever p is. One set of ``n_mc``
noise draws :math:`(\xi,|z|^2)` serves every class (common random numbers across classes: each
class's risk is still a binomial proportion of ``n_mc`` draws, the classes' estimates are dependent),
so a pass over the draws costs :math:`O(n_{mc}(rK+K^2))` arithmetic with one vectorised argmax per
class, and only :math:`8(K+1)n_{mc}` bytes are kept.
"""

from __future__ import annotations

import numpy as np

from .intervals import wilson_interval
from .validation import as_generator, check_int, check_seed

_LOG_2PI = float(np.log(2.0 * np.pi))

__all__ = ["MCDraws", "BLOCK", "MAX_BYTES", "MAX_N_MC", "check_n_mc", "integer_seed"]

#: points per block (the draws of one class are generated in blocks of this many rows; fewer when a
#: block's working memory would exceed ``_BLOCK_BYTES``: high dimensions, many classes)
BLOCK = 2**16
_BLOCK_BYTES = 256 * 2**20
#: default memory bound of the cached log densities (bytes)
MAX_BYTES = 200 * 2**20
_SOFT_CHUNK = 16384
#: from this many classes on, the tied error counts take the argmax along rows of (draws, K) scores
_ROWS_FROM = 32
#: most Monte Carlo draws per class any estimate accepts (:func:`check_n_mc`)
MAX_N_MC = 10**8


def _add_softmax_moments(scores, k, tau, sum_pk, cross, count):
    r"""Add one chunk's tempered-softmax moments of class ``k`` to the running sums, in place.

    ``scores`` (classes x draws of class k; overwritten) become ``p = softmax(scores / tau)`` along the
    classes; ``sum_pk[k]`` gains :math:`\sum p_k`, ``cross[k]`` gains :math:`\sum p\,p_k`, ``count[k]``
    the number of draws: the sums behind the smoothed risks and their Jacobian.
    """
    scores -= scores.max(axis=0)
    scores *= 1.0 / tau
    p = np.exp(scores, out=scores)
    p *= 1.0 / p.sum(axis=0)
    pk = p[k]
    sum_pk[k] += pk.sum()
    cross[k] += p @ pk
    count[k] += scores.shape[1]


def check_n_mc(n_mc, name: str = "n_mc", minimum: int = 2) -> int:
    """Monte Carlo draws per class: an integer in ``[minimum, MAX_N_MC]``. Beyond :data:`MAX_N_MC`
    (10**8) a risk's binomial standard error is below 5e-5 and a run would take hours: refused before
    any work rather than left running without limit."""
    v = check_int(n_mc, name, minimum=minimum)
    if v > MAX_N_MC:
        raise ValueError(f"{name} must be at most {MAX_N_MC:,} Monte Carlo draws per class (a risk's "
                         f"standard error is then below 5e-5; more would run for hours), got {v:,}")
    return v


def integer_seed(seed) -> int:
    """An int seed from ``seed`` (an int is returned as is; a Generator gives one draw of it), so
    that draws can be replayed."""
    seed = check_seed(seed)
    return int(seed.integers(2**63)) if isinstance(seed, np.random.Generator) else seed


class MCDraws:
    r"""``n_mc`` draws per class of ``mixture``, from ``numpy.random.default_rng(seed)``: class 0's
    points first, in blocks of ``BLOCK`` rows of ``standard_normal((m, p))`` (fewer rows when a block
    would need over 256 MiB: a few hundred dimensions or classes), then class 1's, ...

    ``blocks(limit)`` yields ``(k, ll)`` with ``ll`` the ``(K, m)`` log densities of ``m`` points of
    class ``k`` (only the first ``limit`` points of each class when given). Cached when
    :math:`8K^2n_{mc}\le` ``max_bytes`` (default :data:`MAX_BYTES`), regenerated on every pass
    otherwise (then at most one block, :math:`8K\cdot` ``BLOCK`` bytes, is held at a time).

    A tied mixture (``mixture.tied``) draws the shared noise of the module docstring instead: blocks
    of ``BLOCK`` rows of ``standard_normal((m, r))`` (then ``chisquare(p - r, m)`` when p > r), each
    block serving class 0, 1, ..., K-1 in turn; the noise (:math:`8(K+1)n_{mc}` bytes) is kept when it
    fits in ``max_bytes`` and regenerated otherwise, the log-density blocks are never held
    (``cached`` is False) and :attr:`in_memory` says whether the draws are kept.
    """

    def __init__(self, mixture, n_mc: int, seed=0, max_bytes: int | None = None):
        self.mixture = mixture
        self.n_mc = check_n_mc(n_mc)
        self.seed = integer_seed(seed)
        self.n_classes = mixture.n_classes
        limit = MAX_BYTES if max_bytes is None else check_int(max_bytes, "max_bytes", minimum=0)
        self.tied = bool(getattr(mixture, "tied", False))
        self._cache = self._noise = None
        k, p = self.n_classes, mixture.dim
        if self.tied:
            self._tied_setup()
        # rows per block: its points, their transforms and K log densities stay within _BLOCK_BYTES
        per_row = 8 * (self._rank + 3 * k) if self.tied else 8 * (4 * p + 3 * k)
        self._rows = int(min(BLOCK, max(1024, _BLOCK_BYTES // per_row)))
        if self.tied:
            self.cached = False
            if 8 * (self.n_classes + 1) * self.n_mc <= limit:
                self._noise = list(self._noise_blocks())
                for h, sq in self._noise:
                    h.setflags(write=False)
                    sq.setflags(write=False)
            return
        self.cached = 8 * self.n_classes**2 * self.n_mc <= limit
        self._cache = list(self._generate()) if self.cached else None
        if self._cache is not None:
            for _, ll in self._cache:
                ll.setflags(write=False)

    @property
    def in_memory(self) -> bool:
        """Whether the draws are held (the log-density blocks, or a tied mixture's shared noise): then
        reusing this object for other priors costs no new draws."""
        return self.cached or self._noise is not None

    # ---------------------------------------------------------------- tied covariances
    def _tied_setup(self) -> None:
        """Whitened means, :math:`G=MM^\top`, its factor B (K, r), the score offsets and constants."""
        gm = self.mixture
        center = gm.means.mean(axis=0)
        m = np.linalg.solve(gm._chol[0], (gm.means - center).T).T  # (K, p): L^-1 (mu_k - c)
        gram = m @ m.T
        lam, vec = np.linalg.eigh(gram)
        keep = lam > 1e-12 * max(float(lam.max()), 0.0)
        self._b = vec[:, keep] * np.sqrt(lam[keep])  # B B^T = G on its range
        self._rank = int(keep.sum())
        diag = np.diag(gram)
        self._offsets = gram - 0.5 * diag[None, :]  # row k: G_kj - G_jj / 2, the scores s_j less h_j
        self._const = -0.5 * diag - 0.5 * float(gm._logdet[0]) - 0.5 * gm.dim * _LOG_2PI

    def _noise_blocks(self):
        """Yield ``(h, |z|^2)`` blocks of the shared noise: h (K, m) (one column per draw), |z|^2 (m,)."""
        rng = as_generator(self.seed)
        r, p = self._rank, self.mixture.dim
        for s in range(0, self.n_mc, self._rows):
            m = min(self._rows, self.n_mc - s)
            xi = rng.standard_normal((m, r))
            sq = np.einsum("ij,ij->i", xi, xi)
            if p > r:
                sq += rng.chisquare(p - r, size=m)
            yield self._b @ xi.T, sq

    def _noise_chunks(self, limit: int | None):
        """The shared noise ``(h, |z|^2)`` in cache-sized chunks, only the first ``limit`` draws."""
        n = self.n_mc if limit is None else min(self.n_mc, limit)
        seen = 0
        for h, sq in self._noise if self._noise is not None else self._noise_blocks():
            for c in range(0, h.shape[1], _SOFT_CHUNK):
                take = min(_SOFT_CHUNK, h.shape[1] - c, n - seen)
                if take <= 0:
                    return
                yield h[:, c : c + take], sq[c : c + take]
                seen += take

    def _generate(self):
        gm = self.mixture
        rng = as_generator(self.seed)
        for k in range(self.n_classes):
            for s in range(0, self.n_mc, self._rows):
                m = min(self._rows, self.n_mc - s)
                x = gm.class_points(k, rng.standard_normal((m, gm.dim)))
                yield k, gm.log_densities(x).T.copy()

    def blocks(self, limit: int | None = None):
        """Yield ``(k, ll)`` blocks; with ``limit``, only the first ``limit`` points of each class."""
        if self.tied:
            for h, sq in self._noise_chunks(limit):
                for k in range(self.n_classes):
                    base = self._const[k] - 0.5 * sq - h[k]  # the per-point terms of the log densities
                    yield k, h + self._offsets[k][:, None] + base[None, :]
            return
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
        if self.tied:  # argmax_j (s_j + log w_j): one add and one argmax per class, in a reused buffer
            offsets = self._offsets + logw[None, :]
            rows = self.n_classes >= _ROWS_FROM  # many classes: argmax along rows is faster (measured)
            buf = np.empty((_SOFT_CHUNK, self.n_classes) if rows else (self.n_classes, _SOFT_CHUNK))
            for h, _ in self._noise_chunks(limit):
                h = np.ascontiguousarray(h.T) if rows else h
                s = buf[: h.shape[0]] if rows else buf[:, : h.shape[1]]
                for k in range(self.n_classes):
                    np.add(h, offsets[k] if rows else offsets[k][:, None], out=s)
                    errors[k] += int(np.count_nonzero(np.argmax(s, axis=1 if rows else 0) != k))
            return errors
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
        if self.tied:  # the same sums from the scores s_j (the per-point terms cancel in the softmax)
            for h, _ in self._noise_chunks(limit):
                for k in range(k_):
                    _add_softmax_moments(h + (self._offsets[k] + u)[:, None], k, tau, sum_pk, cross, count)
            mean_pk = sum_pk / count
            return 1.0 - mean_pk, -(np.diag(mean_pk) - cross / count[:, None]) / tau
        for k, block in self.blocks(limit):
            for c in range(0, block.shape[1], _SOFT_CHUNK):  # cache-sized pieces: 2-3x faster
                _add_softmax_moments(block[:, c : c + _SOFT_CHUNK] + u[:, None], k, tau, sum_pk, cross, count)
        mean_pk = sum_pk / count
        jac = -(np.diag(mean_pk) - cross / count[:, None]) / tau
        return 1.0 - mean_pk, jac
