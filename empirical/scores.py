r"""Sample scores of the pruning strategies (higher score = harder = kept), and the query-model plan.

* **Random**: i.i.d. :math:`U(0,1)` from a ``torch.Generator``.
* **EL2N** (Paul et al. 2021): :math:`\lVert\mathrm{softmax}(f(x))-\mathrm{onehot}(y)\rVert_2`.
* **GraNd** (Paul et al. 2021): :math:`\lVert\nabla_\theta\,\ell(f_\theta(x),y)\rVert_2` over all
  trained parameters (eval-mode BatchNorm), from one backward pass per chunk and closed-form
  per-layer norms (:func:`grand_scores`).
  EL2N and GraNd are taken after a query training of 10% of the final length, averaged over 5
  initialisations (arXiv 2404.05579, App. A, and the official code's query settings).
* **Forgetting** (Toneva et al. 2019): number of correct→incorrect transitions of a sample between
  consecutive minibatch visits during training. As in the official DRoP code, a never-learned sample
  scores 0 (the original paper gives it :math:`\infty`).
* **Dynamic Uncertainty** (He et al. 2023): with :math:`p_e` the true-class probability at epoch
  :math:`e` (recorded at the minibatch visit) and window :math:`J=10`,
  :math:`U=\frac1{E-J+1}\sum_{k=1}^{E-J+1}\mathrm{std}(p_k,\dots,p_{k+J-1})`.
* **CoreSet** (Sener & Savarese 2018): greedy k-center on penultimate-layer embeddings; the
  :math:`i`-th chosen centre scores :math:`b-i` (budget :math:`b`), others 0, so top-:math:`b` by
  score is the k-center set. With class quotas it runs within each class.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from .device import autocast, resolve_precision
from .recipes import Recipe

__all__ = ["SCORES", "SCORE_LABELS", "SHARED_QUERY_SCORES", "query_plan", "random_scores", "el2n_scores",
           "grand_scores", "ForgettingTracker", "DynamicUncertaintyTracker", "kcenter_greedy",
           "coreset_scores"]

from .options import QUERY_SCORES, SCORES, SHARED_QUERY_SCORES

SCORE_LABELS = {"random": "Random", "el2n": "EL2N", "grand": "GraNd", "forgetting": "Forgetting",
                "dynunc": "DynUnc", "coreset": "CoreSet", "rcap": "RCAP"}


def query_plan(score: str, recipe: Recipe, epochs: int | None = None, inits: int | None = None) -> dict:
    """Query-model settings of the paper's protocol for ``score``: ``{"recipe", "inits"}``.

    * random (used only for DRoP recalls; likewise rcap, which trains none):
      ``recipe.query_epochs`` epochs, 1 init; the ``paper``
      recipe keeps a constant LR (official defaults: 16 epochs, drops at 50/100 never reached);
      the ``fast`` recipe compresses its one-cycle schedule;
    * el2n, grand: 10% of the final epochs (LR drops scaled), 5 inits, scores averaged;
    * forgetting, dynunc, coreset: one full-length run.

    ``epochs``/``inits`` override the preset.
    """
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    if score not in QUERY_SCORES:
        r = recipe.with_epochs(recipe.query_epochs)
        if recipe.schedule == "step":
            r = dataclasses.replace(r, schedule="constant", milestones=())
        n_init = 1
    elif score in ("el2n", "grand"):
        r = recipe.with_epochs(max(1, int(round(0.1 * recipe.epochs))))
        n_init = 5
    else:
        r, n_init = recipe, 1
    if epochs is not None:
        r = r.with_epochs(int(epochs))
    if inits is not None:
        if not (isinstance(inits, (int, np.integer)) and inits >= 1):
            raise ValueError(f"query inits must be a positive int, got {inits!r}")
        n_init = int(inits)
    return {"recipe": r, "inits": n_init}


def random_scores(n: int, generator: torch.Generator) -> np.ndarray:
    """``n`` i.i.d. U(0, 1) scores (float64) from ``generator``."""
    return torch.rand(n, generator=generator, dtype=torch.float64).numpy()


def el2n_scores(logits: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    r"""EL2N :math:`\lVert\mathrm{softmax}(z)-\mathrm{onehot}(y)\rVert_2` for logits ``z`` (N, K)."""
    p = torch.softmax(logits.float(), dim=1)
    p = p - F.one_hot(y.long(), p.shape[1]).to(p.dtype)
    return p.norm(dim=1).double().cpu().numpy()


def grand_scores(model, x: torch.Tensor, y: torch.Tensor, aug=None, chunk: int | None = None,
                 method: str = "auto", precision: str = "fp32") -> np.ndarray:
    r"""GraNd :math:`\lVert\nabla_\theta\,\mathrm{CE}(f_\theta(x_i),y_i)\rVert_2` per sample over the
    trained parameters :math:`\theta` (those with ``requires_grad``; eval-mode batch norm), float64.

    ``method``:

    * ``"layerwise"``: one ordinary backward pass per chunk gives every sample's gradient with respect
      to each layer's output (eval mode: samples do not interact); each layer's per-sample weight
      gradient norm then follows in closed form from its input and that output gradient. Linear:
      :math:`\lVert g\,a^\top\rVert^2=\lVert g\rVert^2\lVert a\rVert^2`; conv (patches :math:`U`,
      output gradient :math:`G` over :math:`T` positions): :math:`\lVert G U^\top\rVert_F^2`, formed
      directly or, when :math:`T^2` is small, as :math:`\langle G^\top G, U^\top U\rangle_F`; batch
      norm: per-channel sums of :math:`g\hat x` and :math:`g`. Supports Linear, Conv2d (one group, zero
      padding) and BatchNorm layers.
    * ``"vmap"``: per-sample gradients materialised with ``torch.func.vmap`` (any model; slower).
    * ``"auto"``: layerwise when every layer with trained parameters is supported, else vmap.

    ``chunk``: samples per pass (default: ~2e8 gradient entries for vmap, 128 for layerwise).
    ``precision`` (layerwise only): ``"fp32"``, or ``"bf16"``/``"auto"`` as in training
    (:func:`empirical.device.resolve_precision`): the passes and the per-layer products run under bf16
    autocast, the norms are summed in float32.
    """
    if method not in ("auto", "layerwise", "vmap"):
        raise ValueError(f"method must be 'auto', 'layerwise' or 'vmap', got {method!r}")
    if chunk is not None and not (isinstance(chunk, (int, np.integer)) and chunk >= 1):
        raise ValueError(f"chunk must be a positive int, got {chunk!r}")
    resolve_precision(precision, x.device)  # validates it
    layers = _trained_layers(model)
    supported = all(_layerwise_supported(m) for m in layers)
    if method == "layerwise" and not supported:
        bad = sorted({type(m).__name__ for m in layers if not _layerwise_supported(m)})
        raise ValueError(f"method='layerwise' does not support layers {bad}; use method='vmap'")
    was = model.training
    model.eval()
    try:
        if method == "vmap" or not supported:
            return _grand_vmap(model, x, y, aug, chunk)
        return _grand_layerwise(model, layers, x, y, aug, chunk or 128, precision)
    finally:
        model.train(was)


def _trained_layers(model) -> list:
    return [m for m in model.modules() if any(p.requires_grad for p in m.parameters(recurse=False))]


def _layerwise_supported(m) -> bool:
    if isinstance(m, torch.nn.Linear):
        return True
    if isinstance(m, torch.nn.Conv2d):
        return m.groups == 1 and m.padding_mode == "zeros" and not isinstance(m.padding, str)
    if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
        return m.running_mean is not None and m.running_var is not None
    return False


def _grand_vmap(model, x, y, aug, chunk) -> np.ndarray:
    from torch.func import functional_call, grad, vmap

    trained = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    frozen = {k: v.detach() for k, v in model.named_parameters() if not v.requires_grad}
    frozen.update({k: v.detach() for k, v in model.named_buffers()})
    n_par = sum(v.numel() for v in trained.values())
    chunk = int(chunk) if chunk else max(1, min(256, int(2e8 // max(n_par, 1))))

    def loss(p, b, xi, yi):
        out = functional_call(model, (p, b), (xi.unsqueeze(0),))
        return F.cross_entropy(out.float(), yi.unsqueeze(0))

    per_sample = vmap(grad(loss), in_dims=(None, None, 0, 0))
    out = []
    for i in range(0, len(x), chunk):
        xb = x[i:i + chunk]
        xb = aug(xb) if aug is not None else xb.float()
        g = per_sample(trained, frozen, xb, y[i:i + chunk])
        sq = sum(v.pow(2).flatten(1).sum(1) for v in g.values())
        out.append(sq.sqrt().double().cpu())
    return torch.cat(out).numpy() if out else np.zeros(0)


def _grand_layerwise(model, layers, x, y, aug, chunk, precision) -> np.ndarray:
    seen = {}

    reused = []

    def keep(module, inputs, output):
        if module in seen:  # a layer applied twice: its gradient is a sum over calls, not closed-form
            reused.append(module)
        seen[module] = (inputs[0].detach(), output)
        return output.clone()  # later in-place ops (ReLU(inplace=True)) must not alter the kept output

    handles = [m.register_forward_hook(keep) for m in layers]
    out = []
    try:
        for i in range(0, len(x), chunk):
            xb = x[i:i + chunk]
            xb = aug(xb) if aug is not None else xb.float()
            seen.clear()
            with torch.enable_grad(), autocast(xb.device, precision):
                logits = model(xb)
                if reused:
                    break
                loss = F.cross_entropy(logits.float(), y[i:i + chunk].long(), reduction="sum")
                grads = torch.autograd.grad(loss, [seen[m][1] for m in layers])
                sq = torch.zeros(len(xb), dtype=torch.float64, device=xb.device)
                for m, g in zip(layers, grads):
                    sq += _layer_sq_norm(m, seen[m][0], g.detach()).double()
            out.append(sq.sqrt().cpu())
    finally:
        for h in handles:
            h.remove()
    if reused:  # hooks removed first: the vmap fallback must not trigger them
        return _grand_vmap(model, x, y, aug, None)
    return torch.cat(out).numpy() if out else np.zeros(0)


def _layer_sq_norm(m, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Per-sample squared norm of the gradient of ``m``'s trained parameters, from its input ``a`` and the
    gradient ``g`` of the summed loss with respect to its output (both batched over samples)."""
    n = len(a)
    dt = torch.promote_types(a.dtype, g.dtype)
    a, g = a.to(dt), g.to(dt)
    w_on = m.weight is not None and m.weight.requires_grad
    b_on = m.bias is not None and m.bias.requires_grad
    sq = torch.zeros(n, device=a.device)
    if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
        a, g = a.float(), g.float()
        g3 = g.reshape(n, g.shape[1], -1)
        if w_on:
            shape = (1, -1) + (1,) * (a.ndim - 2)
            xhat = (a - m.running_mean.view(shape)) / torch.sqrt(m.running_var.view(shape) + m.eps)
            sq += (g3 * xhat.reshape(g3.shape)).sum(2).pow(2).sum(1)
        if b_on:
            sq += g3.sum(2).pow(2).sum(1)
        return sq
    if isinstance(m, torch.nn.Linear):
        a3, g3 = a.reshape(n, -1, a.shape[-1]), g.reshape(n, -1, g.shape[-1])  # (N, T, in), (N, T, out)
    else:  # Conv2d: patches (N, T, C_in k^2) and output gradients (N, T, C_out)
        a3 = F.unfold(a, m.kernel_size, m.dilation, m.padding, m.stride).transpose(1, 2)
        g3 = g.flatten(2).transpose(1, 2)
    if w_on:
        t, d_in, d_out = a3.shape[1], a3.shape[2], g3.shape[2]
        if t == 1:
            sq += a3.float().pow(2).sum((1, 2)) * g3.float().pow(2).sum((1, 2))
        elif t * t * (d_in + d_out) < t * d_in * d_out:  # <G^T G, U^T U>: cheaper for few positions
            gg, aa = torch.bmm(g3, g3.transpose(1, 2)), torch.bmm(a3, a3.transpose(1, 2))
            sq += (gg.float() * aa.float()).sum((1, 2))
        else:
            sq += torch.bmm(g3.transpose(1, 2), a3).float().pow(2).sum((1, 2))
    if b_on:
        sq += g3.float().sum(1).pow(2).sum(1)
    return sq


