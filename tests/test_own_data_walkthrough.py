"""The own-data walkthrough (docs/own-data.md) as a test, on data that is not CIFAR: scikit-learn's 8x8
digits and a linear model trained by a loop of our own.

validation logits (.npy) -> ``droplab allocate --logits --labels --train-labels --json --out`` (every
rule's counts) -> ``droplab select`` for 3 seeds -> ``empirical.subset`` -> a few training steps; and own
pilot runs (``droplab pilots`` -> ``select`` -> our loop -> ``write_run_table``) -> ``droplab predict``.
Every file is written by droplab or by the user's loop (numpy.save, write_run_table), none by hand.
"""

import contextlib
import io
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets", reason="the walkthrough runs on scikit-learn's digits")

from empirical.subset import kept_loader, kept_subset  # noqa: E402
from gaussian_theory import class_recalls, read_allocation_file, select_indices, write_run_table  # noqa: E402
from gaussian_theory.cli import main  # noqa: E402

K = 10
RULES = ["Uniform", "DRoP", "DRoP(a=0.7)", "Probit", "Minimax"]


@pytest.fixture(scope="module")
def digits():
    x, y = datasets.load_digits(return_X_y=True)
    perm = np.random.default_rng(0).permutation(len(y))
    tr, va = perm[:1200], perm[1200:]
    return (torch.tensor(x[tr] / 16, dtype=torch.float32), torch.tensor(y[tr]),
            torch.tensor(x[va] / 16, dtype=torch.float32), y[va])


def train(x, y, *, seed, steps=60):
    """The user's own loop: a linear model, full-batch SGD, its own torch.Generator."""
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.Linear(64, K)
    with torch.no_grad():
        model.weight.copy_(0.01 * torch.randn(K, 64, generator=g))
        model.bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model


@pytest.fixture(scope="module")
def walk(digits, tmp_path_factory):
    """Steps 1-3: the query model's validation logits -> every rule's counts -> kept indices of 3 seeds."""
    xt, yt, xv, yv = digits
    d = tmp_path_factory.mktemp("own")
    query = train(xt, yt, seed=0)
    with torch.no_grad():
        z = query(xv).numpy()
    np.save(d / "val_logits.npy", z)
    np.save(d / "val_labels.npy", yv)
    np.save(d / "train_labels.npy", yt.numpy())
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["allocate", "--logits", str(d / "val_logits.npy"), "--labels", str(d / "val_labels.npy"),
                     "--train-labels", str(d / "train_labels.npy"), "--density", "0.3", "--trials", "2",
                     "--json", "--out", str(d / "alloc.json")]) == 0
    (d / "printed.json").write_text(printed.getvalue())
    assert main(["select", "--labels", str(d / "train_labels.npy"), "--counts-file", str(d / "alloc.json"),
                 "--allocation", "DRoP(a=0.7)", "Uniform", "--seed", "0", "1", "2", "--out",
                 str(d / "kept") + "/"]) == 0
    return d, z


def test_allocate_writes_every_rule_from_logits_and_training_labels(walk, digits):
    d, z = walk
    _, yt, _, yv = digits
    res = json.loads((d / "alloc.json").read_text())
    assert list(res["allocations"]) == RULES
    sizes = np.bincount(yt.numpy(), minlength=K)
    assert res["class_sizes"] == sizes.tolist() and res["sizes_from"] == "train_labels"
    np.testing.assert_array_equal(res["val_recalls"], class_recalls(z.argmax(1), yv, K))
    budget = round(0.3 * sizes.sum())
    for name, a in res["allocations"].items():
        assert sum(a["counts"]) == budget == a["kept"], name
        assert all(0 <= c <= n for c, n in zip(a["counts"], sizes))
        assert a["empty_classes"] == [k for k in range(K) if a["counts"][k] == 0]
        assert len(a["predicted"]["prior_shift"]) == len(a["predicted"]["finite_sample"]) == K
    # a rule that gives a class 0 samples is flagged in the JSON (and beside its column in the table)
    starved = [n for n, a in res["allocations"].items() if a["empty_classes"]]
    assert [c.split(" keeps 0")[0] for c in res["cautions"]] == starved
    # the JSON printed with --json is the file's
    assert json.loads((d / "printed.json").read_text()) == res


