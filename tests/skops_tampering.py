"""Rewriting the schema of a skops file, to prove that a loader refuses what it names."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from typing import Any


def with_schema(data: bytes, edit: Callable[[Any], Any]) -> bytes:
    """The skops zip ``data`` with its ``schema.json`` rewritten by ``edit``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "schema.json":
                content = json.dumps(edit(json.loads(content))).encode()
            target.writestr(item, content)
    return out.getvalue()


def renaming(swaps: Mapping[tuple[str, str], tuple[str, str]]) -> Callable[[Any], Any]:
    """An ``edit`` for :func:`with_schema` that renames every node whose
    ``(__module__, __class__)`` (``__class__`` ``"*"``: any) is a key of ``swaps``."""

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            for (module, name), (new_module, new_name) in swaps.items():
                if node.get("__module__") == module and name in ("*", node.get("__class__")):
                    node.update({"__module__": new_module, "__class__": new_name})
                    break
            for value in node.values():
                swap(value)
        elif isinstance(node, list):
            for value in node:
                swap(value)
        return node

    return swap
