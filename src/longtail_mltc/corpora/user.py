"""User corpora declared in YAML: ``user_corpora.<name>`` -> a registered corpus, no code.

docs/corpora.md "Your own corpus". :func:`register_user_corpus` reads one declaration
(``conf/*/parameters_ingestion.yml``) and registers the corpus under ``<name>``; ``load_corpus``
then finds its files in ``data/01_raw/<name>/`` or the mirror (``mirror_folder``), as for the
built-in corpora. ``format`` picks the reader:

- ``arff``: a Mulan or MEKA dataset (:class:`ArffCorpusSpec`, read by
  :func:`~longtail_mltc.corpora.mulan.read_arff_corpus`);
- ``csv``, ``tsv``, ``jsonl``, ``parquet``: a table
  (:func:`~longtail_mltc.corpora.table.register_table_corpus`).

Without ``format``, files named ``*.arff`` (or ``*.arff.gz``) are ARFF and anything else a table
(whose format then comes from the file name). Every wrong, missing or unknown key is a
:class:`~longtail_mltc.config_errors.ConfigurationError` naming ``user_corpora.<name>.<key>``,
what was expected and what was given, raised without the Python traceback it came from.
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from longtail_mltc.config_errors import ConfigurationError, configuration_error
from longtail_mltc.corpora.mulan import read_arff_corpus
from longtail_mltc.corpora.registry import (
    CorpusSource,
    available_corpora,
    get_corpus_source,
    register_corpus,
)
from longtail_mltc.corpora.schema import CORPUS_LANGS
from longtail_mltc.corpora.table import TABLE_FORMATS, TableCorpusSpec, register_table_corpus

__all__ = [
    "ARFF_FORMAT",
    "ArffCorpusSpec",
    "register_chosen_corpus",
    "register_user_corpus",
    "user_corpus_formats",
]

ARFF_FORMAT = "arff"
_ARFF_SPLITS = ("train", "valid", "test")
_ARFF_SUFFIXES = (".arff", ".arff.gz")
_COMMON_KEYS = ("format", "mirror_folder")


def user_corpus_formats() -> list[str]:
    """The values ``format`` may take, sorted."""
    return sorted({ARFF_FORMAT, *TABLE_FORMATS.values()})


@dataclass(frozen=True)
class ArffCorpusSpec:
    """A Mulan / MEKA user corpus (module doc of :mod:`~longtail_mltc.corpora.mulan`); also its
    reader callable. Compared by value, so registering the same YAML entry twice is harmless.

    ``files``: one ARFF file, or ``{train, test}`` / ``{train, valid, test}``; ``label_file``:
    Mulan's label XML; ``label_count`` + ``label_position`` (``first`` | ``last``): the labels
    where there is neither an XML nor MEKA's ``-C n``; ``test_fraction`` + ``seed``: the test
    rows drawn from one file.
    """

    name: str
    files: str | Mapping[str, str]
    label_file: str | None = None
    label_count: int | None = None
    label_position: str = "last"
    test_fraction: float | None = None
    seed: int = 0
    lang: str = "en"
    position_fallback: bool = True

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any]) -> ArffCorpusSpec:
        """The spec for ``user_corpora.<name>``; a ConfigurationError names any wrong key."""
        key = _Keys(name)
        fields = [field.name for field in dataclasses.fields(cls) if field.name != "name"]
        key.refuse_unknown(options, [*fields, *_COMMON_KEYS], f"format {ARFF_FORMAT!r}")
        files = _arff_files(key, options.get("files"))
        values = {
            "label_file": key.optional_text(options, "label_file"),
            "label_count": key.optional_count(options, "label_count"),
            "test_fraction": key.optional_fraction(options, "test_fraction"),
            "seed": key.integer(options, "seed", 0),
            "position_fallback": key.boolean(options, "position_fallback", True),
        }
        lang = options.get("lang", "en")
        if lang not in CORPUS_LANGS:
            raise configuration_error(key("lang"), f"one of {', '.join(CORPUS_LANGS)}", lang)
        position = options.get("label_position")
        if position is not None and position not in ("first", "last"):
            raise configuration_error(key("label_position"), "first or last", position)
        if position is not None and values["label_count"] is None:
            raise configuration_error(
                key("label_count"), "a label count where label_position is set"
            )
        if isinstance(files, str) and values["test_fraction"] is None:
            raise configuration_error(
                key("test_fraction"),
                f"a fraction in (0, 1) of the rows of the one file {files!r} to hold out as "
                "test (or files: {train: ..., test: ...})",
            )
        if not isinstance(files, str) and values["test_fraction"] is not None:
            raise configuration_error(
                key("test_fraction"),
                "no test_fraction where files names a test file",
                values["test_fraction"],
            )
        return cls(name=name, files=files, lang=lang, label_position=position or "last", **values)

    @property
    def expected_files(self) -> tuple[str, ...]:
        files = [self.files] if isinstance(self.files, str) else list(self.files.values())
        return (*files, *([self.label_file] if self.label_file is not None else []))

    def __call__(self, raw_dir: Path | str) -> pd.DataFrame:
        return read_arff_corpus(
            raw_dir,
            self.files,
            label_file=self.label_file,
            label_count=self.label_count,
            label_position="first" if self.label_position == "first" else "last",
            test_fraction=self.test_fraction,
            seed=self.seed,
            lang=self.lang,
            corpus_name=self.name,
            position_fallback=self.position_fallback,
            config_key=f"user_corpora.{self.name}",
        )


def register_user_corpus(name: str, **options: Any) -> CorpusSource:
    """Register ``user_corpora.<name>`` (module doc); re-registering the same one is a no-op.

    Raises a ConfigurationError naming ``user_corpora.<name>.<key>`` for any wrong declaration.
    """
    options = _plain(options)
    key = _Keys(name)
    fmt = _format(key, options)
    mirror_folder = key.optional_text(options, "mirror_folder")
    if fmt != ARFF_FORMAT:
        return _register_table(key, options)
    spec = ArffCorpusSpec.from_options(name, options)
    source = CorpusSource(
        name=name, reader=spec, expected_files=spec.expected_files, mirror_folder=mirror_folder
    )
    if name in available_corpora() and get_corpus_source(name) != source:
        raise ConfigurationError(
            f"user_corpora.{name}: a corpus {name!r} is already registered with another "
            f"definition (built-in or declared before); pick another name"
        )
    return register_corpus(source)


def register_chosen_corpus(corpus: str, user_corpora: Mapping[str, Any] | None) -> None:
    """Make the chosen ``corpus`` (parameter ``corpus``) loadable: one declared under
    ``user_corpora`` is registered (:func:`register_user_corpus`); any other must be a built-in
    or already registered corpus.

    Raises a ConfigurationError for a declaration that is not a mapping or for an unknown
    corpus, naming the built-in and the declared ones.
    """
    user_corpora = user_corpora or {}
    if corpus in user_corpora:
        declaration = user_corpora[corpus]
        if not isinstance(declaration, Mapping):
            raise configuration_error(
                f"user_corpora.{corpus}",
                "a mapping of reader options (files, format, ...)",
                declaration,
            )
        register_user_corpus(corpus, **{str(key): value for key, value in declaration.items()})
    elif corpus not in available_corpora():
        raise ConfigurationError(
            f"unknown corpus {corpus!r} (parameter `corpus`): the built-in corpora are "
            f"{', '.join(available_corpora())}; declared under `user_corpora`: "
            f"{', '.join(sorted(user_corpora)) or 'none'}. Declare a corpus of your own under "
            "`user_corpora` in conf/base/parameters_ingestion.yml or conf/local/ "
            '(docs/corpora.md "Your own corpus")'
        )


# --- checks -------------------------------------------------------------------------------------


class _Keys:
    """Names ``user_corpora.<name>.<key>`` and checks one value's type."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, key: str) -> str:
        return f"user_corpora.{self.name}.{key}"

    def refuse_unknown(self, options: Mapping[str, Any], valid: Sequence[str], what: str) -> None:
        unknown = sorted(set(options) - set(valid))
        if not unknown:
            return
        close = difflib.get_close_matches(unknown[0], valid, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigurationError(
            f"{self(unknown[0])}: unknown key for {what}{hint}; expected one of "
            f"{', '.join(sorted(valid))}"
            + (f"; other unknown keys: {', '.join(unknown[1:])}" if unknown[1:] else "")
        )

    def optional_text(self, options: Mapping[str, Any], key: str) -> str | None:
        value = options.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise configuration_error(self(key), "a file or folder name", value)
        return value

    def optional_count(self, options: Mapping[str, Any], key: str) -> int | None:
        value = options.get(key)
        if value is not None and (_not_int(value) or value < 1):
            raise configuration_error(self(key), "a whole number of at least 1", value)
        return value

    def optional_fraction(self, options: Mapping[str, Any], key: str) -> float | None:
        value = options.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise configuration_error(self(key), "a number between 0 and 1 (exclusive)", value)
        return float(value)

    def integer(self, options: Mapping[str, Any], key: str, default: int) -> int:
        value = options.get(key, default)
        if _not_int(value):
            raise configuration_error(self(key), "a whole number", value)
        return int(value)

    def boolean(self, options: Mapping[str, Any], key: str, default: bool) -> bool:
        value = options.get(key, default)
        if not isinstance(value, bool):
            raise configuration_error(self(key), "true or false", value)
        return value


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, numbers.Integral)


