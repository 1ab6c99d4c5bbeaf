"""The long-tailed training set (``--long-tail RHO``, issue "Beyond CIFAR-10"): the standard construction's
class sizes (CIFAR-10-LT's published totals), the first samples of each class kept, the validation and test
sets unchanged, the run and query ids of every recorded run unchanged and those of a long-tailed run new,
and bad ratios refused by name."""

import numpy as np
import pytest

pytest.importorskip("torch")

from empirical.run_config import RunConfig  # noqa: E402
from empirical.stage_data import load_data, long_tail_sizes  # noqa: E402

SYN = {"n_train_per_class": 100, "n_test_per_class": 20}


def test_cifar10_lt_sizes_are_the_published_ones():
    """Cao et al. 2019 (LDAM): 12,406 training images at rho = 100 and 20,431 at rho = 10."""
    assert long_tail_sizes([5000] * 10, 100).tolist() == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert int(long_tail_sizes([5000] * 10, 100).sum()) == 12406
    assert long_tail_sizes([5000] * 10, 10).tolist() == [5000, 3871, 2997, 2320, 1796, 1391, 1077, 834, 645,
                                                         500]
    assert int(long_tail_sizes([5000] * 10, 10).sum()) == 20431
    assert long_tail_sizes([7, 7], 1).tolist() == [7, 7]           # rho = 1: balanced, nothing removed
    assert long_tail_sizes([10, 10, 10], 1e9).tolist() == [10, 1, 1]  # never an empty class


def test_the_first_samples_of_each_class_are_kept_and_the_held_out_sets_are_unchanged():
    full = load_data(RunConfig(dataset="gaussian", model="linear", synthetic=SYN))
    lt = load_data(RunConfig(dataset="gaussian", model="linear", synthetic=SYN, long_tail=10))
    sizes = np.bincount(lt.y_train, minlength=4)
    assert sizes.tolist() == long_tail_sizes([100] * 4, 10).tolist() == [100, 46, 21, 10]
    for k in range(4):
        assert np.array_equal(lt.x_train[lt.y_train == k], full.x_train[full.y_train == k][:sizes[k]])
    assert np.array_equal(lt.x_test, full.x_test) and np.array_equal(lt.y_test, full.y_test)


def test_recorded_ids_stay_and_a_long_tailed_run_is_named_apart():
    base = dict(dataset="gaussian", model="linear", synthetic=SYN, density=0.5)
    plain, lt10, lt100 = (RunConfig(**base), RunConfig(**base, long_tail=10),
                          RunConfig(**base, long_tail=100))
    assert "long_tail" not in plain.identity()                    # None is neutral: recorded ids unchanged
    assert len({plain.run_id(0), lt10.run_id(0), lt100.run_id(0)}) == 3
    assert len({plain.query_id(0), lt10.query_id(0), lt100.query_id(0)}) == 3


@pytest.mark.parametrize("bad, error", [(0.5, ValueError), (float("inf"), ValueError),
                                        (float("nan"), ValueError), ("10", TypeError), (True, TypeError)])
def test_bad_ratios_are_refused_by_name(bad, error):
    with pytest.raises(error, match=r"long_tail \(--long-tail\)"):
        RunConfig(dataset="gaussian", model="linear", synthetic=SYN, long_tail=bad).validate()


def test_the_command_line_trains_a_long_tailed_run(tmp_path):
    import json

    from gaussian_theory.cli import main

    assert main(["empirical", "run", "--dataset", "gaussian", "--gaussian-train-per-class", "40",
                 "--gaussian-test-per-class", "8", "--model", "linear", "--density", "0.5", "--quota",
                 "uniform", "--long-tail", "4", "--epochs", "1", "--device", "cpu", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    (run,) = [json.loads(f.read_text()) for f in tmp_path.glob("*.json")]
    assert run["config"]["long_tail"] == 4.0
    assert run["dataset"]["class_sizes"] == [40, 25, 15, 10]
