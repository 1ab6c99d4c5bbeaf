"""Scores: formulas against direct computations, trackers, greedy k-center, query plans."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from empirical import scores  # noqa: E402
from empirical.models import build_model  # noqa: E402
from empirical.recipes import get_recipe  # noqa: E402


def test_el2n_formula():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    y = torch.tensor([0, 2])
    p = torch.softmax(logits, 1).numpy()
    expect = [np.linalg.norm(p[0] - [1, 0, 0]), np.linalg.norm(p[1] - [0, 0, 1])]
    np.testing.assert_allclose(scores.el2n_scores(logits, y), expect, rtol=1e-6)


def test_grand_matches_per_sample_autograd():
    model = build_model("mlp", 3, (4,), generator=torch.Generator().manual_seed(0))
    x = torch.randn(7, 4, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    got = scores.grand_scores(model, x, y, chunk=3)
    expect = []
    for i in range(7):
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        expect.append(torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters())).item())
    np.testing.assert_allclose(got, expect, rtol=1e-4)


def test_grand_on_cnn_with_batchnorm_runs():
    model = build_model("smallcnn", 10, (3, 8, 8), generator=torch.Generator().manual_seed(0))
    x = torch.randn(3, 3, 8, 8)
    g = scores.grand_scores(model, x, torch.tensor([1, 2, 3]))
    assert g.shape == (3,) and (g > 0).all()


def _grand_by_loop(model, x, y):
    """Per-sample gradient norms over the trained parameters, one backward pass per sample (eval mode)."""
    model.eval()
    trained = [p for p in model.parameters() if p.requires_grad]
    out = []
    for i in range(len(x)):
        grads = torch.autograd.grad(torch.nn.functional.cross_entropy(model(x[i:i + 1]), y[i:i + 1]), trained)
        out.append(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item())
    return np.array(out)


def _trained_bn(model, seed):
    """Give batch norms non-trivial running statistics (and trained scales where they train)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(0.3 * torch.randn(m.num_features, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.num_features, generator=gen))
                if m.weight.requires_grad:
                    m.weight.copy_(1 + 0.2 * torch.randn(m.num_features, generator=gen))
    return model


@pytest.mark.parametrize("name,shape", [("smallcnn", (3, 8, 8)), ("whitenet-128", (3, 32, 32)),
                                        ("resnet18", (3, 8, 8)), ("mlp", (5,))])
@pytest.mark.parametrize("method", ["layerwise", "vmap"])
def test_grand_methods_match_per_sample_loop(name, shape, method):
    # Layerwise closed forms (including the <G^T G, U^T U> form, which whitenet's 3x3 group takes) and
    # vmap, each against one backward pass per sample; frozen parameters (whitenet's stem weights and
    # batch-norm scales) are not part of theta.
    model = _trained_bn(build_model(name, 4, shape, generator=torch.Generator().manual_seed(0)), 1)
    if name.startswith("whitenet"):
        model.fit_whitening(torch.randn(64, *shape, generator=torch.Generator().manual_seed(3)))
    x = torch.randn(5, *shape, generator=torch.Generator().manual_seed(2))
    y = torch.tensor([0, 1, 2, 3, 1])
    expect = _grand_by_loop(model, x, y)
    model.train()
    got = scores.grand_scores(model, x, y, chunk=2, method=method)
    assert model.training  # the mode is restored
    np.testing.assert_allclose(got, expect, rtol=2e-4)


def test_grand_bf16_close_to_fp32():
    # bf16 autocast (the pipeline passes the run's precision) perturbs each norm by a few 1e-3 (8-bit
    # mantissa products summed in float32); the ranking that pruning uses is what must survive.
    model = build_model("whitenet-128", 10, (3, 32, 32), generator=torch.Generator().manual_seed(0))
    model = _trained_bn(model, 1)
    x = torch.randn(32, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    model.fit_whitening(x)
    y = torch.randint(0, 10, (32,), generator=torch.Generator().manual_seed(3))
    exact = scores.grand_scores(model, x, y)
    low = scores.grand_scores(model, x, y, precision="bf16")
    np.testing.assert_allclose(low, exact, rtol=3e-2)
    assert np.corrcoef(np.argsort(np.argsort(low)), np.argsort(np.argsort(exact)))[0, 1] > 0.99
    with pytest.raises(ValueError, match="precision"):
        scores.grand_scores(model, x, y, precision="fp16")


def test_grand_layerwise_survives_inplace_activation_and_rejects_bad_input():
    model = build_model("smallcnn", 3, (3, 8, 8), generator=torch.Generator().manual_seed(0))
    assert any(getattr(m, "inplace", False) for m in model.modules())  # ReLU(inplace=True) after BN
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 0])
    np.testing.assert_allclose(scores.grand_scores(model, x, y, method="layerwise"),
                               _grand_by_loop(model, x, y), rtol=2e-4)
    with pytest.raises(ValueError, match="method"):
        scores.grand_scores(model, x, y, method="fast")
    with pytest.raises(ValueError, match="chunk"):
        scores.grand_scores(model, x, y, chunk=0)
    prelu_net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 3), torch.nn.PReLU())
    with pytest.raises(ValueError, match="PReLU"):
        scores.grand_scores(prelu_net, x, y, method="layerwise")
    np.testing.assert_allclose(scores.grand_scores(prelu_net, x, y), _grand_by_loop(prelu_net, x, y),
                               rtol=2e-4)


