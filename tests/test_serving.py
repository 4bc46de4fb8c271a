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


@pytest.fixture
def trained(project: Path):
    """ingestion → features → label_stats → single at ci sizes; the single run."""
    for pipeline in ("ingestion", "features", "label_stats", "single"):
        run_pipeline(project, pipeline)
        reset_mlflow_process_state()
    (run,) = mlflow.search_runs(
        experiment_names=["longtail_mltc"],
        filter_string="tags.mlflow.runName = 'reuters/single/single/bce'",
        output_format="list",
    )
    return run


def test_served_model_predict_pipeline_and_evaluation_agree(project: Path, trained, tmp_path):
    run_id = trained.info.run_id
    split = pd.read_parquet(project / "data/03_primary/reuters/corpus_split.parquet")
    test = split[split["split"] == "test"].head(N_DOCS)
    texts = test["text"].tolist()
    evaluation = pd.read_csv(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="predictions/test_predictions.csv"
        ),
        keep_default_na=False,
        dtype=str,
    ).set_index("doc_id")
    expected = [set(filter(None, evaluation.loc[d, "predicted_labels"].split(";")))
                for d in test["doc_id"]]  # fmt: skip
    assert any(expected), "the ci model predicts nothing: the comparison would be vacuous"

    # the predict pipeline on a CSV of the same documents
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
            "empty text": ([{"text": "   "}], "record 0: empty text"),
            "non-string": ([{"text": texts[0]}, {"text": 123}], "record 1: expected a string"),
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
