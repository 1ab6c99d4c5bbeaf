"""The small datasets: MNIST-1D, Fashion-MNIST and a synthetic Gaussian mixture.

* :func:`read_mnist1d`: MNIST-1D (Greydanus 2020), the ``mnist1d_data.pkl`` pickle of 1-D signals,
  unpickled safely (numpy arrays and plain containers only) and md5-checked (:data:`MNIST1D_MD5`).
* :func:`read_fashion_mnist`: Fashion-MNIST from its four official IDX ``.gz`` files (:func:`read_idx`),
  md5-checked against torchvision's (:data:`FASHION_MNIST_MD5`).
* :func:`make_gaussian_dataset`: an isotropic Gaussian mixture drawn with
  :class:`gaussian_theory.mixture.GaussianMixture` (feature vectors, not images).

Each returns an :class:`~empirical.dataset.ArrayDataset`; the file readers record in
``meta["origin"]`` whether the file(s) are the published originals.

References
----------
docs/empirical.md (the ``--dataset`` / ``--data-dir`` table); docs/real-data-mnist1d.md ("Beyond
CIFAR-10: MNIST-1D").
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset, _checksum_origin
from .options import GAUSSIAN_DEFAULTS

__all__ = [
    "read_mnist1d", "read_fashion_mnist", "read_idx", "make_gaussian_dataset", "gaussian_parameters",
    "gaussian_options", "gaussian_mixture",
    "MNIST1D_FILE", "MNIST1D_MD5", "FASHION_MNIST_CLASSES", "FASHION_MNIST_FILES", "FASHION_MNIST_MD5",
]


# ----------------------------------------------------------------------------- MNIST-1D
#: The MNIST-1D pickle (Greydanus 2020, ``greydanus/mnist1d``) and the md5 of the canonical file.
MNIST1D_FILE = "mnist1d_data.pkl"
MNIST1D_MD5 = "5bf44b67062b653caea0043bc236811a"
_MNIST1D_KEYS = ("x", "y", "x_test", "y_test")
#: The only globals a MNIST-1D pickle may name: numpy's array reconstruction (numpy 1 and 2 spellings).
_SAFE_PICKLE_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                        ("numpy", "ndarray"), ("numpy", "dtype")}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, numbers, strings and numpy arrays only: any other global (a class or a
    function that unpickling would call) is refused, so a crafted file cannot run code."""

    def find_class(self, module, name):
        if (module, name) not in _SAFE_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed (numpy arrays only)")
        if module.startswith("numpy.core."):  # numpy >= 2 keeps these in numpy._core (no deprecation warning)
            try:
                return super().find_class("numpy._core." + module[len("numpy.core."):], name)
            except (ImportError, AttributeError):
                pass
        return super().find_class(module, name)


def _find_mnist1d(path: Path) -> Path:
    """The MNIST-1D pickle: ``path`` itself (a file), or ``mnist1d_data.pkl`` in ``path`` or in
    ``path/mnist1d``, or the only ``.pkl`` file in ``path``."""
    if path.is_file():
        return path
    for cand in (path / MNIST1D_FILE, path / "mnist1d" / MNIST1D_FILE):
        if cand.is_file():
            return cand
    pkls = sorted(p for p in path.glob("*.pkl") if p.is_file())
    if len(pkls) == 1:
        return pkls[0]
    raise ValueError(f"no MNIST-1D pickle in {str(path)!r}: expected {MNIST1D_FILE} in it or in mnist1d/ "
                     f"(or pass the file as data_dir)")


