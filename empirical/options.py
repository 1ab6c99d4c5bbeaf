"""The choices the pipeline accepts, each tuple defined once, in one torch-free module.

The ``droplab`` command line builds its parser from these without importing torch, so
``droplab theory`` and ``droplab --help`` stay fast; the modules that implement and validate each
choice import their names from here. The choices the pipeline shares with the theory (the DRoP rules,
the surrogate covariances) are defined in :mod:`gaussian_theory.options` and re-exported.
"""

from gaussian_theory.options import COVARIANCES, DEFAULT_COVARIANCE, RULES
from gaussian_theory.quota_rules import QUOTA_RULES

__all__ = ["DATASETS", "FORMATS", "IMAGE_MODELS", "SIGNAL_MODELS", "MODELS", "DATASET_INPUTS", "MODEL_INPUTS",
           "SCORES", "QUERY_SCORES", "DYNAMIC_SCORES", "QUOTAS", "RECIPE_KINDS", "PRECISIONS",
           "RECALL_QUOTAS", "QUERY_QUOTAS", "RULES", "COVARIANCES", "DEFAULT_COVARIANCE", "SURROGATES",
           "EPOCH_RULES", "CLUSTERS", "CHANNELS_LAST", "IDENTITY_NEUTRAL", "IDENTITY_PINNED",
           "IDENTITY_EXCLUDED", "SCHEDULES", "GAUSSIAN_DEFAULTS"]

DATASETS = ("cifar10", "cifar100", "imagefolder", "gaussian", "mnist1d", "fashion-mnist")
#: Layouts of ``--data-dir``: ``mnist1d`` is the MNIST-1D pickle (``mnist1d_data.pkl``), ``idx`` the four
#: official IDX ``.gz`` files of Fashion-MNIST (``empirical.small_datasets``).
FORMATS = ("auto", "pickle", "binary", "imagefolder", "jpeg-index", "mnist1d", "idx")
IMAGE_MODELS = ("resnet18", "vgg16", "vgg19", "smallcnn", "smallcnn-gray", "whitenet-128", "whitenet-256")
#: Models of 1-D signals (N, C, L), e.g. MNIST-1D.
SIGNAL_MODELS = ("cnn1d",)
MODELS = IMAGE_MODELS + SIGNAL_MODELS + ("mlp", "linear")
#: The kind of input each dataset gives: images (N, C, H, W), 1-D signals (N, C, L) or feature vectors.
DATASET_INPUTS = {"cifar10": "image", "cifar100": "image", "imagefolder": "image", "fashion-mnist": "image",
                  "mnist1d": "signal", "gaussian": "features"}
#: The kinds of input each model takes (mlp and linear flatten whatever they get).
MODEL_INPUTS = {**dict.fromkeys(IMAGE_MODELS, ("image",)), **dict.fromkeys(SIGNAL_MODELS, ("signal",)),
                "mlp": ("image", "signal", "features"), "linear": ("image", "signal", "features")}
SCORES = ("random", "el2n", "grand", "forgetting", "dynunc", "coreset", "rcap")
#: Scores that choose a new subset every epoch, with their own class quotas (quota must be "none"):
#: rcap, the external baseline of ``empirical.dynamic``, scores samples while the final model trains.
DYNAMIC_SCORES = ("rcap",)
#: Scores computed from a query model's training (random needs none, nor does a dynamic score).
QUERY_SCORES = tuple(s for s in SCORES if s != "random" and s not in DYNAMIC_SCORES)
#: Query scores of one full-length run with the same seeds (the paper's protocol for each): the pipeline
#: trains it once, with the Forgetting and Dynamic Uncertainty trackers and CoreSet's features.
SHARED_QUERY_SCORES = ("forgetting", "dynunc", "coreset")
#: Class quotas, the rules of ``gaussian_theory.quota_rules.QUOTA_RULES`` the pipeline can feed: none
#: (global top-k), uniform, drop (DRoP, densities proportional to the validation error, damped by
#: ``alpha``), probit (the two-Gaussian worst-class optimum from the recalls), minimax (see
#: ``QUERY_QUOTAS``) and counts (explicit per-class counts, ``--counts FILE``). The learned rule needs a
#: recall model fitted on pilot runs: ``droplab allocate --runs`` computes its counts, trained with counts.
QUOTAS = tuple(n for n, r in QUOTA_RULES.items() if r.needs != "recall_model")
#: Quotas computed from the query model's validation recalls (the DRoP ``rule`` applies to them).
RECALL_QUOTAS = tuple(n for n in QUOTAS if QUOTA_RULES[n].needs == "recalls")
#: Quotas that need a query model: the recall quotas, and ``minimax`` (the budget-constrained minimax
#: densities of the calibrated tied surrogate of the query model's validation logits,
#: ``gaussian_theory.query_allocation``).
QUERY_QUOTAS = tuple(n for n in QUOTAS if QUOTA_RULES[n].needs in ("recalls", "logits"))
RECIPE_KINDS = ("paper", "fast", "airbench")
PRECISIONS = ("auto", "fp32", "bf16")
#: Gaussian surrogate of the query model's features: a covariance family, or "off".
SURROGATES = COVARIANCES + ("off",)
#: Final-training epochs on pruned data: "fixed" = the recipe's epochs; "code" = the official code's
#: E_d = floor((0.5 + 0.5 d) E / d).
EPOCH_RULES = ("fixed", "code")
#: submitit executors of ``droplab empirical sweep``.
CLUSTERS = ("local", "slurm", "debug")
#: ``--channels-last``: "auto" = on for image models.
CHANNELS_LAST = ("auto", "on", "off")
#: The synthetic gaussian dataset's parameters and their defaults (those of
#: ``empirical.small_datasets.make_gaussian_dataset``; the ``--gaussian-*`` options): a run's ``synthetic``
#: dict holds only the keys that differ from these.
GAUSSIAN_DEFAULTS = {"n_train_per_class": 200, "n_test_per_class": 200, "num_classes": 4, "dim": 8,
                     "separation": 3.0, "std_ratio": 2.0}
#: Learning-rate schedules of a training recipe (``recipes.Recipe.schedule``).
SCHEDULES = ("step", "onecycle", "linear-onecycle", "constant")

#: Fields added to the run configuration after results were first recorded, with the value that
#: reproduces the earlier behaviour. While a field holds it, it is left out of the run and query ids,
#: so recorded runs keep their names (tests/test_empirical_pipeline.py pins ids computed before these
#: fields), and ``droplab empirical report`` treats a run that lacks the field as holding it.
IDENTITY_NEUTRAL = {"precision": "auto", "alpha": 1.0, "min_per_class": 0, "eval_limit_per_class": None,
                    "class_counts": None, "class_densities": None, "counts_label": None, "data_id": None,
                    "image_size": None, "long_tail": None}

#: Diagnostic fields that change nothing a run trains or measures, pinned in the run and query ids to
#: the value the recorded runs were named with: the Gaussian surrogate of the query model's features
#: (its default became "tied", the ``droplab surrogate`` default, after runs were recorded with
#: "isotropic"). A cached query model refits the surrogate asked for from its stored features.
IDENTITY_PINNED = {"surrogate": "isotropic"}

#: Permissions, not settings: fields that decide whether a run may go ahead, never what it trains or
#: measures once it does. They are never part of the run and query ids, whatever their value, nor of the
#: configuration ``droplab empirical report`` groups runs by: ``allow_empty_classes`` lets a selection
#: that keeps no sample of some class train (refused by default), and a run recorded before the guard
#: existed keeps its name when it is run again with the permission.
IDENTITY_EXCLUDED = ("allow_empty_classes",)
