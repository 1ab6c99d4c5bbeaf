"""Issue 34, a new user's trial on MNIST-1D and a tiny image folder: each reported failure, fixed.

Broken: ``predict --query`` ignored for the runs' query logits (1), intervals not containing their point
(2), an image folder with an empty class trained anyway (3). Tracebacks, silent answers and endless
work on the command line (4, 5); library inputs accepted that mean nothing (6, 7); explicit class
densities silently trained at another budget (8). Tiny synthetic runs only: nothing trains here.
"""

import json
import zipfile

import numpy as np
import pytest
from scipy.special import expit, logit

from gaussian_theory import GaussianMixture
from gaussian_theory.allocation import counts_from_densities, drop_counts, uniform_counts
from gaussian_theory.cli import main
from gaussian_theory.cli.allocate import read_class_table
from gaussian_theory.learned_recalls import (
    MAX_N_BOOT,
    MAX_STAIRCASES,
    fit_recall_model,
    imbalance_recalls,
    pilot_design,
)
from gaussian_theory.pilot_runs import PilotRun, QueryLogits, read_pilot_runs, read_query_logits

# a tiny image folder's runs: 3 classes of 40 training images, 10 validation images per class
K, M, N = 3, 10, 40
SIZES = [N] * K
ALLOCS = [[10, 10, 10], [20, 20, 20], [5, 20, 20], [20, 5, 20]]
RECALLS = [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.9, 1.0, 1.0], [1.0, 0.9, 1.0]]


def _logits(seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(K), M)
    return np.diag([3.0, 3.0, 3.0])[y] + 0.5 * rng.standard_normal((y.size, K)), y


def _write_runs(root, *, seed=0):
    """Four finished random-pruning run JSONs of one seed under ``root`` (no query_logits/ folder)."""
    root.mkdir(parents=True, exist_ok=True)
    _, y = _logits()
    cfg = {"dataset": "imagefolder", "model": "smallcnn", "recipe": "fast", "epochs": 2, "score": "random",
           "quota": "counts"}
    for i, (counts, rec) in enumerate(zip(ALLOCS, RECALLS)):
        (root / f"run{i}.json").write_text(json.dumps({
            "status": "done", "seed": seed, "method": "Random+Pilot", "config": cfg,
            "dataset": {"class_sizes": SIZES}, "selection": {"class_counts": counts},
            "final": {"val": {"recalls": rec, "labels": y.tolist()}}}))
    return root


@pytest.fixture
def runs_elsewhere(tmp_path):
    """Runs under tmp/runs and their query logits in an unrelated folder, tmp/logits/q.npz."""
    runs = _write_runs(tmp_path / "runs")
    (tmp_path / "logits").mkdir()
    z, y = _logits()
    np.savez(tmp_path / "logits" / "q.npz", val_logits=z, val_labels=y)
    return runs, tmp_path / "logits" / "q.npz"


@pytest.fixture
def few_boot(monkeypatch):
    """``allocate --runs`` fits with 100 bootstrap refits (no option): 5 here, to keep the tests quick."""
    import gaussian_theory.learned_recalls as lr

    fit = lr.fit_recall_model
    monkeypatch.setattr(lr, "fit_recall_model", lambda runs, query=None, **kw: fit(runs, query, **{
        **kw, "n_boot": 5}))


def _pilots():
    z, y = _logits()
    q = QueryLogits(z, y, SIZES, name="q.npz")
    return q, [PilotRun(c, r, [M] * K, q, seed=0) for c, r in zip(ALLOCS, RECALLS)]


