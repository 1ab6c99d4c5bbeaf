"""Image files: decoding (Pillow), the asked-for image size, and the image-folder layout.

:func:`read_image_folder` reads ``train/<class>/*`` with held-out images in ``test/<class>/*``,
``val/<class>/*`` or both (any Pillow-readable images), optionally resizing every image to one size
(:func:`check_image_size`, ``droplab empirical run --image-size H W``). The decoders here also serve
the CIFAR-10 JPEG copy (:func:`empirical.cifar_readers.read_cifar10_jpeg`).

Notes
-----
The held-out split follows the paper (§2.5): with ``test/`` only, the first half of each class of
``test/`` is validation and the rest the reported test set (:func:`empirical.data.validation_split`);
with ``val/`` only, ``val/`` is split likewise; with both, ``val/`` is the validation set
(:attr:`~empirical.dataset.ArrayDataset.x_val`) and all of ``test/`` the test set.

References
----------
docs/empirical.md (the ``--dataset`` / ``--data-dir`` table); docs/own-data.md ("Your own data").
"""

from __future__ import annotations

import io
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset

__all__ = ["read_image_folder", "check_image_size", "IMAGE_FOLDER_SPLITS", "MAX_IMAGE_SIDE"]

_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".webp", ".tif", ".tiff")


def _decode(raw: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    """One image as uint8 (H, W, 3); resized to ``size`` = (H, W) (bilinear) when given and different."""
    return _decode_sized(raw, size)[0]


def _decode_sized(raw: bytes, size: tuple[int, int] | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """``(image, (H, W) as stored)``: :func:`_decode` and the size the file held before any resize."""
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as im:
        im = im.convert("RGB")
        stored = (im.height, im.width)
        if size is not None and stored != tuple(size):
            im = im.resize((int(size[1]), int(size[0])), getattr(Image, "Resampling", Image).BILINEAR)
        return np.asarray(im), stored


def _decode_all(blobs: list[bytes], what: str, size: tuple[int, int] | None = None,
                stored: Counter | None = None) -> np.ndarray:
    """Decode images (Pillow releases the GIL, so two threads help) into uint8 (N, 3, H, W).

    ``size`` = (H, W): resize every image of another size to it (bilinear); ``stored``: a Counter that
    receives the (H, W) of each image as stored, before any resize."""
    try:
        import PIL  # noqa: F401
    except ImportError as exc:  # pragma: no cover - pillow is in the empirical extra
        raise ValueError("reading image files needs Pillow: pip install pillow") from exc
    with ThreadPoolExecutor(max_workers=2) as pool:
        pairs = list(pool.map(lambda raw: _decode_sized(raw, size), blobs, chunksize=256))
    if stored is not None:
        stored.update(s for _, s in pairs)
    imgs = [im for im, _ in pairs]
    if not imgs:
        h, w = size if size is not None else (32, 32)
        return np.zeros((0, 3, h, w), dtype=np.uint8)
    shapes = {im.shape for im in imgs}
    if len(shapes) != 1:
        raise ValueError(f"{what}: images differ in size {sorted(shapes)[:4]} (height, width, channels); "
                         "resize them to one size first, or let the reader resize them (image_size=(H, W), "
                         "droplab empirical run --image-size H W)")
    return np.ascontiguousarray(np.stack(imgs).transpose(0, 3, 1, 2))


def _unreadable_image(files, exc: Exception) -> str:
    """A one-line message naming the first of ``files`` that cannot be read or decoded (called after a
    batch decode failed with ``exc``)."""
    import re

    for f in files:
        try:
            _decode(f.read_bytes())
        except Exception as e:  # noqa: BLE001 - any read or decode error marks the culprit
            exc, culprit = e, f
            break
    else:
        culprit = "one of the files"
    why = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(exc))
    return f"cannot read the image {str(culprit)!r}: {type(exc).__name__}: {why}"


#: Largest side :func:`read_image_folder` resizes to (a guard against a typo such as 3200 for 32).
MAX_IMAGE_SIDE = 4096


def check_image_size(image_size, name: str = "image_size") -> tuple[int, int] | None:
    """``image_size`` as ``(H, W)``: None stays None, one positive integer ``n`` means ``(n, n)``, two mean
    ``(H, W)``; each side in [1, :data:`MAX_IMAGE_SIDE`].

    Parameters
    ----------
    image_size : int or sequence of int, optional
        The size asked for: one side (a square) or (height, width); None for no resize.
    name : str
        How the error messages name it (e.g. ``"image_size (--image-size)"``).

    Returns
    -------
    tuple of (int, int) or None
        ``(height, width)``.

    Raises
    ------
    TypeError
        For anything but one or two integers (booleans included), naming ``name`` and the value.
    ValueError
        For a side outside [1, :data:`MAX_IMAGE_SIDE`].

    Examples
    --------
    >>> check_image_size(32), check_image_size([28, 32]), check_image_size(None)
    ((32, 32), (28, 32), None)
    """
    if image_size is None:
        return None
    vals = [image_size] if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool) \
        else image_size
    if isinstance(vals, (str, bytes)) or not hasattr(vals, "__len__"):
        raise TypeError(f"{name} must be an int or (height, width), got {image_size!r}")
    vals = list(vals)
    if len(vals) not in (1, 2) or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer))
                                      for v in vals):
        raise TypeError(f"{name} must be one or two integers (height, width), got {image_size!r}")
    if any(not 1 <= v <= MAX_IMAGE_SIDE for v in vals):
        raise ValueError(f"{name} must hold sides in [1, {MAX_IMAGE_SIDE}] pixels, got {image_size!r}")
    h, w = (vals * 2)[:2]
    return int(h), int(w)


