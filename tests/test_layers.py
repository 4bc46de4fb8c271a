"""The import layers of docs/development.md "Layers", checked on the source with ``ast``.

Every module of ``src/longtail_mltc`` is parsed (imports inside functions and ``TYPE_CHECKING``
blocks count too), and

* no module uses a private name (leading underscore, not a dunder) of another module, neither
  imported nor as ``module._name``; a private submodule (``pkg/_x.py``) is for ``pkg`` alone;
* every import between two of the project's units (a top-level package or module) points to a
  lower layer: units of one layer are independent, except in the top (Kedro application) layer;
* kedro is imported only by the Kedro layers, mlflow only by ``serving/`` and the top layer.

Known exceptions live in the two allow-lists below, each with its reason; an entry that no
longer occurs fails the test, so the lists only shrink.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import longtail_mltc

PACKAGE = "longtail_mltc"
SOURCE = Path(longtail_mltc.__file__).resolve().parent
DOCS = Path(__file__).resolve().parents[1] / "docs" / "development.md"

# Bottom to top: a unit may import units of lower layers only (docs/development.md "Layers").
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__init__", "atomic_files", "config_checks", "config_errors", "profiling"),
    ("labels", "sampling", "text"),
    ("corpora", "evaluation", "losses", "models"),
    ("linear", "training"),
    ("inference",),
    ("datasets", "serving"),
    ("__main__", "cli", "hooks", "pipeline_registry", "pipelines", "settings"),
)
TOP = LAYERS[-1]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
KEDRO_UNITS = {"datasets", *TOP}
MLFLOW_UNITS = {"serving", *TOP}

# (importing module, imported module): upward arrows still in the code, each with its reason.
ALLOWED_UPWARD: set[tuple[str, str]] = set()
# (importing module, imported module, name): private names shared between two modules of one
# package. Fix: a public name, or a private submodule of the package.
ALLOWED_PRIVATE: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class Use:
    """One use of another module: ``name`` is None for the module itself."""

    source: str
    target: str
    name: str | None
    where: str


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}
PACKAGES = {module_name(path) for path in MODULES.values() if path.name == "__init__.py"}


def unit(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if module in PACKAGES else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def family(module: str) -> str | None:
    """ "kedro" (kedro and its plugins), "mlflow", the project, or None for other libraries."""
    top = module.split(".")[0]
    if top.startswith("kedro"):
        return "kedro"
    return top if top in (PACKAGE, "mlflow") else None


def dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def uses(module: str, path: Path) -> list[Use]:
    """Every import of (or from) a project module, and every ``module._name`` access."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Use] = []
    bound: dict[str, str] = {}  # local name -> project module it stands for
    shown = path.relative_to(SOURCE.parent) if path.is_relative_to(SOURCE.parent) else path
    for node in ast.walk(tree):
        where = f"{shown}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if family(alias.name):
                    found.append(Use(module, alias.name, None, where))
                    if alias.name.startswith(PACKAGE):
                        local = alias.asname or alias.name.split(".")[0]
                        bound[local] = alias.name if alias.asname else PACKAGE
        elif isinstance(node, ast.ImportFrom):
            target = absolute(module, node)
            if not family(target):
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in MODULES:  # `from pkg import module`: a use of that module
                    found.append(Use(module, submodule, None, where))
                    bound[alias.asname or alias.name] = submodule
                else:
                    found.append(Use(module, target, alias.name, where))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            chain = dotted(node.value)
            if chain and chain.split(".")[0] in bound:
                head, *rest = chain.split(".")
                target = ".".join([bound[head], *rest])
                if target in MODULES:
                    found.append(Use(module, target, node.attr, f"{shown}:{node.lineno}"))
    return found


USES = [use for module, path in MODULES.items() for use in uses(module, path)]
PROJECT_USES = [use for use in USES if use.target.split(".")[0] == PACKAGE]


def private_uses(found: list[Use]) -> set[tuple[str, str, str]]:
    """(source, target, name) for each private name or private submodule used across modules."""
    bad = set()
    for use in found:
        if use.source == use.target:
            continue
        if use.name is not None and is_private(use.name):
            bad.add((use.source, use.target, use.name))
        parts = use.target.split(".")
        for depth, part in enumerate(parts):
            owner = ".".join(parts[:depth])  # the package a private submodule belongs to
            if is_private(part) and not (use.source + ".").startswith(owner + "."):
                bad.add((use.source, use.target, part))
    return bad


