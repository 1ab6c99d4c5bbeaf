"""Models in plain torch: CIFAR ResNet-18 (3x3 stem), VGG-16/19 with batch norm, a small CPU CNN (and its
narrow variant ``smallcnn-gray`` for 28x28 grey images such as Fashion-MNIST), a small 1-D CNN for signals
(``cnn1d``: MNIST-1D), and an MLP / linear model for feature (synthetic) data.

Every model exposes ``features(x)`` (penultimate-layer embedding, used by CoreSet and the Gaussian
surrogate) and ``head`` (the final ``nn.Linear``); ``forward(x) = head(features(x))``. Weights are
initialised as in the official DRoP code: Xavier-normal with gain sqrt(2) for conv/linear weights,
zero biases, BN weight 1 and bias 0, drawn from a ``torch.Generator``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .options import DATASET_INPUTS, IMAGE_MODELS, MODEL_INPUTS, MODELS, SIGNAL_MODELS

__all__ = ["MODELS", "IMAGE_MODELS", "SIGNAL_MODELS", "WHITENET_WIDTHS", "SMALLCNN_GRAY_WIDTH", "build_model",
           "check_model_for_dataset", "ResNet18", "VGG", "SmallCNN", "CNN1d", "WhitenedConvNet", "MLP",
           "Linear"]


class Classifier(nn.Module):
    """Base: ``forward = head ∘ features``."""

    head: nn.Linear

    def features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _conv_bn(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet18(Classifier):
    """ResNet-18 for 32x32 inputs: 3x3 stride-1 stem, no max-pool, stages of 64/128/256/512 channels
    (11.17 M parameters for 10 classes)."""

    def __init__(self, num_classes: int, in_channels: int = 3):
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(in_channels, 64))
        layers, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(512, num_classes)

    def features(self, x):
        return torch.flatten(self.pool(self.layers(self.stem(x))), 1)


VGG_CFG = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


class VGG(Classifier):
    """VGG-16/19 with batch norm and a single linear classifier on the 512-d pooled features
    (the official code's CIFAR variant: no FC stack). Convolutions have no bias (BN follows), so
    VGG-16 has 14.72 M parameters for 10 classes and VGG-19 20.04 M."""

    def __init__(self, depth: str, num_classes: int, in_channels: int = 3):
        super().__init__()
        layers, cin = [], in_channels
        for v in VGG_CFG[depth]:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += _conv_bn(cin, v)
                cin = v
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(512, num_classes)

    def features(self, x):
        return torch.flatten(self.pool(self.body(x)), 1)


class SmallCNN(Classifier):
    """Four conv-BN-ReLU blocks of ``w, 2w, 4w, 8w`` channels, each but the first followed by a 2x2
    max-pool, then global average pooling (8w-d features). With the default ``w=32``: 0.39 M
    parameters and ~16 M multiply-adds per 32x32 image, so an epoch of CIFAR-10 takes about a
    minute on two CPU cores."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 32):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            *_conv_bn(in_channels, w), nn.MaxPool2d(2),
            *_conv_bn(w, 2 * w), nn.MaxPool2d(2),
            *_conv_bn(2 * w, 4 * w), nn.MaxPool2d(2),
            *_conv_bn(4 * w, 8 * w),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(8 * w, num_classes)

    def features(self, x):
        return torch.flatten(self.pool(self.body(x)), 1)


#: Width of ``smallcnn-gray``: the small CNN at a quarter of the multiply-adds (16/32/64/128 channels, 0.1 M
#: parameters, ~2.6 M multiply-adds per 28x28 grey image), for Fashion-MNIST on CPU.
SMALLCNN_GRAY_WIDTH = 16

#: Widths of the three conv groups of each ``whitenet`` model (the airbench shapes: 64/128/128 is
#: "airbench93", 64/256/256 "airbench94"; Jordan 2024, arXiv 2404.00498).
WHITENET_WIDTHS = {"whitenet-128": (64, 128, 128), "whitenet-256": (64, 256, 256)}


class _FrozenScaleBatchNorm(nn.BatchNorm2d):
    """Batch norm with a trained bias and a frozen unit scale (eps 1e-12, running-average momentum 0.4)."""

    def __init__(self, channels: int):
        super().__init__(channels, eps=1e-12, momentum=0.4)
        self.weight.requires_grad_(False)


class _ConvGroup(nn.Module):
    """conv3x3 -> 2x2 max-pool -> BN -> GELU -> conv3x3 -> BN -> GELU (halves the resolution)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = _FrozenScaleBatchNorm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm2 = _FrozenScaleBatchNorm(cout)
        self.act = nn.GELU()

    def forward(self, x):
        x = self.act(self.norm1(self.pool(self.conv1(x))))
        return self.act(self.norm2(self.conv2(x)))


class WhitenedConvNet(Classifier):
    r"""A fast CIFAR network in the style of airbench (Jordan 2024, arXiv 2404.00498), written for droplab.

    A frozen 2x2 patch-whitening stem (``2 C p^2`` channels: the eigenvectors :math:`v_i` of the
    covariance of the training set's 2x2 patches scaled by :math:`1/\sqrt{\lambda_i+\epsilon}`, and their
    negatives; only its bias trains, for the first epochs), GELU, three conv groups of ``widths``
    channels (each conv3x3, max-pool, BN, GELU, conv3x3, BN, GELU; batch norms with a frozen unit
    scale), a 3x3 max-pool to 1x1, and a bias-free linear head on the features scaled by 1/9.
    Convolutions start from PyTorch's default (Kaiming-uniform) draw with their first ``c_in`` filters
    set to the identity (Dirac).

    ``fit_whitening(x)`` sets the stem from a batch of normalised training images; training calls it
    before the first epoch (:func:`empirical.train.train_model`). 64/128/128: 0.57 M parameters,
    64/256/256: 1.97 M (10 classes).
    """

    def __init__(self, num_classes: int, in_channels: int = 3, widths=(64, 256, 256), patch: int = 2):
        super().__init__()
        self.patch = int(patch)
        stem = 2 * in_channels * self.patch ** 2
        self.whiten = nn.Conv2d(in_channels, stem, self.patch, bias=True)
        self.whiten.weight.requires_grad_(False)
        self.act = nn.GELU()
        groups, cin = [], stem
        for w in widths:
            groups.append(_ConvGroup(cin, w))
            cin = w
        self.groups = nn.Sequential(*groups)
        self.pool = nn.MaxPool2d(3)
        self.head = nn.Linear(cin, num_classes, bias=False)

    def features(self, x):
        x = self.groups(self.act(self.whiten(x)))
        return torch.flatten(self.pool(x), 1) * (1.0 / 9.0)

    @torch.no_grad()
    def fit_whitening(self, x: torch.Tensor, eps: float = 5e-4) -> None:
        """Set the stem's weights from normalised images ``x`` (N, C, H, W): the whitening transform
        of their ``patch`` x ``patch`` patches (float64 eigendecomposition), and its negative."""
        c, p = x.shape[1], self.patch
        patches = x.float().unfold(2, p, 1).unfold(3, p, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, c * p * p)
        patches = patches.double()
        cov = patches.T @ patches / len(patches)
        evals, evecs = torch.linalg.eigh(cov)
        filt = (evecs.T / torch.sqrt(evals.clamp_min(0) + eps)[:, None]).flip(0).reshape(-1, c, p, p)
        w = torch.cat((filt, -filt)).to(self.whiten.weight)
        self.whiten.weight.copy_(w.contiguous(memory_format=torch.preserve_format))

    @torch.no_grad()
    def init_parameters(self, generator: torch.Generator) -> None:
        """PyTorch's default Kaiming-uniform draws (from ``generator``) with Dirac-initialised first
        filters in every 3x3 convolution; zero stem bias; batch-norm scale 1, bias 0."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
                    nn.init.dirac_(m.weight[:m.in_channels])
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


class CNN1d(Classifier):
    """A small 1-D CNN for signals (N, C, L), e.g. MNIST-1D (1 x 40): conv1d-BN-ReLU blocks of ``w, 2w,
    2w`` channels (kernel 5, then 3, 3), a 2x max-pool after the second and third, then global average
    pooling (2w-d features). With ``w=32``: 19.6 k parameters for 10 classes."""

    def __init__(self, num_classes: int, in_channels: int = 1, width: int = 32):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv1d(in_channels, w, 5, 1, 2, bias=False), nn.BatchNorm1d(w), nn.ReLU(inplace=True),
            nn.Conv1d(w, 2 * w, 3, 1, 1, bias=False), nn.BatchNorm1d(2 * w), nn.ReLU(inplace=True),
            nn.MaxPool1d(2),
            nn.Conv1d(2 * w, 2 * w, 3, 1, 1, bias=False), nn.BatchNorm1d(2 * w), nn.ReLU(inplace=True),
            nn.MaxPool1d(2),
        )
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(2 * w, num_classes)

    def features(self, x):
        if x.ndim == 2:  # (N, L): one channel
            x = x.unsqueeze(1)
        return torch.flatten(self.pool(self.body(x)), 1)


