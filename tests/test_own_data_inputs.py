"""Issue 34, "one path for your own data": each item's regression test (the walkthrough itself is
tests/test_own_data_walkthrough.py).

14: one loader of logits and labels (.npy, .npz, CSV; .pt refused with the line that converts it; float
labels that are integers); 5, 6: ``allocate --json/--out`` in every mode, read back by ``select``; 11: a
rule that keeps 0 samples of a class is flagged; 9, 26: ``select`` for several seeds and allocations, into
a folder; 15: the within-class draw's seed said where it is chosen; 4: the pilot-run table, and no run
skipped without a reason; 8: the own-data names in ``gaussian_theory.__all__``; 16: ``--rounding``.
"""

import json

import numpy as np
import pytest

import gaussian_theory
from gaussian_theory.arrays import as_class_labels, load_array_file, load_labels, load_logits
from gaussian_theory.cli import main
from gaussian_theory.pilot_runs import QueryLogits, read_pilot_runs, table_runs
from gaussian_theory.quota_rules import allocation_names, read_allocation_file
from gaussian_theory.run_table import read_run_table, write_run_table


def _err(capsys, *needles):
    err = capsys.readouterr().err
    assert err.startswith("droplab: error:") and err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def _logits(k=3, n=60, seed=0, perfect=None):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n)
    z = rng.standard_normal((y.size, k)) + np.linspace(2.5, 1.0, k)[y, None] * np.eye(k)[y]
    if perfect is not None:   # one class recalled perfectly: DRoP keeps none of it
        z[y == perfect, perfect] += 20
    return z, y


# ----------------------------------------------------------------------------- 14: the loader
def test_logits_and_labels_from_every_format(tmp_path):
    z, y = _logits()
    np.save(tmp_path / "z.npy", z)
    np.savez(tmp_path / "one.npz", z)
    np.savez(tmp_path / "q.npz", val_logits=z, val_labels=y, test_labels=y[::-1])
    np.savez(tmp_path / "two.npz", a=z, b=z)
    (tmp_path / "z.csv").write_text("c0,c1,c2\n" + "\n".join(",".join(map(repr, r)) for r in z.tolist()))
    (tmp_path / "z.txt").write_text("\n".join(" ".join(map(repr, r)) for r in z.tolist()))
    (tmp_path / "z_semi.csv").write_text("\n".join(";".join(map(repr, r)) for r in z.tolist()))
    for name in ("z.npy", "one.npz", "q.npz", "two.npz:b", "z.csv", "z.txt", "z_semi.csv"):
        np.testing.assert_array_equal(load_logits(f"{tmp_path}/{name}"), z, err_msg=name)
    np.testing.assert_array_equal(load_labels(tmp_path / "q.npz"), y)                  # val_labels preferred
    np.testing.assert_array_equal(load_labels(f"{tmp_path}/q.npz:test_labels"), y[::-1])
    (tmp_path / "y.csv").write_text("label\n" + "\n".join(f"{v:.1f}" for v in y))    # 1.0: a float label
    np.testing.assert_array_equal(load_labels(tmp_path / "y.csv"), y)
    with pytest.raises(ValueError, match=r"an \.npz archive of 2 arrays \['a', 'b'\]: name one as"):
        load_logits(tmp_path / "two.npz")
    with pytest.raises(ValueError, match=r"has no array 'c'; it holds \['a', 'b'\]"):
        load_logits(f"{tmp_path}/two.npz:c")


def test_what_the_loader_refuses_says_why(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{}, 1], dtype=object))
    with pytest.raises(ValueError, match=r"logits '.*obj.npy': holds Python objects .* reads no pickles"):
        load_logits(tmp_path / "obj.npy")
    (tmp_path / "text.npy").write_text("1,2\n3,4\n")          # the reported "pickled (object) data"
    with pytest.raises(ValueError, match=r"not a readable .npy array \(no numpy header.*\.csv file"):
        load_logits(tmp_path / "text.npy")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,x\n")
    with pytest.raises(ValueError, match=r"bad.csv': line 3: 'x' is not a number"):
        load_logits(tmp_path / "bad.csv")
    (tmp_path / "ragged.csv").write_text("1,2\n3\n")
    with pytest.raises(ValueError, match=r"line 2 has 1 values, the first data line 2"):
        load_logits(tmp_path / "ragged.csv")
    (tmp_path / "z.pt").write_bytes(b"anything")               # torch's format: refused, with the conversion
    with pytest.raises(ValueError, match=r"a torch file.*numpy.save\('z.npy', torch.load\('z.pt'\)\.numpy"):
        load_logits(tmp_path / "z.pt", "--logits")
    with pytest.raises(ValueError, match="no such file"):
        load_array_file(tmp_path / "none.npy", "--labels")


