r"""A run's configuration and what names it: read by every stage of the trip (:mod:`empirical.pipeline`).

:class:`RunConfig` holds everything that defines a run except the seed, checks it before any data is
loaded (:meth:`RunConfig.validate`) and names the run (:meth:`RunConfig.run_id`), its query model
(:meth:`RunConfig.query_id`) and their files (:func:`run_path`, :func:`query_logits_path`). The ids
are recorded in every run JSON and cache file name: they must never change for a recorded
configuration (tests/test_empirical_pipeline.py pins them). Also here: the checks of the run's other
inputs made before any loading (:func:`check_out_dir`, :func:`check_query_logits_option`), the paper
style method label (:func:`method_label`) and the run's random streams (:func:`seeded_generator`).

Not a stage itself: every stage reads the configuration, none changes it (the data stage binds the
data's identity into a copy, :func:`empirical.stage_data.bind_data`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gaussian_theory.options import DEFAULT_COVARIANCE
from gaussian_theory.quota_rules import make_rule, quota_label
from gaussian_theory.validation import check_density, check_int, check_option, check_real, derive_seed

from . import data, dynamic, models, recipes, scores
from .device import resolve_device
from .image_folder import check_image_size
from .options import (
    DATASET_INPUTS,
    DATASETS,
    DYNAMIC_SCORES,
    EPOCH_RULES,
    IDENTITY_EXCLUDED,
    IDENTITY_NEUTRAL,
    IDENTITY_PINNED,
    MODELS,
    PRECISIONS,
    QUERY_QUOTAS,
    QUERY_SCORES,
    QUOTAS,
    RECIPE_KINDS,
    RULES,
    SCORES,
    SURROGATES,
)

__all__ = ["RunConfig", "method_label", "run_path", "query_logits_path", "check_out_dir",
           "check_query_logits_option", "seeded_generator"]


@dataclass
class RunConfig:
    """Everything that defines a run except the seed (see ``droplab empirical run --help``)."""

    dataset: str = "gaussian"
    data_dir: str | None = None
    data_format: str = "auto"
    model: str = "mlp"
    density: float = 0.5
    score: str = "random"
    quota: str = "drop"
    rule: str = "paper"
    recipe: str = "fast"
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    query_epochs: int | None = None
    query_inits: int | None = None
    query_augment: bool = False
    epoch_rule: str = "fixed"
    augment: bool = True
    shift: int = 4
    channels_last: bool | None = None
    device: str = "auto"
    surrogate: str = DEFAULT_COVARIANCE
    limit_per_class: int | None = None
    synthetic: dict = field(default_factory=dict)
    precision: str = "auto"
    alpha: float = 1.0
    min_per_class: int = 0
    eval_limit_per_class: int | None = None
    class_counts: list | None = None
    class_densities: list | None = None
    counts_label: str | None = None
    #: The data's identity (:func:`empirical.data.data_identity`), filled in from the data when it is
    #: loaded (:func:`empirical.stage_data.bind_data`); None for the synthetic data and the CIFAR-10 JPEG
    #: copy.
    data_id: str | None = None
    #: ``[H, W]``: resize an image folder's images to this size
    #: (:func:`empirical.image_folder.read_image_folder`); None (the default): images are used at their
    #: stored size, which must be one.
    image_size: list | None = None
    #: Train even when the selection keeps no sample of some class (it deletes the class). Off by default:
    #: such a selection is a ValueError before the final training. A permission, not a setting: it
    #: changes nothing a run trains when the run is allowed, so it is never part of the run id
    #: (:data:`empirical.options.IDENTITY_EXCLUDED`).
    allow_empty_classes: bool = False
    #: Long-tailed training set (the standard construction of Cao et al. 2019, LDAM): class k keeps the
    #: first ``round(n_k * long_tail ** (-k / (K - 1)))`` of its ``n_k`` training samples (after
    #: ``limit_per_class``), so the largest class is ``long_tail`` times the smallest; validation and test
    #: sets unchanged. None (the default): every sample.
    long_tail: float | None = None

    def validate(self, check_data: bool = True) -> RunConfig:
        """Raise ValueError/TypeError on any bad field (before any training); returns self."""
        for name, options in (("dataset", DATASETS), ("model", MODELS), ("score", SCORES), ("quota", QUOTAS),
                              ("rule", RULES), ("epoch_rule", EPOCH_RULES), ("precision", PRECISIONS),
                              ("surrogate", SURROGATES), ("recipe", RECIPE_KINDS)):
            check_option(getattr(self, name), name, options)
        self.alpha = check_real(self.alpha, "alpha", minimum=0.0)
        if self.score in DYNAMIC_SCORES:
            if self.quota != "none":
                raise ValueError(f"score {self.score!r} chooses its own class quotas every epoch: use quota "
                                 f"'none' (--quota none), got {self.quota!r}")
            dynamic.check_rcap_available()
        self._validate_explicit_counts()
        self.min_per_class = check_int(self.min_per_class, "min_per_class", minimum=0)
        if not isinstance(self.allow_empty_classes, (bool, np.bool_)):
            raise TypeError(f"allow_empty_classes (--allow-empty-classes) must be True or False, got "
                            f"{self.allow_empty_classes!r}")
        self.allow_empty_classes = bool(self.allow_empty_classes)
        self._validate_image_size()
        check_density(self.density)
        if self.dataset == "gaussian" and self.data_dir is not None:
            raise ValueError(f"data_dir (--data-dir) is not used by the synthetic gaussian dataset, got "
                             f"{self.data_dir!r}: leave it out")
        if self.dataset == "gaussian" and self.shift != 4:
            warnings.warn(f"shift={self.shift} is ignored: the gaussian dataset has feature vectors, "
                          "not images", UserWarning, stacklevel=2)
        if self.dataset == "gaussian" and self.data_format != "auto":
            warnings.warn(f"data_format={self.data_format!r} is ignored: the gaussian dataset is "
                          "synthetic and reads no files", UserWarning, stacklevel=2)
        if self.dataset == "gaussian" and self.channels_last:
            warnings.warn(f"channels_last={self.channels_last!r} is ignored: the gaussian dataset has "
                          "feature vectors, not images", UserWarning, stacklevel=2)
        if self.dataset == "gaussian" and self.model in models.IMAGE_MODELS:
            raise ValueError(f"model {self.model!r} needs images; the gaussian dataset has feature vectors "
                             f"(use 'mlp' or 'linear')")
        models.check_model_for_dataset(self.model, self.dataset)  # e.g. cnn1d takes 1-D signals only
        if self.long_tail is not None:
            self.long_tail = check_real(self.long_tail, "long_tail (--long-tail)", minimum=1.0)
        for name in ("limit_per_class", "eval_limit_per_class"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2):
                raise ValueError(f"{name} (--{name.replace('_', '-')}) must be an int >= 2, got {v!r}")
        for name, value in (("epochs", self.epochs), ("batch_size", self.batch_size),
                            ("query_epochs", self.query_epochs), ("query_inits", self.query_inits)):
            if value is not None and (isinstance(value, (bool, np.bool_))
                                      or not isinstance(value, (int, np.integer)) or value < 1):
                raise ValueError(f"{name} (--{name.replace('_', '-')}) must be a positive integer, got "
                                 f"{value!r}")
        if self.lr is not None and (isinstance(self.lr, (bool, np.bool_))
                                    or not isinstance(self.lr, (int, float, np.integer, np.floating))
                                    or not (np.isfinite(self.lr) and self.lr > 0)):
            raise ValueError(f"lr (--lr) must be a positive finite number, got {self.lr!r}")
        rec = self.final_recipe()
        if self.epoch_rule == "code" and rec.epochs > 4 * self.base_recipe().epochs:
            warnings.warn(f"epoch_rule='code' at density {self.density:g} trains {rec.epochs} epochs on the "
                          f"pruned data ({rec.epochs / self.base_recipe().epochs:.0f}x the full-data "
                          f"{self.base_recipe().epochs})", UserWarning, stacklevel=2)
        scores.query_plan(self.score, rec, self.query_epochs, self.query_inits)
        if self.device != "auto":
            resolve_device(self.device)
        if check_data:
            data.resolve_source(self.dataset, self.data_dir, self.data_format)
        return self

    def _validate_image_size(self) -> None:
        """``image_size`` as ``[H, W]`` (one integer: a square); only for data read as images from files."""
        size = check_image_size(self.image_size, "image_size (--image-size)")
        if size is not None and DATASET_INPUTS.get(self.dataset) != "image":
            raise ValueError(f"image_size (--image-size) resizes images, but dataset {self.dataset!r} holds "
                             f"{DATASET_INPUTS.get(self.dataset)}s: leave it out, got {self.image_size!r}")
        if size is not None and self.dataset == "fashion-mnist":
            raise ValueError(f"image_size (--image-size) resizes the images of an image folder; "
                             f"fashion-mnist is read from its IDX files: leave it out, got "
                             f"{self.image_size!r}")
        self.image_size = None if size is None else list(size)

    def _validate_explicit_counts(self) -> None:
        given = [n for n in ("class_counts", "class_densities") if getattr(self, n) is not None]
        if self.quota != "counts":
            if given or self.counts_label is not None:
                raise ValueError(f"{(given or ['counts_label'])[0]} is only used by quota='counts' (--quota "
                                 f"counts), got quota={self.quota!r}")
            return
        if len(given) != 1:
            raise ValueError("quota='counts' needs exactly one of class_counts or class_densities (--counts "
                             f"FILE), got {given or 'neither'}")
        if self.class_counts is not None:
            bad = [v for v in self.class_counts if isinstance(v, bool) or not isinstance(v, (int, np.integer))
                   or v < 0]
            if bad or not self.class_counts:
                raise ValueError(f"class_counts must be non-negative integers, got {self.class_counts!r}")
            self.class_counts = [int(v) for v in self.class_counts]
        else:
            vals = self.class_densities
            if not vals or any(isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating))
                               or not 0 <= v <= 1 for v in vals):
                raise ValueError(f"class_densities must be numbers in [0, 1], got {vals!r}")
            self.class_densities = [float(v) for v in vals]
        if self.counts_label is not None and not (isinstance(self.counts_label, str)
                                                  and self.counts_label.strip()):
            raise ValueError(f"counts_label must be a non-empty string, got {self.counts_label!r}")

    def base_recipe(self) -> recipes.Recipe:
        """The training recipe of the full data (:func:`empirical.recipes.get_recipe`), with the
        configuration's overrides of epochs, batch size and learning rate."""
        return recipes.get_recipe(self.recipe, self.model, epochs=self.epochs, batch_size=self.batch_size,
                                lr=self.lr)

    def final_recipe(self) -> recipes.Recipe:
        """The recipe of the final training on the selection: :meth:`base_recipe`, with the epochs
        scaled up for the pruned data under ``epoch_rule='code'``."""
        r = self.base_recipe()
        if self.epoch_rule == "code" and self.density < 1:
            r = r.with_epochs(recipes.epochs_correction(r.epochs, self.density))
        return r

    def to_dict(self) -> dict:
        """Every field, as recorded in the run JSON's ``config``."""
        return dataclasses.asdict(self)

    def identity(self, exclude=("data_dir", "device")) -> dict:
        """The fields that define the run's results: all but ``exclude`` (where the data lives, which
        device), and without the fields added after runs were first recorded while they hold their
        neutral value (:data:`IDENTITY_NEUTRAL`), so adding a field never renames a recorded run. The
        diagnostics of :data:`IDENTITY_PINNED` (which change nothing that is trained or measured) hold
        the value the recorded runs were named with, whatever their value. The permissions of
        :data:`IDENTITY_EXCLUDED` are never part of it."""
        return {k: IDENTITY_PINNED.get(k, v) for k, v in self.to_dict().items()
                if k not in exclude and k not in IDENTITY_EXCLUDED
                and not (k in IDENTITY_NEUTRAL and v == IDENTITY_NEUTRAL[k])}

    def digest(self, exclude=("data_dir", "device")) -> str:
        """The first 8 hex digits of the sha1 of :meth:`identity` (the run id's last part)."""
        return hashlib.sha1(json.dumps(self.identity(exclude), sort_keys=True).encode()).hexdigest()[:8]

    def quota_rule(self):
        """The quota rule of :mod:`gaussian_theory.quota_rules` this run uses."""
        return make_rule(self.quota, rounding=self.rule, alpha=self.alpha)

    def run_id(self, seed: int) -> str:
        """The run's name (its JSON's, its checkpoints'): dataset, model, score, quota rule, density,
        recipe, seed and :meth:`digest`."""
        return (f"{self.dataset}_{self.model}_{self.score}_{self.quota_rule().tag}_d{self.density:g}_"
                f"{self.recipe}_s{seed}_{self.digest()}")

    def query_id(self, seed: int) -> str:
        """The query model's name: the fields that change what it is trained on and how, so that every
        density and quota of one score and seed shares it (its cache, its logits file)."""
        keys = ("dataset", "data_format", "data_id", "model", "score", "recipe", "epochs", "batch_size", "lr",
                "query_epochs", "query_inits", "query_augment", "shift", "surrogate", "limit_per_class",
                "synthetic", "precision", "eval_limit_per_class", "image_size", "long_tail")
        d = {k: IDENTITY_PINNED.get(k, getattr(self, k)) for k in keys
             if not (k in IDENTITY_NEUTRAL and getattr(self, k) == IDENTITY_NEUTRAL[k])}
        h = hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]
        return f"{self.dataset}_{self.model}_{self.score}_s{seed}_{h}"


