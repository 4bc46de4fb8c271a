"""The project's HTTP server for a :class:`~longtail_mltc.inference.TextLabeler`.

MLflow-compatible routes: ``GET /ping`` and ``GET /health`` answer 200; ``POST /invocations``
takes ``{"inputs": ["text", ...]}``, ``{"dataframe_records": [{"text": "..."}, ...]}`` or
``{"dataframe_split": {"columns": ["text", ...], "data": [["...", ...], ...]}}`` and answers
``{"predictions": [{"labels": [...], "scores": [...], "top_k": [[label, score], ...]}, ...]}``,
the same rows as the MLflow pyfunc model (:class:`~longtail_mltc.serving.LabelerModel`).

Unlike ``mlflow models serve``, the request is checked on the parsed JSON before anything is
converted: every text must be a JSON string (``5``, ``1.5``, ``true``, ``null`` are refused,
not turned into ``"5"``), non-blank, valid Unicode and within the labeler's ``max_chars``.
Errors are ``{"error_code": ..., "message": ...}`` bodies of at most
:data:`MAX_ERROR_BYTES` bytes that name the record (1-based) and never echo the request:

- 400 ``MALFORMED_REQUEST``: invalid JSON or UTF-8, nesting too deep, a bad Content-Length;
- 400 ``INVALID_PARAMETER_VALUE``: a wrong request shape or a bad text;
- 404 ``ENDPOINT_NOT_FOUND``, 405 ``METHOD_NOT_ALLOWED``;
- 413 ``REQUEST_TOO_LARGE``: a body over ``max_request_bytes`` (checked on Content-Length and
  counted while reading, so a chunked body cannot exceed it);
- 415 ``UNSUPPORTED_MEDIA_TYPE``: Content-Type missing or not ``application/json``;
- 500 ``INTERNAL_ERROR``: an unexpected failure (its traceback is logged, not sent).

Inference runs in worker threads (at most ``inference_workers`` at once), so ``/ping`` answers
while requests are scored. :func:`serve` runs the app with uvicorn.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from longtail_mltc.corpora.validation import first_surrogate
from longtail_mltc.inference import InvalidInput, TextLabeler

from .pyfunc import TEXT_COLUMN, TOP_K

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_MAX_TEXTS",
    "MAX_ERROR_BYTES",
    "RequestError",
    "create_app",
    "request_texts",
    "serve",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_REQUEST_BYTES = 1_000_000
DEFAULT_MAX_TEXTS = 1_000
DEFAULT_LIMIT_CONCURRENCY = 64  # open connections + tasks beyond this get uvicorn's 503
MAX_ERROR_BYTES = 1024
FORMATS = ("inputs", "dataframe_records", "dataframe_split")
JSON_MEDIA_TYPE = "application/json"

MALFORMED = "MALFORMED_REQUEST"
INVALID = "INVALID_PARAMETER_VALUE"
TOO_LARGE = "REQUEST_TOO_LARGE"
MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
INTERNAL = "INTERNAL_ERROR"
HTTP_ERROR_CODES = {404: "ENDPOINT_NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: TOO_LARGE}


class RequestError(Exception):
    """A request the server refuses: HTTP ``status``, MLflow-style ``error_code``, message."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def _invalid(message: str) -> RequestError:
    return RequestError(400, INVALID, message)


# --- responses -------------------------------------------------------------------------------


def error_body(error_code: str, message: str) -> bytes:
    """``{"error_code", "message"}`` as ASCII JSON of at most :data:`MAX_ERROR_BYTES` bytes
    (the message cut short with ``...`` where needed)."""
    text = message
    while True:
        body = json.dumps({"error_code": error_code, "message": text}).encode("ascii")
        excess = len(body) - MAX_ERROR_BYTES
        if excess <= 0:
            return body
        text = text[: max(0, len(text) - excess - 3)] + "..."


