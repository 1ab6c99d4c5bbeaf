r"""The DRoP pipeline on real data, one JSON per (configuration, seed).

1. load the data; split the test set into validation/test halves per class;
2. query model(s) (:func:`empirical.scores.query_plan`): per-class validation recalls at the best
   validation epoch, averaged over initialisations; the strategy's scores; the Gaussian surrogate of
   the penultimate features (:mod:`empirical.bridge`);
3. quotas (:mod:`empirical.selection`, allocation from :mod:`gaussian_theory.allocation`) and
   top-k by score within each class;
4. final training on the selection (optionally :math:`E_d=\lfloor(0.5+0.5d)E/d\rfloor` epochs);
5. average accuracy, worst-class accuracy and per-class recalls on the test half.

Query-stage results are cached under ``OUT/_query`` (shared by every density and quota of one
score and seed); training state is checkpointed every epoch under ``OUT/_ckpt`` and ``resume=True``
continues a killed run to the same result. Result JSONs are written atomically and a run whose
JSON exists is skipped.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gaussian_theory.apportionment import total_kept
from gaussian_theory.atomic import atomic_write
from gaussian_theory.options import DEFAULT_COVARIANCE
from gaussian_theory.own_data import empty_classes
from gaussian_theory.quota_rules import make_rule, quota_label
from gaussian_theory.recall_prediction import prior_shift_recalls
from gaussian_theory.validation import check_density, check_int, check_option, check_real, derive_seed

from . import bridge, data, dynamic, evaluation, models, recipes, scores, selection, stats, train
from .augment import BatchAugment
from .classes import rank_within_class
from .dataset import ArrayDataset
from .device import resolve_device, resolve_precision
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
    RECALL_QUOTAS,
    RECIPE_KINDS,
    RULES,
    SCORES,
    SURROGATES,
)
from .query_logits import read_query_logits, write_query_logits

__all__ = ["RunConfig", "run_one", "run_many", "run_query_only", "derive_seed", "load_data", "bind_data",
           "dataset_record", "run_path", "check_query_logits_option",
           "method_label", "check_out_dir", "query_logits_path", "write_query_logits"]



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
    #: loaded (:func:`bind_data`); None for the synthetic data and the CIFAR-10 JPEG copy.
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
        return recipes.get_recipe(self.recipe, self.model, epochs=self.epochs, batch_size=self.batch_size,
                                lr=self.lr)

    def final_recipe(self) -> recipes.Recipe:
        r = self.base_recipe()
        if self.epoch_rule == "code" and self.density < 1:
            r = r.with_epochs(recipes.epochs_correction(r.epochs, self.density))
        return r

    def to_dict(self) -> dict:
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
        return hashlib.sha1(json.dumps(self.identity(exclude), sort_keys=True).encode()).hexdigest()[:8]

    def quota_rule(self):
        """The quota rule of :mod:`gaussian_theory.quota_rules` this run uses."""
        return make_rule(self.quota, rounding=self.rule, alpha=self.alpha)

    def run_id(self, seed: int) -> str:
        return (f"{self.dataset}_{self.model}_{self.score}_{self.quota_rule().tag}_d{self.density:g}_"
                f"{self.recipe}_s{seed}_{self.digest()}")

    def query_id(self, seed: int) -> str:
        keys = ("dataset", "data_format", "data_id", "model", "score", "recipe", "epochs", "batch_size", "lr",
                "query_epochs", "query_inits", "query_augment", "shift", "surrogate", "limit_per_class",
                "synthetic", "precision", "eval_limit_per_class", "image_size")
        d = {k: IDENTITY_PINNED.get(k, getattr(self, k)) for k in keys
             if not (k in IDENTITY_NEUTRAL and getattr(self, k) == IDENTITY_NEUTRAL[k])}
        h = hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]
        return f"{self.dataset}_{self.model}_{self.score}_s{seed}_{h}"


def method_label(score: str, quota: str, alpha: float = 1.0, counts_label: str | None = None) -> str:
    """Paper-style name: ``Random``, ``Random+DRoP``, ``EL2N+Uniform``, ``Random+DRoP(a=0.7)``, and for
    explicit counts their ``counts_label`` (``Random+Learned``) ..."""
    q = counts_label if (quota == "counts" and counts_label) else quota_label(quota, alpha)
    return scores.SCORE_LABELS[score] + (f"+{q}" if q else "")


def _gen(seed: int, *tags) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(seed, *tags))


def run_path(out_dir, config: RunConfig, seed: int) -> Path:
    return Path(out_dir) / f"{config.run_id(seed)}.json"


def load_data(config: RunConfig) -> ArrayDataset:
    """Load the configured dataset (resized to ``image_size`` when set; then ``limit_per_class``: the first
    n of each class)."""
    ds = data.load_dataset(config.dataset, config.data_dir, config.data_format, image_size=config.image_size,
                           **config.synthetic)
    if config.limit_per_class is not None:
        rank = rank_within_class(ds.y_train, ds.num_classes)
        ds = ds.subset(train_idx=np.flatnonzero(rank < config.limit_per_class))
    return ds


def bind_data(config: RunConfig, dataset: ArrayDataset | None = None
              ) -> tuple[RunConfig, ArrayDataset]:
    """``(config with its data_id, dataset)``: load the configured data (or take ``dataset``) and put its
    identity (:func:`empirical.data.data_identity`) into the configuration, so that the run id, the query
    id and the checkpoints name the data. A configuration whose ``data_id`` is already set (e.g. read from
    a run JSON) must match the data: ValueError otherwise, before any training."""
    ds = dataset if dataset is not None else load_data(config)
    check_classes_present(ds)
    did = data.data_identity(ds)
    if config.data_id is not None and config.data_id != did:
        raise ValueError(f"data_id {config.data_id!r} of the configuration is not that of the data in "
                         f"{config.data_dir!r} ({did!r}): these runs were recorded on other data")
    return (config if config.data_id == did else dataclasses.replace(config, data_id=did)), ds


def check_classes_present(ds: ArrayDataset) -> None:
    """ValueError naming every class with no training sample, and where the data came from: such a class
    would be trained on nothing (and give NaN class densities), whatever the selection."""
    sizes = np.bincount(ds.y_train, minlength=ds.num_classes)
    empty = np.flatnonzero(sizes == 0)
    if empty.size:
        shown = ", ".join(f"{k} ({ds.class_names[k]!r})" for k in empty[:20])
        more = f" and {empty.size - 20} more" if empty.size > 20 else ""
        raise ValueError(f"dataset {ds.name!r} ({ds.source or 'in memory'}): class(es) {shown}{more} have no "
                         f"training sample (class sizes {sizes.tolist()}); every class needs training data: "
                         "add its samples or remove the class")


def dataset_record(ds: ArrayDataset) -> dict:
    """The run JSON's ``dataset`` provenance: where the data came from and whether it is the original
    (:attr:`empirical.dataset.ArrayDataset.meta` ``origin``), and the sha256 of the arrays used; for an image
    folder, how its held-out folders were split (``split``) and what was resized (``resize``: None when
    nothing was asked)."""
    return {"origin": ds.meta.get("origin", {"copy": "in-memory" if not ds.source else "synthetic"}),
            "fingerprint": "sha256:" + ds.fingerprint(),
            **{k: ds.meta[k] for k in ("split", "resize") if k in ds.meta}}


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


def _atomic_json(obj, path: Path) -> None:
    text = json.dumps(obj, indent=1, allow_nan=True)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def _versions() -> dict:
    import gaussian_theory

    return {"droplab": gaussian_theory.__version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": sys.version.split()[0], "platform": platform.platform()}


class _Tensors:
    """The dataset's splits as tensors on the training device."""

    def __init__(self, ds: ArrayDataset, device: torch.device, channels_last: bool, shift: int,
                 eval_limit_per_class: int | None = None):
        if ds.x_val is None:  # validation: the first half of each class of the test set
            val_idx, test_idx = data.validation_split(ds.y_test, ds.num_classes)
            x_val, y_val = ds.x_test, ds.y_test
        else:                 # an explicit validation set (an image folder's val/); the test set whole
            val_idx, test_idx = np.arange(len(ds.y_val)), np.arange(len(ds.y_test))
            x_val, y_val = ds.x_val, ds.y_val
        if eval_limit_per_class is not None:  # smoke runs: the first n of each class of each half
            val_idx = val_idx[rank_within_class(y_val[val_idx], ds.num_classes) < eval_limit_per_class]
            test_idx = test_idx[rank_within_class(ds.y_test[test_idx], ds.num_classes) < eval_limit_per_class]
        self.device = device
        self.x = torch.as_tensor(ds.x_train).to(device)
        self.y = torch.as_tensor(ds.y_train).to(device)
        self.x_val = torch.as_tensor(x_val[val_idx]).to(device)
        self.y_val = torch.as_tensor(y_val[val_idx]).to(device)
        self.x_test = torch.as_tensor(ds.x_test[test_idx]).to(device)
        self.y_test = torch.as_tensor(ds.y_test[test_idx]).to(device)
        self.aug = (BatchAugment(ds.mean, ds.std, shift=shift, channels_last=channels_last)
                    if ds.is_image else None)
        self.input_shape = tuple(ds.x_train.shape[1:])
        self.num_classes = ds.num_classes


