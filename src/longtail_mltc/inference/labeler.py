"""Label raw text with a trained single network, exactly as the training pipeline reads it.

A :class:`TextLabeler` holds a trained classifier, the preprocessing the features pipeline
applied (tokenizer, vocabulary, maximum length, or a pretrained tokenizer for the transformer
encoder), the label index and the validation-chosen global threshold. Texts go through the same
functions as training (:func:`~longtail_mltc.text.tokenize_texts` and
:func:`~longtail_mltc.text.encode`, or :func:`~longtail_mltc.text.encode_with_pretrained_tokenizer`)
and the same scoring loop (:func:`~longtail_mltc.inference.scores.predict_scores`), so a
document scores the same here as in the pipeline's prediction node.

On disk (:meth:`TextLabeler.save_directory` / :meth:`TextLabeler.from_directory`) a labeler is
the files the tracking layer logs under ``model/`` (``model.safetensors``, ``model_config.json``,
``label_index.json``) plus ``preprocessing.json`` and, for word-level tokenizers,
``vocabulary.json``. ``model_config.json``'s ``kind`` names the labeler class (``single`` here;
``hscnn``: :class:`~longtail_mltc.inference.HybridTextLabeler`, which adds its support set), so
:meth:`TextLabeler.from_directory` loads either.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn

from longtail_mltc.models.registry import TRANSFORMER_ENCODER, embedding_rows, load_classifier
from longtail_mltc.text.subword import encode_with_pretrained_tokenizer
from longtail_mltc.text.tokenize import TOKENIZERS, tokenize_texts
from longtail_mltc.text.vocab import Vocabulary, encode
from longtail_mltc.training.data import EncodedSplit

from .scores import predict_scores

__all__ = ["InvalidInput", "Preprocessing", "StoredLabeler", "TextLabeler"]

PRETRAINED = "pretrained"
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "model_config.json"
LABELS_FILE = "label_index.json"
PREPROCESSING_FILE = "preprocessing.json"
VOCABULARY_FILE = "vocabulary.json"
_CONFIG_KEYS = ("encoder", "encoder_params", "num_labels", "threshold")


class InvalidInput(ValueError):
    """A prediction request that cannot be labelled (the message names the record)."""


@dataclass(frozen=True)
class Preprocessing:
    """How documents became token ids in training.

    ``tokenizer``: ``english``, ``whitespace`` or ``jieba`` (word tokens looked up in the
    training vocabulary, ``max_length`` kept), or ``pretrained`` (the transformer's own
    tokenizer from ``model_dir``, ``None`` = the default MiniLM, at most ``max_length`` ids).
    """

    tokenizer: str
    max_length: int
    model_dir: str | None = None

    def __post_init__(self) -> None:
        known = (*TOKENIZERS, PRETRAINED)
        if self.tokenizer not in known:
            raise ValueError(f"unknown tokenizer {self.tokenizer!r}; known: {', '.join(known)}")
        if isinstance(self.max_length, bool) or not isinstance(self.max_length, int):
            raise TypeError(f"max_length must be an int, got {self.max_length!r}")
        if self.max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {self.max_length}")
        if self.model_dir is not None:
            if self.tokenizer != PRETRAINED:
                raise ValueError(
                    f"model_dir is only used by the {PRETRAINED!r} tokenizer, "
                    f"not {self.tokenizer!r}"
                )
            object.__setattr__(self, "model_dir", str(self.model_dir))

    @property
    def needs_vocabulary(self) -> bool:
        """True for word-level tokenizers (ids come from the training vocabulary)."""
        return self.tokenizer != PRETRAINED

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        unknown = set(data) - {"tokenizer", "max_length", "model_dir"}
        if unknown:
            raise ValueError(f"unknown preprocessing keys: {sorted(unknown)}")
        return cls(str(data["tokenizer"]), int(data["max_length"]), data.get("model_dir"))

    @classmethod
    def from_params(cls, features: Mapping[str, Any], single: Mapping[str, Any]) -> Preprocessing:
        """The preprocessing training used for ``features`` and the model params ``single``:
        a transformer encoder reads its own tokenizer (``encoder_params.model_dir`` and
        ``max_length``, as the balanced-losses pipeline encodes it), any other encoder the
        features pipeline's ``tokenizer`` and ``max_length``."""
        if single["encoder"] == TRANSFORMER_ENCODER:
            params = single.get("encoder_params") or {}
            return cls(PRETRAINED, int(params["max_length"]), params.get("model_dir"))
        return cls(str(features["tokenizer"]), int(features["max_length"]))


