"""The project's strict HTTP server (serving/server.py) over real HTTP on 127.0.0.1, with a
small trained labeler: every malformed request gets a 4xx JSON error of at most 1 KB naming
the record, good requests get the labeler's own predictions, and the server keeps serving.

(The old route, ``mlflow models serve``, turned ``5`` into ``"5"`` and answered 200, echoed a
10 MB request in a 10 MB error body, had no size limit and answered 500 to a request without
Content-Type or nested 50,000 deep: issue 20, item 3.)"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
import uvicorn

from longtail_mltc.inference import Preprocessing, TextLabeler
from longtail_mltc.models import build_classifier
from longtail_mltc.serving.server import MAX_ERROR_BYTES, create_app, error_body
from longtail_mltc.text import build_vocabulary, encode, tokenize_texts

torch.set_num_threads(1)  # the machine is shared: keep the tiny model on one core

LABELS = ["acq", "crude", "earn", "grain"]
TRAIN = [
    ("The company agreed to acquire the shares of its rival for cash.", "acq"),
    ("It will buy the remaining stake in the unit and merge the two firms.", "acq"),
    ("Crude oil prices rose as OPEC cut output in the Gulf.", "crude"),
    ("Oil prices fell on higher crude stocks and refinery output.", "crude"),
    ("Quarterly net profit rose and the dividend was raised per share.", "earn"),
    ("First quarter earnings fell, the company said, net loss per share.", "earn"),
    ("Wheat and corn exports fell as grain prices rose in Chicago.", "grain"),
    ("The USDA said wheat and maize harvests and grain stocks rose.", "grain"),
]
GOOD_TEXTS = [
    "Oil prices rose after OPEC said it would cut crude output.",
    "Net profit per share rose and the company raised its dividend.",
    "!!! ???",  # no token at all
]
MAX_LENGTH = 24
MAX_CHARS = 1_000
KIM_PARAMS = {"embedding_dim": 16, "num_filters": 8, "hidden_dim": 16, "kernel_sizes": [1, 2]}
SCORE_TOLERANCE = 1e-6  # JSON carries the float32 scores as exact doubles; allow rounding


def _trained_labeler() -> TextLabeler:
    """A Kim-CNN trained for a few dozen full-batch steps on :data:`TRAIN` (about a second)."""
    texts = [text for text, _ in TRAIN]
    vocabulary = build_vocabulary(tokenize_texts(texts, "english"))
    ids, _ = encode(tokenize_texts(texts, "english"), vocabulary, max_len=MAX_LENGTH)
    targets = torch.zeros(len(TRAIN), len(LABELS))
    for row, (_, label) in enumerate(TRAIN):
        targets[row, LABELS.index(label)] = 1.0
    torch.manual_seed(0)
    model = build_classifier("kim_cnn", len(LABELS), vocab_size=len(vocabulary), **KIM_PARAMS)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    model.train()
    for _ in range(40):
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            model(torch.as_tensor(ids)), targets
        )
        loss.backward()
        optimiser.step()
    return TextLabeler(
        model,
        Preprocessing("english", MAX_LENGTH),
        LABELS,
        threshold=0.5,
        vocabulary=vocabulary,
        max_chars=MAX_CHARS,
        model_config={"encoder": "kim_cnn", "encoder_params": KIM_PARAMS},
    )


@contextmanager
def _running(app) -> Iterator[tuple[str, int]]:
    """``app`` served by uvicorn in a background thread on a free port of 127.0.0.1."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def labeler() -> TextLabeler:
    return _trained_labeler()


@pytest.fixture(scope="module")
def address(labeler) -> Iterator[tuple[str, int]]:
    with _running(create_app(labeler, max_request_bytes=200_000, max_texts=50)) as where:
        yield where


