"""The input checks of :class:`~gaussian_theory.mixture.GaussianMixture`: its parameters checked and
put in canonical form before any matrix is built (shapes, positive-definite covariances, scales that
float64 represents, memory), and its class labels checked to name the classes one to one.

Split out of :mod:`gaussian_theory.mixture` so that the mixture's module holds its model (the Bayes
rule, class risks, allocations) and this one what it accepts.
"""

from __future__ import annotations

import numpy as np

from .validation import MAX_MEMORY, as_float_array, check_memory

__all__ = ["mixture_parameters", "check_distinct_labels"]


def mixture_parameters(means, stds=None, covariances=None, max_memory=MAX_MEMORY
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, bool]:
    """The checked parameters of :class:`~gaussian_theory.mixture.GaussianMixture` (its parameters of
    the same names): ``(means, covariances, stds, tied)``.

    Returns
    -------
    means : ndarray of shape (K, p)
        The class means (a 1-D ``means`` read as p = 1).
    covariances : ndarray of shape (K, p, p)
        The class covariances; one shared matrix, a read-only view K times, when ``tied``.
    stds : ndarray of shape (K,) or None
        The isotropic standard deviations when every covariance is a multiple of the identity (given as
        ``stds`` or found in ``covariances``: the exact two-class risks apply), else None.
    tied : bool
        Whether all classes share one covariance.

    Raises
    ------
    ValueError
        Naming the parameter: a shape that does not match, fewer than 2 classes, both ``stds`` and
        ``covariances``, a std that is not positive, a covariance that is not symmetric positive definite,
        scales that would over- or underflow in float64, matrices larger than ``max_memory`` bytes.
    TypeError
        A parameter that is not real numbers.
    """
    mu = as_float_array(means, "means")
    if mu.ndim == 1:
        mu = mu[:, None]
    if mu.ndim != 2 or mu.shape[1] == 0:
        raise ValueError(f"means must have shape (K, p), got shape {np.shape(means)}")
    k, p = mu.shape
    if k < 2:
        raise ValueError(f"a mixture needs K >= 2 classes, got means with K = {k}: {means!r}")
    if stds is not None and covariances is not None:
        raise ValueError("give stds (isotropic) or covariances, not both")
    iso = None
    if covariances is None:
        s = np.ones(k) if stds is None else as_float_array(stds, "stds")
        if s.shape != (k,):
            raise ValueError(
                f"stds must have shape ({k},) (one per class), got shape {s.shape}: {stds!r}"
            )
        if not (s > 0).all():
            j = int(np.flatnonzero(~(s > 0))[0])
            raise ValueError(f"stds must be > 0, got stds[{j}] = {float(s[j])!r}")
        _check_scales(mu, s, "stds")
        tied = bool((s == s[0]).all())
        _check_mixture_memory(k, p, tied, max_memory)
        eye = np.eye(p)
        iso = s
        # one shared s^2 I (a read-only view K times) when the classes are tied
        cov = np.broadcast_to(s[0] ** 2 * eye, (k, p, p)) if tied else s[:, None, None] ** 2 * eye[None]
    else:
        cov = as_float_array(covariances, "covariances")
        if cov.shape != (k, p, p):
            raise ValueError(
                f"covariances must have shape ({k}, {p}, {p}) to match means {mu.shape}, "
                f"got shape {cov.shape}"
            )
        tied = cov.strides[0] == 0 or all(np.array_equal(cov[j], cov[0]) for j in range(1, k))
        _check_mixture_memory(k, p, tied, max_memory)
        eye = np.eye(p)
        distinct = cov[:1] if tied else cov
        for j, c in enumerate(distinct):
            if not np.allclose(c, c.T, rtol=1e-10, atol=1e-12 * max(np.abs(c).max(), 1e-300)):
                raise ValueError(f"covariances[{j}] must be symmetric, got {_matrix_repr(c)}")
            ev = np.linalg.eigvalsh(c)
            if not ev.min() > 1e-12 * max(ev.max(), 0.0) or ev.max() <= 0:
                raise ValueError(
                    f"covariances[{j}] must be positive definite, got smallest eigenvalue "
                    f"{float(ev.min())!r}: {_matrix_repr(c)}"
                )
        _check_scales(mu, np.sqrt(np.linalg.eigvalsh(distinct)), "covariances")
        if tied:  # one shared matrix, a read-only view K times (K p^2 bytes saved, one factorisation)
            cov = np.broadcast_to(cov[0].copy(), (k, p, p))
        # isotropic after all? keep the exact two-class path available
        diag = np.einsum("kii->ki", distinct)
        off = distinct - diag[:, :, None] * eye[None]
        if not off.any() and (diag == diag[:, :1]).all():
            iso = np.sqrt(np.repeat(diag[:, 0], k) if tied else diag[:, 0])
    return mu, cov, iso, tied