def _format(key: _Keys, options: Mapping[str, Any]) -> str | None:
    """The declared ``format``, else ``arff`` for ``*.arff`` files, else None (a table)."""
    formats = user_corpus_formats()
    fmt = options.get("format")
    if fmt is not None:
        if fmt not in formats:
            raise configuration_error(key("format"), f"one of {', '.join(formats)}", fmt)
        return fmt
    files = options.get("files")
    if files is None:
        raise configuration_error(
            key("files"), "a file name, or {train: ..., test: ...} (optionally valid: ...)"
        )
    names = list(files.values()) if isinstance(files, Mapping) else [files]
    if names and all(isinstance(n, str) and n.lower().endswith(_ARFF_SUFFIXES) for n in names):
        return ARFF_FORMAT
    return None


def _arff_files(key: _Keys, files: object) -> str | dict[str, str]:
    expected = "one ARFF file name, or {train: ..., test: ...} (optionally valid: ...)"
    if isinstance(files, str) and files:
        return files
    if not isinstance(files, Mapping):
        raise configuration_error(key("files"), expected, files)
    for split in ("train", "test"):
        if split not in files:
            raise configuration_error(key(f"files.{split}"), f"the {split} file's name")
    for split, name in files.items():
        if split not in _ARFF_SPLITS:
            raise configuration_error(
                key(f"files.{split}"), f"only the splits {', '.join(_ARFF_SPLITS)}", name
            )
        if not isinstance(name, str) or not name:
            raise configuration_error(key(f"files.{split}"), "a file name", name)
    return dict(files)