def test_select_writes_one_index_file_per_allocation_and_seed(walk, digits):
    d, _ = walk
    labels = digits[1].numpy()
    files = sorted(p.name for p in (d / "kept").iterdir())
    assert files == [f"kept_{r}_s{s}.npy" for r in ("drop-a-0.7", "uniform") for s in (0, 1, 2)]
    counts = read_allocation_file(d / "alloc.json", allocation="drop(a=0.7)")["counts"]
    kept = [np.load(d / "kept" / f"kept_drop-a-0.7_s{s}.npy") for s in range(3)]
    for s, idx in enumerate(kept):
        assert np.bincount(labels[idx], minlength=K).tolist() == counts
        np.testing.assert_array_equal(idx, select_indices(labels, counts, seed=s))   # the Python route
    assert not np.array_equal(kept[0], kept[1])


def test_kept_indices_train_through_a_subset_and_a_seeded_loader(walk, digits):
    d, _ = walk
    xt, yt, xv, yv = digits
    idx = np.load(d / "kept" / "kept_drop-a-0.7_s0.npy")
    ds = torch.utils.data.TensorDataset(xt, yt)
    sub = kept_subset(ds, idx)
    assert len(sub) == idx.size and torch.equal(sub[0][1], yt[int(idx[0])])
    model = train(xt[:0], yt[:0], seed=1, steps=0)                # the user's model, untrained
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    state = torch.random.get_rng_state()
    loader = kept_loader(ds, idx, batch_size=64, seed=0)
    seen, losses = [], []
    for _ in range(3):                                            # a few epochs of the user's own loop
        for xb, yb in loader:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            seen.append(yb)
            losses.append(loss.item())
    assert torch.cat(seen).numel() == 3 * idx.size
    assert sorted(torch.cat(seen[:len(loader)]).tolist()) == sorted(yt[idx].tolist())   # one epoch: the kept
    assert np.mean(losses[-len(loader):]) < np.mean(losses[:len(loader)])             # it learns
    # the same seed, the same order; the global RNG untouched
    again = [yb for xb, yb in kept_loader(ds, idx, batch_size=64, seed=0)]
    assert all(torch.equal(a, b) for a, b in zip(again, seen[:len(loader)]))
    assert torch.equal(state, torch.random.get_rng_state())


def test_own_pilot_runs_reach_predict(walk, digits, capsys):
    d, _ = walk
    xt, yt, xv, yv = digits
    sizes = np.bincount(yt.numpy(), minlength=K)
    assert main(["pilots", "--sizes", *map(str, sizes), "--out", str(d / "pilots")]) == 0
    capsys.readouterr()
    runs = []
    for i, f in enumerate(sorted((d / "pilots").glob("pilot_*.json"))):
        # the within-class draw: a select seed of its own per pilot (pilots --seed chose only the staircases)
        assert main(["select", "--labels", str(d / "train_labels.npy"), "--counts-file", str(f), "--seed",
                     str(100 + i), "--out", str(d / "pilots" / f"kept_{i}.npy")]) == 0
        idx = np.load(d / "pilots" / f"kept_{i}.npy")
        model = train(xt[idx], yt[idx], seed=i)
        with torch.no_grad():
            pred = model(xv).argmax(1).numpy()
        runs.append({"counts": json.loads(f.read_text())["counts"], "recalls": class_recalls(pred, yv, K),
                     "label": f.stem})
    write_run_table(d / "runs.json", sizes, runs)
    counts = json.loads((d / "alloc.json").read_text())["allocations"]["Uniform"]["counts"]
    capsys.readouterr()
    assert main(["predict", "--runs", str(d / "runs.json"), "--query", str(d / "val_logits.npy"),
                 "--query-labels", str(d / "val_labels.npy"), "--counts", *map(str, counts), "--n-boot", "5",
                 "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_runs"] == 4 and out["query"] == "val_logits.npy" and len(out["recalls"]) == K
    assert all(lo <= r <= hi for lo, r, hi in zip(out["lower"], out["recalls"], out["upper"]))   # fix 2
