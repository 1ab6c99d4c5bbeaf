"""Model shapes, parameter counts, seeded initialisation, features/head decomposition."""

import pytest

torch = pytest.importorskip("torch")

from empirical.models import MODELS, build_model  # noqa: E402


@pytest.mark.parametrize("name, params", [("resnet18", 11_173_962), ("vgg16", 14_724_042),
                                          ("vgg19", 20_035_018), ("smallcnn", 391_466)])
def test_image_models(name, params):
    m = build_model(name, 10, (3, 32, 32), generator=torch.Generator().manual_seed(0))
    assert sum(p.numel() for p in m.parameters()) == params
    m.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out, feats = m(x), m.features(x)
    assert out.shape == (2, 10)
    torch.testing.assert_close(m.head(feats), out)


def test_feature_models_and_seeding():
    for name in ("mlp", "linear"):
        a = build_model(name, 3, (5,), generator=torch.Generator().manual_seed(1))
        b = build_model(name, 3, (5,), generator=torch.Generator().manual_seed(1))
        c = build_model(name, 3, (5,), generator=torch.Generator().manual_seed(2))
        x = torch.randn(4, 5)
        assert a(x).shape == (4, 3)
        torch.testing.assert_close(a(x), b(x))
        assert not torch.allclose(a(x), c(x))


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="model must be one of"):
        build_model("resnet50", 10, (3, 32, 32))
    with pytest.raises(ValueError, match="needs image inputs"):
        build_model("vgg16", 10, (8,))
    with pytest.raises(ValueError, match="num_classes"):
        build_model("mlp", 1, (8,))
    assert "smallcnn" in MODELS


def test_options_match_the_implementations():
    # empirical.options lists the CLI's choices without importing torch; each must be implemented.
    from empirical import options, recipes, selection
    from empirical.models import build_model

    assert tuple(recipes.RECIPES) == options.RECIPE_KINDS
    assert all(set(recipes.RECIPES[k]) == set(options.MODELS) for k in ("paper", "fast"))
    # the airbench recipe is tuned for the whitenet architecture, and says so for any other model
    assert set(recipes.RECIPES["airbench"]) == {"whitenet-128", "whitenet-256"}
    with pytest.raises(ValueError, match="--recipe airbench serves whitenet-128, whitenet-256"):
        recipes.get_recipe("airbench", "smallcnn")
    assert selection.QUOTAS == options.QUOTAS
    for name in options.MODELS:
        shape = (3, 32, 32) if name in options.IMAGE_MODELS else (8,)
        assert build_model(name, 10, shape, torch.Generator().manual_seed(0)) is not None


# ----------------------------------------------------------------------------- the whitened conv net
@pytest.mark.parametrize("name, params", [("whitenet-128", 569_656), ("whitenet-256", 1_972_792)])
def test_whitenet_shape_parameters_and_seeding(name, params):
    a = build_model(name, 10, (3, 32, 32), generator=torch.Generator().manual_seed(0))
    b = build_model(name, 10, (3, 32, 32), generator=torch.Generator().manual_seed(0))
    c = build_model(name, 10, (3, 32, 32), generator=torch.Generator().manual_seed(1))
    assert sum(p.numel() for p in a.parameters()) == params
    # trained: conv and head weights, batch-norm and stem biases; frozen: the stem's weights, BN scales
    frozen = {n for n, p in a.named_parameters() if not p.requires_grad}
    assert "whiten.weight" in frozen and all(n == "whiten.weight" or n.endswith("norm1.weight")
                                             or n.endswith("norm2.weight") for n in frozen)
    x = torch.randn(3, 3, 32, 32)
    a.eval(), b.eval(), c.eval()
    with torch.no_grad():
        out = a(x)
        assert out.shape == (3, 10) and a.features(x).shape == (3, a.head.in_features)
        torch.testing.assert_close(a.head(a.features(x)), out)
        torch.testing.assert_close(b(x), out)
        assert not torch.allclose(c(x), out)
    # the first c_in filters of every 3x3 convolution start as the identity
    w = a.groups[1].conv1.weight
    torch.testing.assert_close(w[:w.shape[1], :, 1, 1], torch.eye(w.shape[1]))


def test_whitening_stem_whitens_its_patches():
    # fitted on correlated images, the stem's first half of channels has identity covariance over the
    # 2x2 patches (up to the eps regulariser) and the second half is its negative
    g = torch.Generator().manual_seed(0)
    base = torch.randn(64, 1, 32, 32, generator=g)
    x = torch.cat([base, 0.5 * base + 0.1 * torch.randn(64, 1, 32, 32, generator=g),
                   torch.randn(64, 1, 32, 32, generator=g) * 3], dim=1)
    m = build_model("whitenet-128", 10, (3, 32, 32), generator=g)
    m.fit_whitening(x, eps=0.0)
    with torch.no_grad():
        z = torch.nn.functional.conv2d(x.double(), m.whiten.weight.double())
    half = z.shape[1] // 2
    flat = z[:, :half].permute(0, 2, 3, 1).reshape(-1, half)
    torch.testing.assert_close(flat.T @ flat / len(flat), torch.eye(half, dtype=torch.float64),
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(z[:, half:], -z[:, :half])
