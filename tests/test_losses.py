"""The loss family (METHODS.md §1.2, §3) against an independent NumPy reference.

The reference below is written from the METHODS text: NumPy arrays, with the per-element formulas
(naive sigmoids and logs, no torch, no log-sigmoid tricks) evaluated in 40-digit mpmath so that the
naive text stays exact at large logits; plus the documented conventions where a formula is
undefined (N_c = 0, N_c = N, documents without labels).
"""

from __future__ import annotations

import contextlib
import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longtail_mltc.labels import wce_weights
from longtail_mltc.losses import LOSSES, bce_loss, build_loss, loss_parameters
from longtail_mltc.losses.weights import wce_label_weights

NAMES = sorted(LOSSES)
DEFAULTS = {
    "gamma_fl": 1.0,  # §1.2 focal
    "gamma": 2.0,  # §3 family
    "cb_beta": 0.9,
    "map_alpha": 0.1,
    "map_beta": 10.0,
    "map_mu": 0.9,
    "ntr_kappa": 0.05,
    "ntr_lambda": 2.0,
    "wce_floor": 0.01,
}


# ---- independent NumPy reference ---------------------------------------------------------------


mp.mp.dps = 40  # mpmath (installed with torch, via sympy): naive formulas stay exact


def elementwise(fn, *arrays):
    """Apply a scalar mpmath formula to every cell; back to float64."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    cells = [np.broadcast_to(np.asarray(a, dtype=np.float64), shape).ravel() for a in arrays]
    values = [float(fn(*map(mp.mpf, args))) for args in zip(*cells, strict=True)]
    return np.array(values).reshape(shape)


def sigmoid(x):
    return 1 / (1 + mp.exp(-x))


def ref_focal(z, y, gamma):
    """§3 FL: −[y (1−p)^γ log p + (1−y) p^γ log(1−p)]; γ = 0 is BCE."""

    def cell(z, y):
        p = sigmoid(z)
        return -(y * (1 - p) ** gamma * mp.log(p) + (1 - y) * p**gamma * mp.log(1 - p))

    return elementwise(cell, z, y)


def ref_wce_alpha(counts, n, floor):
    """§1.2: α_c = log((N − N_c)/N_c), floored; undefined (N_c = 0, N) → floor."""
    alpha = []
    for n_c in counts:
        a = math.log((n - n_c) / n_c) if 0 < n_c < n else floor
        alpha.append(max(a, floor))
    return np.array(alpha)


def ref_cb_weight(counts, beta):
    """§3 CB: r = (1−β)/(1−β^{n_i}), with n_i = 0 treated as 1."""
    return np.array([(1 - beta) / (1 - beta ** max(n_c, 1)) for n_c in counts])


def ref_cb_document_weight(y, counts, beta):
    """Per-instance CB: mean of r_CB over the document's positives; none → per-label r_CB."""
    r = ref_cb_weight(counts, beta)
    out = np.empty(y.shape)
    for k in range(y.shape[0]):
        positives = [i for i in range(y.shape[1]) if y[k, i] == 1]
        out[k] = np.mean(r[positives]) if positives else r
    return out


def ref_rebalance(y, counts, alpha, beta, mu):
    """§3 R-FL: r_i = (1/n_i)/Σ_{j∈P_k}(1/n_j); r̂ = α + sigmoid(β(r − μ)); no positives → α + 1."""
    out = np.empty(y.shape)
    for k in range(y.shape[0]):
        positives = [j for j in range(y.shape[1]) if y[k, j] == 1]
        if not positives:
            out[k] = alpha + 1.0
            continue
        denominator = sum(1.0 / max(counts[j], 1) for j in positives)
        for i in range(y.shape[1]):
            r = (1.0 / max(counts[i], 1)) / denominator
            out[k, i] = alpha + 1.0 / (1.0 + math.exp(-beta * (r - mu)))
    return out


