r"""Dynamic pruning: a new subset of the training set every epoch, chosen while the model trains.

Only one dynamic method is offered, as an external baseline run through its authors' own package:
**RCAP** (Hassan, Khare and Paik, "RCAP: Robust, Class-Aware, Probabilistic Dynamic Dataset Pruning",
UAI 2025), from the PyPI package ``datacull`` (its official implementation; ``pip install datacull``).
Every epoch RCAP

1. turns each sample's last training loss :math:`\ell_i` (clipped to :math:`[0, \log K]`; before the
   first epoch every loss is :math:`\log K`) into a within-class importance
   :math:`p_i = e^{\ell_i/\beta} / \sum_{j \in c(i)} e^{\ell_j/\beta}`;
2. splits the budget :math:`b = \lceil dN \rceil` over the classes in proportion to
   :math:`\sqrt{L_c\,\pi_c}`, with :math:`L_c` the importance mass of the class's samples trained
   in the previous epoch and :math:`\pi_c` its prior (a class whose share exceeds its size is kept
   whole), each class count rounded up;
3. draws that many samples of each class without replacement, with probabilities :math:`p_i`.

droplab calls the package's ``RCAPImportance.compute_importance`` and
``RCAPDataLoader.compute_subset`` unchanged, and feeds them what its own training loop measures: the
per-sample cross-entropy of the training forward pass (logged through the package's ``DCLogger``).
The package draws with numpy's global generator; droplab seeds it from the run's seed for each epoch
and restores it afterwards, so a run is reproducible and resumable, and no other code sees the change.
``datacull``'s ``pruning_rate`` is the fraction KEPT (``required_num_samples = ceil(rate N)``, though
its README says "remove"), so droplab passes the density :math:`d`.
"""

from __future__ import annotations

import importlib.util
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from gaussian_theory.validation import derive_seed

__all__ = ["RCAP_BETA", "check_rcap_available", "LabelsOnly", "RCAPSampler"]

#: RCAP's softmax temperature: the value of the package's README example (its code suggests one of
#: 1/3, 1/2, 1, 2, 3). Fixed, not tuned: one setting for every run.
RCAP_BETA = 2.0


def check_rcap_available() -> None:
    """Raise ValueError, before any work, when the ``datacull`` package is not installed."""
    if importlib.util.find_spec("datacull") is None:
        raise ValueError("score 'rcap' runs the RCAP implementation of the datacull package, which is not "
                         "installed: pip install datacull (with torch already installed)")


class LabelsOnly(torch.utils.data.Dataset):
    """The labels only: what datacull's samplers read of a dataset (``.targets`` and its length)."""

    def __init__(self, labels: np.ndarray):
        self.targets = np.asarray(labels).tolist()

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i):  # never iterated: droplab's own loop trains
        raise NotImplementedError


class RCAPSampler:
    """RCAP's per-epoch subsets, as a training tracker of :func:`empirical.train.train_model`.

    ``epoch_indices(epoch)`` gives the (CPU int64) training indices of one epoch; ``update`` receives
    each minibatch's logits and records the per-sample loss; ``end_epoch`` hands the epoch's losses
    to RCAP. ``max_size`` bounds an epoch's subset (the budget plus the per-class rounding up), so
    the learning-rate schedule can be laid out before training. ``state_dict`` / ``load_state_dict``
    carry everything a resumed run needs to draw the same subsets.

    Parameters
    ----------
    labels : array of int, shape (N,)
        Training labels.
    density : float
        Fraction of the training set trained on in each epoch, in (0, 1].
    seed : int
        The run's seed; each epoch's draw uses ``derive_seed(seed, "rcap", epoch)``.
    beta : float
        RCAP's temperature (default :data:`RCAP_BETA`).
    """

    def __init__(self, labels, density: float, seed: int, beta: float = RCAP_BETA):
        check_rcap_available()
        from datacull import DCDataset, DCLogger
        from datacull.methods.RCAP import RCAPDataLoader, RCAPImportance

        self.labels = np.asarray(labels, dtype=np.int64)
        self.num_classes = int(self.labels.max()) + 1
        self.seed = int(seed)
        self._dir = tempfile.TemporaryDirectory(prefix="droplab-rcap-")
        self._logger = DCLogger(trajectory_dir=self._dir.name + "/", save_every_k_epoch=1)
        ds = DCDataset(LabelsOnly(self.labels))
        self._importance = RCAPImportance(dataset=ds, logger_object=self._logger, beta=float(beta))
        self._loader = RCAPDataLoader(dataset=ds, pruning_rate=float(density), batch_size=1)
        self.budget = int(self._loader.required_num_samples)
        self.max_size = min(len(self.labels), self.budget + self.num_classes)
        self.weights = self._importance.compute_importance()   # before epoch 0: uniform in each class
        self.epoch = 0
        self.class_counts: list[list[int]] = []               # per epoch, what RCAP trained on
        self._loss = torch.full((len(self.labels),), float("nan"))

    def epoch_indices(self, epoch: int) -> torch.Tensor:
        """The training indices of ``epoch`` (drawn by RCAP from the importance of the last epoch)."""
        # datacull draws from numpy's global generator: seeded here for this epoch, then restored
        saved = np.random.get_state()  # noqa: NPY002
        np.random.seed(derive_seed(self.seed, "rcap", int(epoch)) % 2**32)  # noqa: NPY002
        try:
            idx = np.sort(np.asarray(self._loader.compute_subset(self.weights), dtype=np.int64))
        finally:
            np.random.set_state(saved)  # noqa: NPY002
        if len(self.class_counts) == epoch:
            self.class_counts.append(np.bincount(self.labels[idx], minlength=self.num_classes).tolist())
        return torch.from_numpy(idx)

    def update(self, idx: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        self._loss[idx.cpu()] = F.cross_entropy(logits.float(), y, reduction="none").cpu()

    def end_epoch(self) -> None:
        seen = torch.nonzero(~torch.isnan(self._loss)).flatten()
        self._logger.log_metric(self.epoch, seen, self._loss[seen])
        self.weights = self._importance.compute_importance()   # reads (and deletes) the epoch's log
        self._loss.fill_(float("nan"))
        self.epoch += 1

    def state_dict(self) -> dict:
        return {"weights": np.asarray(self.weights), "epoch": self.epoch, "class_counts": self.class_counts,
                "importance_epoch": self._importance.epoch,
                "sample_losses": np.asarray(self._importance.sample_losses),
                "local_class_wise_indices": [list(map(int, c))
                                             for c in self._loader.local_class_wise_indices]}

    def load_state_dict(self, s: dict) -> None:
        self.weights = np.asarray(s["weights"])
        self.epoch = int(s["epoch"])
        self.class_counts = [list(c) for c in s["class_counts"]]
        self._importance.epoch = int(s["importance_epoch"])
        self._importance.sample_losses = np.asarray(s["sample_losses"], dtype=float)
        self._loader.local_class_wise_indices = [list(c) for c in s["local_class_wise_indices"]]

    def summary(self, sizes) -> dict:
        """What RCAP trained on: per-epoch class counts, their mean, and the mean class densities."""
        counts = np.asarray(self.class_counts, dtype=float)
        mean = counts.mean(0) if len(counts) else np.zeros(self.num_classes)
        return {"method": "rcap", "package": _package_version(), "beta": RCAP_BETA, "budget": self.budget,
                "epoch_class_counts": self.class_counts, "mean_class_counts": mean.tolist(),
                "mean_class_densities": (mean / np.maximum(np.asarray(sizes), 1)).tolist()}


def _package_version() -> str:
    from importlib.metadata import version
    return f"datacull {version('datacull')}"