def _register_table(key: _Keys, options: dict[str, Any]) -> CorpusSource:
    """Check the keys a table declaration needs, then register it; its ValueErrors and
    TypeErrors become ConfigurationErrors naming the key they are about."""
    fields = dataclasses.fields(TableCorpusSpec)
    names = [field.name for field in fields]
    table = str(options.get("format", "csv/tsv/jsonl/parquet"))
    key.refuse_unknown(options, [*names, *_COMMON_KEYS], f"a {table} table")
    for field in fields:
        required = field.default is dataclasses.MISSING
        if required and field.default_factory is dataclasses.MISSING and field.name not in options:
            raise configuration_error(key(field.name), f"a value (required for a {table} table)")
    files = options["files"]
    names_given = list(files.values()) if isinstance(files, Mapping) else [files]
    if not all(isinstance(name, str) and name for name in names_given):
        raise configuration_error(
            key("files"), "a file name, or {train: ..., test: ...} of file names", files
        )
    try:
        return register_table_corpus(key.name, **options)
    except ConfigurationError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"{_key_named_in(key, str(error), names)}: {error}") from None


def _key_named_in(key: _Keys, message: str, names: Sequence[str]) -> str:
    """``user_corpora.<name>.<the first option the message names>`` (or the corpus itself)."""
    found = [
        (match.start(), name)
        for name in names
        if (match := re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message))
    ]
    return key(min(found)[1]) if found else f"user_corpora.{key.name}"


def _plain(value: Any) -> Any:
    """OmegaConf containers and tuples as plain dicts and lists (keys as strings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value
