"""No code runs from a loaded artifact (issue 20, item 1) and the predict pipeline's input errors
(item 7): predictors hold no pickle, tampered predictors and baseline files are refused without
running their payload, and bad input files are named with their line or record."""

from __future__ import annotations

import gzip
import json
import logging
import pickle
from pathlib import Path

import mlflow
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from kedro_project import reset_mlflow_process_state
from mlflow.tracking import MlflowClient
from skops_tampering import renaming, with_schema

from longtail_mltc.inference import Preprocessing, TextLabeler
from longtail_mltc.linear import (
    BinaryRelevance,
    dump_baseline,
    fit_linear_baseline,
    load_baseline,
    tfidf_features,
)
from longtail_mltc.models import build_classifier
from longtail_mltc.pipelines.predict.nodes import label_texts, read_texts
from longtail_mltc.pipelines.tracked_runs import TrackedPredictors
from longtail_mltc.serving import PREDICTOR_PATH, load_labeler, save_predictor
from longtail_mltc.text import build_vocabulary, tokenize_texts

torch.set_num_threads(1)  # the machine is shared: keep the tiny model on one core

LABELS = ["acq", "crude", "earn", "grain"]
TRAIN_TEXTS = [
    "The company agreed to acquire the shares of its rival.",
    "Crude oil prices rose as OPEC cut output.",
    "Quarterly earnings rose and the dividend was raised.",
    "Wheat and corn exports fell as grain prices rose.",
]
TEXTS = ["Oil prices rose after the output cut.", "The rival raised its dividend."]
KIM_PARAMS = {"embedding_dim": 8, "num_filters": 4, "hidden_dim": 8, "kernel_sizes": [1, 2]}
SCORE_TOLERANCE = 1e-6  # the same float32 network on the same texts, loaded two ways
# The MLmodel of a predictor as this project wrote it before issue 20 (cloudpickle flavour).
OLD_MLMODEL = """flavors:
  python_function:
    cloudpickle_version: 3.1.1
    code: null
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.pyfunc.model
    python_model: python_model.pkl
    python_version: 3.11.7
mlflow_version: 3.17.2
"""


class _Payload:
    """Unpickling this creates ``marker`` (``open(marker, "w")``): proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def crafted_pickle(marker: Path, protocol: int = pickle.HIGHEST_PROTOCOL) -> bytes:
    return pickle.dumps(_Payload(marker), protocol=protocol)


def test_the_crafted_pickle_runs_code_when_unpickled(tmp_path):
    """The payload is live: unpickling it creates its marker (so an absent marker below means
    the loader never unpickled it)."""
    marker = tmp_path / "ran"
    pickle.loads(crafted_pickle(marker)).close()
    assert marker.exists()


@pytest.fixture(scope="module")
def labeler() -> TextLabeler:
    vocabulary = build_vocabulary(tokenize_texts(TRAIN_TEXTS, "english"))
    torch.manual_seed(0)
    model = build_classifier("kim_cnn", len(LABELS), vocab_size=len(vocabulary), **KIM_PARAMS)
    return TextLabeler(
        model,
        Preprocessing("english", 16),
        LABELS,
        threshold=0.5,
        vocabulary=vocabulary,
        model_config={"encoder": "kim_cnn", "encoder_params": KIM_PARAMS},
    )


@pytest.fixture
def predictor(labeler, tmp_path) -> Path:
    return save_predictor(labeler, tmp_path / PREDICTOR_PATH)


@pytest.fixture
def store(tmp_path, monkeypatch) -> MlflowClient:
    """A real MLflow sqlite store with its artifacts under ``tmp_path``."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    reset_mlflow_process_state()
    client = MlflowClient()
    client.create_experiment("safety", artifact_location=(tmp_path / "artifacts").as_uri())
    yield client
    reset_mlflow_process_state()


def _run_with_predictor(client: MlflowClient, directory: Path) -> str:
    experiment = client.get_experiment_by_name("safety").experiment_id
    run_id = client.create_run(experiment).info.run_id
    client.log_artifacts(run_id, str(directory), PREDICTOR_PATH)
    client.set_terminated(run_id)
    return run_id