# ----------------------------------------------------------------------------- 1: --query replaces the lookup
def test_predict_query_file_is_used_instead_of_the_lookup(runs_elsewhere, capsys):
    runs, qfile = runs_elsewhere
    # without --query: no query logits beside the runs, as reported
    assert main(["predict", "--runs", str(runs), "--counts", "20", "20", "20", "--no-progress"]) == 2
    assert "no query logits of seed 0" in capsys.readouterr().err
    # with --query: that file serves every run and the predictions
    assert main(["predict", "--runs", str(runs), "--query", str(qfile), "--counts", "20", "20", "20",
                 "--n-boot", "5", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["query"] == "q.npz"
    lib = read_pilot_runs(runs, query=qfile)
    assert len(lib) == 4 and all(r.query is lib[0].query for r in lib)
    model = fit_recall_model(lib, n_boot=5, seed=0)
    np.testing.assert_array_equal(out["recalls"], model.predict([20, 20, 20]).recalls)
    # a QueryLogits object works the same; one for other class sizes is named
    q = read_query_logits(qfile, SIZES)
    assert len(read_pilot_runs(runs, query=q)) == 4
    with pytest.raises(ValueError, match=r"class sizes \[40, 40, 40\], but the query model"):
        read_pilot_runs(runs, query=QueryLogits(q.logits, q.labels, [50, 50, 50]))
    assert main(["predict", "--runs", str(runs), "--query", str(qfile.parent / "nope.npz"), "--counts", "1",
                 "1", "1"]) == 2
    assert "--query" in capsys.readouterr().err


# ----------------------------------------------------------------------------- 2: intervals hold their point
def test_intervals_contain_their_point_with_tiny_validation_sets():
    """The reported case: 10 validation images per class, recalls near 1, run-to-run SD 0. The interval
    was centred on the half-sample-clipped point (0.955 for 10 images) and the bootstrap clipped there
    too (SD 0): 0.998 [0.955, 0.955]."""
    _, pilots = _pilots()
    m = fit_recall_model(pilots, n_boot=20, seed=0)
    assert m.noise_logit_sd == 0.0     # the fitted run-to-run SD of the report
    clip_hi = 1 - 0.5 / (M + 1)
    checked_above_clip = False
    for counts in ([20, 20, 20], [40, 10, 10], [5, 5, 40], [40, 40, 40], [1, 40, 40], [0, 20, 20]):
        f = m.predict(counts)
        assert np.all(f.lower <= f.recalls) and np.all(f.recalls <= f.upper), counts
        inside = (f.recalls > 0) & (f.recalls < 1)
        # centred on the point's own logit: symmetric there
        np.testing.assert_allclose((logit(f.upper) - logit(f.recalls))[inside],
                                   (logit(f.recalls) - logit(f.lower))[inside], rtol=1e-6, atol=1e-9)
        checked_above_clip |= bool((f.recalls > clip_hi).any())
        # the bootstrap spread is no longer collapsed by the clip
        assert np.all(f.logit_sd[f.recalls > clip_hi] > 0)
    assert checked_above_clip
    for level in (1e-300, 0.5, 0.999, 1.0):
        f = m.predict([20, 20, 20], level=level)
        assert np.all(f.lower <= f.recalls) and np.all(f.recalls <= f.upper)


def test_interval_of_a_point_at_one_reaches_it():
    """No runs: the prior shift itself, which recalls a well-separated class perfectly (point 1.0)."""
    z, y = _logits()
    q = QueryLogits(z * 10, y, SIZES)
    f = fit_recall_model([], q).predict([20, 20, 20])
    assert np.all(f.recalls == 1.0)
    assert np.all(f.upper == 1.0) and np.all(f.lower < 1.0)


def test_intervals_unchanged_where_nothing_was_clipped():
    """For recalls away from 0 and 1 (every committed run), lower and upper are bit for bit the old
    formula's: the logit of the point +- z times the SD of the bootstrap fits' logits."""
    from scipy.stats import norm

    rng = np.random.default_rng(3)
    k, m_eval = 4, 400
    y = np.repeat(np.arange(k), m_eval)
    z = np.diag([1.5, 1.0, 1.2, 0.8])[y] + rng.standard_normal((y.size, k))
    q = QueryLogits(z, y, [2000] * k)
    allocs = [[600] * 4, [1200] * 4, [200, 1200, 1200, 1200], [1200, 1200, 200, 1200]]
    pilots = [PilotRun(c, np.clip(imbalance_recalls(q, c) + rng.normal(0, 0.02, k), 0, 1), [m_eval] * k, q)
              for c in allocs]
    model = fit_recall_model(pilots, n_boot=30, seed=0)
    counts = np.array([500, 900, 700, 300])
    f = model.predict(counts)
    gammas, thetas = model._boot_arrays
    lo, hi = 0.5 / (q.class_counts + 1.0), 1 - 0.5 / (q.class_counts + 1.0)
    base = np.stack([logit(np.clip(imbalance_recalls(q, counts, g), lo, hi)) for g in gammas])
    x = np.zeros((k, 2 * k + 2))
    own = np.log(counts / 2000)
    x[:, :k], x[:, k], x[:, k + 1:2 * k + 1] = np.eye(k), own, np.diag(own)
    x[:, -1] = np.log(counts.sum() / 8000)
    boot = logit(np.clip(expit(base[model._boot_gamma_index] + thetas @ x.T), lo, hi))
    assert np.all((expit(base[model._boot_gamma_index] + thetas @ x.T) > lo)
                  & (expit(base[model._boot_gamma_index] + thetas @ x.T) < hi))
    sd = np.sqrt(boot.var(axis=0) + model.noise_logit_sd ** 2)
    centre = logit(np.clip(f.recalls, lo, hi))
    np.testing.assert_array_equal(f.logit_sd, sd)
    np.testing.assert_array_equal(f.lower, expit(centre - norm.ppf(0.975) * sd))
    np.testing.assert_array_equal(f.upper, expit(centre + norm.ppf(0.975) * sd))


def test_cli_intervals_contain_their_points(runs_elsewhere, few_boot, capsys):
    runs, qfile = runs_elsewhere
    assert main(["predict", "--runs", str(runs), "--query", str(qfile), "--counts", "20", "20", "20",
                 "--json", "--n-boot", "5", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert all(lo <= r <= hi for lo, r, hi in zip(out["lower"], out["recalls"], out["upper"]))
    # allocate --runs: every compared allocation's interval holds its point
    (runs / "query_logits").mkdir()
    (runs / "query_logits" / "imagefolder_smallcnn_random_s0_abc.npz").write_bytes(qfile.read_bytes())
    assert main(["allocate", "--runs", str(runs), "--density", "0.5", "--json", "--no-progress"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert all(lo <= r <= hi for lo, r, hi in zip(res["lower"], res["predicted"], res["upper"]))


# ----------------------------------------------------------------------------- 3: an empty class folder
def _image_folder(root, spec):
    from PIL import Image

    for split, classes in spec.items():
        for c, n in classes.items():
            d = root / split / c
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(np.full((4, 4, 3), 10 * i, np.uint8)).save(d / f"{i:03d}.png")


def test_image_folder_with_an_empty_class_is_refused(tmp_path):
    pytest.importorskip("PIL")
    from empirical.image_folder import read_image_folder

    _image_folder(tmp_path / "a", {"train": {"cat": 0, "dog": 3, "emu": 3}, "test": {"cat": 2, "dog": 2}})
    with pytest.raises(ValueError, match=r"empty class folder\(s\) train/cat \(no images\), test/emu "
                                         r"\(missing\)"):
        read_image_folder(tmp_path / "a")
    _image_folder(tmp_path / "b", {"train": {"cat": 2, "dog": 2}, "test": {"cat": 2, "dog": 0}})
    with pytest.raises(ValueError, match=r"test/dog \(no images\)"):
        read_image_folder(tmp_path / "b")
    # a folder of non-images only is empty too
    _image_folder(tmp_path / "c", {"train": {"cat": 2, "dog": 2}, "test": {"cat": 2, "dog": 1}})
    for f in (tmp_path / "c" / "test" / "dog").iterdir():
        f.rename(f.with_suffix(".txt"))
    with pytest.raises(ValueError, match=r"test/dog \(no images\)"):
        read_image_folder(tmp_path / "c")
    _image_folder(tmp_path / "d", {"train": {"cat": 2, "dog": 1}, "test": {"cat": 1, "dog": 1}})
    ds = read_image_folder(tmp_path / "d")
    assert np.bincount(ds.y_train).tolist() == [2, 1] and np.bincount(ds.y_test).tolist() == [1, 1]


# ----------------------------------------------------------------------------- 4: tracebacks
def test_pilots_epochs_must_be_positive(capsys):
    for epochs in ("0", "-3"):
        assert main(["pilots", "--sizes", "100", "100", "--epochs", epochs]) == 2
        err = capsys.readouterr()
        assert ("--epochs must be a positive integer (epochs per pilot run, for the price), got "
                f"{epochs}") in err.err
        assert "total" not in err.out


def test_select_huge_count_is_named(tmp_path, capsys):
    np.save(tmp_path / "y.npy", np.repeat(np.arange(3), 5))
    big = "1000000000000000000000000000000"
    assert main(["select", "--labels", str(tmp_path / "y.npy"), "--counts", big, "1", "1", "--out",
                 str(tmp_path / "k.npy")]) == 2
    assert f"--counts: counts must be integers in [0, 2**53] (samples kept per class), got {big}" in \
        capsys.readouterr().err
    assert main(["select", "--labels", str(tmp_path / "y.npy"), "--counts", "-1", "1", "1", "--out",
                 str(tmp_path / "k.npy")]) == 2
    assert "--counts: counts must be integers in [0, 2**53]" in capsys.readouterr().err


def test_predict_corrupt_query_npz_is_named(runs_elsewhere, tmp_path, capsys):
    runs, qfile = runs_elsewhere
    cases = {}
    cases["garbage.npz"] = b"this is not a zip archive"
    raw = qfile.read_bytes()
    cases["cut.npz"] = raw[: len(raw) // 2]                      # cut short: no central directory
    damaged = bytearray(raw)                                       # stored member, one byte flipped: bad CRC
    info = zipfile.ZipFile(qfile).infolist()[0]
    pos = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    damaged[pos] ^= 0xFF
    cases["crc.npz"] = bytes(damaged)
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert main(["predict", "--runs", str(runs), "--query", str(tmp_path / name), "--counts", "5", "5",
                     "5", "--no-progress"]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith(f"droplab: error: --query: query logits file {str(tmp_path / name)!r}"), err
        assert "Traceback" not in err
    np.save(tmp_path / "one.npy", np.zeros((3, 3)))
    assert main(["predict", "--runs", str(runs), "--query", str(tmp_path / "one.npy"), "--counts", "5", "5",
                 "5", "--no-progress"]) == 2
    assert "one .npy array, expected an .npz archive" in capsys.readouterr().err
    np.savez(tmp_path / "keys.npz", logits=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="has no val_logits/val_labels arrays"):
        read_query_logits(tmp_path / "keys.npz", SIZES)


# ----------------------------------------------------------------------------- 5: silent, or without end
def test_allocate_runs_applies_or_refuses_the_rule_options(runs_elsewhere, few_boot, capsys):
    runs, qfile = runs_elsewhere
    (runs / "query_logits").mkdir()
    (runs / "query_logits" / "imagefolder_smallcnn_random_s0_abc.npz").write_bytes(qfile.read_bytes())
    base = ["allocate", "--runs", str(runs), "--density", "0.5", "--no-progress"]
    assert main(base + ["--sizes", "40", "40", "40"]) == 2
    assert "--sizes does not go with --runs" in capsys.readouterr().err
    assert main(base + ["--trials", "5"]) == 2
    assert "--trials 5 goes with --logits" in capsys.readouterr().err
    assert main(base + ["--labels", "y.npy"]) == 2
    assert "not --labels with --runs" in capsys.readouterr().err
    # --alpha and --allocation-rule add their rule to the comparison; --rule is DRoP's rounding
    assert main(base + ["--alpha", "0.5"]) == 0
    assert "DRoP(a=0.5)" in capsys.readouterr().out
    assert main(base + ["--allocation-rule", "probit", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert "Probit" in res["compared"] and res["label"] == "Learned"
    assert main(base + ["--rule", "code", "--json"]) == 0
    assert sum(json.loads(capsys.readouterr().out)["compared"]["DRoP"]["counts"]) == 60
    # the defaults: exactly the four allocations as before
    assert main(base + ["--json"]) == 0
    compared = list(json.loads(capsys.readouterr().out)["compared"])
    assert compared == ["Uniform", "DRoP", "DRoP(a=0.7)", "Learned"]


def test_allocate_runs_checks_its_options_before_reading_runs(tmp_path, capsys):
    missing = str(tmp_path / "no-runs-here")
    for extra, msg in ((["--density", "2"], "--density: density must lie in (0, 1], got 2"),
                       (["--density", "0.5", "--alpha", "-1"], "--alpha must be a finite number >= 0"),
                       (["--density", "0.5", "--min-per-class", "-1"],
                        "--min-per-class must be a non-negative"),
                       (["--density", "0.5", "--out", str(tmp_path)], "is a folder")):
        assert main(["allocate", "--runs", missing, *extra]) == 2
        assert msg in capsys.readouterr().err


# The command prints the library's warnings as "droplab: warning: ..." lines (asserted on stderr here);
# under the pyproject "error" filter the warning would escape main() as an exception instead.
@pytest.mark.filterwarnings("always::UserWarning")
def test_predict_names_a_truncated_run_json(runs_elsewhere, capsys):
    runs, qfile = runs_elsewhere
    whole = (runs / "run3.json").read_text()
    (runs / "run9.json").write_text(whole[: len(whole) // 2])
    assert main(["predict", "--runs", str(runs), "--query", str(qfile), "--counts", "20", "20", "20",
                 "--n-boot", "2", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"droplab: warning: skipped {str(runs / 'run9.json')!r}: not valid JSON" in err
    assert "a run JSON cut short?" in err
    with pytest.warns(UserWarning, match="run9.json.*not valid JSON"):
        assert len(read_pilot_runs(runs, query=qfile)) == 4


def test_boot_and_staircases_are_bounded_before_any_work(tmp_path, capsys):
    missing = str(tmp_path / "no-runs-here")
    assert main(["predict", "--runs", missing, "--counts", "1", "1", "--n-boot", "1000000000"]) == 2
    err = capsys.readouterr().err
    assert f"--n-boot: n_boot must be an integer in [0, {MAX_N_BOOT}], got 1000000000" in err
    assert main(["predict", "--runs", missing, "--counts", "1", "1", "--n-boot", "-1"]) == 2
    assert "--n-boot" in capsys.readouterr().err
    assert main(["pilots", "--sizes", "100", "100", "--staircases", "1000000000"]) == 2
    assert f"--staircases: staircases must be an integer in [0, {MAX_STAIRCASES}]" in capsys.readouterr().err
    with pytest.raises(ValueError, match="n_boot"):
        fit_recall_model(_pilots()[1], n_boot=MAX_N_BOOT + 1)
    with pytest.raises(ValueError, match="staircases"):
        pilot_design([100, 100], staircases=MAX_STAIRCASES + 1)
    assert len(pilot_design([100, 100], staircases=3)) == 5


def test_select_out_writes_exactly_the_named_file(tmp_path, capsys):
    labels = np.repeat(np.arange(3), 5)
    np.save(tmp_path / "y.npy", labels)
    (tmp_path / "dir").mkdir()
    argv = ["select", "--labels", str(tmp_path / "y.npy"), "--counts", "1", "2", "3", "--out"]
    # a folder: the index file is written inside it, and the report names that file (not DIR.npy beside it)
    assert main(argv + [str(tmp_path / "dir")]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"-> {tmp_path / 'dir' / 'kept_s0.npy'}")
    assert not (tmp_path / "dir.npy").exists()
    assert [p.name for p in (tmp_path / "dir").iterdir()] == ["kept_s0.npy"]
    # no suffix: exactly that file (numpy.save alone would write kept.npy and the report would lie)
    assert main(argv + [str(tmp_path / "kept")]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"-> {tmp_path / 'kept'}")
    assert not (tmp_path / "kept.npy").exists()
    idx = np.load(tmp_path / "kept")
    assert np.bincount(labels[idx], minlength=3).tolist() == [1, 2, 3]


# ----------------------------------------------------------------------------- 6: meaningless library input
def test_imbalance_recalls_refuses_what_means_nothing():
    q, _ = _pilots()
    with pytest.raises(ValueError, match="counts must contain at least one sample"):
        imbalance_recalls(q, [0, 0, 0])
    for gamma in (float("nan"), float("inf"), 0.0, -1.0):
        with pytest.raises(ValueError, match="gamma must be a finite number in"):
            imbalance_recalls(q, [10, 10, 10], gamma)
    with pytest.raises(TypeError, match="gamma must be a real number"):
        imbalance_recalls(q, [10, 10, 10], True)
    with pytest.raises(ValueError, match="counts must have one entry per class of the query model"):
        imbalance_recalls(q, [10, 10])
    with pytest.raises(ValueError, match="counts must be non-negative integers"):
        imbalance_recalls(q, [10, -1, 10])
    assert imbalance_recalls(q, [10, 10, 10]).shape == (K,)


def test_n_mc_is_refused_on_every_path():
    gm = GaussianMixture([[0.0], [3.0]], stds=[1.0, 2.0])   # K = 2 isotropic: the exact path
    exact = gm.recalls()
    for bad in (0, -5, 1):
        with pytest.raises(ValueError, match="n_mc must be"):
            gm.recalls(n_mc=bad)
        with pytest.raises(ValueError, match="n_mc must be"):
            gm.class_risks(n_mc=bad, method="exact")
        with pytest.raises(ValueError, match="n_mc must be"):
            gm.pruned_risks([0.5, 0.5], n_mc=bad)
        with pytest.raises(ValueError, match="n_mc must be"):
            gm.minimax(n_mc=bad)
        with pytest.raises(ValueError, match="n_certify must be"):
            gm.minimax(n_certify=bad)
    with pytest.raises(TypeError, match="n_mc must be an integer"):
        gm.recalls(n_mc=True)
    with pytest.raises(ValueError, match="n_mc must be at most"):
        gm.recalls(n_mc=10**9)
    np.testing.assert_array_equal(gm.recalls(n_mc=2), exact)    # valid: the same closed form


def test_mixture_class_labels_must_be_distinct():
    means = [[0.0], [2.0], [4.0]]
    with pytest.raises(ValueError, match=r"class_labels must be distinct .* got repeated labels 'cat'"):
        GaussianMixture(means, class_labels=["cat", "dog", "cat"])
    with pytest.raises(ValueError, match="repeated labels 7"):
        GaussianMixture(means, class_labels=[7, 7, 7])
    gm = GaussianMixture(means, class_labels=[3, 1, 2])
    assert gm.class_labels.tolist() == [3, 1, 2]
    assert gm.prune([1.0, 0.5, 0.5]).class_labels.tolist() == [3, 1, 2]


def test_from_file_with_50000_classes_and_its_duplicates(tmp_path):
    k = 50_000
    rows = "\n".join(f"c{i},100,0.{i % 9 + 1}" for i in range(k))
    (tmp_path / "many.csv").write_text("class,size,recall\n" + rows + "\n")
    names, sizes, recalls = read_class_table(tmp_path / "many.csv")
    assert len(names) == k and sizes.sum() == 100 * k
    (tmp_path / "dup.csv").write_text("class,size,recall\n" + rows + "\nc7,100,0.5\nc3,100,0.5\nc7,1,0.5\n")
    with pytest.raises(ValueError, match=r"duplicate class rows \['c3', 'c7'\]"):
        read_class_table(tmp_path / "dup.csv")


# ----------------------------------------------------------------------------- 7: booleans are not counts
@pytest.mark.parametrize("sizes", [[True, False], np.array([True, True]), [5, True], (np.True_, 3)])
def test_boolean_class_sizes_are_refused(sizes):
    with pytest.raises(TypeError, match=r"class_sizes must be integers \(a count of samples, not a truth"):
        drop_counts([0.9, 0.7], sizes, 0.5)
    with pytest.raises(TypeError, match="class_sizes must be integers"):
        uniform_counts(sizes, 0.5)
    with pytest.raises(TypeError, match="class_sizes must be integers"):
        counts_from_densities([0.5, 0.5], sizes, 0.5)


def test_boolean_counts_and_sizes_of_the_recall_model_are_refused():
    z, y = _logits()
    with pytest.raises(TypeError, match="class_sizes must be integers"):
        QueryLogits(z, y, [True, True, True])
    q = QueryLogits(z, y, SIZES)
    with pytest.raises(TypeError, match="counts must be integers"):
        PilotRun([True, True, True], [0.5] * 3, [M] * 3, q)
    with pytest.raises(TypeError, match="counts must be integers"):
        fit_recall_model([], q).predict(np.array([True, True, False]))
    assert drop_counts([0.9, 0.7], [100, 300], 0.5).tolist() == [20, 180]   # integers as before


# ----------------------------------------------------------------------------- 8: densities at another budget
def test_explicit_densities_must_keep_the_budget():
    from empirical.selection import check_densities_budget, quota_counts

    sizes = [100] * 4
    with pytest.raises(ValueError, match=r"class densities keep 40 samples .* but density 0.5 of 400 samples "
                                         r"keeps round\(dN\) = 200"):
        quota_counts("counts", sizes, 0.5, densities=[0.1] * 4)
    with pytest.raises(ValueError, match=r"class densities are all 0: they keep no sample, but density 0.5 "
                                         r"of 400 samples keeps round\(dN\) = 200"):
        quota_counts("counts", sizes, 0.5, densities=[0.0] * 4)
    # what keeps the budget, up to rounding, is trained as given
    with pytest.warns(UserWarning, match="class 3: 0 of 100"):
        kept = quota_counts("counts", sizes, 0.5, densities=[1.0, 0.5, 0.5, 0.0])
    assert kept.tolist() == [100, 50, 50, 0]
    assert quota_counts("counts", sizes, 0.1, densities=[0.1] * 4).tolist() == [10] * 4
    sz = np.array([5000, 4000, 3000, 977])
    counts = np.array([1500, 1200, 900, 293])
    assert quota_counts("counts", sz, 0.3, densities=(counts / sz).tolist()).tolist() == counts.tolist()
    assert check_densities_budget(np.round(counts / sz, 4), sz, 0.3) == pytest.approx(3893, abs=1)
    with pytest.raises(ValueError, match="the density they keep, 0.5"):
        check_densities_budget([0.5] * 4, sz, 0.3)
    # counts and every other quota are untouched by the check
    assert quota_counts("uniform", sizes, 0.5).tolist() == [50] * 4
    assert quota_counts("counts", sizes, 0.5, counts=[80, 60, 40, 20]).tolist() == [80, 60, 40, 20]
