"""Environment variables reach configuration only as credentials and as the MLflow tracking URI;
credentials in a tracking URI are never printed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import mlflow
import pytest
from conftest import PROJECT_ROOT
from hypothesis import assume, given
from hypothesis import strategies as st
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro_project import copy_project, reset_mlflow_process_state
from mlflow.tracking import MlflowClient

from longtail_mltc import settings
from longtail_mltc.pipelines import tracking

KEDRO = str(Path(sys.executable).with_name("kedro"))
MLFLOW = str(Path(sys.executable).with_name("mlflow"))
SECRET = "s3cr3t-9f41c7d2e8b6a0"  # the value of SECRET_TOKEN; must never be stored or printed
PASSWORD = "hunter2-7c1e9a"


def _loader(conf: Path, **kwargs):
    return settings.CONFIG_LOADER_CLASS(str(conf), **settings.CONFIG_LOADER_ARGS, **kwargs)


def _write_conf(tmp_path: Path, files: dict[str, str]) -> Path:
    conf = tmp_path / "conf"
    for env in ("base", "local"):
        (conf / env).mkdir(parents=True)
    for name, text in files.items():
        (conf / "base" / name).write_text(text, encoding="utf-8")
    return conf


def _all_run_values(store: Path) -> list[str]:
    """Every parameter and tag value of every run in a sqlite MLflow store."""
    if not store.exists():
        return []
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    values = []
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id]):
            values += [*run.data.params.values(), *run.data.tags.values()]
    return values


def test_kedro_run_refuses_an_environment_variable_in_params(tmp_path, reuters_mirror):
    """`--params predict.run_id=${oc.env:SECRET_TOKEN}` once stored the secret as an MLflow
    parameter (and printed it in the node's error)."""
    project = copy_project(tmp_path / "project")
    store = project / "mlflow.db"
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "LONGTAIL_MLTC_MIRROR": str(reuters_mirror.parent),
        "MLFLOW_TRACKING_URI": f"sqlite:///{store}",
        "SECRET_TOKEN": SECRET,
    }
    out = subprocess.run(
        [KEDRO, "run", "--pipeline=predict", "--env=ci"]
        + ["--params", "predict.run_id=${oc.env:SECRET_TOKEN}"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = out.stdout + out.stderr
    assert out.returncode != 0
    assert SECRET not in output
    assert "environment variables" in output and "predict.run_id" in output, output[-3000:]
    assert not any(SECRET in value for value in _all_run_values(store))


def test_params_cannot_read_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", SECRET)
    loader = _loader(
        PROJECT_ROOT / "conf",
        env="ci",
        runtime_params={"predict": {"run_id": "${oc.env:SECRET_TOKEN}"}},
    )
    with pytest.raises(ValueError, match=r"predict\.run_id") as error:
        loader["parameters"]
    assert SECRET not in str(error.value)


def test_mlflow_yml_reads_the_tracking_uri_and_no_other_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", SECRET)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/mlflow.db")
    mlflow_yml = (PROJECT_ROOT / "conf" / "base" / "mlflow.yml").read_text(encoding="utf-8")
    conf = _write_conf(tmp_path, {"mlflow.yml": mlflow_yml})
    loader = _loader(conf)
    loader.config_patterns["mlflow"] = ["mlflow*"]  # what kedro-mlflow adds
    assert loader["mlflow"]["server"]["mlflow_tracking_uri"] == "sqlite:////elsewhere/mlflow.db"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert loader["mlflow"]["server"]["mlflow_tracking_uri"] == "sqlite:///mlflow.db"

    leaking = mlflow_yml.replace("name: null ", "name: ${oc.env:SECRET_TOKEN} ", 1)
    assert leaking != mlflow_yml
    (conf / "base" / "mlflow.yml").write_text(leaking, encoding="utf-8")
    with pytest.raises(Exception, match="SECRET_TOKEN") as error:
        loader["mlflow"]
    assert SECRET not in str(error.value)


def test_credentials_still_read_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", SECRET)
    conf = _write_conf(tmp_path, {"credentials.yml": "api:\n  token: ${oc.env:SECRET_TOKEN}\n"})
    assert _loader(conf)["credentials"] == {"api": {"token": SECRET}}


def test_a_kedro_session_tracks_where_mlflow_tracking_uri_says(tmp_path, monkeypatch):
    project = copy_project(tmp_path / "project")
    monkeypatch.chdir(project)
    store = tmp_path / "elsewhere.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    reset_mlflow_process_state()
    try:
        bootstrap_project(project)
        with KedroSession.create(project_path=project, env="ci") as session:
            session.load_context()  # kedro-mlflow sets the tracking URI and the experiment
        assert mlflow.get_tracking_uri() == f"sqlite:///{store}"
        names = [e.name for e in MlflowClient(f"sqlite:///{store}").search_experiments()]
        assert "longtail_mltc" in names
        assert not (project / "mlflow.db").exists()
    finally:
        reset_mlflow_process_state()


# --- masking ---------------------------------------------------------------------------------

SCHEMES = st.sampled_from(["http", "https", "postgresql", "mysql+pymysql", "databricks"])
HOSTS = st.sampled_from(["127.0.0.1:5000", "mlflow.example.org", "[::1]:8080", "db"])
PATHS = st.sampled_from(["", "/", "/mlflow", "/api/2.0?x=1", "/db?sslmode=require#top"])
USERS = st.text("abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12)


@given(scheme=SCHEMES, user=USERS, password=st.text(min_size=1), host=HOSTS, path=PATHS)
def test_masking_never_shows_the_password(scheme, user, password, host, path):
    encoded = quote(password, safe="")  # as it stands in a valid URI
    masked = tracking.mask_uri_credentials(f"{scheme}://{user}:{encoded}@{host}{path}")
    assume(password not in f"{scheme}://{user}:***@{host}{path}")  # not shown by chance
    assume(encoded not in f"{scheme}://{user}:***@{host}{path}")
    assert password not in masked and encoded not in masked
    assert masked == f"{scheme}://{user}:***@{host}{path}"


RAW_PASSWORD = st.text(
    st.characters(codec="ascii", categories=["L", "N", "P", "S"], exclude_characters="?#"),
    min_size=1,
)


@given(scheme=SCHEMES, user=USERS, password=RAW_PASSWORD, host=HOSTS, path=PATHS)
def test_masking_hides_a_password_typed_without_percent_encoding(
    scheme, user, password, host, path
):
    """'/', '@' or ':' typed into the password as they are still count as the password."""
    masked = tracking.mask_uri_credentials(f"{scheme}://{user}:{password}@{host}{path}")
    assume(password not in f"{scheme}://{user}:***@{host}{path}")
    assert password not in masked


@given(token=st.text(min_size=1), name=st.sampled_from(["token", "access_token", "X-Api-Key"]))
def test_masking_hides_secret_query_parameters(token, name):
    encoded = quote(token, safe="")
    uri = f"https://mlflow.example.org/api?experiment=3&{name}={encoded}#sig={encoded}"
    masked = tracking.mask_uri_credentials(uri)
    shape = f"https://mlflow.example.org/api?experiment=3&{name}=***#sig=***"
    assume(encoded not in shape)
    assert masked == shape


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:///mlflow.db",
        "sqlite:////abs/path/mlflow.db",
        "file:///tmp/mlruns",
        "http://127.0.0.1:5000",
        "https://mlflow.example.org/path?experiment=3#runs",
        "databricks",
        "mlruns",
    ],
)
def test_masking_leaves_uris_without_credentials_as_they_are(uri):
    assert tracking.mask_uri_credentials(uri) == uri


