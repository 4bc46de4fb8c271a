"""Pretrained transformer encoder and sub-word encoding (METHODS §3.1), on the real MiniLM-L6."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from longtail_mltc.models import (
    ENCODERS,
    MultiLabelClassifier,
    TransformerEncoder,
    build_classifier,
)
from longtail_mltc.models.transformer import default_model_dir, resolve_model_dir
from longtail_mltc.text import encode_with_pretrained_tokenizer
from longtail_mltc.training.trainer import parameter_groups

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers is imported (lazily, below)

TEXTS = [
    "Oil prices rose sharply on Tuesday.",
    "",
    "The central bank kept interest rates unchanged, citing slower growth in exports.",
    "grain",
    "Shares of the mining company fell after the strike. " * 6,  # longer than MAX_LENGTH
]
MAX_LENGTH = 24
HIDDEN = 384
N_LABELS = 6


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return default_model_dir()


@pytest.fixture(scope="module")
def tokenizer(model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir, local_files_only=True)


@pytest.fixture(scope="module")
def encoded(model_dir) -> tuple[np.ndarray, np.ndarray]:
    return encode_with_pretrained_tokenizer(TEXTS, model_dir, MAX_LENGTH, batch_size=2)


@pytest.fixture(scope="module", params=["cls", "mean"])
def encoder(request, model_dir) -> TransformerEncoder:
    torch.manual_seed(0)
    return TransformerEncoder(model_dir=model_dir, pooling=request.param).eval()


# ---- loading -----------------------------------------------------------------------------------


def test_encoder_loads_offline_and_gives_finite_vectors(monkeypatch, model_dir, encoded):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = ENCODERS["transformer"](model_dir=model_dir, vocab_size=7, pretrained=None).eval()
    assert isinstance(encoder, TransformerEncoder)
    assert encoder.output_dim == HIDDEN
    assert all(p.requires_grad for p in encoder.parameters())  # fine-tuned end to end
    ids = torch.as_tensor(encoded[0])
    ids = torch.cat([ids, torch.zeros(1, ids.size(1), dtype=torch.long)])  # an all-padding row
    with torch.no_grad():
        out = encoder(ids)
    assert out.shape == (len(TEXTS) + 1, HIDDEN)
    assert torch.isfinite(out).all()


def test_default_model_dir_is_the_installed_minilm(model_dir):
    assert resolve_model_dir(None) == model_dir
    assert (model_dir / "config.json").is_file()


@pytest.mark.parametrize("case", ["missing", "no_config"])
def test_a_bad_model_directory_fails_with_a_clear_message(tmp_path, case):
    path = tmp_path / "nowhere" if case == "missing" else tmp_path
    for call in (
        lambda: resolve_model_dir(path),
        lambda: TransformerEncoder(model_dir=path),
        lambda: build_classifier("transformer", 3, vocab_size=10, model_dir=str(path)),
        lambda: encode_with_pretrained_tokenizer(["a"], path, 8),
    ):
        with pytest.raises(FileNotFoundError) as err:
            call()
        message = str(err.value)
        assert str(path) in message
        assert "config.json" in message and "nothing is downloaded" in message


def test_invalid_arguments_are_rejected(model_dir):
    with pytest.raises(ValueError, match="pooling"):
        TransformerEncoder(model_dir=model_dir, pooling="max")
    with pytest.raises(ValueError, match="own embeddings"):
        TransformerEncoder(model_dir=model_dir, pretrained=np.zeros((5, 4)))
    with pytest.raises(ValueError, match="position embeddings"):
        TransformerEncoder(model_dir=model_dir, max_length=513)


def test_importing_the_packages_does_not_import_transformers():
    code = (
        "import sys, longtail_mltc.models, longtail_mltc.text; "
        "assert 'transformers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- sub-word encoding -------------------------------------------------------------------------


def test_shifted_ids_round_trip_to_the_tokenizer_ids(encoded, tokenizer):
    ids, lengths = encoded
    assert ids.dtype == np.int64 and lengths.dtype == np.int64
    expected = [
        tokenizer(text, truncation=True, max_length=MAX_LENGTH)["input_ids"] for text in TEXTS
    ]
    assert lengths.tolist() == [len(e) for e in expected]
    assert ids.shape == (len(TEXTS), max(lengths))
    for row, n, exp in zip(ids, lengths, expected, strict=True):
        assert (row[:n] - 1).tolist() == exp
        assert (row[n:] == 0).all()  # right padding
        assert (row[:n] > 0).all()
        assert row[0] - 1 == tokenizer.cls_token_id and row[n - 1] - 1 == tokenizer.sep_token_id
    # the long text is cut at max_length (with its [SEP] kept); the empty one is [CLS] [SEP]
    assert len(tokenizer(TEXTS[4])["input_ids"]) > MAX_LENGTH
    assert lengths[4] == MAX_LENGTH == ids.shape[1]
    assert lengths[1] == 2


def test_encoding_does_not_depend_on_the_batch_size(model_dir, encoded):
    ids, lengths = encode_with_pretrained_tokenizer(TEXTS, model_dir, MAX_LENGTH)
    np.testing.assert_array_equal(ids, encoded[0])
    np.testing.assert_array_equal(lengths, encoded[1])
    ids, lengths = encode_with_pretrained_tokenizer(TEXTS[:2], model_dir, MAX_LENGTH)
    assert ids.shape == (2, int(lengths.max()))  # L is the longest document here
    ids, lengths = encode_with_pretrained_tokenizer([], model_dir, MAX_LENGTH)
    assert ids.shape == (0, 0) and lengths.shape == (0,)


def test_non_string_text_names_the_record(model_dir):
    with pytest.raises(TypeError, match="record 3"):
        encode_with_pretrained_tokenizer(["a", "b", "c", None], model_dir, 8, batch_size=2)
    with pytest.raises(TypeError, match="single string"):
        encode_with_pretrained_tokenizer("a text", model_dir, 8)


# ---- forward -----------------------------------------------------------------------------------


def test_output_does_not_depend_on_trailing_padding(encoder, encoded):
    ids = torch.as_tensor(encoded[0][:4])  # short documents padded to MAX_LENGTH ...
    wider = torch.nn.functional.pad(ids, (0, 9))  # ... and to MAX_LENGTH + 9
    with torch.no_grad():
        narrow_out, wide_out = encoder(ids), encoder(wider)
        alone = encoder(ids[3:4, : int(encoded[1][3])])  # no padding at all
    torch.testing.assert_close(narrow_out, wide_out, atol=1e-5, rtol=0)
    torch.testing.assert_close(narrow_out[3:4], alone, atol=1e-5, rtol=0)


def test_ids_past_max_length_are_cut(model_dir, encoded):
    encoder = TransformerEncoder(model_dir=model_dir, max_length=8).eval()
    ids = torch.as_tensor(encoded[0])
    with torch.no_grad():
        torch.testing.assert_close(encoder(ids), encoder(ids[:, :8]))


def test_mean_pooling_is_the_masked_mean_of_the_last_hidden_state(model_dir, tokenizer, encoded):
    from transformers import AutoModel

    encoder = TransformerEncoder(model_dir=model_dir, pooling="mean").eval()
    reference = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()
    batch = tokenizer(TEXTS[:4], padding=True, truncation=True, max_length=MAX_LENGTH)
    input_ids = torch.tensor(batch["input_ids"])
    attention = torch.tensor(batch["attention_mask"])
    with torch.no_grad():
        hidden = reference(input_ids=input_ids, attention_mask=attention).last_hidden_state
        expected = torch.stack(
            [hidden[i, attention[i].bool()].mean(dim=0) for i in range(len(input_ids))]
        )
        got = encoder(torch.as_tensor(encoded[0][:4]))
        cls = TransformerEncoder(model_dir=model_dir, pooling="cls").eval()
        got_cls = cls(torch.as_tensor(encoded[0][:4]))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got_cls, hidden[:, 0], atol=1e-5, rtol=1e-5)


# ---- training ----------------------------------------------------------------------------------


def test_classifier_takes_an_adamw_step_with_the_fine_tuning_decay_split(model_dir, encoded):
    torch.manual_seed(0)
    model = build_classifier("transformer", num_labels=5, vocab_size=123, model_dir=model_dir)
    assert isinstance(model, MultiLabelClassifier)
    groups = parameter_groups(model, 0.01)
    decay = {id(p) for g in groups if g["weight_decay"] == 0.01 for p in g["params"]}
    no_decay = {id(p) for g in groups if g["weight_decay"] == 0.0 for p in g["params"]}
    params = list(model.parameters())
    assert len(decay) + len(no_decay) == len(params) and not decay & no_decay
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    assert norms and all(id(m.weight) in no_decay and id(m.bias) in no_decay for m in norms)
    biases = [p for name, p in model.named_parameters() if name.endswith(".bias")]
    assert biases and all(id(p) in no_decay for p in biases)
    assert all(id(p) in decay for p in params if p.ndim >= 2)
    assert id(model.head.weight) in decay

    optimizer = torch.optim.AdamW(groups, lr=1e-4)
    before = [p.detach().clone() for p in params]
    ids = torch.as_tensor(encoded[0][:2])
    targets = torch.tensor([[1.0, 0, 0, 1, 0], [0, 1, 0, 0, 0]])
    logits = model(ids)
    assert logits.shape == (2, 5)
    nn.functional.binary_cross_entropy_with_logits(logits, targets).backward()
    assert all(p.grad is not None for p in params)  # no unused (pooler) weights
    optimizer.step()
    changed = [not torch.equal(b, p) for b, p in zip(before, params, strict=True)]
    assert sum(changed) > 0.9 * len(params)