def _assert_same_predictions(got: list[dict], expected: list[dict]) -> None:
    assert [g["labels"] for g in got] == [e["labels"] for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert np.allclose(g["scores"], e["scores"], rtol=0, atol=SCORE_TOLERANCE)
        assert [n for n, _ in g["top_k"]] == [n for n, _ in e["top_k"]]


# --- a predictor holds no pickle and loads the same labeler every way --------------------------


def test_a_saved_predictor_holds_only_data_files(predictor):
    files = sorted(str(p.relative_to(predictor)) for p in predictor.rglob("*") if p.is_file())
    assert not [f for f in files if f.endswith((".pkl", ".pickle")) or "pickle" in f]
    assert {Path(f).suffix for f in files} <= {"", ".json", ".safetensors", ".yaml", ".txt"}
    assert "data/labeler/model.safetensors" in files and "MLmodel" in files
    flavor = mlflow.models.Model.load(str(predictor)).flavors["python_function"]
    assert flavor["loader_module"] == "longtail_mltc.serving.pyfunc"
    assert "python_model" not in flavor


def test_load_labeler_and_mlflow_pyfunc_give_the_labelers_predictions(labeler, predictor, store):
    expected = labeler.predict(TEXTS)
    run_id = _run_with_predictor(store, predictor)
    logged = [a.path for a in _walk(store, run_id, PREDICTOR_PATH)]
    assert logged and not [p for p in logged if p.endswith((".pkl", ".pickle"))], logged
    loaded = load_labeler(f"runs:/{run_id}/{PREDICTOR_PATH}")
    assert type(loaded) is TextLabeler and loaded.label_index == LABELS
    _assert_same_predictions(loaded.predict(TEXTS), expected)
    _assert_same_predictions(load_labeler(str(predictor)).predict(TEXTS), expected)
    served = mlflow.pyfunc.load_model(f"runs:/{run_id}/{PREDICTOR_PATH}").predict(TEXTS)
    _assert_same_predictions(served.to_dict("records"), expected)


def _walk(client: MlflowClient, run_id: str, path: str) -> list:
    out = []
    for item in client.list_artifacts(run_id, path):
        out += _walk(client, run_id, item.path) if item.is_dir else [item]
    return out


def test_pyfunc_bad_requests_are_invalid_parameter_errors(predictor):
    model = mlflow.pyfunc.load_model(str(predictor))
    with pytest.raises(mlflow.exceptions.MlflowException, match="record 2: empty text") as err:
        model.predict(["oil", "  "])
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


# --- a tampered predictor cannot run code on load ----------------------------------------------


@pytest.mark.parametrize(
    ("pickle_name", "old_mlmodel", "message"),
    [
        ("python_model.pkl", True, "pickle file"),  # the old predictor, payload swapped in
        (None, True, "expected flavors.python_function.loader_module"),
        ("data/labeler/extra.pickle", False, "pickle file"),
        ("artifacts/labeler.cloudpickle", False, "pickle file"),
    ],
)
def test_load_labeler_refuses_a_pickled_predictor(
    predictor, tmp_path, pickle_name, old_mlmodel, message
):
    marker = tmp_path / "ran"
    if pickle_name:
        (predictor / pickle_name).parent.mkdir(parents=True, exist_ok=True)
        (predictor / pickle_name).write_bytes(crafted_pickle(marker))
    if old_mlmodel:
        (predictor / "MLmodel").write_text(OLD_MLMODEL)
    with pytest.raises(ValueError, match=message):
        load_labeler(str(predictor))
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize(
    "name",
    ["model.safetensors", "model_config.json", "label_index.json", "preprocessing.json",
     "vocabulary.json"],
)  # fmt: skip
def test_a_data_file_replaced_by_a_pickle_is_an_error_not_code(predictor, tmp_path, name, protocol):
    """Whatever loads the predictor (the project's loader or MLflow's, as `mlflow models serve`
    does) reads the labeler files as JSON and safetensors only."""
    marker = tmp_path / "ran"
    (predictor / "data" / "labeler" / name).write_bytes(crafted_pickle(marker, protocol))
    with pytest.raises(ValueError, match=f"predictor {predictor}"):
        load_labeler(str(predictor))
    with pytest.raises(Exception):  # noqa: B017 - any error, as long as nothing ran
        mlflow.pyfunc.load_model(str(predictor))
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1,\n\n', r"line 3: not valid JSON"),
        (b'{"name": "\xe9"}', r"not UTF-8 text \(invalid continuation byte at byte 10\)"),
    ],
)
def test_a_broken_predictor_json_file_is_named(predictor, content, message):
    config = predictor / "data" / "labeler" / "model_config.json"
    config.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        load_labeler(str(predictor))
    assert "model_config.json" in str(err.value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("data: data/labeler", "data: ../.."), "not a folder inside"),
        (lambda t: t.replace("longtail_mltc.serving.pyfunc", "os"), "found loader_module 'os'"),
        (lambda t: "flavors: [", "not a YAML MLmodel"),
        (lambda t: "flavors: {}\n", "no flavors.python_function"),
    ],
)
def test_load_labeler_checks_mlmodel(predictor, edit, message):
    mlmodel = predictor / "MLmodel"
    mlmodel.write_text(edit(mlmodel.read_text()))
    with pytest.raises(ValueError, match=message) as err:
        load_labeler(str(predictor))
    assert "MLmodel" in str(err.value)


