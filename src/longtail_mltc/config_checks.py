"""Warnings about configuration that loads but would silently do nothing or the wrong thing.

- A ``corpus_profiles.<corpus>.<key>`` that no parameter file reads (a typo such as
  ``validaton`` would otherwise leave the default in place without a word). The keys that are
  read come from the parameter files themselves (every ``corpus_profiles.${corpus}.<key>`` in
  ``conf/**/parameters*``), so a key added there is known at once.
- A user corpus declared with ``lang: zh`` run with a tokenizer other than jieba.
- A ``loss`` or ``variant`` of a study namespace (``hscnn_variants.<loss>.loss``,
  ``hscnn_variants.<loss>.<variant>.variant``) that differs from the namespace it names: the
  study's graph is fixed in code, so the namespace would train one thing under another's name.

Each warning names the YAML key and the file(s) that declare it. Kedro-free: the project's
hook (``settings.WarnOnConfigurationMistakes``) calls :func:`configuration_warnings`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

__all__ = [
    "configuration_warnings",
    "declaring_files",
    "parameter_files",
    "profile_keys_read",
]

logger = logging.getLogger(__name__)

CONFIG_SUFFIXES = (".yml", ".yaml", ".json")
# Parameter blocks whose keys are Kedro namespaces of a study with a fixed graph: a namespace's
# ``loss`` and its children's ``variant`` name it (docs/hscnn.md "How the studies are built").
NAMESPACE_BLOCKS = ("hscnn_variants",)
RUNTIME_PARAMS = "--params"
PROFILE_READ = re.compile(r"corpus_profiles\.\$\{corpus\}\.([A-Za-z_][A-Za-z0-9_]*)")


def parameter_files(folder: Path) -> list[Path]:
    """The parameter files Kedro reads under ``folder`` (``parameters*``, ``parameters*/**``,
    ``**/parameters*``), hidden ones left out, sorted."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix in CONFIG_SUFFIXES
        and any(part.startswith("parameters") for part in path.relative_to(folder).parts)
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def profile_keys_read(files: Iterable[Path]) -> set[str]:
    """Every ``<key>`` of ``corpus_profiles.${corpus}.<key>`` written in the files."""
    return {key for path in files for key in PROFILE_READ.findall(_text(path))}


def declaring_files(files: Iterable[Path], key: str, value: Any = None) -> list[Path]:
    """The files that declare the dotted ``key`` (unresolved YAML), in the order given; with
    ``value``, only those that set it to that value."""
    found = []
    for path in files:
        try:
            node: Any = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        except Exception:  # an unreadable file is Kedro's to report; it declares nothing here
            logger.debug("configuration checks: %s not read", path, exc_info=True)
            continue
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None and (value is None or node == value):
            found.append(path)
    return found


def configuration_warnings(
    params: Mapping[str, Any], conf_root: Path, envs: Iterable[str]
) -> list[str]:
    """The warnings for the resolved ``params`` of a run whose configuration environments are
    ``envs`` (base first) under ``conf_root``; files are named relative to its parent."""
    env_files = [path for env in dict.fromkeys(envs) for path in parameter_files(conf_root / env)]

    def where(key: str, value: Any = None) -> str:
        files = declaring_files(env_files, key, value)
        return ", ".join(_shown(path, conf_root.parent) for path in files) or RUNTIME_PARAMS

    warnings = []
    all_files = parameter_files(conf_root)  # none: a packaged or remote conf_source, unchecked
    known = profile_keys_read(all_files)
    profiles = _mapping(params.get("corpus_profiles")) if all_files else {}
    for corpus, profile in sorted(profiles.items()):
        for key in sorted(set(_mapping(profile)) - known):
            name = f"corpus_profiles.{corpus}.{key}"
            warnings.append(
                f"{name} ({where(name)}) is read by no parameter file, so it changes nothing; "
                f"the profile keys parameter files read: {', '.join(sorted(known)) or 'none'}"
            )
    for block in NAMESPACE_BLOCKS:
        for key, value in _misnamed_namespaces(block, _mapping(params.get(block))):
            warnings.append(
                f"{key} is {value!r} ({where(key, value)}) but names the namespace "
                f"{key.rsplit('.', 1)[0]}, "
                f"whose datasets and kedro-viz node keep that name while it trains {value!r}; "
                f"the study's losses and variants are fixed in pipelines/hscnn/pipeline.py "
                f'(docs/hscnn.md "How the studies are built")'
            )
    corpus = params.get("corpus")
    declared = _mapping(_mapping(params.get("user_corpora")).get(corpus))
    tokenizer = _mapping(params.get("features")).get("tokenizer")
    if declared.get("lang") == "zh" and tokenizer != "jieba":
        warnings.append(
            f"user_corpora.{corpus}.lang is 'zh' ({where(f'user_corpora.{corpus}')}) but "
            f"features.tokenizer is {tokenizer!r}: Chinese text is not split into words "
            f"without jieba; set corpus_profiles.{corpus}.tokenizer: jieba beside it"
        )
    return warnings


def _misnamed_namespaces(block: str, study: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(key, value)`` of each ``<block>.<loss>.loss`` and ``<block>.<loss>.<variant>.variant``
    whose value is not the namespace's own name."""
    found = []
    for loss, namespace in sorted(study.items()):
        namespace = _mapping(namespace)
        if namespace.get("loss", loss) != loss:
            found.append((f"{block}.{loss}.loss", namespace["loss"]))
        for variant, child in sorted(namespace.items()):
            child = _mapping(child)
            if child.get("variant", variant) != variant:
                found.append((f"{block}.{loss}.{variant}.variant", child["variant"]))
    return found


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # Kedro reports an unreadable file itself
        logger.debug("configuration checks: %s not read", path, exc_info=True)
        return ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
