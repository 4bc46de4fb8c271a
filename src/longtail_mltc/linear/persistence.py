"""A fitted linear baseline and its TF-IDF vectoriser as a skops file: no pickle.

scikit-learn estimators have no weights format of their own; ``skops.io`` (the format
scikit-learn's documentation recommends for untrusted files) stores them as a zip of a JSON
schema and NumPy arrays (read with ``allow_pickle=False``) and rebuilds only the types it is
told to trust. :func:`load_baseline` trusts skops' defaults (scikit-learn, NumPy, SciPy
types) plus exactly :data:`TRUSTED_TYPES`: the five baseline classes, the vectoriser's two
token functions and SciPy's CSR matrix. A file naming any other type or function (``os.system``,
``builtins.eval``, ...) is refused before anything is built, and a file that is not a skops zip
(e.g. a pickle) fails to open: loading never runs code from the file.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import scipy.sparse as sp
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer

from longtail_mltc.linear.base import LinearMultiLabelBase
from longtail_mltc.linear.features import make_tfidf_vectorizer
from longtail_mltc.linear.registry import LINEAR_BASELINES

__all__ = [
    "BASELINE_FILE",
    "TRUSTED_TYPES",
    "FittedBaseline",
    "dump_baseline",
    "load_baseline",
    "load_trusted",
    "untrusted_types",
]

BASELINE_FILE = "model.skops"
# What a corrupt or foreign file raises inside skops (a bad zip, a missing or malformed schema).
_UNREADABLE = (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError)


def _qualified(obj: object) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


_TOKEN_FUNCTIONS = (make_tfidf_vectorizer().preprocessor, make_tfidf_vectorizer().tokenizer)
TRUSTED_TYPES: tuple[str, ...] = tuple(
    sorted(
        {_qualified(cls) for cls in LINEAR_BASELINES.values()}
        | {_qualified(function) for function in _TOKEN_FUNCTIONS}
        | {_qualified(sp.csr_matrix)}  # LabelPowerset's label sets
    )
)
"""The types :func:`load_baseline` trusts beyond skops' defaults (fully qualified names)."""


@dataclass(frozen=True)
class FittedBaseline:
    """What a baselines run stores: the training-fitted vectoriser and the fitted model."""

    vectorizer: TfidfVectorizer
    model: LinearMultiLabelBase


def dump_baseline(vectorizer: TfidfVectorizer, model: LinearMultiLabelBase) -> bytes:
    """The skops bytes of ``{"vectorizer": ..., "model": ...}``; refuses an object that would
    need a type outside :data:`TRUSTED_TYPES` to load back."""
    if not isinstance(model, tuple(LINEAR_BASELINES.values())):
        raise TypeError(f"expected a registered linear baseline, got {type(model).__name__}")
    data = sio.dumps({"vectorizer": vectorizer, "model": model}, compression=zipfile.ZIP_DEFLATED)
    extra = untrusted_types(data)
    if extra:
        raise TypeError(f"the fitted baseline holds types load_baseline would refuse: {extra}")
    return data


def load_baseline(source: str | Path | bytes | BinaryIO) -> FittedBaseline:
    """Read what :func:`dump_baseline` wrote (a path, the bytes or a binary file).

    ``ValueError`` naming the file for a file that is not a skops file of a baseline, or that
    names a type outside skops' defaults and :data:`TRUSTED_TYPES`.
    """
    if isinstance(source, str | Path):
        name, data = str(source), Path(source).read_bytes()
    else:
        name = "<baseline bytes>"
        data = source if isinstance(source, bytes) else source.read()
    loaded = load_trusted(data, name, "a skops file of a linear baseline")
    return _checked(name, loaded)


def untrusted_types(data: bytes) -> list[str]:
    """The types the skops ``data`` names beyond skops' defaults and :data:`TRUSTED_TYPES`."""
    return sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))


def load_trusted(data: bytes, name: str, what: str = "a skops file") -> Any:
    """The object of the skops ``data``, built only when it names no type outside skops'
    defaults and :data:`TRUSTED_TYPES`; ``ValueError`` naming ``name`` otherwise, or when
    ``data`` is not ``what``."""
    try:
        refused = untrusted_types(data)
        if not refused:
            return sio.load(io.BytesIO(data), trusted=list(TRUSTED_TYPES))
    except _UNREADABLE as err:
        raise ValueError(f"{name}: not {what} ({err})") from err
    raise ValueError(
        f"{name}: refusing to load: it names types outside the trusted ones: {refused}"
    )


def _checked(name: str, loaded: object) -> FittedBaseline:
    """The loaded object as a :class:`FittedBaseline`; ``ValueError`` for any other shape."""
    if not isinstance(loaded, dict) or set(loaded) != {"vectorizer", "model"}:
        raise ValueError(f"{name}: expected {{'vectorizer', 'model'}}, got {type(loaded).__name__}")
    vectorizer, model = loaded["vectorizer"], loaded["model"]
    if not isinstance(vectorizer, TfidfVectorizer):
        raise ValueError(f"{name}: 'vectorizer' is a {type(vectorizer).__name__}, not TF-IDF")
    if not isinstance(model, tuple(LINEAR_BASELINES.values())):
        raise ValueError(f"{name}: 'model' is a {type(model).__name__}, not a linear baseline")
    return FittedBaseline(vectorizer, model)
