"""Human-readable names of a study's dataset and network, for the titles of analyses and figures.

>>> study_title("cifar10", "smallcnn")
'CIFAR-10 small CNN'
>>> study_title("mnist1d", "cnn1d")
'MNIST-1D 1-D CNN'
>>> study_title("cifar10", "whitenet-256")
'CIFAR-10 whitenet-256'
"""

from __future__ import annotations

import re

__all__ = ["DATASET_TITLES", "MODEL_TITLES", "study_title", "query_title"]

#: ``config.dataset`` -> its name in prose (unknown names are shown as they are)
DATASET_TITLES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "mnist1d": "MNIST-1D",
                  "fashion-mnist": "Fashion-MNIST", "imagefolder": "image folder",
                  "gaussian": "Gaussian mixture"}
#: ``config.model`` -> its name in prose (unknown names, e.g. ``whitenet-256``, are shown as they are)
MODEL_TITLES = {"smallcnn": "small CNN", "cnn1d": "1-D CNN", "mlp": "MLP", "linear": "linear model",
                "resnet18": "ResNet-18", "vgg16": "VGG-16", "vgg19": "VGG-19"}

_QUERY_ID = re.compile(r"^(?P<dataset>[^_]+)_(?P<model>[^_]+)_(?P<score>[^_]+)_s(?P<seed>\d+)_")


def study_title(dataset: str, model: str) -> str:
    """``"<dataset> <model>"`` in prose, e.g. ``CIFAR-10 small CNN``.

    Parameters
    ----------
    dataset, model : str
        A run's ``config.dataset`` and ``config.model``.

    Returns
    -------
    str
    """
    return f"{DATASET_TITLES.get(dataset, dataset)} {MODEL_TITLES.get(model, model)}"


def query_title(query_id: str) -> str:
    """A query model's name in prose from its id ``<dataset>_<model>_<score>_s<seed>_<hash>``
    (:meth:`empirical.run_config.RunConfig.query_id`): ``CIFAR-10 small CNN s0`` for a random-score query
    model, ``CIFAR-10 small CNN el2n s0`` for another score; an id of another form is returned as it is.

    >>> query_title("cifar10_smallcnn_random_s0_28ad30584c")
    'CIFAR-10 small CNN s0'
    >>> query_title("logits")
    'logits'
    """
    m = _QUERY_ID.match(query_id)
    if m is None:
        return query_id
    score = "" if m["score"] == "random" else f" {m['score']}"
    return f"{study_title(m['dataset'], m['model'])}{score} s{m['seed']}"