def test_the_predict_pipeline_refuses_a_tampered_predictor(predictor, store, tmp_path):
    """The predictor of a tracked run swapped for the old pickled flavour with a payload: the
    `predict` node refuses it (the old node unpickled it through mlflow.pyfunc.load_model)."""
    marker = tmp_path / "ran"
    (predictor / "python_model.pkl").write_bytes(crafted_pickle(marker))
    (predictor / "MLmodel").write_text(OLD_MLMODEL)
    run_id = _run_with_predictor(store, predictor)
    source = tmp_path / "texts.csv"
    source.write_text("text\noil prices rose\n")
    with pytest.raises(ValueError, match="pickle file"):
        label_texts({"run_id": run_id, "input": str(source)}, TrackedPredictors())
    assert not marker.exists()


# --- a baseline file cannot run code on load ---------------------------------------------------


@pytest.fixture(scope="module")
def baseline_bytes() -> bytes:
    docs = [["oil", "price", "rose"], ["wheat", "grain"], ["oil", "output", "cut"], ["grain"]]
    vectorizer, (X,) = tfidf_features(docs)
    Y = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.uint8))
    return dump_baseline(vectorizer, fit_linear_baseline("br", X, Y))


def test_a_baseline_file_replaced_by_a_pickle_is_refused(baseline_bytes, tmp_path):
    marker = tmp_path / "ran"
    model_file = tmp_path / "model.skops"
    model_file.write_bytes(crafted_pickle(marker))
    with pytest.raises(ValueError, match=f"{model_file}: not a skops file"):
        load_baseline(model_file)
    assert not marker.exists()
    model_file.write_bytes(baseline_bytes)
    assert load_baseline(model_file).model.n_labels_ == 2  # the genuine file loads


def test_a_baseline_file_naming_other_functions_or_types_is_refused(baseline_bytes, tmp_path):
    """skops files name the types and functions they rebuild: one rewritten to name
    ``os.system`` / ``builtins.exec`` instead of the vectoriser's token functions and the
    model's class is refused before anything is built."""

    swap = renaming(
        {
            ("longtail_mltc.linear.features", "*"): ("os", "system"),  # FunctionNodes
            (BinaryRelevance.__module__, "BinaryRelevance"): ("builtins", "exec"),
        }
    )
    tampered = tmp_path / "model.skops"
    tampered.write_bytes(with_schema(baseline_bytes, swap))
    with pytest.raises(ValueError, match=r"refusing to load.*'builtins\.exec'.*'os\.system'"):
        load_baseline(tampered)


# --- the predict pipeline's input errors name the file and record -------------------------------


def _jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "the file is empty; expected a header line"),
        ("blank.jsonl", b"\n  \n", "the file is empty; expected one JSON object per line"),
        ("header.csv", b"id,text\n", "no records after the header line"),
        (
            "latin1.csv",
            "id,text\n1,oil\n2,caf\u00e9 prices\n".encode("latin-1"),
            r"line 3: byte 0xe9 at column 6 is not valid UTF-8",
        ),
        (
            "latin1.jsonl",
            '{"text": "caf\u00e9"}\n'.encode("latin-1"),
            "line 1: byte 0xe9 at column 14 is not valid UTF-8",
        ),
        (
            "truncated.jsonl",
            (_jsonl([{"text": "oil"}, {"text": "wheat"}]) + '{"text": "gra').encode(),
            r"line 3: cannot be read as jsonl: Unterminated string",
        ),
        ("truncated.csv", b'id,text\n1,oil\n2,"wheat and', r"line 3: not valid CSV"),
        ("ragged.csv", b"id,text\n1,oil\n2,wheat,extra\n", r"line 3: expected 2 fields"),
        (  # a quoted cell over two lines: the physical line of the ragged record
            "multiline.csv",
            b'id,text\n1,"two\nlines"\n2,wheat,extra\n',
            r"multiline\.csv: line 4: expected 2 fields",
        ),
        (
            "number.jsonl",
            _jsonl([{"text": "a"}, {"text": 5}]).encode(),
            r"line 2: column 'text' must be a string, got int",
        ),
        ("list.jsonl", b'{"text": "a"}\n["b"]\n', r"line 2: a JSON array \(list\); expected one"),
        (
            "surrogate.jsonl",
            b'{"text": "a"}\n{"text": "x\\ud800"}\n',
            r"line 2: column 'text' holds a lone surrogate",
        ),
        ("nocolumn.jsonl", b'{"body": "a"}\n', r"line 1: no key\(s\) \['text'\]"),
    ],
)
def test_bad_input_files_are_named_with_their_line(tmp_path, name, content, message):
    source = tmp_path / name
    source.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        read_texts(source, "text", None)
    assert str(source) in str(err.value)