class TextLabeler:
    """Raw texts → label scores and predicted labels with a trained classifier.

    Subclasses (e.g. :class:`~longtail_mltc.inference.HybridTextLabeler`) set ``KIND``, which
    :meth:`save_directory` records, so :meth:`TextLabeler.from_directory` loads any of them.

    ``model`` maps token ids ``[B, T]`` to ``len(label_index)`` logits; ``threshold`` is the
    global decision threshold (a label is predicted when its sigmoid score is ``>=`` it).
    ``vocabulary`` is required unless ``preprocessing.tokenizer`` is ``pretrained``.
    ``model_config`` (``encoder`` and ``encoder_params``) is what :meth:`save_directory` needs
    to rebuild the network; :meth:`from_directory` fills it in.
    """

    KIND = "single"
    STATE_PREFIX = ""  # where the word embedding sits in the model's state dict
    _kinds: dict[str, type[TextLabeler]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        TextLabeler._kinds[cls.KIND] = cls

    def __init__(
        self,
        model: nn.Module,
        preprocessing: Preprocessing,
        label_index: list[str],
        threshold: float,
        vocabulary: Vocabulary | None = None,
        max_chars: int = 100_000,
        batch_size: int = 64,
        *,
        model_config: Mapping[str, Any] | None = None,
    ) -> None:
        if preprocessing.needs_vocabulary and vocabulary is None:
            raise ValueError(f"tokenizer {preprocessing.tokenizer!r} needs the training vocabulary")
        if not label_index:
            raise ValueError("label_index is empty")
        head = getattr(model, "head", None)
        if isinstance(head, nn.Linear) and head.out_features != len(label_index):
            raise ValueError(
                f"the model has {head.out_features} outputs but label_index names "
                f"{len(label_index)} labels"
            )
        rows = embedding_rows(model.state_dict(), self.STATE_PREFIX)
        if vocabulary is not None and rows and rows != len(vocabulary):
            raise ValueError(
                f"the model's embedding has {rows} rows but the vocabulary {len(vocabulary)} tokens"
            )
        threshold = float(threshold)
        if not math.isfinite(threshold):
            raise ValueError(f"threshold must be finite, got {threshold}")
        if max_chars < 1 or batch_size < 1:
            raise ValueError(
                f"max_chars and batch_size must be >= 1, got {max_chars} and {batch_size}"
            )
        self.model = model.eval()
        self.preprocessing = preprocessing
        self.label_index = [str(name) for name in label_index]
        self.threshold = threshold
        self.vocabulary = vocabulary if preprocessing.needs_vocabulary else None
        self.max_chars = int(max_chars)
        self.batch_size = int(batch_size)
        self.model_config = None if model_config is None else dict(model_config)

    @property
    def num_labels(self) -> int:
        return len(self.label_index)

    # --- requests ---------------------------------------------------------------------------

    def validate(self, texts: Any) -> list[str]:
        """The texts as a list of ``str``; :class:`InvalidInput` for anything else.

        Accepts a list, tuple, 1-D numpy array or pandas Series of non-blank strings of at most
        ``max_chars`` characters each; not a bare string, not an empty collection.
        """
        if isinstance(texts, str | bytes):
            raise InvalidInput(
                f"expected a list of strings, got a single {type(texts).__name__}: "
                "wrap one text in a list"
            )
        if isinstance(texts, np.ndarray):
            if texts.ndim != 1:
                raise InvalidInput(f"expected a 1-D array of strings, got shape {texts.shape}")
            items = texts.tolist()
        elif isinstance(texts, pd.Series):
            items = texts.tolist()
        elif isinstance(texts, list | tuple):
            items = list(texts)
        else:
            raise InvalidInput(f"expected a list of strings, got {type(texts).__name__}")
        if not items:
            raise InvalidInput("expected at least one text, got an empty list")
        out: list[str] = []
        # docs/corpora.md "Record numbers": an in-memory input's records are numbered from 1.
        for number, text in enumerate(items, start=1):
            if not isinstance(text, str):
                raise InvalidInput(f"record {number}: expected a string, got {type(text).__name__}")
            problem = self.text_problem(text)
            if problem:
                raise InvalidInput(f"record {number}: {problem}")
            out.append(str(text))
        return out

    def text_problem(self, text: str) -> str:
        """Why this labeler refuses the string ``text`` (blank, over ``max_chars``); "" if not.

        The one rule behind :meth:`validate`, the server's per-record errors and the predict
        pipeline's ``skipped`` reasons.
        """
        if not text.strip():
            return "empty text"
        if len(text) > self.max_chars:
            return f"text has {len(text)} characters, more than the limit of {self.max_chars}"
        return ""

    def encode(self, texts: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(token_ids [N, T], lengths [N])`` exactly as the training pipeline encodes texts.

        A text without known tokens encodes to ``<unk>`` ids, one without any token (e.g. only
        punctuation) to length 0: the scoring loop still gives the model one (padding)
        position, which every encoder reads as an empty document, as in training.
        """
        texts = self.validate(texts)
        prep = self.preprocessing
        if prep.tokenizer == PRETRAINED:
            return encode_with_pretrained_tokenizer(texts, prep.model_dir, prep.max_length)
        assert self.vocabulary is not None  # checked in __init__
        return encode(tokenize_texts(texts, prep.tokenizer), self.vocabulary, prep.max_length)

    def encoded_split(self, texts: Any) -> EncodedSplit:
        """The texts as an :class:`EncodedSplit` without labels (what the scoring loops read)."""
        ids, lengths = self.encode(texts)
        empty = sp.csr_matrix((len(lengths), self.num_labels), dtype=np.float32)
        return EncodedSplit(ids, lengths, empty)

    def scores(self, texts: Any) -> np.ndarray:
        """Sigmoid scores ``[N, C]`` (float32), model in eval mode, batched, without autograd."""
        scores, _ = predict_scores(self.model, self.encoded_split(texts), self.batch_size)
        return scores

    def decide(self, texts: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(scores [N, C], decisions bool [N, C])``: here ``score >= threshold``."""
        scores = self.scores(texts)
        return scores, scores >= self.threshold

    def predict(self, texts: Any, top_k: int = 5) -> list[dict[str, Any]]:
        """Per text: ``labels`` (:meth:`decide`, by descending score), their ``scores`` and
        ``top_k`` ``[[name, score], ...]`` of the ``min(top_k, C)`` best labels (plain Python
        types, JSON-serialisable; ties keep label-index order)."""
        if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1:
            raise InvalidInput(f"top_k must be a positive integer, got {top_k!r}")
        scores, decisions = self.decide(texts)
        order = np.argsort(-scores, axis=1, kind="stable")
        k = min(int(top_k), self.num_labels)
        out: list[dict[str, Any]] = []
        for row, decided, ranked in zip(scores, decisions, order, strict=True):
            chosen = [int(j) for j in ranked if decided[j]]
            out.append(
                {
                    "labels": [self.label_index[j] for j in chosen],
                    "scores": [float(row[j]) for j in chosen],
                    "top_k": [[self.label_index[int(j)], float(row[j])] for j in ranked[:k]],
                }
            )
        return out

    # --- files ------------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """``model_config.json``: what rebuilds the network and how it decides."""
        if self.model_config is None or not {"encoder", "encoder_params"} <= set(self.model_config):
            raise ValueError(
                "save_directory needs model_config with 'encoder' and 'encoder_params' "
                "(give it to TextLabeler or load with from_directory)"
            )
        return {
            "kind": self.KIND,
            "encoder": self.model_config["encoder"],
            "encoder_params": dict(self.model_config["encoder_params"]),
            "num_labels": self.num_labels,
            "threshold": self.threshold,
        }

    def tensor_files(self) -> dict[str, dict[str, torch.Tensor]]:
        """The safetensors files of the labeler (file name → tensors)."""
        return {MODEL_FILE: cpu_state_dict(self.model)}

    def save_directory(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the labeler's files into the directory ``path`` (see the module docstring).

        Written into a temporary sibling directory and renamed into place, so ``path`` never
        holds a partial labeler. An existing non-empty ``path`` is replaced only with
        ``overwrite=True``. Needs ``model_config`` (encoder name and parameters).
        """
        from safetensors.torch import save_file

        config = self.config()
        target = Path(path)
        if target.exists() and not overwrite and (not target.is_dir() or any(target.iterdir())):
            raise FileExistsError(f"{target} exists and is not empty (use overwrite=True)")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        try:
            for name, tensors in self.tensor_files().items():
                save_file(tensors, str(tmp / name))
            _write_json(tmp / CONFIG_FILE, config)
            _write_json(tmp / LABELS_FILE, self.label_index)
            _write_json(tmp / PREPROCESSING_FILE, self.preprocessing.to_dict())
            if self.vocabulary is not None:
                _write_json(tmp / VOCABULARY_FILE, self.vocabulary.to_dict())
            _replace_directory(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    @classmethod
    def from_directory(
        cls,
        path: str | Path,
        *,
        device: str | torch.device = "cpu",
        max_chars: int = 100_000,
        batch_size: int = 64,
    ) -> TextLabeler:
        """Rebuild a labeler from the files :meth:`save_directory` writes.

        The ``kind`` in ``model_config.json`` picks the class (``TextLabeler.from_directory``
        loads any kind; a subclass only its own). A missing file raises
        :class:`FileNotFoundError` naming it.
        """
        stored = StoredLabeler.read(path)
        kind = str(stored.config.get("kind", TextLabeler.KIND))
        target = TextLabeler._kinds.get(kind)
        if target is None:
            raise ValueError(
                f"{stored.root / CONFIG_FILE}: unknown labeler kind {kind!r}; known: "
                f"{', '.join(sorted(TextLabeler._kinds))}"
            )
        if not issubclass(target, cls):
            raise ValueError(f"{stored.root} holds a {kind!r} labeler, not a {cls.__name__}")
        return target.from_stored(
            stored, device=torch.device(device), max_chars=max_chars, batch_size=batch_size
        )

    @classmethod
    def from_stored(
        cls, stored: StoredLabeler, *, device: torch.device, max_chars: int, batch_size: int
    ) -> TextLabeler:
        """The classifier is built as the pipeline builds it (``build_classifier(encoder,
        num_labels, vocab_size=<embedding rows or 0>, **encoder_params)``), loaded strictly."""
        model = stored.classifier(stored.tensors(MODEL_FILE))
        return cls(
            model.to(device),
            stored.preprocessing,
            stored.label_index,
            float(stored.config["threshold"]),
            stored.vocabulary,
            max_chars=max_chars,
            batch_size=batch_size,
            model_config=stored.model_config,
        )


TextLabeler._kinds[TextLabeler.KIND] = TextLabeler


@dataclass(frozen=True)
class StoredLabeler:
    """The files of a labeler directory, read and checked (shared by every kind)."""

    root: Path
    preprocessing: Preprocessing
    config: dict[str, Any]
    label_index: list[str]
    vocabulary: Vocabulary | None

    @classmethod
    def read(cls, path: str | Path) -> StoredLabeler:
        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(f"labeler directory {str(root)!r} does not exist")
        preprocessing = Preprocessing.from_dict(_read_json(root, PREPROCESSING_FILE))
        config = _read_json(root, CONFIG_FILE)
        missing = [key for key in _CONFIG_KEYS if key not in config]
        if missing:
            raise ValueError(f"{root / CONFIG_FILE} lacks {missing}")
        label_index = _read_json(root, LABELS_FILE)
        if len(label_index) != int(config["num_labels"]):
            raise ValueError(
                f"{root / LABELS_FILE} names {len(label_index)} labels but {CONFIG_FILE} says "
                f"num_labels = {config['num_labels']}"
            )
        vocabulary = None
        if preprocessing.needs_vocabulary:
            vocabulary = Vocabulary.from_dict(_read_json(root, VOCABULARY_FILE))
        return cls(root, preprocessing, config, label_index, vocabulary)

    @property
    def model_config(self) -> dict[str, Any]:
        return {"encoder": self.config["encoder"], "encoder_params": self.config["encoder_params"]}

    def tensors(self, name: str) -> dict[str, torch.Tensor]:
        """A safetensors file of the directory, on the CPU."""
        from safetensors.torch import load_file

        return load_file(str(_require(self.root, name)), device="cpu")

    def classifier(self, state: Mapping[str, torch.Tensor], prefix: str = "") -> nn.Module:
        """The configured classifier with ``state`` (keys under ``prefix``) loaded strictly."""
        own = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        return load_classifier(
            self.config["encoder"],
            int(self.config["num_labels"]),
            own,
            **self.config["encoder_params"],
        )


def cpu_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weights of ``model`` as contiguous CPU tensors, as a predictor stores them."""
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def _require(root: Path, name: str) -> Path:
    file = root / name
    if not file.is_file():
        raise FileNotFoundError(f"labeler directory {str(root)!r} has no {name} ({file})")
    return file


def _read_json(root: Path, name: str) -> Any:
    """A JSON file of the predictor; ``ValueError`` naming the file (and line) when it is not
    UTF-8 JSON."""
    path = _require(root, name)
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: line {err.lineno}: not valid JSON ({err.msg})") from err


def _write_json(file: Path, data: Any) -> None:
    """Write ``data`` as JSON and flush it to disk (the folder is renamed into place later)."""
    with file.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _replace_directory(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an existing ``target`` is moved aside first, then removed.

    Before the rename, ``tmp`` (a ``mkdtemp`` folder, mode 0700) and its files (safetensors
    writes 0600) get the modes new ones get (``0o777`` or ``0o666`` less the umask) and every
    file is flushed to disk; after it, the parent folder entry is flushed too, so a crash
    leaves either the old labeler or the new one.
    """
    try:  # Linux >= 4.7 shows it; os.umask() would change it process-wide for a moment
        status = Path("/proc/self/status").read_text(errors="replace").splitlines()
        umask = int(next(line.split()[1] for line in status if line.startswith("Umask:")), 8)
    except (OSError, StopIteration, IndexError, ValueError):
        umask = os.umask(0o022)
        os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    for file in tmp.iterdir():
        if file.is_file():
            file.chmod(0o666 & ~umask)
            fd = os.open(file, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    if not target.exists():
        os.replace(tmp, target)
    elif target.is_dir() and not any(target.iterdir()):
        target.rmdir()
        os.replace(tmp, target)
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        old.rmdir()
        os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(old, target)  # put the previous labeler back
            raise
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    if hasattr(os, "O_DIRECTORY"):  # POSIX: make the rename durable
        fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