#: The held-out folders of an image folder, in the order they are looked for.
IMAGE_FOLDER_SPLITS = ("val", "test")


def _image_folder_splits(path: Path) -> tuple[str, ...]:
    """The folders of an image-folder layout that hold images: ``train`` and whichever of ``val`` and
    ``test`` exist (at least one); ValueError naming the folder otherwise."""
    if not (path / "train").is_dir():
        raise ValueError(f"image-folder layout needs {str(path / 'train')!r}/<class>/ (and test/<class>/ "
                         "or val/<class>/), but there is no train/ folder")
    held = tuple(s for s in IMAGE_FOLDER_SPLITS if (path / s).is_dir())
    if not held:
        raise ValueError(f"image folder {str(path)!r} has train/ but no held-out folder: add test/<class>/ "
                         "(its first half of each class is validation, the rest the test set), val/<class>/ "
                         "(split likewise), or both (val/ is validation, test/ the test set)")
    return ("train",) + held


def read_image_folder(path, class_names=None, image_size=None) -> ArrayDataset:
    """Read an image folder: ``train/<class>/*`` and held-out images in ``test/<class>/*``, ``val/<class>/*``
    or both (any Pillow-readable images). Files within a class are read in sorted name order.

    Parameters
    ----------
    path : str or Path
        The folder holding ``train/`` and ``test/`` and/or ``val/``.
    class_names : list of str, optional
        Class ids follow this order when it names exactly the folders of ``train/`` (e.g. the CIFAR-10
        order); else sorted folder names.
    image_size : int or (int, int), optional
        Resize every image whose size differs to ``(H, W)`` (one integer: a square), bilinear. Without
        it the images must all have one size.

    Returns
    -------
    ArrayDataset
        uint8 (N, 3, H, W) images. The held-out folders:

        * ``val/`` and ``test/``: ``val/`` is the validation set
          (:attr:`~empirical.dataset.ArrayDataset.x_val`) and all of ``test/`` the test set;
        * ``test/`` only: the first half of each class of ``test/`` is validation, the rest the test set
          (:func:`~empirical.data.validation_split`, the paper's protocol);
        * ``val/`` only: ``val/`` is split in the same way (it is the only held-out data).

        ``meta["split"]`` says in words which of these applied and ``meta["resize"]`` what was resized
        (``{"to": [H, W], "resized": n, "of": N, "stored_sizes": {"HxW": count}}``), or None.

    Raises
    ------
    ValueError
        For a layout without ``train/`` or without a held-out folder, and for a class with no images in
        any folder read (an empty or missing class folder: every such folder is named, before any
        decoding); for images of several sizes without ``image_size``, or an unreadable image (named).
    """
    path = Path(path)
    size = check_image_size(image_size)
    splits = _image_folder_splits(path)
    found = sorted(p.name for p in (path / "train").iterdir() if p.is_dir())
    if class_names is None or set(found) != set(class_names):
        class_names = found
    if not class_names:
        raise ValueError(f"no class folders in {str(path / 'train')!r}")
    ids = {c: i for i, c in enumerate(class_names)}
    listed, empty = {}, []
    for split in splits:  # list every split first: an empty class is named before any decoding
        files, labels = [], []
        for c in class_names:
            d = path / split / c
            fs = sorted(p for p in d.iterdir() if p.suffix.lower() in _IMAGE_EXT) if d.is_dir() else []
            if not fs:
                empty.append(f"{split}/{c} ({'no images' if d.is_dir() else 'missing'})")
            files += fs
            labels += [ids[c]] * len(fs)
        if not files:
            raise ValueError(f"no images under {str(path / split)!r}")
        listed[split] = (files, labels)
    if empty:
        shown = ", ".join(empty[:20]) + (f" and {len(empty) - 20} more" if len(empty) > 20 else "")
        raise ValueError(f"image folder {str(path)!r}: empty class folder(s) {shown}; every class needs "
                         "training and held-out images (a class with none would train on nothing, or have "
                         "no validation or test recall): add its images or remove the class folder")
    parts, stored = {}, Counter()
    for split, (files, labels) in listed.items():
        try:
            x = _decode_all([f.read_bytes() for f in files], f"{path}/{split}", size, stored)
        except (OSError, ValueError, SyntaxError) as exc:  # PIL.UnidentifiedImageError is an OSError
            if isinstance(exc, ValueError) and str(exc).startswith((f"{path}/{split}:", "reading image")):
                raise  # _decode_all's own messages (sizes differ, no Pillow) already say what is wrong
            raise ValueError(_unreadable_image(files, exc)) from exc
        parts[split] = (x, np.array(labels))
    shapes = {s: parts[s][0].shape[2:] for s in parts}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"image folder {str(path)!r}: the folders' images differ in size "
                         f"{ {s: tuple(v) for s, v in shapes.items()} } (height, width); resize them to one "
                         "size, or let the reader resize them (image_size=(H, W), droplab empirical run "
                         "--image-size H W)")
    (x_tr, y_tr), (x_te, y_te) = parts["train"], parts.get("test", parts.get("val"))
    x_val = y_val = None
    if "test" in parts and "val" in parts:
        x_val, y_val = parts["val"]
        split_note = ("validation: val/ (all of it); test: test/ (all of it)")
    elif "test" in parts:
        split_note = ("validation: the first half of each class of test/ (no val/ folder); test: the rest "
                      "of test/")
    else:
        split_note = ("validation: the first half of each class of val/ (no test/ folder); test: the rest "
                      "of val/")
    n = sum(stored.values())
    resize = None
    if size is not None:
        changed = sum(c for s, c in stored.items() if s != size)
        resize = {"to": list(size), "resized": int(changed), "of": int(n), "resample": "bilinear",
                  "stored_sizes": {f"{h}x{w}": int(c) for (h, w), c in sorted(stored.items())}}
    return ArrayDataset("imagefolder", x_tr, y_tr, x_te, y_te, list(class_names),
                        source=f"imagefolder:{path}",
                        meta={"origin": {"copy": "unverified", "checked": "image folder"},
                              "split": split_note, "resize": resize},
                        x_val=x_val, y_val=y_val)