def test_masking_a_bare_token_user():
    masked = tracking.mask_uri_credentials("https://ghp_abc123@host/x")
    assert masked == "https://***@host/x"


# --- a tracking server with a password in its URI ------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    """A real MLflow tracking server on 127.0.0.1 (stopped by PID afterwards)."""
    folder = tmp_path_factory.mktemp("server")
    port = _free_port()
    server = subprocess.Popen(
        [MLFLOW, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        + ["--backend-store-uri", f"sqlite:///{folder / 'store.db'}"]
        + ["--artifacts-destination", str(folder / "artifacts")],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the MLflow server did not start") from None
                time.sleep(0.5)
        yield f"http://alice:{PASSWORD}@127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_configuration_runs_log_the_tracking_uri_masked(tracking_server, caplog, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    reset_mlflow_process_state()
    try:
        mlflow.set_experiment("masked")
        with caplog.at_level("INFO", logger=tracking.__name__):
            run_id = tracking.start_configuration_run(
                corpus="reuters",
                pipeline="single",
                variant="single",
                loss="bce",
                encoder="kim_cnn",
                params={"seed": 1},
            )
        tracking.end_configuration_run(run_id)
    finally:
        reset_mlflow_process_state()
    assert "alice:***@127.0.0.1" in caplog.text
    assert PASSWORD not in caplog.text


def test_kedro_run_never_prints_a_password_in_the_tracking_uri(
    tracking_server, tmp_path, reuters_mirror
):
    """MLflow prints 'View run ... at: <tracking URI>' when a run ends, password included."""
    project = copy_project(tmp_path / "project")
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "LONGTAIL_MLTC_MIRROR": str(reuters_mirror.parent),
        "MLFLOW_TRACKING_URI": tracking_server,
    }
    env.pop("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", None)
    out = subprocess.run(
        [KEDRO, "run", "--pipeline=fidelity", "--env=ci"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = out.stdout + out.stderr
    assert out.returncode == 0, output[-3000:]
    assert PASSWORD not in output
    assert "alice:***@127.0.0.1" in output