def error_response(
    status: int, error_code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(error_body(error_code, message), status, headers, JSON_MEDIA_TYPE)


# --- request checks --------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type (what a client sent, in its own terms)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _names(keys: list[str]) -> str:
    """Field names a client sent, quoted and shortened (never the whole request)."""
    shown = [repr(key[:40]) for key in sorted(keys)[:5]]
    return ", ".join(shown) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


def check_media_type(content_type: str | None) -> None:
    """415 unless Content-Type is ``application/json`` (charset, if given, UTF-8)."""
    media, _, params = (content_type or "").partition(";")
    charset = re.search(r"charset\s*=\s*\"?([^\";\s]+)", params, re.IGNORECASE)
    if media.strip().lower() != JSON_MEDIA_TYPE or (
        charset and charset.group(1).lower() not in ("utf-8", "utf8")
    ):
        got = "no Content-Type" if not content_type else "another Content-Type"
        raise RequestError(
            415, MEDIA_TYPE, f"expected Content-Type: {JSON_MEDIA_TYPE} (UTF-8), got {got}"
        )


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused (413) once it is over ``max_bytes``: by its declared
    Content-Length before reading, and by counting the bytes received (chunked bodies)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise RequestError(400, MALFORMED, "invalid Content-Length header")
        if int(declared) > max_bytes:
            raise _too_large(max_bytes, f"Content-Length is {int(declared)} bytes")
    # Counted by hand rather than with Starlette's RequestBodyLimitMiddleware: that middleware
    # answers some oversized requests with a plain-text body, and every error here is JSON.
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(max_bytes, f"the body has more than {max_bytes} bytes")
    return bytes(body)


def _too_large(max_bytes: int, what: str) -> RequestError:
    return RequestError(
        413, TOO_LARGE, f"request too large: {what}, the limit is {max_bytes} bytes"
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """The body as JSON (strict UTF-8, no NaN/Infinity); 400 for anything else, including
    nesting too deep for the parser (``RecursionError``)."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as err:
        raise RequestError(400, MALFORMED, f"the body is not UTF-8 (byte {err.start})") from None
    except RecursionError:
        raise RequestError(400, MALFORMED, "invalid JSON: nested too deeply") from None
    except ValueError as err:  # JSONDecodeError, over-long integers, NaN/Infinity
        raise RequestError(400, MALFORMED, f"invalid JSON: {str(err)[:200]}") from None


def request_texts(payload: Any, max_texts: int = DEFAULT_MAX_TEXTS) -> list[Any]:
    """The raw text values of a parsed request, one per record, unconverted (400 for a wrong
    shape, no record or more than ``max_texts``)."""
    if not isinstance(payload, dict):
        raise _invalid(
            f"expected a JSON object with one of {', '.join(FORMATS)}, got {_json_type(payload)}"
        )
    formats = [key for key in FORMATS if key in payload]
    if len(formats) != 1:
        raise _invalid(
            f"expected exactly one of {', '.join(FORMATS)}, got "
            + (_names(list(payload)) if payload else "an empty object")
        )
    extra = [key for key in payload if key != formats[0]]
    if extra:
        raise _invalid(f"unexpected field(s) beside {formats[0]!r}: {_names(extra)}")
    values = _FORMAT_READERS[formats[0]](payload[formats[0]])
    if not values:
        raise _invalid("expected at least one text, got none")
    if len(values) > max_texts:
        raise _invalid(
            f"{len(values)} texts in one request, more than the limit of {max_texts}: "
            "send them in several requests"
        )
    return values


def _inputs(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(f"inputs: expected an array of strings, got {_json_type(value)}")
    return value


def _records(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(f"dataframe_records: expected an array of objects, got {_json_type(value)}")
    texts = []
    for number, record in enumerate(value, start=1):
        if not isinstance(record, dict) or TEXT_COLUMN not in record:
            got = "an object without it" if isinstance(record, dict) else _json_type(record)
            raise _invalid(
                f"record {number}: expected an object with a {TEXT_COLUMN!r} field, got {got}"
            )
        texts.append(record[TEXT_COLUMN])
    return texts


def _split(value: Any) -> list[Any]:
    if not isinstance(value, dict) or not {"columns", "data"} <= set(value):
        raise _invalid("dataframe_split: expected an object with 'columns' and 'data'")
    extra = [key for key in value if key not in ("columns", "data", "index")]
    if extra:
        raise _invalid(f"dataframe_split: unexpected field(s) {_names(extra)}")
    columns, data = value["columns"], value["data"]
    if not isinstance(columns, list) or TEXT_COLUMN not in columns:
        raise _invalid(f"dataframe_split: 'columns' must be an array naming {TEXT_COLUMN!r}")
    if not isinstance(data, list):
        raise _invalid(f"dataframe_split: 'data' must be an array, got {_json_type(data)}")
    position = columns.index(TEXT_COLUMN)
    texts = []
    for number, row in enumerate(data, start=1):
        if not isinstance(row, list) or len(row) != len(columns):
            raise _invalid(
                f"record {number}: expected an array of {len(columns)} values (the columns), "
                f"got {_json_type(row) if not isinstance(row, list) else f'{len(row)} values'}"
            )
        texts.append(row[position])
    return texts


_FORMAT_READERS: dict[str, Callable[[Any], list[Any]]] = {
    "inputs": _inputs,
    "dataframe_records": _records,
    "dataframe_split": _split,
}


def checked_texts(values: list[Any], labeler: TextLabeler) -> list[str]:
    """The values as texts the labeler accepts; 400 naming the first bad record (1-based):
    not a JSON string, a lone surrogate, or what :meth:`TextLabeler.text_problem` names
    (blank, over ``max_chars``)."""
    for number, value in enumerate(values, start=1):
        if not isinstance(value, str):
            raise _invalid(f"record {number}: expected a string, got {_json_type(value)}")
        index = first_surrogate(value)
        if index is not None:
            raise _invalid(
                f"record {number}: text is not valid Unicode (lone surrogate at character "
                f"{index + 1})"
            )
        problem = labeler.text_problem(value)
        if problem:
            raise _invalid(f"record {number}: {problem}")
    return list(values)


def parse_request(body: bytes, labeler: TextLabeler, max_texts: int) -> list[str]:
    """Body bytes → the texts to label (every check above, no conversion)."""
    return checked_texts(request_texts(parse_json(body), max_texts), labeler)


def predictions_body(labeler: TextLabeler, texts: list[str]) -> bytes:
    """``{"predictions": [...]}`` of the texts, as the MLflow pyfunc model answers."""
    results = labeler.predict(texts, top_k=TOP_K)
    return json.dumps({"predictions": results}, ensure_ascii=False, allow_nan=False).encode()


# --- the app ---------------------------------------------------------------------------------


def create_app(
    labeler: TextLabeler,
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    max_texts: int = DEFAULT_MAX_TEXTS,
    inference_workers: int = 2,
) -> Starlette:
    """The ASGI app serving ``labeler`` (routes and errors: see the module docstring)."""
    for name, value in [
        ("max_request_bytes", max_request_bytes),
        ("max_texts", max_texts),
        ("inference_workers", inference_workers),
    ]:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    limiter: list[anyio.CapacityLimiter] = []  # made on first use: it needs the event loop

    async def ping(request: Request) -> Response:
        return Response(b'{"status":"ok"}', 200, media_type=JSON_MEDIA_TYPE)

    async def invocations(request: Request) -> Response:
        try:
            check_media_type(request.headers.get("content-type"))
            body = await read_body(request, max_request_bytes)
            texts = await run_in_threadpool(parse_request, body, labeler, max_texts)
        except RequestError as err:
            logger.info("refused a request: %d %s", err.status, err.message[:200])
            return error_response(err.status, err.error_code, err.message)
        except ClientDisconnect:
            return error_response(400, MALFORMED, "the client disconnected")
        if not limiter:
            limiter.append(anyio.CapacityLimiter(inference_workers))
        try:
            # anyio's own call (what run_in_threadpool wraps) to pass a limiter: at most
            # inference_workers scorings at once, each with its share of the CPU threads.
            body = await anyio.to_thread.run_sync(
                partial(predictions_body, labeler, texts), limiter=limiter[0]
            )
        except InvalidInput as err:
            return error_response(400, INVALID, str(err))
        except Exception:
            logger.exception("scoring %d text(s) failed", len(texts))
            return error_response(500, INTERNAL, "internal error while scoring (see server log)")
        return Response(body, 200, media_type=JSON_MEDIA_TYPE)

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/health", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    """404/405 (and any other HTTPException) as a JSON error body."""
    assert isinstance(exc, HTTPException)
    code = HTTP_ERROR_CODES.get(exc.status_code, MALFORMED)
    message = {
        404: "no such endpoint: the server answers GET /ping, GET /health, POST /invocations",
        405: f"method {request.method[:20]} not allowed here",
    }.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, code, message, dict(exc.headers or {}))


async def _server_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected: 500 with a short message (uvicorn logs the traceback)."""
    return error_response(500, INTERNAL, "internal server error (see server log)")


def default_workers() -> int:
    """Concurrent scorings: one per core, at most 4 (small models gain little from more)."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


def serve(
    labeler: TextLabeler,
    *,
    host: str = "127.0.0.1",
    port: int = 5001,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    max_texts: int = DEFAULT_MAX_TEXTS,
    inference_workers: int | None = None,
    access_log: bool = True,
) -> None:
    """Serve ``labeler`` with uvicorn until interrupted; torch gets ``cores // workers``
    threads so the concurrent scorings share the CPU without oversubscribing it."""
    import torch
    import uvicorn

    workers = inference_workers or default_workers()
    torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // workers))
    app = create_app(
        labeler,
        max_request_bytes=max_request_bytes,
        max_texts=max_texts,
        inference_workers=workers,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=access_log,
        limit_concurrency=DEFAULT_LIMIT_CONCURRENCY,
        timeout_keep_alive=5,
    )
