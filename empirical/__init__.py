"""droplab's empirical package (torch): the DRoP pipeline on real data.

Query model → per-class validation recalls → class quotas from :mod:`gaussian_theory.allocation`
(the one DRoP implementation) → top-k by score within each class → final training → average and
worst-class accuracy. Modules: :mod:`~empirical.data` (which dataset, and its identity) with its readers
(:mod:`~empirical.cifar_readers`, :mod:`~empirical.image_folder`, :mod:`~empirical.small_datasets`) and
container (:mod:`~empirical.dataset`), :mod:`~empirical.augment` (on-device batched augmentation),
:mod:`~empirical.models`, :mod:`~empirical.recipes`, :mod:`~empirical.train`,
:mod:`~empirical.evaluation`, :mod:`~empirical.scores`, :mod:`~empirical.selection`,
:mod:`~empirical.subset` (kept indices to a torch ``Subset``), :mod:`~empirical.bridge` (Gaussian
surrogate), :mod:`~empirical.pipeline` (the conductor of a run's stages: :mod:`~empirical.run_config`,
:mod:`~empirical.stage_data`, :mod:`~empirical.stage_query`, :mod:`~empirical.stage_allocation`,
:mod:`~empirical.stage_selection`, :mod:`~empirical.stage_training`, :mod:`~empirical.stage_evaluation`,
:mod:`~empirical.stage_record`), :mod:`~empirical.gaussian_study` (the synthetic mixture judged by the
exact theory), the reports (:mod:`~empirical.report` and the modules it uses), the analyses of a folder
of runs (:mod:`~empirical.cli_analyses`), :mod:`~empirical.sweep`, and :mod:`~empirical.cli` with
:mod:`~empirical.cli_run_args` (``droplab empirical ...``).
"""

__all__ = ["RunConfig", "run_one", "run_many"]


def __getattr__(name):  # PEP 562: import the torch pipeline only when it is used
    if name in __all__:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'empirical' has no attribute {name!r}")