def _head_bias(head) -> np.ndarray:
    """The linear head's bias as numpy (zeros for a bias-free head)."""
    if head.bias is None:
        return np.zeros(head.out_features)
    return head.bias.detach().float().cpu().numpy()


def _new_model(config, t: _Tensors, gen, channels_last):
    m = models.build_model(config.model, t.num_classes, t.input_shape, generator=gen).to(t.device)
    if channels_last:
        m = m.to(memory_format=torch.channels_last)
    return m


# ----------------------------------------------------------------------------- query stage
def _run_query(config: RunConfig, seed: int, t: _Tensors, out_dir: Path, *, resume, progress,
               channels_last, hooks) -> dict:
    """Train the query model(s); return recalls, scores, embeddings (CoreSet) and the surrogate."""
    qid = config.query_id(seed)
    cache = out_dir / "_query" / f"{qid}.pt"
    if cache.is_file():
        res = torch.load(cache, map_location="cpu", weights_only=False)
        res["cached"] = True
        cached = res.get("surrogate") or {}
        if config.surrogate == "off":
            res["surrogate"] = None
        elif cached.get("covariance") != config.surrogate and "error" not in cached:
            # the query id does not hold the surrogate (a diagnostic): refit the one asked for
            res["surrogate"] = _query_surrogate(config, seed, res.get("val_outputs"), t.num_classes)
        return res
    t0 = time.perf_counter()
    plan = scores.query_plan(config.score, config.base_recipe(), config.query_epochs, config.query_inits)
    rec: recipes.Recipe = plan["recipe"]
    n = len(t.x)
    warn_one_step("query model", n, rec)
    # Forgetting, Dynamic Uncertainty and CoreSet score one full-length run with the same seeds: one
    # training with both trackers and the features serves all three (written to each one's cache).
    shared = config.score in scores.SHARED_QUERY_SCORES
    train_id = (dataclasses.replace(config, score=scores.SHARED_QUERY_SCORES[0]).query_id(seed) + "-shared"
                if shared else qid)
    per_init, best_epochs, val_acc, histories, score_runs, per_init_logits = [], [], [], [], [], []
    shared_runs = {"forgetting": [], "dynunc": []}
    emb, surrogate, val_outputs, test_outputs = None, None, None, None
    for i in range(plan["inits"]):
        model = _new_model(config, t, _gen(seed, "query-init", i), channels_last)
        trackers = []
        if shared:
            trackers = [scores.ForgettingTracker(n, t.device),
                        scores.DynamicUncertaintyTracker(n, rec.epochs, t.device)]
        ckpt = out_dir / "_ckpt" / f"{train_id}_init{i}.pt"
        res = train.train_model(
            model, t.x, t.y, rec, generator=_gen(seed, "query-train", i), aug=t.aug,
            augment=config.query_augment, val=(t.x_val, t.y_val), num_classes=t.num_classes,
            trackers=trackers, checkpoint=ckpt, resume=resume, fingerprint=train_id, keep_best=(i == 0),
            on_epoch_end=hooks.get("query_epoch_end"), desc=f"query {i + 1}/{plan['inits']}",
            progress=progress, precision=config.precision)
        per_init.append(res.best_val["recalls"])
        per_init_logits.append(res.best_val_logits)
        best_epochs.append(res.best_epoch)
        val_acc.append(res.best_val["accuracy"])
        histories.append(res.history)
        if config.score in ("el2n", "grand"):
            if config.score == "el2n":
                score_runs.append(scores.el2n_scores(
                    evaluation.predict(model, t.x, t.aug, precision=config.precision), t.y))
            else:
                score_runs.append(scores.grand_scores(model, t.x, t.y, t.aug, precision=config.precision))
        elif shared:
            shared_runs["forgetting"].append(trackers[0].scores())
            shared_runs["dynunc"].append(trackers[1].scores())
            emb = evaluation.predict(model, t.x, t.aug, features=True, precision=config.precision).cpu()
        if i == 0:
            # The best-epoch query model's validation features and logits, kept in the query cache so
            # that surrogates and recall predictions can be refitted later without retraining.
            best = _new_model(config, t, torch.Generator(), channels_last)  # weights loaded just below
            best.load_state_dict(res.best_state)
            feats = evaluation.predict(best, t.x_val, t.aug, features=True, precision=config.precision)
            # the logits the recalls were measured from (their argmax gives them exactly); the head on the
            # features only where a checkpoint from before they were kept was resumed
            logits = (res.best_val_logits if res.best_val_logits is not None
                      else best.head(feats).detach().float().cpu().numpy())
            val_outputs = {"features": feats.cpu().numpy().astype(np.float32), "logits": logits,
                           "labels": t.y_val.cpu().numpy(),
                           "head_weight": best.head.weight.detach().float().cpu().numpy(),
                           "head_bias": _head_bias(best.head)}
            test_outputs = {"logits": evaluation.predict(best, t.x_test, t.aug, precision=config.precision)
                            .cpu().numpy(), "labels": t.y_test.cpu().numpy()}
            if config.surrogate != "off":
                surrogate = _query_surrogate(config, seed, val_outputs, t.num_classes)
    # the mean over the inits that saw each class (nanmean's arithmetic); 0 for a class no validation
    # sample holds, without nanmean's "Mean of empty slice" warning
    inits_recalls = np.asarray(per_init, dtype=float)
    seen = (~np.isnan(inits_recalls)).sum(axis=0)
    recalls = np.where(seen > 0, np.nansum(inits_recalls, axis=0) / np.maximum(seen, 1), 0.0)
    out = {
        "query_id": qid, "recipe": rec.to_dict(), "inits": plan["inits"], "augment": config.query_augment,
        "best_epochs": best_epochs, "val_accuracy": val_acc, "recalls_per_init": per_init,
        "recalls": recalls.tolist(), "history": histories,
        "scores": np.mean(score_runs, axis=0) if score_runs else None, "embeddings": emb,
        "surrogate": surrogate, "seconds": time.perf_counter() - t0, "cached": False,
        "val_outputs": val_outputs, "test_outputs": test_outputs,
        "val_logits_per_init": per_init_logits if all(v is not None for v in per_init_logits) else None,
    }
    if shared:
        for score in scores.SHARED_QUERY_SCORES:
            sibling_id = dataclasses.replace(config, score=score).query_id(seed)
            res_s = {**out, "query_id": sibling_id, "embeddings": emb if score == "coreset" else None,
                     "scores": np.mean(shared_runs[score], axis=0) if score in shared_runs else None}
            path = out_dir / "_query" / f"{sibling_id}.pt"
            if score == config.score:
                out = res_s
                train.atomic_torch_save(out, cache)
            elif not path.is_file():
                train.atomic_torch_save(res_s, path)
    else:
        train.atomic_torch_save(out, cache)
    for i in range(plan["inits"]):
        (out_dir / "_ckpt" / f"{train_id}_init{i}.pt").unlink(missing_ok=True)
    return out


