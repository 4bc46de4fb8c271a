"""TextLabeler: raw text → scores and labels, the same as the training pipeline's path."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from longtail_mltc.inference import InvalidInput, Preprocessing, TextLabeler
from longtail_mltc.inference.scores import predict_scores
from longtail_mltc.models import build_classifier
from longtail_mltc.text import (
    build_vocabulary,
    encode,
    encode_with_pretrained_tokenizer,
    tokenize_texts,
)
from longtail_mltc.training import EncodedSplit

torch.set_num_threads(1)  # the machine is shared: keep the tiny models on one core

LABELS = ["acq", "earn", "grain", "trade"]
TRAIN_TEXTS = [
    "The company agreed to acquire the shares of its rival.",
    "Quarterly earnings rose and the dividend was raised.",
    "Wheat and corn exports fell as grain prices rose.",
    "The trade deficit widened as imports rose sharply.",
    "Shares of the rival fell after the earnings report.",
]
TEXTS = [
    "The rival company raised its dividend after strong earnings.",
    "Grain exports and the trade deficit.",
    "zzz qqq unknownword",  # every token out of vocabulary
    "!!! ??? ...",  # no token at all: length 0
    "Wheat " * 40,  # longer than max_length
]
MAX_LENGTH = 16
KIM_PARAMS = {"embedding_dim": 8, "num_filters": 4, "hidden_dim": 8, "kernel_sizes": [1, 2]}


def _kim_cnn(vocab_size: int, num_labels: int = len(LABELS), seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_classifier("kim_cnn", num_labels, vocab_size=vocab_size, **KIM_PARAMS)


def _training_path_scores(model, token_ids, lengths, num_labels) -> np.ndarray:
    labels = sp.csr_matrix((len(lengths), num_labels), dtype=np.float32)
    scores, _ = predict_scores(model, EncodedSplit(token_ids, lengths, labels), 512)
    return scores


@pytest.fixture(scope="module")
def vocabulary():
    return build_vocabulary(tokenize_texts(TRAIN_TEXTS, "english"))


@pytest.fixture(scope="module")
def labeler(vocabulary):
    return TextLabeler(
        _kim_cnn(len(vocabulary)),
        Preprocessing("english", MAX_LENGTH),
        LABELS,
        threshold=0.5,
        vocabulary=vocabulary,
        batch_size=2,
        model_config={"encoder": "kim_cnn", "encoder_params": KIM_PARAMS},
    )


def test_scores_equal_the_training_path(labeler, vocabulary):
    ids, lengths = encode(tokenize_texts(TEXTS, "english"), vocabulary, max_len=MAX_LENGTH)
    assert lengths[3] == 0 and (ids[2, : lengths[2]] == 1).all()  # empty and all-unk texts
    expected = _training_path_scores(labeler.model, ids, lengths, len(LABELS))
    scores = labeler.scores(TEXTS)
    assert scores.dtype == np.float32 and scores.shape == (len(TEXTS), len(LABELS))
    assert np.isfinite(scores).all()
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-6)


def test_encode_matches_the_features_pipeline(labeler, vocabulary):
    ids, lengths = labeler.encode(TEXTS)
    want_ids, want_lengths = encode(tokenize_texts(TEXTS, "english"), vocabulary, MAX_LENGTH)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(lengths, want_lengths)
    assert lengths[4] == MAX_LENGTH


def test_scores_do_not_depend_on_the_batch_size(labeler, vocabulary):
    prep = labeler.preprocessing
    other = TextLabeler(labeler.model, prep, LABELS, 0.5, vocabulary, batch_size=64)
    np.testing.assert_allclose(other.scores(TEXTS), labeler.scores(TEXTS), rtol=0, atol=1e-6)


@pytest.mark.parametrize("container", [tuple, np.array, pd.Series])
def test_other_containers_are_accepted(labeler, container):
    np.testing.assert_allclose(
        labeler.scores(container(TEXTS)), labeler.scores(TEXTS), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("threshold", [0.0, 0.45, 0.5, 0.55, 1.0])
def test_predict_returns_the_labels_over_the_threshold_sorted(labeler, vocabulary, threshold):
    tuned = TextLabeler(labeler.model, labeler.preprocessing, LABELS, threshold, vocabulary)
    scores = tuned.scores(TEXTS)
    predictions = tuned.predict(TEXTS, top_k=3)
    json.dumps(predictions)  # plain Python types only
    assert len(predictions) == len(TEXTS)
    for row, prediction in zip(scores, predictions, strict=True):
        chosen = {LABELS[j] for j in np.flatnonzero(row >= threshold)}
        assert set(prediction["labels"]) == chosen
        assert len(prediction["labels"]) == len(prediction["scores"])
        assert prediction["scores"] == sorted(prediction["scores"], reverse=True)
        for name, score in zip(prediction["labels"], prediction["scores"], strict=True):
            assert isinstance(score, float) and score == float(row[LABELS.index(name)])
            assert score >= threshold
        top = prediction["top_k"]
        assert len(top) == 3
        assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
        assert [s for _, s in top] == sorted(map(float, row), reverse=True)[:3]
        assert all(float(row[LABELS.index(n)]) == s for n, s in top)


@pytest.mark.parametrize(("k", "expected"), [(1, 1), (4, 4), (10, 4)])
def test_top_k_has_min_k_c_entries(labeler, k, expected):
    assert all(len(p["top_k"]) == expected for p in labeler.predict(TEXTS[:2], top_k=k))


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_top_k_must_be_a_positive_integer(labeler, k):
    with pytest.raises(InvalidInput, match="top_k"):
        labeler.predict(TEXTS[:1], top_k=k)


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["fine text", ""], "record 2: empty text"),
        (["   \n\t "], "record 1: empty text"),
        (["fine", "fine", "fine", 7], "record 4: expected a string, got int"),
        ([None], "record 1: expected a string, got NoneType"),
        (["fine", "x" * 41], r"record 2: text has 41 characters.*limit of 40"),
        ([], "empty list"),
        ((), "empty list"),
        ("a bare string", "single str"),
        ({"text": "a dict"}, "expected a list of strings, got dict"),
        (np.array([["a", "b"]]), "1-D array"),
    ],
)
def test_invalid_requests_are_rejected_naming_the_record(labeler, vocabulary, texts, message):
    strict = TextLabeler(labeler.model, labeler.preprocessing, LABELS, 0.5, vocabulary, 40)
    with pytest.raises(InvalidInput, match=message):
        strict.predict(texts)
    assert issubclass(InvalidInput, ValueError)


def test_validate_accepts_text_at_the_limit(labeler, vocabulary):
    strict = TextLabeler(labeler.model, labeler.preprocessing, LABELS, 0.5, vocabulary, 40)
    assert strict.validate(np.array(["x" * 40, " y "])) == ["x" * 40, " y "]


def test_save_and_load_round_trip(labeler, tmp_path):
    target = labeler.save_directory(tmp_path / "labeler")
    assert sorted(p.name for p in target.iterdir()) == [
        "label_index.json",
        "model.safetensors",
        "model_config.json",
        "preprocessing.json",
        "vocabulary.json",
    ]
    config = json.loads((target / "model_config.json").read_text())
    assert config == {
        "kind": "single",
        "encoder": "kim_cnn",
        "encoder_params": KIM_PARAMS,
        "num_labels": 4,
        "threshold": 0.5,
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dir left
    loaded = TextLabeler.from_directory(target)
    assert loaded.label_index == LABELS and loaded.threshold == 0.5
    assert loaded.preprocessing == labeler.preprocessing
    assert loaded.vocabulary == labeler.vocabulary
    np.testing.assert_allclose(loaded.scores(TEXTS), labeler.scores(TEXTS), rtol=1e-5, atol=1e-7)
    got, expected = loaded.predict(TEXTS), labeler.predict(TEXTS)
    assert [p["labels"] for p in got] == [p["labels"] for p in expected]
    for a, b in zip(got, expected, strict=True):  # floats compared with a tolerance
        np.testing.assert_allclose(a["scores"], b["scores"], rtol=1e-5, atol=1e-7)


def test_save_refuses_a_non_empty_directory_unless_overwriting(labeler, vocabulary, tmp_path):
    target = labeler.save_directory(tmp_path / "labeler")
    with pytest.raises(FileExistsError):
        labeler.save_directory(target)
    other = TextLabeler(
        _kim_cnn(len(vocabulary), seed=1),
        labeler.preprocessing,
        LABELS,
        0.25,
        vocabulary,
        model_config=labeler.model_config,
    )
    other.save_directory(target, overwrite=True)
    loaded = TextLabeler.from_directory(target)
    assert loaded.threshold == 0.25
    np.testing.assert_allclose(loaded.scores(TEXTS), other.scores(TEXTS), rtol=1e-5, atol=1e-7)
    assert [p.name for p in tmp_path.iterdir()] == ["labeler"]


def test_save_needs_the_model_config(labeler, vocabulary, tmp_path):
    bare = TextLabeler(labeler.model, labeler.preprocessing, LABELS, 0.5, vocabulary)
    with pytest.raises(ValueError, match="model_config"):
        bare.save_directory(tmp_path / "labeler")


@pytest.mark.parametrize(
    "name",
    [
        "model.safetensors",
        "model_config.json",
        "label_index.json",
        "preprocessing.json",
        "vocabulary.json",
    ],
)
def test_a_missing_file_is_named(labeler, tmp_path, name):
    target = labeler.save_directory(tmp_path / "labeler")
    (target / name).unlink()
    with pytest.raises(FileNotFoundError, match=name.replace(".", r"\.")) as err:
        TextLabeler.from_directory(target)
    assert str(target) in str(err.value)


def test_a_missing_directory_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        TextLabeler.from_directory(tmp_path / "nowhere")


def test_inconsistent_inputs_are_rejected(labeler, vocabulary):
    with pytest.raises(ValueError, match="outputs"):
        TextLabeler(labeler.model, labeler.preprocessing, LABELS[:3], 0.5, vocabulary)
    with pytest.raises(ValueError, match="vocabulary"):
        TextLabeler(labeler.model, labeler.preprocessing, LABELS, 0.5)
    small = build_vocabulary([["wheat"]])
    with pytest.raises(ValueError, match="embedding has"):
        TextLabeler(labeler.model, labeler.preprocessing, LABELS, 0.5, small)


def test_preprocessing_round_trips_and_checks_its_fields():
    prep = Preprocessing("pretrained", 32, model_dir="/models/minilm")
    assert Preprocessing.from_dict(json.loads(json.dumps(prep.to_dict()))) == prep
    assert Preprocessing.from_dict({"tokenizer": "jieba", "max_length": 8}).model_dir is None
    with pytest.raises(ValueError, match="unknown tokenizer"):
        Preprocessing("spacy", 8)
    with pytest.raises(ValueError, match="max_length"):
        Preprocessing("english", 0)
    with pytest.raises(ValueError, match="model_dir"):
        Preprocessing("english", 8, model_dir="/x")
    with pytest.raises(ValueError, match="unknown preprocessing keys"):
        Preprocessing.from_dict({"tokenizer": "english", "max_length": 8, "lower": True})


def test_preprocessing_from_pipeline_params():
    features = {"tokenizer": "jieba", "max_length": 200}
    kim = {"encoder": "kim_cnn", "encoder_params": {}}
    transformer = {"encoder": "transformer", "encoder_params": {"max_length": 64}}
    assert Preprocessing.from_params(features, kim) == Preprocessing("jieba", 200)
    assert Preprocessing.from_params(features, transformer) == Preprocessing("pretrained", 64)


def test_chinese_text_goes_through_jieba():
    train = ["我爱北京天安门", "他来到了网易杭研大厦", "北京的大厦很高"]
    vocab = build_vocabulary(tokenize_texts(train, "jieba"))
    texts = ["我来到北京天安门。", "杭研大厦很高", "完全陌生的句子"]
    labeler = TextLabeler(
        _kim_cnn(len(vocab), num_labels=3),
        Preprocessing("jieba", 8),
        ["政治", "科技", "生活"],
        0.5,
        vocab,
    )
    ids, lengths = encode(tokenize_texts(texts, "jieba"), vocab, max_len=8)
    assert (ids[0, : lengths[0]] > 1).sum() >= 2  # known words found by the segmenter
    expected = _training_path_scores(labeler.model, ids, lengths, 3)
    np.testing.assert_allclose(labeler.scores(texts), expected, rtol=0, atol=1e-6)
    prediction = labeler.predict(texts, top_k=2)
    json.dumps(prediction, ensure_ascii=False)
    assert {name for name, _ in prediction[0]["top_k"]} <= {"政治", "科技", "生活"}


def test_transformer_scores_equal_the_training_path(tmp_path):
    from longtail_mltc.models.transformer import default_model_dir

    default_model_dir()  # the installed MiniLM (fails clearly when it is missing)
    params = {"pooling": "cls", "dropout": 0.1, "max_length": 32}
    torch.manual_seed(0)
    model = build_classifier("transformer", 3, vocab_size=0, **params)
    texts = ["Wheat exports rose.", "The company bought its rival for cash and shares."]
    labeler = TextLabeler(
        model,
        Preprocessing("pretrained", 32, model_dir=None),
        ["acq", "grain", "trade"],
        0.5,
        model_config={"encoder": "transformer", "encoder_params": params},
    )
    ids, lengths = encode_with_pretrained_tokenizer(texts, None, 32)
    expected = _training_path_scores(model, ids, lengths, 3)
    scores = labeler.scores(texts)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-5)
    target = labeler.save_directory(tmp_path / "transformer")
    assert not (target / "vocabulary.json").exists()
    loaded = TextLabeler.from_directory(target)
    np.testing.assert_allclose(loaded.scores(texts), scores, rtol=0, atol=1e-5)