@pytest.mark.parametrize("values, kind, needle", [
    ([0, 1.5, 2], ValueError, "got 1.5 at position 1"),
    ([0, float("nan")], ValueError, "got nan at position 1"),
    ([0, -1], ValueError, "got -1 at position 1"),
    ([True, False], TypeError, "got booleans"),
    (["cat", "dog"], TypeError, "map class names to 0..K-1"),
    ([[0, 1], [1, 0]], ValueError, "got shape (2, 2)"),
])
def test_labels_must_be_integers(values, kind, needle):
    with pytest.raises(kind, match=r"^train_labels .*" + __import__("re").escape(needle)):
        as_class_labels(values, "train_labels")
    assert as_class_labels([2.0, 0.0, 1.0]).dtype == np.int64


def test_cli_reads_csv_logits_and_float_labels_and_names_a_bad_label(tmp_path, capsys):
    z, y = _logits()
    (tmp_path / "z.csv").write_text("\n".join(",".join(map(repr, r)) for r in z.tolist()))
    np.save(tmp_path / "y.npy", y.astype(float))
    bad = y.astype(float)
    bad[7] = 2.5
    np.save(tmp_path / "bad.npy", bad)
    base = ["allocate", "--logits", str(tmp_path / "z.csv"), "--density", "0.5", "--trials", "1"]
    assert main(base + ["--labels", str(tmp_path / "bad.npy")]) == 2
    _err(capsys, f"--labels {str(tmp_path / 'bad.npy')!r} must be integer class labels",
         "got 2.5 at position 7")
    assert main(base + ["--labels", str(tmp_path / "y.npy"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["val_samples"] == y.size
    (tmp_path / "z.pt").write_bytes(b"x")
    assert main(["allocate", "--logits", str(tmp_path / "z.pt"), "--labels", str(tmp_path / "y.npy"),
                 "--density", "0.5"]) == 2
    _err(capsys, "--logits", "a torch file", "numpy.save(")


# ----------------------------------------------------------------------------- 5, 6, 11: allocate --json
def test_allocate_json_from_recalls_is_read_by_select(tmp_path, capsys):
    out = tmp_path / "a.json"
    assert main(["allocate", "--recalls", "0.95", "0.8", "1.0", "--sizes", "50", "50", "20", "--density",
                 "0.4", "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    res = json.loads(out.read_text())
    assert printed == res and res["label"] == "DRoP" and list(res["allocations"]) == ["DRoP", "Uniform"]
    assert sum(res["counts"]) == 48 and res["counts"] == res["allocations"]["DRoP"]["counts"]
    # 11: DRoP keeps none of the class recalled perfectly: flagged
    assert res["allocations"]["DRoP"]["empty_classes"] == [2]
    assert res["allocations"]["Uniform"]["empty_classes"] == []
    assert len(res["cautions"]) == 1 and res["cautions"][0].startswith("DRoP keeps 0 samples of class(es) 2")
    assert read_allocation_file(out)["counts"] == res["counts"]                 # no name: the asked rule
    assert read_allocation_file(f"{out}:uniform")["counts"] == res["allocations"]["Uniform"]["counts"]
    np.save(tmp_path / "y.npy", np.repeat([0, 1, 2], [50, 50, 20]))
    assert main(["select", "--labels", str(tmp_path / "y.npy"), "--counts-file", str(out), "--out",
                 str(tmp_path / "k.npy")]) == 0
    assert np.bincount(np.repeat([0, 1, 2], [50, 50, 20])[np.load(tmp_path / "k.npy")]).tolist()[:2] == \
        res["counts"][:2]
    # --from too; the text is unchanged without --json
    (tmp_path / "t.csv").write_text("class,size,recall\ncat,50,0.9\ndog,50,0.7\n")
    assert main(["allocate", "--from", str(tmp_path / "t.csv"), "--density", "0.5", "--out",
                 str(tmp_path / "b.json")]) == 0
    assert "total kept: 50 of 100" in capsys.readouterr().out
    assert json.loads((tmp_path / "b.json").read_text())["classes"] == ["cat", "dog"]
    assert main(["allocate", "--recalls", "0.9", "--sizes", "5", "--density", "0.5", "--out",
                 str(tmp_path)]) == 2
    _err(capsys, "--out", "is a folder")


def test_allocate_logits_flags_a_starving_rule_in_table_and_json(tmp_path, capsys):
    z, y = _logits(perfect=0)
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "train.npy", np.repeat([0, 1, 2], [300, 200, 100]))
    argv = ["allocate", "--logits", str(tmp_path / "z.npy"), "--labels", str(tmp_path / "y.npy"),
            "--train-labels", str(tmp_path / "train.npy"), "--density", "0.3", "--trials", "1"]
    assert main(argv + ["--out", str(tmp_path / "a.json")]) == 0
    cap = capsys.readouterr()
    res = json.loads((tmp_path / "a.json").read_text())
    assert res["class_sizes"] == [300, 200, 100] and "counted from --train-labels" in cap.out
    assert res["allocations"]["DRoP"]["empty_classes"] == [0]
    header = next(ln for ln in cap.out.splitlines() if ln.lstrip().startswith("class  size  val recall"))
    assert "DRoP*" in header.split() and "Uniform" in header.split()
    assert "* DRoP keeps 0 samples of class(es) 0" in cap.out
    assert "droplab: warning: DRoP keeps 0 samples of class(es) 0" in cap.err
    assert main(argv + ["--sizes", "10"]) == 2
    _err(capsys, "--train-labels or --sizes, not both")
    np.save(tmp_path / "train9.npy", np.array([0, 1, 2, 9]))
    assert main(argv[:5] + ["--train-labels", str(tmp_path / "train9.npy"), "--density", "0.3"]) == 2
    _err(capsys, "--train-labels: train_labels must be class labels 0..2", "got 9 at position 3")
    assert main(["allocate", "--recalls", "0.5", "--sizes", "5", "--density", "0.5", "--train-labels",
                 str(tmp_path / "train.npy")]) == 2
    _err(capsys, "--train-labels goes with --logits")


def test_rounding_is_the_rules_alias(capsys):
    for opt in ("--rule", "--rounding"):
        assert main(["allocate", "--recalls", "0.95", "0.81", "0.7", "--sizes", "5000", "5000", "500",
                     "--density", "0.3", opt, "code", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["counts"] == [552, 2098, 500]


# ----------------------------------------------------------------------------- 9, 26, 15: select
def test_select_several_seeds_and_allocations_into_a_folder(tmp_path, capsys):
    labels = np.repeat(np.arange(3), [10, 20, 30])
    np.save(tmp_path / "y.npy", labels)
    alloc = {"allocations": {"DRoP": {"counts": [2, 5, 8], "densities": [0.2, 0.25, 0.27]},
                             "DRoP(a=0.7)": {"counts": [3, 5, 7]}}}
    (tmp_path / "a.json").write_text(json.dumps(alloc))
    assert allocation_names(tmp_path / "a.json") == ["DRoP", "DRoP(a=0.7)"]
    base = ["select", "--labels", str(tmp_path / "y.npy"), "--counts-file", str(tmp_path / "a.json")]
    assert main(base + ["--allocation", "all", "--seed", "0", "1", "2", "--out", str(tmp_path / "kept")]) == 0
    out = capsys.readouterr().out
    names = sorted(p.name for p in (tmp_path / "kept").iterdir())
    assert names == sorted(f"kept_{a}_s{s}.npy" for a in ("drop", "drop-a-0.7") for s in range(3))
    assert out.count("\n") == 6 and f"-> {tmp_path / 'kept' / 'kept_drop_s2.npy'}" in out
    from gaussian_theory.selection import select_indices

    for s in range(3):
        np.testing.assert_array_equal(np.load(tmp_path / "kept" / f"kept_drop_s{s}.npy"),
                                      select_indices(labels, [2, 5, 8], seed=s))
    # one allocation by FILE:NAME, into an existing folder
    assert main(["select", "--labels", str(tmp_path / "y.npy"), "--counts-file",
                 f"{tmp_path / 'a.json'}:drop", "--seed", "7", "--out", str(tmp_path / "kept")]) == 0
    assert (tmp_path / "kept" / "kept_drop_s7.npy").is_file()
    capsys.readouterr()
    for extra, needles in (
            (["--out", str(tmp_path / "k.npy")], ["holds the allocations of 2 rules ['DRoP', 'DRoP(a=0.7)']",
                                                  "--allocation NAME"]),
            (["--allocation", "probit", "--out", str(tmp_path / "k.npy")], ["no allocation 'probit'"]),
            (["--allocation", "drop", "--seed", "1", "2", "--out", str(tmp_path / "k.npy")],
             ["2 index files (allocations x seeds) go to a folder"]),
            (["--allocation", "drop", "--seed", "1", "1", "--out", str(tmp_path / "d")], ["each seed once"]),
            (["--allocation", "all", "drop", "--out", str(tmp_path / "d")],
             ["--allocation all means every"])):
        assert main(base + extra) == 2, extra
        _err(capsys, *needles)
    assert main(["select", "--labels", str(tmp_path / "y.npy"), "--counts", "1", "1", "1", "--allocation",
                 "DRoP", "--out", str(tmp_path / "k.npy")]) == 2
    _err(capsys, "--allocation names allocations of --counts-file")
    assert not (tmp_path / "k.npy").exists() and not (tmp_path / "d").exists()


def test_the_within_class_seed_is_said_where_it_is_chosen(capsys):
    from gaussian_theory.cli import build_parser

    helps = {}
    for action in build_parser()._actions:
        if hasattr(action, "choices") and isinstance(action.choices, dict):
            helps = {name: " ".join(p.format_help().split()) for name, p in action.choices.items()}
    assert "seed of the staircases' class choice only" in helps["pilots"]
    assert "drawn by droplab select --seed" in helps["pilots"]
    assert "seeds of the within-class random draw, one index file each" in helps["select"]
    assert main(["pilots", "--sizes", "100", "100", "--seed", "3"]) == 0
    assert "a seed S of its own per pilot (--seed 3 here chose only the staircases' small classes)" in \
        capsys.readouterr().out


# ----------------------------------------------------------------------------- 4: own pilot runs
SIZES = [40, 40, 40]
RUNS = [{"counts": [10, 10, 10], "recalls": [0.9, 0.8, 0.7], "label": "u", "seed": 1},
        {"counts": [20, 5, 20], "recalls": [0.95, 0.5, 0.8]}]


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_run_table_round_trip(tmp_path, suffix):
    path = write_run_table(tmp_path / f"runs{suffix}", SIZES, RUNS)
    t = read_run_table(path)
    assert t.class_sizes.tolist() == SIZES and t.counts.tolist() == [r["counts"] for r in RUNS]
    np.testing.assert_array_equal(t.recalls, [r["recalls"] for r in RUNS])
    assert t.seeds == (1, 0) and t.labels == ("u", "run 1")
    z, y = _logits(n=10)
    runs = table_runs(t, QueryLogits(z, y, SIZES))
    assert [r.n_eval.tolist() for r in runs] == [[10, 10, 10]] * 2


@pytest.mark.parametrize("content, needle", [
    ({"class_sizes": SIZES}, 'an object with "class_sizes" and "runs", got [\'class_sizes\']'),
    ({"class_sizes": SIZES, "runs": [{"counts": [1, 1, 1]}]}, "run 0 lacks ['recalls']"),
    ({"class_sizes": SIZES, "runs": [{"counts": [1, 1], "recalls": [1, 1, 1]}]},
     "run 0 counts has 2 entries, the table has 3 classes"),
    ({"class_sizes": SIZES, "runs": [{"counts": [50, 1, 1], "recalls": [1, 1, 1]}]},
     "run 0 keeps 50 samples of class 0, more than its class size 40"),
    ({"class_sizes": SIZES, "runs": [{"counts": [1, 1, 1], "recalls": [1, 1.2, 1], "label": "big"}]},
     "run 0 ('big') recalls[1] must be a number in [0, 1], got 1.2"),
    ("run,class,count,recall\na,0,1,0.5\n", "lacks the columns ['size']"),
    ("run,class,count,recall,size\na,0,1,0.5,40\na,2,1,0.5,40\n", "run 'a' has no row for class(es) [1]"),
    ("run,class,count,recall,size\na,0,1,0.5,40\nb,0,1,0.5,30\n", "run 'b' gives the class sizes [30.0]"),
])
def test_run_table_errors_say_what_is_missing(tmp_path, content, needle):
    path = tmp_path / ("t.json" if isinstance(content, dict) else "t.csv")
    path.write_text(json.dumps(content) if isinstance(content, dict) else content)
    with pytest.raises(ValueError) as info:
        read_run_table(path)
    assert str(info.value).startswith(f"pilot-run table {str(path)!r}: ") and needle in str(info.value)


def _run_json(score="random", status="done", seed=0):
    z, y = _logits(n=10)
    return {"status": status, "seed": seed, "method": "Random", "config": {"dataset": "x", "score": score},
            "dataset": {"class_sizes": SIZES}, "selection": {"class_counts": [10, 10, 10]},
            "final": {"val": {"recalls": [0.9, 0.8, 0.7], "labels": y.tolist()}}}


def test_no_run_is_skipped_without_a_reason(tmp_path):
    z, y = _logits(n=10)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "a.json").write_text(json.dumps(_run_json(score="Random")))     # capitalised: random
    (tmp_path / "runs" / "b.json").write_text(json.dumps(_run_json(score="el2n")))
    (tmp_path / "runs" / "c.json").write_text(json.dumps(_run_json(status="running")))
    (tmp_path / "runs" / "d.json").write_text(json.dumps({"hello": 1}))
    (tmp_path / "runs" / "pilot_u_s0.json").write_text(json.dumps({"counts": [1, 1, 1]}))   # a count file
    with pytest.warns(UserWarning) as rec:
        runs = read_pilot_runs(tmp_path / "runs", query=(z, y))
    assert len(runs) == 1
    (msg,) = [str(w.message) for w in rec]
    assert msg.startswith("skipped 3 of 5 JSON files under")
    for needle in ("1 with score 'el2n' (not random within-class pruning), e.g. 'b.json'",
                   "1 not finished (status 'running'), e.g. 'c.json'", "1 neither a run JSON"):
        assert needle in msg
    assert "count" not in msg


def test_predict_and_allocate_runs_read_an_own_table(tmp_path, capsys, monkeypatch):
    import gaussian_theory.learned_recalls as lr

    fit = lr.fit_recall_model
    monkeypatch.setattr(lr, "fit_recall_model", lambda runs, query=None, **kw: fit(runs, query, **{
        **kw, "n_boot": 3}))
    z, y = _logits(n=10)
    write_run_table(tmp_path / "runs.csv", SIZES, RUNS)
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", y)
    q = ["--query", str(tmp_path / "z.npy"), "--query-labels", str(tmp_path / "y.npy")]
    assert main(["predict", "--runs", str(tmp_path / "runs.csv"), *q, "--counts", "20", "20", "20", "--json",
                 "--n-boot", "3", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_runs"] == 2 and all(lo <= r <= hi for lo, r, hi in zip(out["lower"], out["recalls"],
                                                                           out["upper"]))
    assert main(["allocate", "--runs", str(tmp_path / "runs.csv"), *q, "--density", "0.5", "--json", "--out",
                 str(tmp_path / "l.json"), "--no-progress"]) == 0
    res = json.loads((tmp_path / "l.json").read_text())
    assert sum(res["counts"]) == 60
    assert read_allocation_file(tmp_path / "l.json", allocation="DRoP")["counts"] == res["compared"]["DRoP"][
        "counts"]
    capsys.readouterr()
    # the table needs the query logits; the labels need their logits
    assert main(["predict", "--runs", str(tmp_path / "runs.csv"), "--counts", "1", "1", "1",
                 "--no-progress"]) == 2
    _err(capsys, "pilot-run table", "needs the query model's validation logits", "--query")
    assert main(["predict", "--runs", str(tmp_path / "runs.csv"), "--query-labels", str(tmp_path / "y.npy"),
                 "--counts", "1", "1", "1", "--no-progress"]) == 2
    _err(capsys, "--query-labels goes with --query")
    assert main(["allocate", "--recalls", "0.5", "--sizes", "5", "--density", "0.5", *q]) == 2
    _err(capsys, "--query goes with --runs")


# ----------------------------------------------------------------------------- 8: the Python route
def test_own_data_names_are_exported():
    for name in ("select_indices", "class_recalls", "make_rule", "load_logits", "load_labels",
                 "allocate_from_logits", "class_sizes_from_labels", "read_run_table", "write_run_table",
                 "PilotRun", "QueryLogits", "fit_recall_model", "read_pilot_runs", "read_allocation_file"):
        assert name in gaussian_theory.__all__ and callable(getattr(gaussian_theory, name)), name
    # where they were imported from before
    from gaussian_theory.pilot_runs import PilotRun, read_pilot_runs

    assert PilotRun is gaussian_theory.PilotRun and read_pilot_runs is gaussian_theory.read_pilot_runs


def test_allocate_from_logits_refuses_before_any_work():
    z, y = _logits()
    with pytest.raises(ValueError, match="density must lie in"):
        gaussian_theory.allocate_from_logits(z, y, 1.5)
    with pytest.raises(ValueError, match="rounding must be one of"):
        gaussian_theory.allocate_from_logits(z, y, 0.5, rounding="round")
    with pytest.raises(ValueError, match="labels must be integer class labels .* got 0.5 at position 0"):
        gaussian_theory.allocate_from_logits(z, np.full(y.size, 0.5), 0.5)
    with pytest.raises(ValueError, match="give train_labels or class_sizes, not both"):
        gaussian_theory.allocate_from_logits(z, y, 0.5, train_labels=y, class_sizes=[5, 5, 5])


# ----------------------------------------------------------------------------- empirical.subset
def test_subset_sampler_and_tensor_files(tmp_path):
    torch = pytest.importorskip("torch")
    from empirical.subset import check_indices, kept_loader, kept_sampler, kept_subset, load_tensor_file

    ds = torch.utils.data.TensorDataset(torch.arange(10.0), torch.arange(10) % 2)
    idx = np.array([1, 4, 5, 8])
    assert [int(x) for x, _ in kept_subset(ds, idx)] == [1, 4, 5, 8]
    a, b = list(kept_sampler(idx, 3)), list(kept_sampler(idx, 3))
    assert a == b and sorted(a) == idx.tolist()
    s = kept_sampler(idx, 3)
    assert [list(s) for _ in range(4)] != [list(s)] * 4                 # a new order each epoch
    assert list(kept_sampler(idx, shuffle=False)) == idx.tolist()
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 10\) .* got 12"):
        kept_subset(ds, [1, 12])
    with pytest.raises(ValueError, match="must be distinct"):
        check_indices([1, 1])
    with pytest.raises(TypeError, match="integer sample indices"):
        check_indices([1.0, 2.0])
    with pytest.raises(TypeError, match="seed must be an integer"):
        kept_sampler(idx, seed=1.5)
    with pytest.raises(ValueError, match="sampler= is set by kept_loader"):
        kept_loader(ds, idx, batch_size=2, sampler=None)
    assert sum(len(xb) for xb, _ in kept_loader(ds, idx, batch_size=3)) == 4
    torch.save(torch.arange(6).reshape(3, 2).float(), tmp_path / "z.pt")
    np.testing.assert_array_equal(load_tensor_file(tmp_path / "z.pt"), np.arange(6).reshape(3, 2))
    with pytest.raises(ValueError, match="a torch file"):            # the theory package refuses it ...
        load_logits(tmp_path / "z.pt")
    (tmp_path / "bad.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"--logits '.*bad.pt': not a readable torch file"):
        load_tensor_file(tmp_path / "bad.pt", "--logits")                # ... empirical reads it
