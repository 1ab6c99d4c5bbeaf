"""droplab's empirical package (torch): the DRoP pipeline on real data.

Query model → per-class validation recalls → class quotas from :mod:`gaussian_theory.allocation`
(the one DRoP implementation) → top-k by score within each class → final training → average and
worst-class accuracy. Modules: :mod:`~empirical.data` (readers), :mod:`~empirical.augment`
(on-device batched augmentation), :mod:`~empirical.models`, :mod:`~empirical.train`,
:mod:`~empirical.scores`, :mod:`~empirical.selection`, :mod:`~empirical.bridge` (Gaussian
surrogate), :mod:`~empirical.pipeline`, :mod:`~empirical.report`, :mod:`~empirical.sweep` and
:mod:`~empirical.cli` (``droplab empirical ...``).
"""

__all__ = ["RunConfig", "run_one", "run_many"]


def __getattr__(name):  # PEP 562: import the torch pipeline only when it is used
    if name in __all__:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'empirical' has no attribute {name!r}")