def test_a_truncated_gzip_input_is_named(tmp_path):
    data = gzip.compress(_jsonl([{"text": f"oil prices {i}"} for i in range(200)]).encode())
    source = tmp_path / "texts.jsonl.gz"
    source.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated after line \d+") as err:
        read_texts(source, "text", None)
    assert str(source) in str(err.value)
    source.write_bytes(data)  # the whole file reads
    assert read_texts(source, "text", None)["text"].tolist()[:2] == ["oil prices 0", "oil prices 1"]


def test_an_input_over_the_size_limit_is_named(tmp_path):
    source = tmp_path / "texts.csv"
    source.write_text("text\n" + "oil prices\n" * 100)
    with pytest.raises(ValueError, match="more than 500 bytes"):
        read_texts(source, "text", None, max_bytes=500)


def test_good_inputs_read_as_before(tmp_path):
    """CSV with quoted newlines, TSV, JSON lines (CRLF, a blank line, an unescaped U+2028 in a
    string), a BOM, a 150,000-character field (over the csv module's default limit of
    131,072)."""
    long_text = "oil " * 37_500
    csv_file = tmp_path / "texts.csv"
    csv_file.write_text(f'\ufeffdoc_id,text\nA,"two\nlines"\nB,{long_text}\n', encoding="utf-8")
    table = read_texts(csv_file, "text", "doc_id")
    assert table["id"].tolist() == ["A", "B"]
    assert table["text"].tolist() == ["two\nlines", long_text]
    tsv_file = tmp_path / "texts.tsv"
    tsv_file.write_text("text\tid\noil, prices\t7\n")
    assert read_texts(tsv_file, "text", "id").to_dict("list") == {
        "id": ["7"],
        "text": ["oil, prices"],
    }
    jsonl_file = tmp_path / "texts.jsonl"
    records = [{"id": 3, "text": "wheat\u2028corn"}, {"id": 4, "text": "oil"}]
    jsonl_file.write_text(
        json.dumps(records[0], ensure_ascii=False) + "\r\n\n" + _jsonl(records[1:])
    )
    assert read_texts(jsonl_file, "text", None).to_dict("list") == {
        "id": [0, 1],
        "text": ["wheat\u2028corn", "oil"],
    }
    assert read_texts(jsonl_file, "text", "id")["id"].tolist() == [3, 4]


def test_a_text_over_the_limit_is_skipped_and_counted(labeler, predictor, store, tmp_path, caplog):
    """One text of 100,001 characters (and one blank) among good ones: the run labels the others
    and keeps the refused rows, empty, with the reason; the log names the records."""
    run_id = _run_with_predictor(store, predictor)
    huge = "oil " * 25_000 + "x"
    texts = [TEXTS[0], huge, TEXTS[1], "   "]
    source = tmp_path / "texts.jsonl"
    source.write_text(_jsonl([{"doc": f"d{i}", "text": t} for i, t in enumerate(texts)]))
    with caplog.at_level(logging.INFO, logger="longtail_mltc.pipelines.predict.nodes"):
        out = label_texts(
            {"run_id": run_id, "input": str(source), "id_column": "doc"}, TrackedPredictors()
        )
    assert out["id"].tolist() == ["d0", "d1", "d2", "d3"]
    assert out["skipped"].tolist() == [
        "",
        "text has 100001 characters, more than the limit of 100000",
        "",
        "empty text",
    ]
    assert out.loc[[1, 3], "predicted_labels"].tolist() == ["", ""]
    assert out.loc[[1, 3], "top_k"].tolist() == ["[]", "[]"]
    expected = labeler.predict(TEXTS)
    assert out.loc[[0, 2], "predicted_labels"].tolist() == [";".join(e["labels"]) for e in expected]
    for got, e in zip(out.loc[[0, 2], "top_k"], expected, strict=True):
        assert [n for n, _ in json.loads(got)] == [n for n, _ in e["top_k"]]
        assert np.allclose([s for _, s in json.loads(got)], [s for _, s in e["top_k"]], atol=1e-6)
    assert "skipped 2 of 4 texts" in caplog.text and "(records 2, 4)" in caplog.text