def _request(
    address: tuple[str, int],
    method: str,
    path: str,
    body: bytes | Iterator[bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """Status and body of one request on a fresh connection."""
    connection = http.client.HTTPConnection(*address, timeout=60)
    try:
        chunked = body is not None and not isinstance(body, bytes)
        connection.request(method, path, body, headers or {}, encode_chunked=chunked)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _post(address, body: bytes | str, content_type: str | None = "application/json"):
    data = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": content_type} if content_type else {}
    return _request(address, "POST", "/invocations", data, headers)


def _error(status: int, body: bytes) -> tuple[int, str, str]:
    """``(status, error_code, message)`` of an error answer, checking its size and form."""
    assert len(body) <= MAX_ERROR_BYTES, f"error body of {len(body)} bytes"
    data = json.loads(body)
    assert set(data) == {"error_code", "message"}
    return status, data["error_code"], data["message"]


def _assert_still_serving(address, labeler) -> None:
    assert _request(address, "GET", "/ping")[0] == 200
    status, body = _post(address, json.dumps({"inputs": GOOD_TEXTS[:1]}))
    assert status == 200
    assert (
        json.loads(body)["predictions"][0]["labels"] == labeler.predict(GOOD_TEXTS[:1])[0]["labels"]
    )


def _assert_same_predictions(answer: list[dict], expected: list[dict]) -> None:
    assert len(answer) == len(expected)
    for got, want in zip(answer, expected, strict=True):
        assert got["labels"] == want["labels"]
        np.testing.assert_allclose(got["scores"], want["scores"], rtol=0, atol=SCORE_TOLERANCE)
        assert [name for name, _ in got["top_k"]] == [name for name, _ in want["top_k"]]
        np.testing.assert_allclose(
            [score for _, score in got["top_k"]],
            [score for _, score in want["top_k"]],
            rtol=0,
            atol=SCORE_TOLERANCE,
        )


# --- good requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"inputs": GOOD_TEXTS},
        {"dataframe_records": [{"text": t, "doc_id": str(i)} for i, t in enumerate(GOOD_TEXTS)]},
        {"dataframe_split": {"columns": ["doc_id", "text"], "data": [[1, t] for t in GOOD_TEXTS]}},
    ],
    ids=["inputs", "dataframe_records", "dataframe_split"],
)
def test_a_good_request_gets_the_labelers_predictions(address, labeler, payload):
    status, body = _post(address, json.dumps(payload))
    assert status == 200
    expected = labeler.predict(GOOD_TEXTS, top_k=5)
    assert expected[0]["labels"] == ["crude"] and expected[1]["labels"] == ["earn"]  # trained
    _assert_same_predictions(json.loads(body)["predictions"], expected)


def test_ping_and_health_answer(address):
    assert _request(address, "GET", "/ping")[0] == 200
    assert _request(address, "GET", "/health")[0] == 200