def ref_ntr(z, y, counts, n, gamma, kappa, lam):
    """§3 NTR-FL with p_i = n_i/N, counts clamped into [1, N−1] (N = 1: N/2)."""
    lo, hi = min(1.0, n / 2), max(n - 1.0, n / 2)
    prior = [mp.mpf(min(max(float(c), lo), hi)) / n for c in counts]
    v = np.array([float(-kappa * -mp.log(1 / p - 1)) for p in prior])  # v = −κ b̂

    def cell(z, y, v):
        q_pos = sigmoid(z - v)
        q_neg = sigmoid(lam * (z - v))
        positive = -((1 - q_pos) ** gamma) * mp.log(q_pos)
        negative = -(1 / mp.mpf(lam)) * q_neg**gamma * mp.log(1 - q_neg)
        return y * positive + (1 - y) * negative

    return elementwise(cell, z, y, v[None, :])


def reference(name, z, y, counts, n, params):
    """Per-element loss [documents, labels] of ``name`` straight from METHODS."""
    p = {**DEFAULTS, **params}
    gamma = p["gamma"]
    cb_mode = p.get("cb_mode", "label")

    def cb():
        if cb_mode == "document":
            return ref_cb_document_weight(y, counts, p["cb_beta"])
        return ref_cb_weight(counts, p["cb_beta"])[None, :]

    def rebalance():
        return ref_rebalance(y, counts, p["map_alpha"], p["map_beta"], p["map_mu"])

    def ntr(g):
        return ref_ntr(z, y, counts, n, g, p["ntr_kappa"], p["ntr_lambda"])

    if name == "bce":
        return ref_focal(z, y, 0.0)
    if name == "wce":
        return ref_wce_alpha(counts, n, p["wce_floor"])[None, :] * ref_focal(z, y, 0.0)
    if name == "focal":
        return ref_focal(z, y, params.get("gamma", p["gamma_fl"]))
    if name == "cb":
        return cb() * ref_focal(z, y, gamma)
    if name == "r_focal":
        return rebalance() * ref_focal(z, y, gamma)
    if name == "ntr_focal":
        return ntr(gamma)
    if name == "db":
        return rebalance() * ntr(gamma)
    if name == "db_no_focal":
        return rebalance() * ntr(0.0)
    if name == "cb_ntr":
        return cb() * ntr(gamma)
    raise AssertionError(name)


@contextlib.contextmanager
def default_dtype(dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def torch_none(name, z, y, counts, n, **params):
    """The torch loss in float64, its buffers built in float64 too (exact weights)."""
    with default_dtype(torch.float64):
        loss = build_loss(name, counts, n, **params)
    out = loss(torch.from_numpy(z), torch.from_numpy(y), reduction="none")
    return out.detach().numpy()


# ---- label-count profiles ----------------------------------------------------------------------

PROFILES = {
    # name: (n_train, counts)
    "moderate": (50, [1, 2, 3, 5, 8, 13, 20, 25, 30, 40, 49, 7]),
    "extremes": (40, [0, 1, 40, 39, 0, 1, 40, 2, 20, 0, 38, 3]),
    "huge_imbalance": (
        1_000_000,
        [999_999, 500_000, 250_000, 10_000, 1000, 100, 10, 2, 1, 1, 0, 1_000_000],
    ),
    "all_zero": (30, [0] * 12),
    "all_full": (30, [30] * 12),
    "single_document": (1, [0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0]),
}

PARAMS = {
    "bce": [{}],
    "wce": [{}, {"wce_floor": 0.3}],
    "focal": [{}, {"gamma": 2.0}, {"gamma": 0.5}, {"gamma": 0.0}],
    "cb": [{}, {"cb_beta": 0.999, "gamma": 1.0}, {"cb_mode": "document"}],
    "r_focal": [{}, {"map_mu": 0.05, "map_alpha": 0.3, "map_beta": 5.0}],
    "ntr_focal": [{}, {"ntr_kappa": 0.5, "ntr_lambda": 5.0, "gamma": 1.5}],
    "db": [{}, {"map_mu": 0.05, "ntr_kappa": 0.3, "ntr_lambda": 1.0}],
    "db_no_focal": [{}, {"map_beta": 3.0, "ntr_lambda": 4.0}],
    "cb_ntr": [{}, {"cb_mode": "document", "cb_beta": 0.99, "ntr_kappa": 0.2}],
}
CASES = [(name, params) for name in NAMES for params in PARAMS[name]]


def random_batch(n_labels, seed, n_docs=9):
    rng = np.random.default_rng(seed)
    z = np.clip(rng.normal(0.0, 2.5, (n_docs, n_labels)), -7, 7)
    y = (rng.random((n_docs, n_labels)) < 0.3).astype(np.float64)
    y[0] = 0.0  # a document without labels
    y[1] = 1.0  # a document with every label
    return z, y


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_matches_numpy_reference_elementwise(name, params, profile):
    n, counts = PROFILES[profile]
    z, y = random_batch(len(counts), seed=sorted(PROFILES).index(profile))
    expected = reference(name, z, y, counts, n, params)
    actual = torch_none(name, z, y, np.array(counts), n, **params)
    assert actual.shape == z.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("name", NAMES)
def test_float32_buffers_close_to_reference(name):
    n, counts = PROFILES["huge_imbalance"]
    z, y = random_batch(len(counts), seed=11)
    loss = build_loss(name, counts, n)  # float32 buffers, float64 logits
    actual = loss(torch.from_numpy(z), torch.from_numpy(y), reduction="none").numpy()
    np.testing.assert_allclose(actual, reference(name, z, y, counts, n, {}), rtol=1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(NAMES),
    n=st.integers(1, 10_000),
    data=st.data(),
)
def test_matches_numpy_reference_hypothesis(name, n, data):
    n_labels = data.draw(st.integers(1, 7), label="n_labels")
    counts = data.draw(st.lists(st.integers(0, n), min_size=n_labels, max_size=n_labels))
    n_docs = data.draw(st.integers(1, 5), label="n_docs")
    cells = n_docs * n_labels
    z = np.array(data.draw(st.lists(st.floats(-8, 8), min_size=cells, max_size=cells)))
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=cells, max_size=cells)), float)
    z, y = z.reshape(n_docs, n_labels), y.reshape(n_docs, n_labels)
    expected = reference(name, z, y, counts, n, {})
    actual = torch_none(name, z, y, counts, n)
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-300)