class MLP(Classifier):
    """Two hidden ReLU layers of ``hidden`` units on flattened inputs."""

    def __init__(self, num_classes: int, in_features: int, hidden: int = 64):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(),
                                  nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, num_classes)

    def features(self, x):
        return self.body(x)


class Linear(Classifier):
    """Multinomial logistic regression; its features are the (flattened) inputs."""

    def __init__(self, num_classes: int, in_features: int):
        super().__init__()
        self.flat = nn.Flatten()
        self.head = nn.Linear(in_features, num_classes)

    def features(self, x):
        return self.flat(x)




def init_weights(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Xavier-normal (gain sqrt 2) conv/linear weights, zero biases; BN weight 1, bias 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv1d, nn.Linear)):
            nn.init.xavier_normal_(m.weight, gain=math.sqrt(2.0), generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def build_model(name: str, num_classes: int, input_shape: tuple[int, ...],
                generator: torch.Generator | None = None) -> Classifier:
    """Build model ``name`` for inputs of shape ``input_shape`` (one sample: (C, H, W) or (p,)),
    initialised from ``generator`` (a fresh seed-0 generator if None)."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {name!r}")
    if not (isinstance(num_classes, int) and num_classes >= 2):
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    shape = tuple(int(s) for s in input_shape)
    if name in IMAGE_MODELS and len(shape) != 3:
        raise ValueError(f"model {name!r} needs image inputs (C, H, W), got input shape {shape}")
    if name in SIGNAL_MODELS and len(shape) not in (1, 2):
        raise ValueError(f"model {name!r} needs 1-D signal inputs (C, L) or (L,), got input shape {shape}")
    if name == "resnet18":
        model = ResNet18(num_classes, shape[0])
    elif name in ("vgg16", "vgg19"):
        model = VGG(name, num_classes, shape[0])
    elif name == "smallcnn":
        model = SmallCNN(num_classes, shape[0])
    elif name == "smallcnn-gray":
        model = SmallCNN(num_classes, shape[0], width=SMALLCNN_GRAY_WIDTH)
    elif name == "cnn1d":
        model = CNN1d(num_classes, shape[0] if len(shape) == 2 else 1)
    elif name in WHITENET_WIDTHS:
        model = WhitenedConvNet(num_classes, shape[0], WHITENET_WIDTHS[name])
    else:
        in_features = math.prod(shape)
        model = MLP(num_classes, in_features) if name == "mlp" else Linear(num_classes, in_features)
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    if isinstance(model, WhitenedConvNet):
        model.init_parameters(generator)
        return model
    return init_weights(model, generator)


def check_model_for_dataset(model: str, dataset: str) -> None:
    """ValueError when ``model`` cannot take ``dataset``'s inputs (:data:`empirical.options.MODEL_INPUTS`,
    :data:`empirical.options.DATASET_INPUTS`): an image model on 1-D signals or feature vectors, a 1-D
    model on images. Unknown names are left to the option checks."""
    kind = DATASET_INPUTS.get(dataset)
    takes = MODEL_INPUTS.get(model)
    if kind is None or takes is None or kind in takes:
        return
    fits = [m for m in MODELS if kind in MODEL_INPUTS[m]]
    what = {"image": "images", "signal": "1-D signals", "features": "feature vectors"}[kind]
    raise ValueError(f"model {model!r} cannot take the {dataset} dataset's {what}: use one of "
                     f"{', '.join(fits)}")