def read_mnist1d(path) -> ArrayDataset:
    """Read MNIST-1D (``mnist1d_data.pkl``: a pickled dict with ``x`` (N, 40) and ``x_test`` (M, 40)
    float signals and their labels ``y``, ``y_test`` in 0-9; ``t`` and ``templates`` are not used).

    ``path``: the pickle, or a folder holding it (:func:`_find_mnist1d`). Only numpy arrays and plain
    containers are unpickled (:class:`_ArrayUnpickler`); the keys, shapes and dtypes are checked
    (ValueError naming the problem). Returns float32 signals of shape (N, 1, L) (one channel, the
    layout of :class:`empirical.models.CNN1d`; ``mlp``/``linear`` flatten them), int64 labels, class
    names ``"0"`` .. ``"9"``. The signals are used as they are (the file's are already about zero-mean,
    unit-variance); no augmentation applies to them. ``meta["origin"]["copy"]`` is ``"original"`` when
    the file's md5 is :data:`MNIST1D_MD5`.
    """
    import hashlib

    file = _find_mnist1d(Path(path).expanduser())
    raw = file.read_bytes()
    try:
        obj = _ArrayUnpickler(io.BytesIO(raw)).load()
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise ValueError(f"{str(file)!r} is not a MNIST-1D pickle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"{str(file)!r} is not a MNIST-1D pickle: expected a dict with keys "
                         f"{list(_MNIST1D_KEYS)}, got {type(obj).__name__}")
    missing = [k for k in _MNIST1D_KEYS if k not in obj]
    if missing:
        raise ValueError(f"{str(file)!r} is not a MNIST-1D pickle: it lacks the keys {missing} (has "
                         f"{sorted(map(str, obj))[:10]}; expected {list(_MNIST1D_KEYS)})")
    arrays = {}
    for split, xk, yk in (("train", "x", "y"), ("test", "x_test", "y_test")):
        x, y = obj[xk], obj[yk]
        if not (isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype.kind == "f" and x.shape[1] >= 1):
            raise ValueError(f"{str(file)!r}: {xk!r} must be a 2-D float array (N, L), got "
                             f"{type(x).__name__} {getattr(x, 'dtype', '')} {getattr(x, 'shape', '')}")
        if not (isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "iu"):
            raise ValueError(f"{str(file)!r}: {yk!r} must be a 1-D integer array, got "
                             f"{type(y).__name__} {getattr(y, 'dtype', '')} {getattr(y, 'shape', '')}")
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"{str(file)!r}: {xk!r} has {len(x)} signals and {yk!r} {len(y)} labels "
                             f"(they must be equal and non-zero)")
        if not np.isfinite(x).all():
            raise ValueError(f"{str(file)!r}: {xk!r} holds non-finite values")
        if y.min() < 0 or y.max() > 9:
            raise ValueError(f"{str(file)!r}: {yk!r} holds labels outside 0-9 "
                             f"({int(y.min())}..{int(y.max())})")
        arrays[split] = (np.ascontiguousarray(x, dtype=np.float32)[:, None, :], y.astype(np.int64))
    if arrays["train"][0].shape[2] != arrays["test"][0].shape[2]:
        raise ValueError(f"{str(file)!r}: train and test signals differ in length "
                         f"({arrays['train'][0].shape[2]} and {arrays['test'][0].shape[2]})")
    ok = hashlib.md5(raw).hexdigest() == MNIST1D_MD5
    origin = {"copy": "original" if ok else "unverified", "checked": "MNIST-1D pickle (greydanus/mnist1d)",
              "checksum": "md5", "files_checked": 1}
    if not ok:
        origin["files_differing"] = [file.name]
    (x_tr, y_tr), (x_te, y_te) = arrays["train"], arrays["test"]
    return ArrayDataset("mnist1d", x_tr, y_tr, x_te, y_te, [str(k) for k in range(10)],
                        source=f"mnist1d:{file}", meta={"origin": origin})


# ----------------------------------------------------------------------------- Fashion-MNIST (IDX)
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                         "Bag", "Ankle boot")
#: The four official IDX files of Fashion-MNIST: (images, labels) of train, then of test.
FASHION_MNIST_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                       "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
#: md5 of each official ``.gz`` file, as published by torchvision's ``FashionMNIST``.
FASHION_MNIST_MD5 = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                     "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                     "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                     "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
#: IDX magic numbers of unsigned-byte data: 0x0803 (3-D: images), 0x0801 (1-D: labels).
IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC = 2051, 2049


def _find_idx_files(path: Path) -> dict[str, Path]:
    """Each of the four Fashion-MNIST ``.gz`` files in ``path``, in ``path/fashion-mnist``, or, for a
    ``path`` that is one of them, beside it."""
    names = [n for pair in FASHION_MNIST_FILES.values() for n in pair]
    cands = (path.parent,) if path.is_file() else (path, path / "fashion-mnist")
    for cand in cands:
        if all((cand / n).is_file() for n in names):
            return {n: cand / n for n in names}
    where = cands[0]
    missing = [n for n in names if not (where / n).is_file()]
    raise ValueError(f"no Fashion-MNIST IDX files in {str(where)!r}: it lacks {missing} (expected the four "
                     f"official files {names})")


