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
    from empirical import options, selection, train
    from empirical.models import build_model

    assert tuple(train.RECIPES) == options.RECIPE_KINDS
    assert all(set(train.RECIPES[k]) == set(options.MODELS) for k in options.RECIPE_KINDS)
    assert selection.QUOTAS == options.QUOTAS
    for name in options.MODELS:
        shape = (3, 32, 32) if name in options.IMAGE_MODELS else (8,)
        assert build_model(name, 10, shape, torch.Generator().manual_seed(0)) is not None