def query_logits_path(out_dir, config: RunConfig, seed: int) -> Path:
    """Where the query model's logits of ``seed`` are written: ``OUT/query_logits/<query id>.npz``."""
    return Path(out_dir) / "query_logits" / f"{config.query_id(seed)}.npz"


def _query_surrogate(config: RunConfig, seed: int, val_outputs: dict | None, num_classes: int) -> dict:
    """The Gaussian surrogate (``config.surrogate``) of the query model's validation features, with the
    recalls its linear head predicts (:func:`empirical.bridge.surrogate_report`), or ``{"error": ...}``."""
    if val_outputs is None or val_outputs.get("head_weight") is None:
        return {"error": "the cached query model has no stored head weights to fit a surrogate to; delete "
                         "its OUT/_query cache to retrain it"}
    try:
        return bridge.surrogate_report(
            val_outputs["features"], np.asarray(val_outputs["labels"]), num_classes,
            val_outputs["head_weight"], val_outputs["head_bias"], covariance=config.surrogate,
            seed=derive_seed(seed, "surrogate"))
    except ValueError as exc:  # e.g. too few validation samples in a class: record, go on
        return {"error": str(exc)}


def run_query_only(config: RunConfig, seeds, out_dir, *, resume: bool = False, progress: bool = True,
                   log=print) -> list[Path]:
    """Train (or load from the cache) the query model of each seed, without pruning or final training,
    and write its logits (:func:`write_query_logits`). The query model serves every density and quota of
    its score and seed."""
    config.validate()
    if config.quota not in QUERY_QUOTAS and config.score not in QUERY_SCORES:
        raise ValueError(f"quota={config.quota!r} with score={config.score!r} trains no query model: use a "
                         f"quota that needs one ({', '.join(QUERY_QUOTAS)}) or a score that does "
                         f"({', '.join(QUERY_SCORES)})")
    out = check_out_dir(out_dir)
    config, ds = bind_data(config)  # the data's identity names the query model: load before skipping
    for line in data.describe_data(ds):
        log(line)
    t, chl, paths = None, False, []
    for s in (int(v) for v in seeds):
        path = query_logits_path(out, config, s)
        if path.is_file():
            log(f"skip (done): {path}")
            paths.append(path)
            continue
        if t is None:
            chl = (ds.is_image and config.model in models.IMAGE_MODELS) if config.channels_last is None \
                else bool(config.channels_last)
            t = _Tensors(ds, resolve_device(config.device), chl, config.shift,
                         config.eval_limit_per_class)
        query = _run_query(config, s, t, out, resume=resume, progress=progress, channels_last=chl, hooks={})
        written = write_query_logits(path, query, warn=log)
        log(f"query model {config.query_id(s)}: validation accuracy {query['val_accuracy'][0]:.4f} -> "
            f"{path.parent / written['path'] if written is not None else '(no stored outputs)'}")
        if written is not None:
            paths.append(path.parent / written["path"])
    return paths