def test_forgetting_tracker_counts_correct_to_incorrect():
    t = scores.ForgettingTracker(3, "cpu")
    right = torch.tensor([[5.0, 0.0, 0.0]] * 3)   # predicts class 0
    wrong = torch.tensor([[0.0, 5.0, 0.0]] * 3)   # predicts class 1
    y = torch.tensor([0, 0, 2])
    idx = torch.arange(3)
    for logits in (right, wrong, right, wrong):
        t.update(idx, logits, y)
    # samples 0,1: correct, wrong, correct, wrong -> 2 events; sample 2 never learned -> 0
    np.testing.assert_array_equal(t.scores(), [2, 2, 0])
    t2 = scores.ForgettingTracker(3, "cpu")
    t2.load_state_dict(t.state_dict())
    np.testing.assert_array_equal(t2.scores(), t.scores())


def test_dynamic_uncertainty_windows():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, size=(12, 2))
    t = scores.DynamicUncertaintyTracker(2, 12, "cpu", window=10)
    y = torch.tensor([0, 1])
    for e in range(12):
        # logits whose softmax gives true-class probability p[e]
        logit = np.log(p[e] / (1 - p[e]))
        lg = torch.zeros(2, 2, dtype=torch.float64)
        lg[0, 0], lg[1, 1] = float(logit[0]), float(logit[1])
        t.update(torch.arange(2), lg.float(), y)
        t.end_epoch()
    expect = np.mean([p[k:k + 10].std(axis=0) for k in range(3)], axis=0)
    np.testing.assert_allclose(t.scores(), expect, rtol=1e-5)


def test_kcenter_greedy_picks_farthest_points():
    pts = torch.tensor([[0.0, 0], [0.1, 0], [10, 0], [0, 5], [10.1, 0]])
    order = scores.kcenter_greedy(pts, 3, torch.Generator().manual_seed(0)).tolist()
    first = order[0]
    d = torch.cdist(pts, pts[[first]])[:, 0]
    assert order[1] == int(torch.argmax(d))
    assert len(set(order)) == 3
    # full ordering visits every point once
    assert sorted(scores.kcenter_greedy(pts, 5, torch.Generator().manual_seed(0)).tolist()) == list(range(5))


def test_coreset_scores_respect_class_budgets():
    emb = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))
    y = np.repeat([0, 1], 10)
    s = scores.coreset_scores(emb, y, [3, 5], 8, torch.Generator().manual_seed(0))
    assert ((s[:10] > 0).sum(), (s[10:] > 0).sum()) == (3, 5)


def test_query_plans_follow_the_protocol():
    paper = get_recipe("paper", "vgg16")
    p = scores.query_plan("el2n", paper)
    assert (p["recipe"].epochs, p["recipe"].milestones, p["inits"]) == (16, (8, 12), 5)
    p = scores.query_plan("random", paper)
    assert (p["recipe"].epochs, p["recipe"].schedule, p["inits"]) == (16, "constant", 1)
    p = scores.query_plan("forgetting", paper, inits=2)
    assert (p["recipe"].epochs, p["inits"]) == (160, 2)
    with pytest.raises(ValueError, match="score must be one of"):
        scores.query_plan("margin", paper)


def test_random_scores_are_seeded():
    a = scores.random_scores(5, torch.Generator().manual_seed(3))
    np.testing.assert_array_equal(a, scores.random_scores(5, torch.Generator().manual_seed(3)))


def test_grand_layer_applied_twice_falls_back_to_vmap():
    class Twice(torch.nn.Module):  # one Linear used twice: its gradient sums two calls, no closed form
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 3)

        def forward(self, x):
            return self.lin(torch.tanh(self.lin(x)))

    model = Twice()
    with torch.no_grad():
        model.lin.weight.copy_(torch.randn(3, 3, generator=torch.Generator().manual_seed(0)))
    x, y = torch.randn(4, 3, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 1, 2, 0])
    np.testing.assert_allclose(scores.grand_scores(model, x, y, method="layerwise"),
                               _grand_by_loop(model, x, y), rtol=2e-4)
    assert not model.lin._forward_hooks  # the layerwise hooks are gone