# ---- hand-computed 2 × 2 cases -----------------------------------------------------------------

LN2, LN3, LN4 = math.log(2), math.log(3), math.log(4)
# logits [[0, ln 3], [−ln 3, 0]] → p = [[1/2, 3/4], [1/4, 1/2]]; targets [[1, 0], [0, 1]].
Z_HAND = torch.tensor([[0.0, LN3], [-LN3, 0.0]], dtype=torch.float64)
Y_HAND = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)


def hand(name, counts, n, z=Z_HAND, **params):
    loss = build_loss(name, counts, n, **params).double()
    return loss(z, Y_HAND, reduction="none"), loss(z, Y_HAND)


def test_hand_bce():
    # positive p=1/2: −ln(1/2) = ln 2 = 0.693147; negative p=3/4: −ln(1/4) = ln 4 = 1.386294;
    # negative p=1/4: −ln(3/4) = 0.287682. mean = (0.693147 + 1.386294 + 0.287682 + 0.693147)/2
    # = 1.530135.
    per, mean = hand("bce", [1, 3], 4)
    expected = torch.tensor([[LN2, LN4], [-math.log(0.75), LN2]], dtype=torch.float64)
    torch.testing.assert_close(per, expected)
    torch.testing.assert_close(mean, torch.tensor(1.530135, dtype=torch.float64), atol=1e-6, rtol=0)