# ----------------------------------------------------------------------------- one run
def run_one(config: RunConfig, seed: int, out_dir, *, dataset: ArrayDataset | None = None,
            resume: bool = False, progress: bool = True, hooks: dict | None = None,
            keep_checkpoints: bool = False, force: bool = False, data_seconds: float | None = None,
            query_logits=None) -> dict:
    """Run the pipeline for one seed and write ``OUT/<run_id>.json``; return the result dict.

    A run whose JSON already exists is skipped (its result returned, ``"skipped": True``) unless
    ``force``. ``hooks``: optional ``{"query_epoch_end": f, "final_epoch_end": f}`` with
    ``f(epoch, row)`` called after each epoch's checkpoint (tests use them to simulate a kill).
    ``data_seconds``: loading time of a preloaded ``dataset``, recorded as ``timings["data_s"]``.
    ``query_logits``: a query-logits ``.npz`` (or a folder holding ``<query id>.npz``) of this run's query
    model, used instead of training it (:func:`empirical.query_logits.read_query_logits`), so that a
    study elsewhere reuses the committed query model rather than a retrained one that may differ.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    config.validate(check_data=dataset is None)
    check_query_logits_option(config, query_logits)
    out_dir = check_out_dir(out_dir)
    t_start = time.perf_counter() - (data_seconds or 0.0)
    t0 = time.perf_counter()
    # the data's identity is part of the run id: load (cheap next to training) before looking for the JSON
    config, ds = bind_data(config, dataset)
    path = run_path(out_dir, config, seed)
    if path.is_file() and not force:
        done = json.loads(path.read_text())
        done["skipped"] = True
        return done
    hooks = hooks or {}
    timings = {}
    timings["data_s"] = time.perf_counter() - t0 if data_seconds is None else float(data_seconds)
    device = resolve_device(config.device)
    chl = (ds.is_image and config.model in models.IMAGE_MODELS) if config.channels_last is None \
        else bool(config.channels_last)
    t = _Tensors(ds, device, chl, config.shift, config.eval_limit_per_class)
    sizes = np.bincount(ds.y_train, minlength=ds.num_classes)

    # query model: needed for DRoP recalls and for every non-random score
    query = None
    if config.quota in QUERY_QUOTAS or config.score in QUERY_SCORES:
        t0 = time.perf_counter()
        if query_logits is not None:
            query = _query_from_file(config, seed, t, query_logits)
        else:
            query = _run_query(config, seed, t, out_dir, resume=resume, progress=progress, channels_last=chl,
                               hooks=hooks)
            record = write_query_logits(query_logits_path(out_dir, config, seed), query)
            if record is not None:
                query["logits"] = {**record, "source": "cached" if query.get("cached") else "trained"}
        timings["query_s"] = time.perf_counter() - t0
        timings["query_train_s"] = query["seconds"]

    # scores, quotas, selection
    t0 = time.perf_counter()
    recalls = None if query is None else np.asarray(query["recalls"])
    quota_info: dict = {}
    counts, total, idx = _select(config, seed, ds, query, recalls, sizes, device, quota_info)
    kept = np.bincount(ds.y_train[idx], minlength=ds.num_classes)
    timings["selection_s"] = time.perf_counter() - t0
    if config.score not in DYNAMIC_SCORES:  # a dynamic score draws its own subsets, every class offered
        check_kept_classes(config, kept, sizes, ds.class_names)

    # final training
    rec = config.final_recipe()
    warn_one_step("final training", int(idx.size) if config.score not in DYNAMIC_SCORES
                  else total_kept(int(sizes.sum()), config.density), rec)
    run_id = config.run_id(seed)
    ckpt = out_dir / "_ckpt" / f"{run_id}_final.pt"
    res, test, val, dyn = _final_stage(config, seed, t, idx, rec, ckpt, chl,
                                       augment=config.augment and ds.is_image, resume=resume,
                                       progress=progress, hooks=hooks, timings=timings)
    # 95% intervals over the test images (stratified bootstrap, fixed seed 0: the report recomputes the same)
    intervals = stats.accuracy_intervals(test["predictions"], test["labels"], t.num_classes,
                                         class_names=ds.class_names)
    timings["total_s"] = time.perf_counter() - t_start
    densities = kept / np.maximum(sizes, 1)
    if dyn is not None:  # a dynamic pruner: its mean per-epoch subset stands for the selection
        kept = np.rint(dyn["mean_class_counts"]).astype(int)
        densities = np.asarray(dyn["mean_class_densities"])

    theory = _theory_summary(config, query, recalls, sizes)
    vo = None if query is None else query.get("val_outputs")
    if vo is not None and vo.get("logits") is not None and kept.any():
        # the population prior shift on the query model's validation logits, for the densities kept:
        # the prediction `droplab empirical check-predictions` validates against the measured test recalls
        theory = dict(theory or {})
        try:
            theory["prior_shift_recalls"] = prior_shift_recalls(
                vo["logits"], np.asarray(vo["labels"]).astype(int), kept / np.maximum(sizes, 1)).tolist()
        except ValueError as exc:  # e.g. a class absent from a tiny validation half: record, go on
            theory["prior_shift_error"] = str(exc)
    result = {
        "status": "done", "run_id": run_id, "seed": int(seed),
        "method": method_label(config.score, config.quota, config.alpha, config.counts_label),
        "config": config.to_dict(),
        "dataset": {"name": ds.name, "source": ds.source, "class_names": ds.class_names,
                    "class_sizes": sizes.tolist(), "n_train": int(sizes.sum()), "n_val": len(t.y_val),
                    "n_test": len(t.y_test), "image": ds.is_image, **dataset_record(ds)},
        "query": _query_summary(query),
        "quota": {"kind": config.quota, "rule": config.rule if config.quota in RECALL_QUOTAS else None,
                  "alpha": config.alpha if config.quota == "drop" else None,
                  "counts": None if counts is None else counts.tolist(), "total": total, **quota_info},
        "selection": {"n_selected": int(idx.size) if dyn is None else dyn["budget"],
                      "class_counts": kept.tolist(), "class_densities": densities.tolist(),
                      "sha256": hashlib.sha256(np.asarray(idx, dtype=np.int64).tobytes()).hexdigest(),
                      **({} if dyn is None else {"dynamic": dyn})},
        "final": {"recipe": rec.to_dict(), "epochs": rec.epochs, "history": res.history,
                  "resumed_from_epoch": res.resumed_from, "val": val, "test": test},
        "metrics": {"accuracy": test["accuracy"], "worst_class_accuracy": test["worst_class_accuracy"],
                    "recalls": test["recalls"], "class_densities": densities.tolist()},
        "intervals": intervals, "theory": theory, "timings": timings, "device": _device_name(device),
        "precision": resolve_precision(config.precision, device), "channels_last": chl,
        "versions": _versions(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    _atomic_json(result, path)
    if not keep_checkpoints:
        ckpt.unlink(missing_ok=True)
    result["skipped"] = False
    return result


def check_kept_classes(config: RunConfig, kept, sizes, class_names) -> None:
    """Refuse a selection that keeps no sample of a class that has some (training on it deletes the
    class): ValueError naming the classes, the counts and the two ways out, unless
    ``config.allow_empty_classes``; then a UserWarning naming them."""
    kept, sizes = np.asarray(kept), np.asarray(sizes)
    empty = empty_classes(kept, sizes)
    if not empty:
        return
    shown = ", ".join(f"{k} ({class_names[k]!r}, {int(sizes[k])} samples)" for k in empty[:20])
    more = f" and {len(empty) - 20} more" if len(empty) > 20 else ""
    what = (f"the selection of quota {config.quota!r} (score {config.score!r}) at density {config.density:g} "
            f"keeps no sample of class(es) {shown}{more} (kept per class {kept.tolist()})")
    if config.allow_empty_classes:
        warnings.warn(f"{what}: training without them, as allow_empty_classes=True (--allow-empty-classes) "
                      "asks; their test recall will be about 0", UserWarning, stacklevel=3)
        return
    raise ValueError(f"{what}: training on it would delete them (their test recall would be about 0). "
                     "Keep some of every class with min_per_class (--min-per-class), e.g. 10, or pass "
                     "allow_empty_classes=True (--allow-empty-classes) to train without them anyway (it does "
                     "not change the run id)")


def warn_one_step(what: str, n: int, recipe: recipes.Recipe) -> None:
    """UserWarning when ``n`` training samples make one optimiser step per epoch at the recipe's batch
    size (the batch holds them all): the run trains for only ``recipe.epochs`` steps."""
    if n > 0 and train.steps_per_epoch(n, recipe.batch_size) == 1:
        warnings.warn(f"{what}: the batch size {recipe.batch_size} is at least the {n} training samples, so "
                      f"each epoch is a single optimiser step ({recipe.epochs} steps in all); pass a smaller "
                      "batch_size (--batch-size) for more steps per epoch", UserWarning, stacklevel=3)


def _final_stage(config: RunConfig, seed: int, t: _Tensors, idx, rec, ckpt, chl, *, augment, resume,
                 progress, hooks, timings):
    """Train the final model on the kept samples ``idx`` and evaluate it on the test and validation
    halves; returns ``(train result, test metrics, validation metrics, dynamic)`` and fills ``timings``.
    ``dynamic``: for a dynamic score, what it trained on each epoch (else None)."""
    run_id = config.run_id(seed)
    t0 = time.perf_counter()
    model = _new_model(config, t, _gen(seed, "final-init"), chl)
    idx_dev = torch.as_tensor(idx, device=t.device)
    trackers, labels = (), None
    if config.score in DYNAMIC_SCORES:  # idx is the whole training set; RCAP draws each epoch's part
        labels = t.y[idx_dev].cpu().numpy()
        trackers = (dynamic.RCAPSampler(labels, config.density, seed),)
    res = train.train_model(
        model, t.x[idx_dev], t.y[idx_dev], rec, generator=_gen(seed, "final-train"), aug=t.aug,
        augment=augment, val=(t.x_val, t.y_val), num_classes=t.num_classes, trackers=trackers,
        checkpoint=ckpt, resume=resume, fingerprint=run_id, on_epoch_end=hooks.get("final_epoch_end"),
        desc="final", progress=progress, precision=config.precision)
    dyn = None
    if trackers:
        dyn = trackers[0].summary(np.bincount(labels, minlength=t.num_classes))
    timings["final_train_s"] = time.perf_counter() - t0
    timings["final_train_epochs_s"] = res.seconds
    t0 = time.perf_counter()
    # predictions are stored so that intervals and paired comparisons can be recomputed from the JSON
    test = evaluation.evaluate(model, t.x_test, t.y_test, t.aug, t.num_classes, precision=config.precision,
                          return_predictions=True, tta=rec.tta)
    val = evaluation.evaluate(model, t.x_val, t.y_val, t.aug, t.num_classes, precision=config.precision,
                         return_predictions=True, tta=rec.tta)
    timings["eval_s"] = time.perf_counter() - t0
    return res, test, val, dyn


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


def _query_from_file(config: RunConfig, seed: int, t: _Tensors, query_logits) -> dict:
    """The query stage's result read from a committed logits file (no training): recalls and the
    validation outputs; no scores, features or surrogate."""
    got = read_query_logits(query_logits, config.query_id(seed), t.y_val.cpu().numpy())
    logits, labels = got["val_outputs"]["logits"], got["val_outputs"]["labels"]
    accuracy = float(np.mean(logits.argmax(1) == labels))
    return {"query_id": config.query_id(seed), "recipe": None, "inits": len(got["recalls_per_init"]),
            "augment": config.query_augment, "best_epochs": None, "val_accuracy": [accuracy],
            "recalls_per_init": got["recalls_per_init"], "recalls": got["recalls"], "history": [],
            "scores": None, "embeddings": None, "seconds": 0.0, "cached": False,
            "surrogate": None if config.surrogate == "off" else
            {"error": "the query model was read from a logits file: no features to fit a surrogate to"},
            "val_outputs": got["val_outputs"], "test_outputs": None, "logits": got["record"]}


def _select(config: RunConfig, seed: int, ds, query, recalls, sizes, device, info=None):
    """The class quotas (``None``: global top-k), the total kept and the sorted kept indices; ``info``
    receives what the quota predicted (minimax: densities and predicted recalls)."""
    counts = selection.quota_counts(config.quota, sizes, config.density, recalls, config.rule,
                                    alpha=config.alpha, min_count=config.min_per_class,
                                    val_outputs=None if query is None else query.get("val_outputs"),
                                    seed=derive_seed(seed, "minimax-quota"), info=info,
                                    counts=config.class_counts, densities=config.class_densities)
    total = total_kept(int(sizes.sum()), config.density)
    if config.score in DYNAMIC_SCORES:  # every sample is offered; the sampler draws each epoch's subset
        return counts, total, np.arange(len(ds.y_train))
    if config.score == "random":
        sc = scores.random_scores(len(ds.y_train), _gen(seed, "random-scores"))
    elif config.score == "coreset":
        sc = scores.coreset_scores(query["embeddings"].to(device), ds.y_train, counts, total,
                                   _gen(seed, "coreset"))
    else:
        sc = np.asarray(query["scores"])
    idx = (selection.select_top_k(sc, total) if counts is None
           else selection.select_within_classes(sc, ds.y_train, counts))
    return counts, total, idx


def _theory_summary(config: RunConfig, query, recalls, sizes) -> dict | None:
    """The run JSON's ``theory``: the surrogate's predicted recalls and the DRoP counts from them and
    from the measured recalls (or the surrogate's error)."""
    if query is None or query.get("surrogate") is None:
        return None
    if "error" in query["surrogate"]:
        return dict(query["surrogate"])
    pred = np.asarray(query["surrogate"]["predicted_recalls"])
    # A diagnostic, not the training allocation: its few-samples warnings (the surrogate's recalls near 1
    # starve classes) are recorded in the JSON, not printed as if the run were starved.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pc = selection.quota_counts("drop", sizes, config.density, pred, config.rule)
    # The DRoP counts of the measured recalls: a diagnostic too. A DRoP run's selection warned about its
    # starved classes already; a run of another quota kept no such allocation, so no warning here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        measured = selection.quota_counts("drop", sizes, config.density, recalls, config.rule)
    theory = {**query["surrogate"], "measured_recalls": query["recalls"],
              "predicted_drop_counts": pc.tolist(), "predicted_drop_densities": (pc / sizes).tolist(),
              "measured_drop_counts": measured.tolist()}
    if caught:
        theory["predicted_drop_warnings"] = [str(w.message) for w in caught]
    return theory


def _query_summary(query) -> dict | None:
    """The run JSON's ``query``: what the query stage measured (no scores, embeddings or model)."""
    if query is None:
        return None
    keys = ("query_id", "recipe", "inits", "augment", "best_epochs", "val_accuracy", "recalls_per_init",
            "recalls", "seconds", "cached")
    return {**{k: query[k] for k in keys}, "history": query["history"],
            **({"logits": query["logits"]} if query.get("logits") else {})}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({torch.get_num_threads()} threads)"


def run_many(config: RunConfig, seeds, out_dir, *, resume: bool = False, progress: bool = True,
             force: bool = False, log=print, query_logits=None) -> list[dict]:
    """:func:`run_one` for each seed, loading the data once. ``query_logits``: a logits file (one seed) or
    a folder of them (``<query id>.npz``), see :func:`run_one`."""
    config.validate()
    check_query_logits_option(config, query_logits)
    check_out_dir(out_dir)
    seeds = [int(s) for s in seeds]
    t0 = time.perf_counter()
    config, ds = bind_data(config)  # the data's identity names the runs: load before skipping
    load_s = time.perf_counter() - t0
    for line in data.describe_data(ds):  # an image folder's split and any resize, said once
        log(line)
    results = []
    for s in seeds:
        path = run_path(out_dir, config, s)
        if path.is_file() and not force:
            log(f"skip (done): {path}")
            results.append({**json.loads(path.read_text()), "skipped": True})
            continue
        r = run_one(config, s, out_dir, dataset=ds, resume=resume, progress=progress, force=force,
                    data_seconds=load_s, query_logits=query_logits)
        load_s = 0.0  # later seeds reuse the loaded data
        tm = r["timings"]
        log(f"{r['method']} d={config.density:g} seed {s}: test accuracy {r['metrics']['accuracy']:.4f}, "
            f"worst-class {r['metrics']['worst_class_accuracy']:.4f}, wall {tm['total_s']:.1f}s "
            f"(data {tm['data_s']:.1f}s, query {tm.get('query_s', 0):.1f}s, final {tm['final_train_s']:.1f}s)"
            f" -> {path}")
        results.append(r)
    return results