def read_idx(raw: bytes, magic: int, what: str) -> np.ndarray:
    """Parse one gzip-compressed IDX file (``raw``: the ``.gz`` bytes) of unsigned bytes: a big-endian
    header (``magic``, then one uint32 per dimension), then the data. Returns a uint8 array of the
    header's shape; ValueError naming ``what`` for a bad gzip stream, another magic number, or a file
    whose size is not that of its header.

    >>> import gzip
    >>> read_idx(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])), 2049, "labels")
    array([7, 8, 9], dtype=uint8)
    """
    import gzip
    import zlib

    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{what}: not a readable gzip file ({type(exc).__name__}: {exc})") from exc
    if len(data) < 4:
        raise ValueError(f"{what}: {len(data)} bytes is too short for an IDX header")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ValueError(f"{what}: IDX magic number {found}, expected {magic} "
                         f"({'images' if magic == IDX_IMAGES_MAGIC else 'labels'}, unsigned bytes)")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{what}: truncated IDX header ({len(data)} of {header} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(dims, dtype=np.int64))
    held = len(data) - header
    if held != size:
        raise ValueError(f"{what}: the header says {dims} ({size} bytes of data) but the file holds {held}: "
                         f"{'truncated' if held < size else 'trailing bytes'}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()  # writable, for torch


def _uint8_stats(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Exact per-channel mean and std of all of uint8 (N, C, H, W) images on the [0, 1] scale (from a
    histogram of the byte values: no float copy of the images)."""
    v = np.arange(256, dtype=np.float64) / 255.0
    means, stds = [], []
    for c in range(x.shape[1]):
        counts = np.bincount(np.ascontiguousarray(x[:, c]).ravel(), minlength=256).astype(np.float64)
        n = counts.sum()
        m = float(counts @ v / n)
        means.append(m)
        stds.append(max(float(np.sqrt(max(counts @ (v * v) / n - m * m, 0.0))), 1e-3))
    return tuple(means), tuple(stds)


def read_fashion_mnist(path) -> ArrayDataset:
    """Read Fashion-MNIST from its four official IDX ``.gz`` files (numpy and gzip only): uint8 images
    (N, 1, 28, 28), int64 labels, the ten class names (:data:`FASHION_MNIST_CLASSES`), per-channel
    mean/std of the training images. ``path``: the folder of the four files, its parent (holding
    ``fashion-mnist/``) or one of the files. ``meta["origin"]["copy"]`` is ``"original"`` when every
    file's md5 is the published one (:data:`FASHION_MNIST_MD5`).
    """
    path = Path(path).expanduser()
    files = _find_idx_files(path)
    blobs = {n: f.read_bytes() for n, f in files.items()}
    parts = {}
    for split, (img_name, lab_name) in FASHION_MNIST_FILES.items():
        x = read_idx(blobs[img_name], IDX_IMAGES_MAGIC, str(files[img_name]))
        y = read_idx(blobs[lab_name], IDX_LABELS_MAGIC, str(files[lab_name]))
        if len(x) != len(y):
            raise ValueError(f"{str(files[img_name])!r} holds {len(x)} images but {str(files[lab_name])!r} "
                             f"{len(y)} labels")
        if y.size and y.max() > 9:
            raise ValueError(f"{str(files[lab_name])!r}: label {int(y.max())} outside 0-9")
        parts[split] = (np.ascontiguousarray(x[:, None]), y.astype(np.int64))
    (x_tr, y_tr), (x_te, y_te) = parts["train"], parts["test"]
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise ValueError(f"Fashion-MNIST train and test images differ in size ({x_tr.shape[2:]} and "
                         f"{x_te.shape[2:]})")
    if len(x_tr) == 0:
        raise ValueError(f"{str(files[FASHION_MNIST_FILES['train'][0]])!r} holds no images")
    origin = _checksum_origin(blobs, FASHION_MNIST_MD5, "md5", "Fashion-MNIST IDX files")
    mean, std = _uint8_stats(x_tr)
    folder = files[FASHION_MNIST_FILES["train"][0]].parent
    return ArrayDataset("fashion-mnist", x_tr, y_tr, x_te, y_te, list(FASHION_MNIST_CLASSES), mean, std,
                        source=f"idx:{folder}", meta={"origin": origin})


# ----------------------------------------------------------------------------- synthetic
def gaussian_parameters(num_classes: int = 4, dim: int = 8, separation: float = 3.0, std_ratio: float = 2.0):
    r"""Means on scaled coordinate axes, :math:`\mu_k=s\,e_k` (:math:`K\le p`), and isotropic
    standard deviations rising geometrically from 1 to ``std_ratio``: class 0 is the easiest."""
    if not (isinstance(num_classes, int) and 2 <= num_classes <= dim):
        raise ValueError(f"num_classes must be an int in [2, dim={dim}], got {num_classes!r}")
    means = np.zeros((num_classes, dim))
    means[np.arange(num_classes), np.arange(num_classes)] = separation
    stds = std_ratio ** (np.arange(num_classes) / max(num_classes - 1, 1))
    return means, stds


def gaussian_options(**given) -> dict:
    """The ``synthetic`` options of ``--dataset gaussian`` from the values given (None = not given):
    validated, and without the keys equal to :data:`GAUSSIAN_DEFAULTS`, so that spelling a default out
    names the same run as leaving it out. ValueError/TypeError naming the option."""
    unknown = sorted(set(given) - set(GAUSSIAN_DEFAULTS))
    if unknown:
        raise TypeError(f"unknown gaussian option(s) {unknown}; known: {sorted(GAUSSIAN_DEFAULTS)}")
    out = {}
    for key, value in given.items():
        if value is None:
            continue
        default = GAUSSIAN_DEFAULTS[key]
        if isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{key} must be an int, got {value!r}")
            # the test half is split into validation and test halves: 4 per class keeps 2 in each
            low = {"n_train_per_class": 2, "n_test_per_class": 4, "num_classes": 2, "dim": 1}[key]
            if value < low:
                raise ValueError(f"{key} must be >= {low}, got {value!r}")
            value = int(value)
        else:
            value = float(value)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{key} must be a finite number > 0, got {given[key]!r}")
        if value != default:
            out[key] = value
    k = out.get("num_classes", GAUSSIAN_DEFAULTS["num_classes"])
    p = out.get("dim", GAUSSIAN_DEFAULTS["dim"])
    if k > p:
        raise ValueError(f"num_classes ({k}) must be <= dim ({p}): the class means sit on coordinate axes")
    return out


def gaussian_mixture(num_classes: int = 4, dim: int = 8, separation: float = 3.0, std_ratio: float = 2.0,
                     **sizes):
    r"""The population the synthetic dataset is drawn from: a
    :class:`~gaussian_theory.mixture.GaussianMixture` with the means and spreads of
    :func:`gaussian_parameters` and uniform priors (the classes are drawn in equal numbers). ``sizes``
    (``n_train_per_class``, ``n_test_per_class``) are accepted and ignored, so a run's ``synthetic`` dict
    can be passed as it is."""
    from gaussian_theory.mixture import GaussianMixture

    unknown = sorted(set(sizes) - {"n_train_per_class", "n_test_per_class", "seed"})
    if unknown:
        raise TypeError(f"unknown gaussian option(s) {unknown}")
    means, stds = gaussian_parameters(num_classes, dim, separation, std_ratio)
    return GaussianMixture(means=means, stds=stds, priors=np.full(num_classes, 1.0 / num_classes))


def _sample_mixture(gm, n_per_class: int, rng: np.random.Generator):
    """``n_per_class`` draws of each class from gaussian_theory's mixture sampler."""
    x, y = gm.sample(n_per_class * len(gm.priors), rng, class_counts="exact")
    return np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)


def make_gaussian_dataset(n_train_per_class: int = 200, n_test_per_class: int = 200, num_classes: int = 4,
                          dim: int = 8, separation: float = 3.0, std_ratio: float = 2.0,
                          seed: int = 0) -> ArrayDataset:
    r"""Synthetic isotropic Gaussian mixture :math:`x\mid y=k\sim\mathcal N(\mu_k,\sigma_k^2I_p)` with
    equal class sizes (see :func:`gaussian_parameters`); float32 features, not images."""
    gm = gaussian_mixture(num_classes, dim, separation, std_ratio)
    means, stds = gm.means, gm.stds
    rng = np.random.default_rng(seed)
    x_tr, y_tr = _sample_mixture(gm, n_train_per_class, rng)
    x_te, y_te = _sample_mixture(gm, n_test_per_class, rng)
    return ArrayDataset("gaussian", x_tr, y_tr, x_te, y_te, [f"class{k}" for k in range(num_classes)],
                        source="synthetic:gaussian_theory.mixture",
                        meta={"means": means.tolist(), "stds": stds.tolist(), "seed": seed})