def test_hand_focal_gamma_2():
    # (1−p)^2·ln2 = 0.25·0.693147 = 0.173287; p^2·ln4 = 0.5625·1.386294 = 0.779791;
    # p^2·(−ln 0.75) = 0.0625·0.287682 = 0.017980; 0.173287.  mean = 1.144345/2 = 0.572173.
    per, mean = hand("focal", [1, 3], 4, gamma=2.0)
    expected = torch.tensor([[0.173287, 0.779791], [0.017980, 0.173287]], dtype=torch.float64)
    torch.testing.assert_close(per, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(mean, torch.tensor(0.572173, dtype=torch.float64), atol=1e-6, rtol=0)


def test_hand_wce():
    # N = 4, counts [1, 3]: α_0 = ln(3/1) = 1.098612; α_1 = ln(1/3) < 0 → floor 0.01.
    # row 0: 1.098612·ln2 = 0.761500, 0.01·ln4 = 0.013863
    # row 1: 1.098612·0.287682 = 0.316051, 0.01·ln2 = 0.006931
    per, _ = hand("wce", [1, 3], 4)
    expected = torch.tensor([[0.761500, 0.013863], [0.316051, 0.006931]], dtype=torch.float64)
    torch.testing.assert_close(per, expected, atol=1e-6, rtol=0)


def test_hand_cb():
    # β = 0.5, counts [1, 3]: r = 0.5/(1−0.5) = 1; 0.5/(1−0.125) = 0.571429. γ = 2 focal terms
    # from test_hand_focal_gamma_2: row 0: 0.173287, 0.571429·0.779791 = 0.445595;
    # row 1: 0.017980, 0.571429·0.173287 = 0.099021.
    per, _ = hand("cb", [1, 3], 4, cb_beta=0.5)
    expected = torch.tensor([[0.173287, 0.445595], [0.017980, 0.099021]], dtype=torch.float64)
    torch.testing.assert_close(per, expected, atol=1e-6, rtol=0)


def test_hand_r_focal():
    # counts [1, 3] → 1/n = [1, 1/3]. doc 0 (P = {0}): Σ = 1, r = [1, 1/3];
    # doc 1 (P = {1}): Σ = 1/3, r = [3, 1]. r̂ = 0.1 + sigmoid(10 (r − 0.9)):
    # r=1 → 0.1 + sigmoid(1) = 0.831059; r=1/3 → 0.1 + sigmoid(−5.6667) = 0.103447;
    # r=3 → 0.1 + sigmoid(21) = 1.100000. Times the γ=2 focal terms:
    # row 0: 0.831059·0.173287 = 0.144012, 0.103447·0.779791 = 0.080667;
    # row 1: 1.1·0.017980 = 0.019778, 0.831059·0.173287 = 0.144012.
    per, _ = hand("r_focal", [1, 3], 4)
    expected = torch.tensor([[0.144012, 0.080667], [0.019778, 0.144012]], dtype=torch.float64)
    torch.testing.assert_close(per, expected, atol=1e-6, rtol=0)


# NTR with N = 4, counts [1, 3], κ = 1, λ = 2, γ = 1: p = [1/4, 3/4],
# b̂ = −ln(1/p − 1) = [−ln 3, ln 3], v = −κ b̂ = [ln 3, −ln 3]. Logits chosen so that
# z − v = [[0, ln3/2], [−ln3/2, ln 3]] → z = [[ln 3, −ln3/2], [ln3/2, 0]].
Z_NTR = torch.tensor([[LN3, -LN3 / 2], [LN3 / 2, 0.0]], dtype=torch.float64)
NTR = {"ntr_kappa": 1.0, "ntr_lambda": 2.0, "gamma": 1.0}
# (0,0) positive, q = sigmoid(0) = 1/2: −(1/2)·ln(1/2) = 0.346574
# (0,1) negative, q = sigmoid(2·ln3/2) = 3/4: −(1/2)·(3/4)·ln(1/4) = 0.519860
# (1,0) negative, q = sigmoid(−ln 3) = 1/4: −(1/2)·(1/4)·ln(3/4) = 0.035960
# (1,1) positive, q = sigmoid(ln 3) = 3/4: −(1/4)·ln(3/4) = 0.071921
NTR_EXPECTED = torch.tensor([[0.346574, 0.519860], [0.035960, 0.071921]], dtype=torch.float64)


def test_hand_ntr_focal():
    per, mean = hand("ntr_focal", [1, 3], 4, z=Z_NTR, **NTR)
    torch.testing.assert_close(per, NTR_EXPECTED, atol=1e-6, rtol=0)
    # mean over documents of the label sum: (0.866434 + 0.107881) / 2 = 0.487158
    torch.testing.assert_close(mean, torch.tensor(0.487158, dtype=torch.float64), atol=1e-6, rtol=0)


def test_hand_db():
    # r̂ from test_hand_r_focal × NTR terms above:
    # row 0: 0.831059·0.346574 = 0.288022, 0.103447·0.519860 = 0.053778;
    # row 1: 1.1·0.035960 = 0.039556, 0.831059·0.071921 = 0.059771.
    per, _ = hand("db", [1, 3], 4, z=Z_NTR, **NTR)
    expected = torch.tensor([[0.288022, 0.053778], [0.039556, 0.059771]], dtype=torch.float64)
    torch.testing.assert_close(per, expected, atol=1e-6, rtol=0)


def test_document_without_labels_gets_rfl_weight_alpha_plus_one():
    loss = build_loss("r_focal", [1, 3, 7], 10, gamma=0.0).double()
    z = torch.zeros(1, 3, dtype=torch.float64)
    per = loss(z, torch.zeros(1, 3, dtype=torch.float64), reduction="none")
    # BCE at p = 1/2 is ln 2 everywhere; r̂ = α + 1 = 1.1.
    torch.testing.assert_close(per, torch.full((1, 3), 1.1 * LN2, dtype=torch.float64))


# ---- reductions, gradients, extremes, devices --------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_reductions(name):
    z, y = random_batch(12, seed=3)
    loss = build_loss(name, PROFILES["extremes"][1], 40).double()
    zt, yt = torch.from_numpy(z), torch.from_numpy(y)
    per = loss(zt, yt, reduction="none")
    torch.testing.assert_close(loss(zt, yt), per.sum(dim=1).mean())
    torch.testing.assert_close(loss(zt, yt, reduction="mean"), per.sum(dim=1).mean())
    torch.testing.assert_close(loss(zt, yt, reduction="sum"), per.sum())
    with pytest.raises(ValueError, match="unknown reduction 'max'"):
        loss(zt, yt, reduction="max")


def test_bce_loss_function_matches_bce_module():
    z, y = (torch.from_numpy(a) for a in random_batch(12, seed=4))
    loss = build_loss("bce", [1] * 12, 5).double()
    torch.testing.assert_close(bce_loss(z, y), loss(z, y))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_gradcheck(name, reduction):
    counts = [0, 1, 6, 3, 2]
    params = {"gamma": 1.5} if "gamma" in loss_parameters(name) else {}
    loss = build_loss(name, counts, 6, **params).double()
    rng = np.random.default_rng(5)
    z = torch.tensor(rng.normal(0, 2, (3, 5)), dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[0, 0, 0, 0, 0], [1, 0, 1, 0, 0], [0, 1, 1, 1, 1]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda logits: loss(logits, y, reduction=reduction), (z,))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_finite_at_extreme_logits(name, dtype):
    n, counts = PROFILES["extremes"]
    params = {"gamma": 0.5} if "gamma" in loss_parameters(name) else {}
    loss = build_loss(name, counts, n, **params).to(dtype=dtype)
    signs = torch.tensor([1.0, -1.0]).repeat(6)
    z = (100.0 * torch.stack([signs, -signs, signs, -signs])).to(dtype).requires_grad_()
    y = torch.tensor([[1, 0] * 6, [1, 0] * 6, [0] * 12, [1] * 12], dtype=dtype)
    per = loss(z, y, reduction="none")
    per.sum().backward()
    assert torch.isfinite(per).all() and (per >= 0).all()
    assert torch.isfinite(z.grad).all()
    # row 0 is confidently right (≈ 0 loss), row 1 confidently wrong (large loss)
    assert per[0].max() < 1e-6 and per[1].min() > 0.5


@pytest.mark.parametrize("name", NAMES)
def test_buffers_follow_to(name):
    loss = build_loss(name, [0, 3, 10], 10)
    assert all(b.dtype == torch.float32 for b in loss.buffers())
    if name not in {"bce", "focal"}:
        assert len(list(loss.buffers())) >= 1
    moved = loss.to("cpu", dtype=torch.float64)
    assert all(b.dtype == torch.float64 and b.device.type == "cpu" for b in moved.buffers())
    meta = build_loss(name, [0, 3, 10], 10).to("meta")
    assert all(b.device.type == "meta" for b in meta.buffers())
    out = meta(torch.zeros(4, 3, device="meta"), torch.zeros(4, 3, device="meta"), "none")
    assert out.device.type == "meta" and out.shape == (4, 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", NAMES)
def test_cuda_matches_cpu(name):
    z, y = (torch.from_numpy(a).float() for a in random_batch(12, seed=6))
    loss = build_loss(name, PROFILES["extremes"][1], 40)
    expected = loss(z, y, reduction="none")
    actual = loss.to("cuda")(z.cuda(), y.cuda(), reduction="none").cpu()
    torch.testing.assert_close(actual, expected)


# ---- construction and errors -------------------------------------------------------------------


def test_defaults_follow_methods():
    assert loss_parameters("bce") == {}
    assert loss_parameters("wce") == {"wce_floor": 0.01}
    assert loss_parameters("focal") == {"gamma": 1.0}
    assert loss_parameters("db") == {
        "gamma": 2.0,
        "map_alpha": 0.1,
        "map_beta": 10.0,
        "map_mu": 0.9,
        "ntr_kappa": 0.05,
        "ntr_lambda": 2.0,
    }
    assert "gamma" not in loss_parameters("db_no_focal")
    assert loss_parameters("cb")["cb_beta"] == 0.9


def test_wce_weights_come_from_label_statistics():
    counts, n = np.array([0, 1, 5, 10, 20, 3]), 20
    np.testing.assert_array_equal(wce_label_weights(counts, n), wce_weights(counts, n))
    loss = build_loss("wce", counts, n, wce_floor=0.2)
    np.testing.assert_allclose(
        loss.weight.weights.numpy(), wce_weights(counts, n, floor=0.2), rtol=1e-6
    )


def test_read_only_counts_and_n_docs_alias():
    counts = np.array([2, 0, 5])
    counts.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = build_loss("db", counts, 5)
        b = build_loss("db", label_counts=counts, n_docs=5)
        c = build_loss("db", counts, n_train=5, n_docs=5)
    z, y = (torch.from_numpy(x).float() for x in random_batch(3, seed=7))
    torch.testing.assert_close(a(z, y), b(z, y))
    torch.testing.assert_close(a(z, y), c(z, y))


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown loss 'dice'; valid: \['bce', 'cb', "):
        build_loss("dice", [1, 2], 3)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("bce", {"gamma": 2.0}, r"unknown parameter\(s\) \['gamma'\]; valid: \[\]"),
        ("focal", {"cb_beta": 0.9}, r"valid: \['gamma'\]"),
        ("db_no_focal", {"gamma": 1.0}, r"'db_no_focal' got unknown parameter\(s\) \['gamma'\]"),
        ("wce", {"floor": 0.1}, r"valid: \['wce_floor'\]"),
        ("cb", {"gamma": -1.0}, "gamma must be finite and >= 0"),
        ("cb", {"cb_beta": 1.0}, r"cb_beta must be in \[0, 1\)"),
        ("cb", {"cb_mode": "batch"}, "unknown cb_mode 'batch'"),
        ("ntr_focal", {"ntr_lambda": 0.0}, "ntr_lambda must be finite and > 0"),
        ("ntr_focal", {"ntr_kappa": float("nan")}, "ntr_kappa must be finite"),
        ("r_focal", {"map_mu": float("inf")}, "map_mu must be finite"),
        ("r_focal", {"map_alpha": -0.5}, "map_alpha must be >= 0"),
        ("wce", {"wce_floor": -1.0}, "wce_floor must be finite and >= 0"),
    ],
)
def test_bad_parameters(name, params, message):
    with pytest.raises(ValueError, match=message):
        build_loss(name, [1, 2], 3, **params)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label_counts": [1, 2]}, "needs n_train"),
        ({"label_counts": [1, 2], "n_train": 3, "n_docs": 4}, "disagree"),
        ({"label_counts": [1, 5], "n_train": 3}, r"a label count \(5\) exceeds n_train \(3\)"),
        ({"label_counts": [1, -1], "n_train": 3}, "non-negative integers"),
        ({"label_counts": [1.5, 1], "n_train": 3}, "non-negative integers"),
        ({"label_counts": [[1, 2]], "n_train": 3}, "1-D"),
        ({"label_counts": [], "n_train": 3}, "non-empty"),
        ({"label_counts": [0, 0], "n_train": 0}, "n_train must be a positive integer"),
    ],
)
def test_bad_label_statistics(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_loss("db", **kwargs)


def test_bad_shapes():
    loss = build_loss("bce", [1, 2, 3], 4)
    with pytest.raises(ValueError, match="built for 3 labels"):
        loss(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\[documents, labels\]"):
        loss(torch.zeros(2, 3), torch.zeros(3, 3))