def method_label(score: str, quota: str, alpha: float = 1.0, counts_label: str | None = None) -> str:
    """Paper-style name: ``Random``, ``Random+DRoP``, ``EL2N+Uniform``, ``Random+DRoP(a=0.7)``, and for
    explicit counts their ``counts_label`` (``Random+Learned``) ..."""
    q = counts_label if (quota == "counts" and counts_label) else quota_label(quota, alpha)
    return scores.SCORE_LABELS[score] + (f"+{q}" if q else "")


def run_path(out_dir, config: RunConfig, seed: int) -> Path:
    """Where the run of ``seed`` writes its JSON: ``OUT/<run id>.json``."""
    return Path(out_dir) / f"{config.run_id(seed)}.json"


def query_logits_path(out_dir, config: RunConfig, seed: int) -> Path:
    """Where the query model's logits of ``seed`` are written: ``OUT/query_logits/<query id>.npz``."""
    return Path(out_dir) / "query_logits" / f"{config.query_id(seed)}.npz"


def check_out_dir(out_dir) -> Path:
    """``out_dir`` as a Path, after checking (creating nothing) that it is, or can become, a writable
    folder: ValueError naming it otherwise, before any data loading or training."""
    out = Path(out_dir)
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe == out else f"cannot be created: {str(probe)!r} is a file"
        raise ValueError(f"output folder (out_dir, --out) {str(out)!r} {what}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"output folder (out_dir, --out) {str(out)!r} is not writable (no write "
                         f"permission on {str(probe)!r})")
    return out


def check_query_logits_option(config: RunConfig, query_logits) -> None:
    """ValueError for a ``query_logits`` option the run cannot use (before any data loading)."""
    if query_logits is None:
        return
    if config.score in QUERY_SCORES:
        raise ValueError(f"query_logits (--query-logits) gives a query model's recalls, not its scores: "
                         f"score {config.score!r} needs its query model trained (leave --query-logits out)")
    if config.quota not in QUERY_QUOTAS:
        raise ValueError(f"query_logits (--query-logits) is not used by quota {config.quota!r}: only the "
                         f"quotas {QUERY_QUOTAS} read a query model")
    if not Path(query_logits).exists():
        raise ValueError(f"query_logits (--query-logits) {str(query_logits)!r} does not exist")


def seeded_generator(seed: int, *tags) -> torch.Generator:
    """A torch generator seeded from the run's ``seed`` and the stream's ``tags`` (``"query-init"``, an
    initialisation's index ...): every random draw of a run has its own stream, so that adding one leaves
    the others, and the recorded results, as they were."""
    return torch.Generator().manual_seed(derive_seed(seed, *tags))