class ForgettingTracker:
    """Counts forgetting events (correct at the previous visit, incorrect now) per training sample."""

    def __init__(self, n: int, device):
        self.prev = torch.zeros(n, dtype=torch.bool, device=device)
        self.forgets = torch.zeros(n, dtype=torch.int32, device=device)

    def update(self, idx: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        correct = logits.argmax(1) == y
        self.forgets[idx] += (self.prev[idx] & ~correct).int()
        self.prev[idx] = correct

    def end_epoch(self) -> None:
        pass

    def scores(self) -> np.ndarray:
        return self.forgets.double().cpu().numpy()

    def state_dict(self) -> dict:
        return {"prev": self.prev.cpu(), "forgets": self.forgets.cpu()}

    def load_state_dict(self, s: dict) -> None:
        self.prev.copy_(s["prev"])
        self.forgets.copy_(s["forgets"])


class DynamicUncertaintyTracker:
    """Records the true-class probability of each sample at its minibatch visit, every epoch."""

    def __init__(self, n: int, epochs: int, device, window: int = 10):
        self.probs = torch.zeros(epochs, n, dtype=torch.float32, device=device)
        self.epoch = 0
        self.window = int(window)

    def update(self, idx, logits, y) -> None:
        p = torch.softmax(logits.float(), 1).gather(1, y[:, None])[:, 0]
        self.probs[self.epoch, idx] = p

    def end_epoch(self) -> None:
        self.epoch += 1

    def scores(self) -> np.ndarray:
        e = self.epoch
        if e < 2:
            return np.zeros(self.probs.shape[1])
        j = min(self.window, e)
        win = self.probs[:e].unfold(0, j, 1)              # (e-j+1, N, j)
        return win.std(dim=2, unbiased=False).mean(0).double().cpu().numpy()

    def state_dict(self) -> dict:
        return {"probs": self.probs.cpu(), "epoch": self.epoch}

    def load_state_dict(self, s: dict) -> None:
        self.probs.copy_(s["probs"])
        self.epoch = int(s["epoch"])


def kcenter_greedy(emb: torch.Tensor, budget: int, generator: torch.Generator) -> torch.Tensor:
    r"""Greedy k-center: start at a random point, then repeatedly add the point farthest (Euclidean)
    from the chosen set, :math:`c_{i+1}=\arg\max_x\min_{j\le i}\lVert x-c_j\rVert`. Returns the
    ``budget`` chosen indices in selection order. O(budget · N · p), one vectorised step per pick."""
    n = len(emb)
    budget = int(min(max(budget, 0), n))
    order = torch.empty(budget, dtype=torch.long, device=emb.device)
    if budget == 0:
        return order.cpu()
    emb = emb.float()
    sq = (emb * emb).sum(1)
    mind = torch.full((n,), float("inf"), device=emb.device)
    cur = torch.randint(n, (1,), generator=generator).to(emb.device)[0]
    for i in range(budget):
        order[i] = cur
        d = (sq - 2.0 * (emb @ emb[cur]) + sq[cur]).clamp_min_(0.0)
        mind = torch.minimum(mind, d)
        mind[cur] = -1.0  # chosen: stays below every distance
        cur = torch.argmax(mind)
    return order.cpu()


def coreset_scores(emb: torch.Tensor, labels: np.ndarray, counts, total: int,
                   generator: torch.Generator) -> np.ndarray:
    """CoreSet scores for the given budgets: per class (``counts[k]`` centres among class ``k``) or,
    with ``counts=None``, ``total`` centres over the whole pool."""
    labels = np.asarray(labels)
    scores = np.zeros(len(labels))
    groups = ([(np.arange(len(labels)), int(total))] if counts is None else
              [(np.flatnonzero(labels == k), int(c)) for k, c in enumerate(counts)])
    for idx, b in groups:
        if b <= 0 or idx.size == 0:
            continue
        order = kcenter_greedy(emb[torch.as_tensor(idx, device=emb.device)], b, generator).numpy()
        scores[idx[order]] = b - np.arange(order.size)
    return scores