# --- bad texts: 400 naming the record, before any conversion --------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("5", "number"),
        ("1.5", "number"),
        ("1e308", "number"),
        ("-0", "number"),
        ("true", "boolean"),
        ("null", "null"),
        ('["oil"]', "array"),
        ('{"text": "oil"}', "object"),
    ],
)
@pytest.mark.parametrize(
    "template",
    [
        '{"inputs": ["oil prices", %s]}',
        '{"dataframe_records": [{"text": "oil prices"}, {"text": %s}]}',
        '{"dataframe_split": {"columns": ["text"], "data": [["oil prices"], [%s]]}}',
    ],
    ids=["inputs", "dataframe_records", "dataframe_split"],
)
def test_a_non_string_text_is_refused_naming_the_record(address, labeler, template, value, kind):
    status, code, message = _error(*_post(address, template % value))
    assert (status, code) == (400, "INVALID_PARAMETER_VALUE")
    assert message == f"record 2: expected a string, got {kind}"
    _assert_still_serving(address, labeler)


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["fine", "   \n\t"], "record 2: empty text"),
        (["fine", "x" * (MAX_CHARS + 1)], f"record 2: text has {MAX_CHARS + 1} characters"),
        (["\ud800 lone surrogate"], "record 1: text is not valid Unicode"),
        ([], "expected at least one text"),
        (["oil"] * 51, "51 texts in one request, more than the limit of 50"),
    ],
    ids=["blank", "over_max_chars", "lone_surrogate", "none", "too_many"],
)
def test_a_bad_text_is_refused_naming_the_record(address, labeler, texts, message):
    status, code, answer = _error(*_post(address, json.dumps({"inputs": texts})))
    assert (status, code) == (400, "INVALID_PARAMETER_VALUE")
    assert answer.startswith(message)
    _assert_still_serving(address, labeler)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('["oil prices"]', "expected a JSON object with one of inputs"),
        ('"oil prices"', "expected a JSON object with one of inputs"),
        ("{}", "expected exactly one of inputs, dataframe_records, dataframe_split"),
        ('{"inputs": "oil prices"}', "inputs: expected an array of strings, got string"),
        ('{"inputs": ["a"], "params": {}}', "unexpected field(s) beside 'inputs': 'params'"),
        ('{"inputs": ["a"], "dataframe_records": []}', "expected exactly one of"),
        ('{"dataframe_records": [{"txt": "a"}]}', "record 1: expected an object with a 'text'"),
        ('{"dataframe_records": ["a"]}', "record 1: expected an object with a 'text' field"),
        (
            '{"dataframe_split": {"columns": ["t"], "data": [["a"]]}}',
            "dataframe_split: 'columns' must be an",
        ),
        ('{"dataframe_split": {"columns": ["text"], "data": [["a", "b"]]}}', "record 1: expected"),
    ],
)
def test_a_wrong_request_shape_is_refused(address, labeler, payload, message):
    status, code, answer = _error(*_post(address, payload))
    assert (status, code) == (400, "INVALID_PARAMETER_VALUE")
    assert answer.startswith(message)
    _assert_still_serving(address, labeler)


# --- malformed requests: 4xx, never 500, never an echo ---------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 50_000 + b"]" * 50_000, "invalid JSON: nested too deeply"),
        (b'{"inputs": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "invalid JSON: nested too deeply"),
        (b'{"inputs": ["oil"', "invalid JSON"),
        (b"", "invalid JSON"),
        (b'{"inputs": [NaN]}', "invalid JSON: NaN is not valid JSON"),
        (b'{"inputs": [' + b"9" * 5_000 + b"]}", "invalid JSON"),
        (b'{"inputs": ["caf\xe9"]}', "the body is not UTF-8"),
    ],
    ids=["deep_50000", "deep_inside", "truncated", "empty", "nan", "huge_integer", "latin1"],
)
def test_malformed_json_gets_400(address, labeler, body, message):
    status, code, answer = _error(*_post(address, body))
    assert (status, code) == (400, "MALFORMED_REQUEST")
    assert answer.startswith(message)
    _assert_still_serving(address, labeler)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_a_request_that_is_not_json_gets_415(address, labeler, content_type):
    status, code, message = _error(*_post(address, json.dumps({"inputs": ["oil"]}), content_type))
    assert (status, code) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert "expected Content-Type: application/json" in message
    _assert_still_serving(address, labeler)


def test_content_type_parameters_are_accepted(address):
    status, _ = _post(address, json.dumps({"inputs": ["oil"]}), "Application/JSON; charset=UTF-8")
    assert status == 200


def test_a_10_mb_request_gets_413_with_a_short_body(address, labeler):
    payload = json.dumps({"inputs": ["oil prices " * 1_000_000]}).encode()
    status, body = _post(address, payload)
    status, code, message = _error(status, body)
    assert (status, code) == (413, "REQUEST_TOO_LARGE")
    assert message == (
        f"request too large: Content-Length is {len(payload)} bytes, the limit is 200000 bytes"
    )
    _assert_still_serving(address, labeler)


def test_a_chunked_body_cannot_exceed_the_limit(address, labeler):
    chunks = iter([b'{"inputs": ["'] + [b"oil prices " * 6_000] * 10 + [b'"]}'])
    status, code, message = _error(
        *_request(address, "POST", "/invocations", chunks, {"Content-Type": "application/json"})
    )
    assert (status, code) == (413, "REQUEST_TOO_LARGE")
    assert "more than 200000 bytes" in message
    _assert_still_serving(address, labeler)


