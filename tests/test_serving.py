"""A trained single network as an MLflow pyfunc model: `mlflow models serve` on 127.0.0.1,
the `predict` pipeline and the evaluation give the same labels for real Reuters test
documents; bad requests get clear 400 answers and the server keeps serving."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro_project import reset_mlflow_process_state, run_pipeline
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow

N_DOCS = 25


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, payload: object) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _labels(predictions: list[dict]) -> list[set[str]]:
    return [set(p["labels"]) for p in predictions]


RUNS = (
    "reuters/single/single/bce",
    "reuters/hscnn/hscnn/bce",  # the paper's merge
    "reuters/hscnn/hscnn_calibrated/bce",  # the merge calibrated on validation
)


@pytest.fixture
def trained(project: Path) -> dict[str, object]:
    """The hscnn chain (ingestion → … → single → HSCNN) at ci sizes: its single and HSCNN runs."""
    run_pipeline(project, "hscnn")
    reset_mlflow_process_state()
    runs = {}
    for name in RUNS:
        (runs[name],) = mlflow.search_runs(
            experiment_names=["longtail_mltc"],
            filter_string=f"tags.mlflow.runName = '{name}'",
            output_format="list",
        )
    return runs


def _evaluation_labels(run_id: str) -> pd.DataFrame:
    table = pd.read_csv(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="predictions/test_predictions.csv"
        ),
        keep_default_na=False,
        dtype=str,
    ).set_index("doc_id")
    return table["predicted_labels"].map(lambda v: set(filter(None, v.split(";"))))


def _documents(project: Path, hybrid_predictions: pd.Series) -> pd.DataFrame:
    """``N_DOCS`` test documents, led by those the HSCNN evaluation gave a tail label (the
    Siamese part's decisions), so the comparison covers both halves of the hybrid merge."""
    split = pd.read_parquet(project / "data/03_primary/reuters/corpus_split.parquet")
    test = split[split["split"] == "test"].set_index("doc_id", drop=False)
    stats = json.loads((project / "data/04_feature/reuters/label_statistics.json").read_text())
    tail = {stats["label_index"][c] for c in stats["hybrid"]["hybrid_tail"]}  # N_c < N_phi
    with_tail = [d for d in test.index if hybrid_predictions[d] & tail]
    assert with_tail, "the ci HSCNN decides no tail label: the merge would not be exercised"
    chosen = with_tail[: N_DOCS // 2] + [d for d in test.index if d not in with_tail]
    return test.loc[chosen[:N_DOCS]]


def test_served_models_predict_pipeline_and_evaluation_agree(project: Path, trained, tmp_path):
    """For the single network and the HSCNN (the paper's merge and the calibrated one): the
    served model, the predict pipeline and the run's evaluation predictions give the same
    labels."""
    _assert_no_pickle_logged()
    hybrid = _evaluation_labels(trained[RUNS[1]].info.run_id)
    test = _documents(project, hybrid)
    for name, run in trained.items():
        _check_agreement(project, run.info.run_id, test, tmp_path / name.replace("/", "_"))


def _assert_no_pickle_logged() -> None:
    """No run of the chain (ingestion … single … HSCNN) logged a pickle: the predictors are
    JSON and safetensors behind MLflow's loader_module flavour (issue 20)."""
    client = MlflowClient()
    runs = mlflow.search_runs(experiment_names=["longtail_mltc"], output_format="list")
    files = [f for run in runs for f in _artifact_files(client, run.info.run_id)]
    assert any(f.endswith("predictor/MLmodel") for f in files), files
    assert not [f for f in files if f.endswith((".pkl", ".pickle")) or "pickle" in f], files


def _artifact_files(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    out: list[str] = []
    for item in client.list_artifacts(run_id, path):
        out += _artifact_files(client, run_id, item.path) if item.is_dir else [item.path]
    return out


def _check_agreement(project: Path, run_id: str, test: pd.DataFrame, tmp_path: Path) -> None:
    texts = test["text"].tolist()
    evaluation = _evaluation_labels(run_id)
    expected = [evaluation[d] for d in test["doc_id"]]
    assert any(expected), "the ci model predicts nothing: the comparison would be vacuous"

    # the predict pipeline on a CSV of the same documents
    tmp_path.mkdir(parents=True)
    source = tmp_path / "texts.csv"
    test[["doc_id", "text"]].to_csv(source, index=False)
    run_pipeline(
        project,
        "predict",
        params={"predict": {"run_id": run_id, "input": str(source), "id_column": "doc_id"}},
    )
    reset_mlflow_process_state()
    batch = pd.read_csv(project / "data/07_model_output/predict/predictions.csv",
                        keep_default_na=False, dtype=str)  # fmt: skip
    assert batch["id"].tolist() == test["doc_id"].tolist()
    assert (batch["skipped"] == "").all()  # every text labelled
    assert [set(filter(None, v.split(";"))) for v in batch["predicted_labels"]] == expected

    # the served model on 127.0.0.1
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)  # mlflow execs `uvicorn` from PATH
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    mlflow_cli = str(Path(sys.executable).with_name("mlflow"))
    server = subprocess.Popen(
        [mlflow_cli, "models", "serve", "-m", f"runs:/{run_id}/predictor",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "--workers", "1"],
        cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, server.stderr.read().decode()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the model server did not start in 180 s"
            time.sleep(1)

        status, body = _post(
            f"{url}/invocations", {"dataframe_records": [{"text": t} for t in texts]}
        )
        assert status == 200, body
        assert _labels(body["predictions"]) == expected
        status, body = _post(f"{url}/invocations", {"inputs": texts[:3]})
        assert status == 200 and _labels(body["predictions"]) == expected[:3]

        bad = {
            "empty text": ([{"text": "   "}], "record 1: empty text"),
            "non-string": ([{"text": texts[0]}, {"text": 123}], "record 2: expected a string"),
            "huge text": ([{"text": "oil " * 40_000}], "more than the limit"),
            "no text column": ([{"title": "a", "body": "b"}], "expected a column 'text'"),
        }
        for case, (records, message) in bad.items():
            status, body = _post(f"{url}/invocations", {"dataframe_records": records})
            assert status == 400, (case, status, body)
            assert message in body.get("message", ""), (case, body)
        # still serving after the bad requests
        status, body = _post(f"{url}/invocations", {"inputs": texts[:1]})
        assert status == 200 and _labels(body["predictions"]) == expected[:1]
        assert server.poll() is None
    finally:
        os.killpg(server.pid, 15)  # the server and its worker processes
        server.wait(timeout=30)


def test_predict_with_an_unknown_run_id_names_it(project: Path, tmp_path):
    source = tmp_path / "texts.jsonl"
    source.write_text('{"text": "oil prices rose"}\n')
    bogus = "0" * 32
    with pytest.raises(Exception, match=f"unknown run id '{bogus}'"):
        run_pipeline(
            project, "predict", params={"predict": {"run_id": bogus, "input": str(source)}}
        )
    assert not (project / "data/07_model_output/predict/predictions.csv").exists()
