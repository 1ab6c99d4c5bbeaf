"""Stage 1 of a run's trip (:mod:`empirical.pipeline`): the data.

Input: the request, :class:`RunRequest` (``run_one``: configuration, seed, output folder, options) or
:class:`QueryOnlyRequest` (``run_query_only``). Output: :class:`RunData`, the configuration bound to
the data's identity (:func:`bind_data`), the dataset, its splits as tensors on the training device
(:class:`RunTensors`), the class sizes and the run's options, which the output of every later stage
extends; or, when the trip's record exists already (the run's JSON, the query model's logits file),
that record (:attr:`RunData.recorded`) and nothing else to do.

Every input is checked here before any data is loaded or any model trained. The helpers the training
stages share with it live here too: a fresh model on the run's device (:func:`new_model`) and the
warning for a batch that holds all the training data (:func:`warn_one_step`).
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import data, models, recipes, train
from .augment import BatchAugment
from .classes import rank_within_class
from .dataset import ArrayDataset
from .device import resolve_device
from .options import QUERY_QUOTAS, QUERY_SCORES
from .run_config import RunConfig, check_out_dir, check_query_logits_option, query_logits_path, run_path

__all__ = ["RunRequest", "QueryOnlyRequest", "RunData", "QueryOnlyData", "RunTensors", "data_stage",
           "query_only_data", "load_data", "bind_data", "check_classes_present", "new_model", "warn_one_step"]


def load_data(config: RunConfig) -> ArrayDataset:
    """Load the configured dataset (resized to ``image_size`` when set; then ``limit_per_class``: the first
    n of each class; then ``long_tail``: the first :func:`long_tail_sizes` of each class)."""
    ds = data.load_dataset(config.dataset, config.data_dir, config.data_format, image_size=config.image_size,
                           **config.synthetic)
    if config.limit_per_class is not None:
        rank = rank_within_class(ds.y_train, ds.num_classes)
        ds = ds.subset(train_idx=np.flatnonzero(rank < config.limit_per_class))
    if config.long_tail is not None:
        sizes = long_tail_sizes(np.bincount(ds.y_train, minlength=ds.num_classes), config.long_tail)
        rank = rank_within_class(ds.y_train, ds.num_classes)
        ds = ds.subset(train_idx=np.flatnonzero(rank < sizes[ds.y_train]))
    return ds


def long_tail_sizes(class_sizes, ratio: float) -> np.ndarray:
    r"""Class sizes of the standard long-tailed construction (Cao et al. 2019, LDAM's code): class
    :math:`k` of :math:`K` keeps :math:`\max(1, \lfloor n_k\,\rho^{-k/(K-1)}\rfloor)` of its
    :math:`n_k` samples, so that on balanced data the first class keeps all and the last :math:`n/\rho`.
    The floor (not rounding) gives the sizes the literature reports: CIFAR-10-LT has 12,406 training
    images at :math:`\rho = 100` and 20,431 at :math:`\rho = 10`.

    >>> long_tail_sizes([5000] * 10, 100).tolist()
    [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    >>> int(long_tail_sizes([5000] * 10, 10).sum())
    20431
    """
    n = np.asarray(class_sizes, dtype=np.int64)
    k = np.arange(len(n))
    # a relative nudge keeps an exact product (e.g. 500.0 at rho = 10) from flooring to 499 on an ulp
    keep = np.floor(n * float(ratio) ** (-k / max(len(n) - 1, 1)) * (1 + 1e-12)).astype(np.int64)
    return np.clip(keep, 1, n)


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


class RunTensors:
    """The dataset's splits as tensors on the training device: the training set whole; the validation
    half (the first half of each class of the test set, or an explicit validation set) and the test half;
    the batch augmentation of image data."""

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


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """The data stage's input for one run: what :func:`empirical.pipeline.run_one` was asked (its
    parameters, documented there)."""

    config: RunConfig
    seed: int
    out_dir: str | Path
    dataset: ArrayDataset | None = None
    resume: bool = False
    progress: bool = True
    hooks: dict | None = None
    keep_checkpoints: bool = False
    force: bool = False
    data_seconds: float | None = None
    query_logits: str | Path | None = None


@dataclass(frozen=True, kw_only=True)
class RunData:
    """The data stage's output, the baton every later stage extends with its own output.

    ``config`` is bound to the data (its ``data_id`` set); ``record_path`` is where the trip's record
    goes (the run JSON, or for ``run_query_only`` the query-logits file); ``recorded``: that record when
    it exists already (the run JSON as a dict, ``"skipped": True``; the logits file's path), and then
    the data fields are None: the trip ends here. ``timings`` is filled in by the stages, in trip order
    (the run JSON's ``timings``); ``t_start``: when the run began (a preloaded dataset's loading time
    before now). ``log``: where ``run_query_only`` says what it did (None: warnings, for ``run_one``).
    """

    config: RunConfig
    seed: int
    out_dir: Path
    record_path: Path
    recorded: dict | Path | None = None
    ds: ArrayDataset | None = None
    tensors: RunTensors | None = None
    sizes: np.ndarray | None = None
    device: torch.device | None = None
    channels_last: bool = False
    timings: dict = field(default_factory=dict)
    t_start: float = 0.0
    resume: bool = False
    progress: bool = True
    hooks: dict = field(default_factory=dict)
    keep_checkpoints: bool = False
    query_logits: str | Path | None = None
    log: Callable[[str], None] | None = None


def _tensors(config: RunConfig, ds: ArrayDataset) -> tuple[torch.device, bool, RunTensors]:
    """``(device, channels_last, tensors)``: channels-last memory by default for the image models on
    images (faster convolutions on CPU), as ``config.channels_last`` says otherwise."""
    device = resolve_device(config.device)
    chl = (ds.is_image and config.model in models.IMAGE_MODELS) if config.channels_last is None \
        else bool(config.channels_last)
    return device, chl, RunTensors(ds, device, chl, config.shift, config.eval_limit_per_class)


def data_stage(request: RunRequest) -> RunData:
    """Check the request, load (or take) the data and bind its identity to the configuration; the data's
    splits on the training device. A run whose JSON exists is skipped (``recorded``) unless ``force``.

    Parameters
    ----------
    request : RunRequest
        What ``run_one`` was asked.

    Returns
    -------
    RunData
        The bound configuration, the data and the options; or only the recorded JSON (``recorded``).

    Raises
    ------
    TypeError, ValueError
        A bad seed, configuration, ``query_logits`` option, output folder or dataset (a class with no
        training sample, another dataset than the configuration's ``data_id``), before any training.
    """
    seed = request.seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    config = request.config
    config.validate(check_data=request.dataset is None)
    check_query_logits_option(config, request.query_logits)
    out_dir = check_out_dir(request.out_dir)
    t_start = time.perf_counter() - (request.data_seconds or 0.0)
    t0 = time.perf_counter()
    # the data's identity is part of the run id: load (cheap next to training) before looking for the JSON
    config, ds = bind_data(config, request.dataset)
    path = run_path(out_dir, config, seed)
    if path.is_file() and not request.force:
        done = json.loads(path.read_text())
        done["skipped"] = True
        return RunData(config=config, seed=seed, out_dir=out_dir, record_path=path, recorded=done)
    timings = {"data_s": time.perf_counter() - t0 if request.data_seconds is None
               else float(request.data_seconds)}
    device, chl, t = _tensors(config, ds)
    return RunData(config=config, seed=seed, out_dir=out_dir, record_path=path, ds=ds, tensors=t,
                   sizes=np.bincount(ds.y_train, minlength=ds.num_classes), device=device, channels_last=chl,
                   timings=timings, t_start=t_start, resume=request.resume, progress=request.progress,
                   hooks=request.hooks or {}, keep_checkpoints=request.keep_checkpoints,
                   query_logits=request.query_logits)


@dataclass(frozen=True, kw_only=True)
class QueryOnlyRequest:
    """The data stage's input for :func:`empirical.pipeline.run_query_only` (its parameters, but the
    seeds: one trip per seed)."""

    config: RunConfig
    out_dir: str | Path
    resume: bool = False
    progress: bool = True
    log: Callable[[str], None] = print


@dataclass(kw_only=True)
class QueryOnlyData:
    """The data stage's output for ``run_query_only``: the data loaded once for every seed, and
    :meth:`run`, one seed's :class:`RunData`."""

    request: QueryOnlyRequest
    config: RunConfig
    out_dir: Path
    ds: ArrayDataset
    #: ``(device, channels_last, tensors)``, made for the first seed that trains (none if all are done)
    made: tuple | None = None

    def run(self, seed) -> RunData:
        """Seed ``seed``'s trip: its :class:`RunData`, ``recorded`` (the logits file, said through the
        request's ``log``) when its query model's logits are written already."""
        seed, log = int(seed), self.request.log
        path = query_logits_path(self.out_dir, self.config, seed)
        if path.is_file():
            log(f"skip (done): {path}")
            return RunData(config=self.config, seed=seed, out_dir=self.out_dir, record_path=path,
                           recorded=path)
        if self.made is None:
            self.made = _tensors(self.config, self.ds)
        device, chl, t = self.made
        return RunData(config=self.config, seed=seed, out_dir=self.out_dir, record_path=path, ds=self.ds,
                       tensors=t, sizes=np.bincount(self.ds.y_train, minlength=self.ds.num_classes),
                       device=device, channels_last=chl, t_start=time.perf_counter(),
                       resume=self.request.resume, progress=self.request.progress, log=log)


def query_only_data(request: QueryOnlyRequest) -> QueryOnlyData:
    """Check the request (the configuration must train a query model), load the data and bind its
    identity to the configuration (it names the query model); say how the data was read.

    Parameters
    ----------
    request : QueryOnlyRequest
        What ``run_query_only`` was asked (but the seeds).

    Returns
    -------
    QueryOnlyData
        The data, loaded once; :meth:`QueryOnlyData.run` gives each seed's :class:`RunData`.
    """
    config = request.config
    config.validate()
    if config.quota not in QUERY_QUOTAS and config.score not in QUERY_SCORES:
        raise ValueError(f"quota={config.quota!r} with score={config.score!r} trains no query model: use a "
                         f"quota that needs one ({', '.join(QUERY_QUOTAS)}) or a score that does "
                         f"({', '.join(QUERY_SCORES)})")
    out = check_out_dir(request.out_dir)
    config, ds = bind_data(config)  # the data's identity names the query model: load before skipping
    for line in data.describe_data(ds):
        request.log(line)
    return QueryOnlyData(request=request, config=config, out_dir=out, ds=ds)


def new_model(run: RunData, generator: torch.Generator) -> torch.nn.Module:
    """A fresh model of the run's architecture on the run's device, initialised from ``generator``
    (channels-last memory when the run uses it)."""
    t = run.tensors
    m = models.build_model(run.config.model, t.num_classes, t.input_shape, generator=generator).to(t.device)
    if run.channels_last:
        m = m.to(memory_format=torch.channels_last)
    return m


def warn_one_step(what: str, n: int, recipe: recipes.Recipe) -> None:
    """UserWarning when ``n`` training samples make one optimiser step per epoch at the recipe's batch
    size (the batch holds them all): the run trains for only ``recipe.epochs`` steps. Called from within
    a stage (two frames below the conductor's call): stacklevel 4 names the frame the warning named before
    the stages had modules of their own."""
    if n > 0 and train.steps_per_epoch(n, recipe.batch_size) == 1:
        warnings.warn(f"{what}: the batch size {recipe.batch_size} is at least the {n} training samples, so "
                      f"each epoch is a single optimiser step ({recipe.epochs} steps in all); pass a smaller "
                      "batch_size (--batch-size) for more steps per epoch", UserWarning, stacklevel=4)