def _check_mixture_memory(k: int, p: int, tied: bool, max_memory) -> None:
    """The mixture holds (K, p, p) covariances and their Cholesky factors (one shared matrix each when
    tied), plus temporaries of the same size while checking them: refuse, before building any, a
    mixture whose matrices would not fit in ``max_memory`` bytes."""
    needed = 8.0 * p * p * (4 if tied else 3 * k)
    check_memory(needed, max_memory, f"a Gaussian mixture of K = {k} classes in p = {p} dimensions "
                 f"({'one shared' if tied else 'one'} {p} x {p} covariance{'' if tied else ' per class'})",
                 hint="reduce the dimension p (e.g. fit to a query model's logits or to a projection of the "
                 "features)")


def check_distinct_labels(labels: np.ndarray) -> None:
    """``class_labels`` name the classes one to one (class ``k`` is ``labels[k]``; predictions and
    recalls are mapped back through them): a repeated label is a ``ValueError`` naming it. O(K)."""
    seen, repeated = set(), {}
    for v in labels.tolist():
        if v in seen:
            repeated[v] = None  # a dict: the repeated labels once each, in order
        seen.add(v)
    repeated = list(repeated)
    if repeated:
        shown = ", ".join(repr(v) for v in repeated[:10]) + (f" and {len(repeated) - 10} more"
                                                             if len(repeated) > 10 else "")
        raise ValueError(f"class_labels must be distinct (class k of the mixture is class_labels[k], the "
                         f"label its predictions map back to), got repeated labels {shown}")


def _matrix_repr(c: np.ndarray) -> str:
    """A matrix in an error message: its values when small, its shape and range otherwise."""
    if c.size <= 100:
        return repr(c.tolist())
    return f"a {c.shape[0]} x {c.shape[1]} matrix with entries in [{float(c.min())!r}, {float(c.max())!r}]"


#: widest range of scales (stds, distances between means) the float64 Bayes rule represents: squared
#: Mahalanobis distances and log-density differences must neither overflow nor underflow
_SCALE_RANGE = 1e100


def _check_scales(mu, scales, name):
    """Reject parameters whose squared scales over/underflow in float64 (NaN risks or a failed Cholesky
    otherwise): every std (square root of a covariance eigenvalue) in [1e-150, 1e150], |means| <=
    1e150, and stds and distances between means within a factor 1e100 of the smallest std."""
    scales = np.asarray(scales, dtype=float)
    lo, hi = float(scales.min()), float(scales.max())
    what = "stds" if name == "stds" else "square roots of the covariance eigenvalues"
    hint = "; the Bayes rule is invariant to an affine change of x: rescale the data"
    if not (1e-150 <= lo and hi <= 1e150):
        raise ValueError(f"{name}: the {what} must lie in [1e-150, 1e150], got {lo!r} .. {hi!r}{hint}")
    if hi / lo > _SCALE_RANGE:
        raise ValueError(f"{name}: the {what} must lie within a factor {_SCALE_RANGE:g} of each other, "
                         f"got {lo!r} .. {hi!r}{hint}")
    big = float(np.abs(mu).max())
    # the largest coordinate difference, times sqrt(p), bounds every distance between means
    spread = np.sqrt(mu.shape[1]) * float((mu.max(axis=0) - mu.min(axis=0)).max()) if big <= 1e150 else np.inf
    if spread / lo > _SCALE_RANGE:
        raise ValueError(f"means: the distances between means must be within a factor {_SCALE_RANGE:g} "
                         f"of the smallest std ({lo!r}) and |means| <= 1e150, got largest |mean| "
                         f"{big!r}{hint}")
