"""Issue 34, the pipeline's and the report's share: an image folder with an empty class (3), its ``val/``
folder, a missing ``test/`` and resizing (7), no class deleted by default (11), the surrogate the report
names (12), ``droplab surrogate``'s columns and warning (13), a batch larger than the data and one
density in the accuracy figure (17), and the accuracy figure's colours, legend and seeds (21).

Tiny PNG folders and synthetic runs only."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from empirical import data, image_folder
from empirical.dataset import ArrayDataset
from empirical.report import make_report
from empirical.report_runs import configuration
from empirical.report_tables import format_summary
from gaussian_theory.cli import main

REPO = Path(__file__).resolve().parents[1]


def _png_folder(root, spec, size=(4, 4)):
    """``spec``: {split: {class: n images}} (sizes: one (H, W), or {(split, class): (H, W)})."""
    from PIL import Image

    for split, classes in spec.items():
        for c, n in classes.items():
            d = root / split / c
            d.mkdir(parents=True, exist_ok=True)
            h, w = size.get((split, c), (4, 4)) if isinstance(size, dict) else size
            for i in range(n):
                Image.fromarray(np.full((h, w, 3), 10 * i + len(c), np.uint8)).save(d / f"{i:03d}.png")
    return root


# ----------------------------------------------------------------------------- 3: an empty class
def test_a_class_without_training_samples_is_refused_before_any_run(tmp_path):
    """Whatever reader gave the data (here arrays in memory), a class with no training sample is a
    ValueError naming it and the data, before any training (it trained before, ``class_sizes [0, 40, 40]``
    and numpy's divide warning)."""
    pytest.importorskip("torch")
    from empirical.pipeline import RunConfig, run_one
    from empirical.stage_data import bind_data

    y = np.repeat([1, 2], 40)
    ds = ArrayDataset("imagefolder", np.zeros((80, 3, 4, 4), np.uint8), y,
                           np.zeros((12, 3, 4, 4), np.uint8), np.repeat([0, 1, 2], 4), ["cat", "dog", "emu"],
                           source="imagefolder:/my/pngs")
    cfg = RunConfig(dataset="imagefolder", data_dir="/my/pngs", model="linear", quota="uniform", device="cpu")
    with pytest.raises(ValueError, match=r"dataset 'imagefolder' \(imagefolder:/my/pngs\): class\(es\) 0 "
                                         r"\('cat'\) have no training sample \(class sizes \[0, 40, 40\]\)"):
        bind_data(cfg, ds)
    with pytest.raises(ValueError, match="have no training sample"):
        run_one(cfg, 0, tmp_path / "out", dataset=ds, progress=False)
    assert not (tmp_path / "out").exists()


def test_an_empty_val_class_folder_is_named(tmp_path):
    pytest.importorskip("PIL")
    root = _png_folder(tmp_path / "f", {"train": {"a": 2, "b": 2}, "val": {"a": 2, "b": 0}, "test": {"a": 1,
                                                                                                    "b": 1}})
    with pytest.raises(ValueError, match=r"empty class folder\(s\) val/b \(no images\)"):
        image_folder.read_image_folder(root)


# ----------------------------------------------------------------------------- 7: val/, no test/, resize
def test_val_folder_is_the_validation_set_and_test_is_used_whole(tmp_path):
    pytest.importorskip("PIL")
    root = _png_folder(tmp_path / "f", {"train": {"a": 3, "b": 3}, "val": {"a": 2, "b": 1},
                                        "test": {"a": 4, "b": 3}})
    assert data.resolve_source("imagefolder", root)[0] == "imagefolder"
    ds = image_folder.read_image_folder(root)
    assert ds.x_val.shape == (3, 3, 4, 4) and ds.y_val.tolist() == [0, 0, 1]
    assert ds.y_test.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert ds.meta["split"] == "validation: val/ (all of it); test: test/ (all of it)"
    assert ds.meta["resize"] is None
    assert data.describe_data(ds) == [f"data imagefolder:{root}: validation: val/ (all of it); test: test/ "
                                      "(all of it)"]
    # the validation images are part of the data's identity
    other = image_folder.read_image_folder(_png_folder(tmp_path / "g", {"train": {"a": 3, "b": 3},
                                                                "test": {"a": 4, "b": 3}}))
    assert other.x_val is None and other.fingerprint() != ds.fingerprint()
    assert ds.subset(train_idx=[0, 3]).x_val is ds.x_val


def test_without_val_the_test_halves_are_used_and_said(tmp_path):
    pytest.importorskip("PIL")
    root = _png_folder(tmp_path / "f", {"train": {"a": 2, "b": 2}, "test": {"a": 4, "b": 2}})
    ds = image_folder.read_image_folder(root)
    assert ds.x_val is None and ds.meta["split"].startswith("validation: the first half of each class of "
                                                            "test/ (no val/ folder)")
    assert data.validation_split(ds.y_test, 2)[0].tolist() == [0, 1, 4]      # today's behaviour


def test_test_folder_is_not_required_and_a_lone_train_folder_is_named(tmp_path):
    pytest.importorskip("PIL")
    root = _png_folder(tmp_path / "f", {"train": {"a": 2, "b": 2}, "val": {"a": 2, "b": 2}})
    assert data.resolve_source("imagefolder", root)[0] == "imagefolder"
    ds = data.load_dataset("imagefolder", root)
    assert ds.x_val is None and len(ds.y_test) == 4
    assert "the first half of each class of val/ (no test/ folder)" in ds.meta["split"]
    lone = _png_folder(tmp_path / "g", {"train": {"a": 2}})
    for call in (lambda: data.resolve_source("imagefolder", lone),
                 lambda: image_folder.read_image_folder(lone)):
        with pytest.raises(ValueError, match=r"has train/ but no held-out folder: add test/<class>/"):
            call()


def test_images_of_several_sizes_resized_on_request_and_said(tmp_path):
    pytest.importorskip("PIL")
    root = _png_folder(tmp_path / "f", {"train": {"a": 2, "b": 2}, "test": {"a": 2, "b": 2}},
                       size={("train", "a"): (6, 5), ("train", "b"): (4, 4), ("test", "a"): (4, 4),
                             ("test", "b"): (4, 4)})
    with pytest.raises(ValueError, match=r"images differ in size .*--image-size H W"):
        image_folder.read_image_folder(root)
    ds = data.load_dataset("imagefolder", root, image_size=[4, 4])
    assert ds.x_train.shape == (4, 3, 4, 4) and ds.x_test.shape == (4, 3, 4, 4)
    assert ds.meta["resize"] == {"to": [4, 4], "resized": 2, "of": 8, "resample": "bilinear",
                                 "stored_sizes": {"4x4": 6, "6x5": 2}}
    assert data.describe_data(ds)[1] == (f"data imagefolder:{root}: resized 2 of 8 images to 4x4 (height x "
                                         "width, bilinear); stored sizes: 4x4 (6), 6x5 (2)")
    assert data.load_dataset("imagefolder", root, image_size=3).x_train.shape[2:] == (3, 3)


@pytest.mark.parametrize("value, error, match", [
    (0, ValueError, r"sides in \[1, 4096\] pixels, got 0"), (5000, ValueError, "got 5000"),
    ([8, 8, 8], TypeError, "one or two integers"), (True, TypeError, "got True"), ("32", TypeError, "'32'"),
    ([8.5, 8], TypeError, "one or two integers")])
def test_image_size_is_checked(value, error, match):
    with pytest.raises(error, match=match):
        image_folder.check_image_size(value)


def test_image_size_only_for_image_folders(tmp_path):
    pytest.importorskip("torch")
    from empirical.pipeline import RunConfig

    with pytest.raises(ValueError, match=r"image_size \(--image-size\) resizes images, but dataset "
                                         r"'gaussian'"):
        RunConfig(image_size=8).validate()
    with pytest.raises(ValueError, match="fashion-mnist is read from its IDX files"):
        RunConfig(dataset="fashion-mnist", data_dir="x", model="smallcnn-gray",
                  image_size=8).validate(check_data=False)
    assert RunConfig(dataset="imagefolder", data_dir="x", model="linear",
                     image_size=8).validate(check_data=False).image_size == [8, 8]


def test_image_folder_run_records_and_prints_its_split_and_resize(tmp_path, capsys):
    """The command line: --image-size resizes, the run prints what it did and records it; the validation
    set is val/ (its size is n_val), the test set all of test/."""
    pytest.importorskip("torch")
    root = _png_folder(tmp_path / "f", {"train": {"a": 6, "b": 6}, "val": {"a": 3, "b": 3},
                                        "test": {"a": 4, "b": 4}},
                       size={("train", "a"): (6, 6), ("train", "b"): (8, 8), ("val", "a"): (8, 8),
                             ("val", "b"): (8, 8), ("test", "a"): (8, 8), ("test", "b"): (8, 8)})
    out = tmp_path / "out"
    argv = ["empirical", "run", "--dataset", "imagefolder", "--data-dir", str(root), "--model", "linear",
            "--density", "0.5", "--quota", "uniform", "--epochs", "1", "--device", "cpu", "--no-augment",
            "--out", str(out), "--no-progress", "--image-size", "8"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "validation: val/ (all of it); test: test/ (all of it)" in printed
    assert ("resized 6 of 26 images to 8x8 (height x width, bilinear); stored sizes: 6x6 (6), 8x8 (20)"
            in printed)
    (saved,) = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert saved["config"]["image_size"] == [8, 8]
    assert saved["dataset"]["n_val"] == 6 and saved["dataset"]["n_test"] == 8
    assert saved["dataset"]["resize"]["resized"] == 6
    assert saved["dataset"]["split"].startswith("validation: val/")
    assert main(argv[:-2] + ["--image-size", "8", "8", "8"]) == 2
    err = capsys.readouterr().err
    assert "--image-size takes one number (a square) or two (height width), got 8 8 8" in err


def test_image_size_leaves_recorded_run_ids_alone():
    pytest.importorskip("torch")
    from empirical.pipeline import RunConfig

    grid = dict(dataset="cifar10", data_dir="anywhere", model="smallcnn", recipe="fast", epochs=8,
                query_epochs=3, density=0.5, score="random", quota="drop")
    c = RunConfig(**grid)
    assert c.run_id(0) == "cifar10_smallcnn_random_drop-paper_d0.5_fast_s0_ce82a5db"
    assert c.query_id(0) == "cifar10_smallcnn_random_s0_28ad30584c"
    resized = RunConfig(**grid, image_size=[32, 32])
    assert resized.run_id(0) != c.run_id(0) and resized.query_id(0) != c.query_id(0)


# ----------------------------------------------------------------------------- 11: no class deleted
SYN = {"n_train_per_class": 100, "n_test_per_class": 100}


def _gaussian(**kw):
    from empirical.pipeline import RunConfig

    return RunConfig(**{**dict(dataset="gaussian", model="mlp", synthetic=SYN, device="cpu", recipe="fast",
                               epochs=2, query_epochs=4, quota="drop"), **kw})


def test_a_selection_that_deletes_a_class_is_refused_before_the_final_training(tmp_path):
    """The synthetic mixture's easiest class has validation recall 1: DRoP keeps none of it. By default
    that is a ValueError before the final training (naming the class, the counts and both ways out); with
    allow_empty_classes it trains, says so, and has the same run id."""
    pytest.importorskip("torch")
    from empirical.pipeline import run_one

    final_epochs = []
    hooks = {"final_epoch_end": lambda e, row: final_epochs.append(e)}
    # the DRoP counts warn (class 0 keeps fewer than 5) before the selection is refused or trained
    few = r"keep fewer than 5 samples \(class 0: 0 of 100\)"
    refused = (r"keeps no sample of class\(es\) 0 \('class0', 100 samples\) \(kept per class \[0, "
               r".*min_per_class \(--min-per-class\).*allow_empty_classes=True \(--allow-empty-classes\)")
    with pytest.warns(UserWarning, match=few), pytest.raises(ValueError, match=refused):
        run_one(_gaussian(), 0, tmp_path, progress=False, hooks=hooks)
    assert final_epochs == [] and not list(tmp_path.glob("*.json"))
    allowed = _gaussian(allow_empty_classes=True)
    assert allowed.run_id(0) == _gaussian().run_id(0) and allowed.query_id(0) == _gaussian().query_id(0)
    with pytest.warns(UserWarning, match=r"keeps no sample of class\(es\) 0 .*training without them"), \
            pytest.warns(UserWarning, match=few):
        r = run_one(allowed, 0, tmp_path, progress=False)
    assert r["selection"]["class_counts"][0] == 0 and r["query"]["cached"]   # the query model was reused
    assert (tmp_path / f"{_gaussian().run_id(0)}.json").is_file()
    # a floor keeps every class without the permission
    floored = run_one(_gaussian(min_per_class=10), 0, tmp_path, progress=False)
    assert min(floored["selection"]["class_counts"]) >= 10
    with pytest.raises(TypeError, match=r"allow_empty_classes \(--allow-empty-classes\) must be True or "
                                        r"False, got 'yes'"):
        _gaussian(allow_empty_classes="yes").validate()


def test_the_command_line_refuses_and_allows(tmp_path, capsys):
    """Explicit counts with a 0 (what a file from elsewhere may hold) are refused like any other
    selection that deletes a class, and trained with --allow-empty-classes."""
    pytest.importorskip("torch")
    (tmp_path / "alloc.json").write_text('{"counts": [200, 100, 0, 100]}')
    out = tmp_path / "out"
    argv = ["empirical", "run", "--dataset", "gaussian", "--model", "linear", "--density", "0.5", "--quota",
            "counts", "--counts", str(tmp_path / "alloc.json"), "--epochs", "1", "--device", "cpu", "--out",
            str(out), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("droplab: error: ") and "keeps no sample of class(es) 2 ('class2', 200 samples)" \
        in err and "--allow-empty-classes" in err and "Traceback" not in err
    assert not list(out.glob("*.json"))
    assert main(argv + ["--allow-empty-classes"]) == 0
    assert "keeps no sample of class(es) 2" in capsys.readouterr().err
    (saved,) = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert saved["selection"]["class_counts"] == [200, 100, 0, 100]
    assert saved["config"]["allow_empty_classes"] is True


def test_recorded_starved_runs_keep_their_ids_when_allowed():
    """The MNIST-1D study's committed runs whose DRoP selection kept no sample of a class: rerun with the
    permission, each has the run id it was recorded under; the report groups the permission away."""
    pytest.importorskip("torch")
    from empirical.pipeline import RunConfig

    files = sorted((REPO / "results" / "mnist1d-cnn1d").glob("*drop-paper_d0.3_fast_s*_db8736c9.json"))
    if not files:
        pytest.skip("results/mnist1d-cnn1d absent")
    starved = 0
    for f in files[:5]:
        r = json.loads(f.read_text())
        starved += 0 in r["selection"]["class_counts"]
        c = RunConfig(**{**r["config"], "allow_empty_classes": True})
        assert c.run_id(r["seed"]) == r["run_id"]
        assert configuration(c.to_dict()) == configuration(r["config"])
    assert starved


# ----------------------------------------------------------------------------- 12: the surrogate named
def test_report_names_the_surrogate_the_runs_recorded(tmp_path):
    from test_empirical_report import fake_run, write

    for seed in (0, 1):
        for quota in ("none", "drop"):
            write(tmp_path / "res", fake_run("random", quota, 0.5, seed, surrogate="tied"))
    rep = make_report([tmp_path / "res"], tmp_path / "rep", plots=False, n_boot=200)
    text = format_summary(rep)
    assert "surrogate=tied" in text and "isotropic" not in text
    write(tmp_path / "res", fake_run("random", "none", 0.3, 0, surrogate="isotropic"))
    text = format_summary(make_report([tmp_path / "res"], tmp_path / "rep", plots=False, n_boot=200))
    assert "surrogate=tied (4 runs) / isotropic (1 run)" in text
    assert "allow_empty_classes" in text.splitlines()[0]      # never a configuration field


# ----------------------------------------------------------------------------- 13: droplab surrogate
# The command prints the library's warnings as "droplab: warning: ..." lines (asserted on stderr here);
# under the pyproject "error" filter the warning would escape main() as an exception instead.
@pytest.mark.filterwarnings("always::UserWarning")
def test_surrogate_says_where_drop_comes_from_and_warns_in_its_own_words(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [12, 40, 40])
    x = rng.standard_normal((y.size, 3)) * 0.3 + 3 * np.eye(3)[y]
    np.save(tmp_path / "F.npy", x)
    np.save(tmp_path / "L.npy", y)
    assert main(["surrogate", "--features", str(tmp_path / "F.npy"), "--labels", str(tmp_path / "L.npy"),
                 "--density", "0.3", "--n-mc", "2000", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "DRoP d (pred.)" in out
    assert "from the surrogate's predicted recalls above, not from measured ones" in out
    assert "min_count" not in err and "droplab surrogate sets no per-class minimum" in err
    assert "--min-per-class N" in err and "class 0: 4 of 12" in err
    assert not re.search(r"\d\.\d+ of \d", err)                 # whole samples, not 3.6 of 12


# ----------------------------------------------------------------------------- 17: batch and one density
def test_a_batch_larger_than_the_kept_data_is_said(tmp_path):
    pytest.importorskip("torch")
    from empirical.pipeline import run_one

    tiny = {"n_train_per_class": 10, "n_test_per_class": 10}
    c = _gaussian(synthetic=tiny, quota="uniform", epochs=2)             # 20 kept, batch 64
    with pytest.warns(UserWarning, match=r"final training: the batch size 64 is at least the 20 training "
                                         r"samples, so each epoch is a single optimiser step \(2 steps in "
                                         r"all\); pass a smaller batch_size \(--batch-size\)"):
        run_one(c, 0, tmp_path, progress=False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_one(_gaussian(synthetic=tiny, quota="uniform", epochs=2, batch_size=8), 0, tmp_path,
                progress=False)


def _summary_rows(methods_seeds, densities=(0.3, 0.5)):
    rows = []
    for d in densities:
        for i, (m, n) in enumerate(methods_seeds.items()):
            v = 0.5 + 0.01 * i + d / 10
            rows.append({"study": "S1", "density": d, "method": m, "n_seeds": n,
                         "seeds": " ".join(map(str, range(n))), "n_pairs": 0 if m == "Random" else n,
                         **{f"{k}_{s}": v for k in ("accuracy", "worst_class")
                            for s in ("mean", "min", "max")},
                         **{f"paired_worst_class_diff_{s}": 0.01 * i for s in ("mean", "min", "max")}})
    return rows


def test_one_density_is_drawn_per_method(tmp_path):
    from empirical.report_figures_accuracy import accuracy_caption, accuracy_figure

    study = {"label": "own/linear/fast", "seeds": [0, 1, 2]}
    rows = _summary_rows({"Random": 3, "Random+DRoP": 3, "Random+Probit": 3}, densities=(0.3,))
    fig = accuracy_figure(rows, study)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["Random (n = 3)", "Random+DRoP (n = 3)", "Random+Probit (n = 3)"]
    assert "one density, d = 0.3: per method" in fig._suptitle.get_text()
    assert {t.get_text() for t in fig.axes[0].texts} == {"0.530", "0.540", "0.550"}   # the means, written
    caption = accuracy_caption(rows, study)
    assert ("per method at d = 0.3, the one density of own/linear/fast (so no curve against density)"
            in caption)
    # several densities: the curves against density, as before
    many = accuracy_figure(_summary_rows({"Random": 3, "Random+DRoP": 3}), study)
    assert many.axes[0].get_xlabel() == "dataset density d"


# ----------------------------------------------------------------------------- 21: colours, legend, seeds
def test_sixteen_methods_get_sixteen_styles_and_one_legend_outside():
    from empirical.report_figures_accuracy import accuracy_figure, method_styles

    methods = [f"M{i}" for i in range(16)]
    styles = method_styles(methods)
    assert len(set(styles.values())) == 16 and len({c for c, _ in styles.values()}) == 16
    assert len(set(method_styles([f"M{i}" for i in range(45)]).values())) == 45
    assert set(method_styles(["a", "b"]).values()) == {("C0", "o"), ("C1", "o")}   # the old look up to ten
    seeds = {"Random": 8, **{m: 3 for m in methods[1:]}}
    fig = accuracy_figure(_summary_rows(seeds), {"label": "x", "seeds": list(range(8))})
    assert all(ax.get_legend() is None for ax in fig.axes)              # nothing drawn over the points
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[0] == "Random (n = 8)" and labels[1] == "M1 (n = 3)" and len(labels) == 16
    title = fig._suptitle.get_text()
    assert "mean over each cell's seeds (3–8 per cell, n per method in the legend)" in title
    assert "seeds (0, 1, 2, 3, 4, 5, 6, 7)" not in title
    same = accuracy_figure(_summary_rows({"Random": 3, "Random+DRoP": 3}), {"label": "x", "seeds": [0, 1, 2]})
    assert "mean over seeds (0, 1, 2)" in same._suptitle.get_text()