def test_a_text_over_max_chars_is_not_echoed(address, labeler):
    text = "crude " * 30_000  # 180,000 bytes: under the request limit, over max_chars
    status, code, message = _error(*_post(address, json.dumps({"inputs": [text]})))
    assert (status, code) == (400, "INVALID_PARAMETER_VALUE")
    assert message == f"record 1: text has {len(text)} characters, more than the limit of 1000"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nowhere", 404, "ENDPOINT_NOT_FOUND"),
        ("POST", "/predict", 404, "ENDPOINT_NOT_FOUND"),
        ("GET", "/invocations", 405, "METHOD_NOT_ALLOWED"),
        ("DELETE", "/ping", 405, "METHOD_NOT_ALLOWED"),
    ],
)
def test_unknown_routes_and_methods_get_json_errors(address, labeler, method, path, status, code):
    assert _error(*_request(address, method, path))[:2] == (status, code)
    _assert_still_serving(address, labeler)


def test_a_failure_while_scoring_gets_a_short_500_and_the_server_goes_on(labeler, caplog):
    broken = _trained_labeler()
    with torch.no_grad():
        broken.model.head.weight.fill_(float("nan"))  # NaN scores cannot be sent as JSON
    with _running(create_app(broken)) as where:
        status, code, message = _error(*_post(where, json.dumps({"inputs": ["oil"]})))
        assert (status, code) == (500, "INTERNAL_ERROR")
        assert "Traceback" not in message
        assert _request(where, "GET", "/ping")[0] == 200
    assert "scoring 1 text(s) failed" in caplog.text


def test_error_bodies_are_cut_to_1_kb():
    body = error_body("INVALID_PARAMETER_VALUE", "é\n" * 5_000)
    assert len(body) <= MAX_ERROR_BYTES
    assert json.loads(body)["message"].endswith("...")


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_create_app_checks_its_limits(labeler, bad):
    with pytest.raises(ValueError, match="max_request_bytes must be a positive integer"):
        create_app(labeler, max_request_bytes=bad)


# --- the kedro serve command -----------------------------------------------------------------


@pytest.mark.slow
def test_kedro_serve_serves_a_saved_predictor(project: Path, labeler, tmp_path):
    """``kedro serve --model-uri <predictor folder>`` in a copy of the project."""
    from longtail_mltc.serving import save_predictor

    predictor = save_predictor(labeler, tmp_path / "predictor")
    port = _free_port()
    command = [sys.executable, "-m", "kedro", "serve", "--model-uri", str(predictor)]
    command += ["--port", str(port), "--max-request-bytes", "5000", "--no-access-log"]
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    with subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as server:
        try:
            where = ("127.0.0.1", port)
            _wait_for_ping(where, server)
            status, body = _post(where, json.dumps({"inputs": GOOD_TEXTS}))
            assert status == 200
            _assert_same_predictions(json.loads(body)["predictions"], labeler.predict(GOOD_TEXTS))
            too_big = json.dumps({"inputs": ["oil " * 2_000]})
            assert _error(*_post(where, too_big))[:2] == (413, "REQUEST_TOO_LARGE")
        finally:
            server.terminate()
            server.communicate(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_ping(address, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"kedro serve exited with {process.returncode}:\n{output[-3000:]}")
        try:
            if _request(address, "GET", "/ping")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail("kedro serve did not answer /ping")


@pytest.mark.slow
def test_kedro_serve_names_an_unknown_run(project: Path):
    """An unknown run id stops ``kedro serve`` with a message naming the URI, before serving."""
    uri = "runs:/0123456789abcdef0123456789abcdef/predictor"
    done = subprocess.run(
        [sys.executable, "-m", "kedro", "serve", "--model-uri", uri, "--port", str(_free_port())],
        cwd=project,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert f"cannot load {uri}" in done.stderr