def upward_imports(found: list[Use]) -> dict[tuple[str, str], str]:
    """(source, target) -> where, for each project import that does not point to a lower layer."""
    bad = {}
    for use in found:
        if use.target.split(".")[0] != PACKAGE:
            continue
        low, high = unit(use.target), unit(use.source)
        if low == high or (low in TOP and high in TOP):
            continue
        if RANK[low] >= RANK[high]:
            bad[(use.source, use.target)] = use.where
    return bad


def test_every_unit_has_a_layer() -> None:
    units = {unit(module) for module in MODULES}
    assert units == set(RANK), "place new units in LAYERS and docs/development.md 'Layers'"


def test_no_private_name_crosses_modules() -> None:
    found = private_uses(PROJECT_USES)
    assert found - ALLOWED_PRIVATE == set(), "private names used across modules"
    assert ALLOWED_PRIVATE - found == set(), "stale ALLOWED_PRIVATE entries: remove them"


def test_imports_point_down_the_layers() -> None:
    found = upward_imports(PROJECT_USES)
    unexpected = {pair: where for pair, where in found.items() if pair not in ALLOWED_UPWARD}
    assert unexpected == {}, "imports against docs/development.md 'Layers'"
    assert ALLOWED_UPWARD - set(found) == set(), "stale ALLOWED_UPWARD entries: remove them"


@pytest.mark.parametrize(("library", "allowed"), [("kedro", KEDRO_UNITS), ("mlflow", MLFLOW_UNITS)])
def test_kedro_and_mlflow_stay_in_their_layers(library: str, allowed: set[str]) -> None:
    found = {
        use.where
        for use in USES
        if family(use.target) == library
        if unit(use.source) not in allowed
    }
    assert found == set(), f"{library} imported outside {sorted(allowed)}"
    assert any(family(use.target) == library for use in USES)  # the walk does see them


def test_the_checker_sees_imports_and_private_uses(tmp_path: Path) -> None:
    """The AST walk on a hand-written module: relative, lazy and attribute uses all count."""
    text = SOURCE / "text" / "probe.py"
    code = (
        "from ..models.transformer import _helper, TransformerEncoder\n"
        "def f():\n"
        "    from longtail_mltc.models import cnn as c\n"
        "    import longtail_mltc.labels.stats\n"
        "    return c._kernel, longtail_mltc.labels.stats._counts\n"
    )
    probe = tmp_path / "probe.py"
    probe.write_text(code, encoding="utf-8")
    module = module_name(text)
    found = uses(module, probe)
    got = {(u.target, u.name) for u in found}
    assert got == {
        ("longtail_mltc.models.transformer", "_helper"),
        ("longtail_mltc.models.transformer", "TransformerEncoder"),
        ("longtail_mltc.models.cnn", None),
        ("longtail_mltc.labels.stats", None),
        ("longtail_mltc.models.cnn", "_kernel"),
        ("longtail_mltc.labels.stats", "_counts"),
    }
    assert private_uses(found) == {
        (module, "longtail_mltc.models.transformer", "_helper"),
        (module, "longtail_mltc.models.cnn", "_kernel"),
        (module, "longtail_mltc.labels.stats", "_counts"),
    }
    # text/ sits below models/ (an arrow up), labels/ beside it (same layer: independent)
    assert set(upward_imports(found)) == {
        (module, "longtail_mltc.models.transformer"),
        (module, "longtail_mltc.models.cnn"),
        (module, "longtail_mltc.labels.stats"),
    }


def test_the_documented_layers_are_the_tested_ones() -> None:
    """docs/development.md's layer table lists, row by row from the bottom, the same units."""
    section = DOCS.read_text(encoding="utf-8").split("### Layers", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"\|\s*\d+\s*\|", line)]
    documented = [
        tuple(
            sorted(
                re.sub(r"(\.py|/)$", "", name)
                for name in re.findall(r"`([^`]+)`", row.split("|")[2])
            )
        )
        for row in sorted(rows, key=lambda row: int(row.split("|")[1]))
    ]
    assert documented == [tuple(sorted(units)) for units in LAYERS]
