"""Benchmark: the hand-written ARFF parser vs liac-arff 2.5.0, speed and error quality, one run.

Run: ``PYTHONPATH=src python benchmarks/bench_arff.py [delicious_folder]`` (default
``../shared/datasets/delicious``). liac-arff is not a project dependency (the parser is kept,
see ``corpora/arff_rows.py``): install it where this runs, ``pip install liac-arff==2.5.0``
(not PyPI's unrelated ``arff``, which installs the same module name), or put a
``pip install --target DIR`` copy on ``PYTHONPATH``.

Files: both Delicious files (sparse, 1,483 attributes), a generated bibtex-sized sparse file
(7,395 rows, 1,836 features + 159 labels) and a generated MEKA-enron-sized dense file (1,702
rows, 53 labels first + 1,001 features). Each parse runs in a fresh interpreter (best of 3),
both parsers fed the same lines by ``corpora.lines.utf8_lines``; liac-arff with
``encode_nominal=True`` and ``return_type=COO`` for sparse files (COO refuses dense rows, so
DENSE for the dense file). Both must find the same attributes and the same number of non-zero
values. Then every malformed row that tests/test_corpora_mulan.py pins is given to both, and
their messages are printed side by side.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_REPEAT = 3
_SEED = 0
_ROOT = Path(__file__).resolve().parents[1]

# (rows after the header of _SMALL, what our message says) from test_corpora_mulan.py
_SMALL = ["w {0,1}", "v numeric", "L {0,1}"]
_MALFORMED = [
    ["{0 1}", "{x 1,2 1}"],
    ["{0 1,-1 1}"],
    ["{0 1}", "{0 1,3 1}"],
    ["{0 1,9999999999 1}"],
    ["{1 abc}"],
    ["{0 2}"],
    ["{2 yes}"],
    ["1,0,1", "1,0"],
    ["1,0,1,1"],
    ["1,x,1"],
    ["{0 1,2 1"],
    ["{0 1,,2 1}"],
    ["{0}"],
    ["{0 1 1}"],
    ["{2 1,0 1}"],
    ["{0 1,0 1}"],
    ["{0 1},{1}"],
    ["{0 'unterminated}"],
    [],
]


def _small_arff(rows: list[str]) -> str:
    header = ["% a comment", "@relation small", ""]
    header += [f"@attribute {attribute}" for attribute in _SMALL]
    return "\n".join([*header, "", "@data", *rows]) + "\n"


def write_sparse(path: Path, n_rows: int, n_features: int, n_labels: int, seed: int) -> Path:
    """A Mulan-layout sparse file (labels last), ~3.7% feature and ~1.5% label density."""
    rng = np.random.default_rng(seed)
    lines = ["@relation generated", ""]
    lines += [f"@attribute w{i} {{0,1}}" for i in range(n_features)]
    lines += [f"@attribute L{i} {{0,1}}" for i in range(n_labels)]
    lines += ["", "@data"]
    for _ in range(n_rows):
        words = rng.choice(n_features, size=int(rng.integers(20, 120)), replace=False)
        labels = n_features + rng.choice(n_labels, size=int(rng.integers(1, 5)), replace=False)
        lines.append("{" + ",".join(f"{i} 1" for i in sorted([*words, *labels])) + "}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_dense(path: Path, n_rows: int, n_features: int, n_labels: int, seed: int) -> Path:
    """A MEKA-layout dense file: ``-C n`` in @relation, labels first."""
    rng = np.random.default_rng(seed)
    lines = [f"@relation 'Generated: -C {n_labels}'", ""]
    lines += [f"@attribute L{i} {{0,1}}" for i in range(n_labels)]
    lines += [f"@attribute w{i} {{0,1}}" for i in range(n_features)]
    lines += ["", "@data"]
    cells = (rng.random((n_rows, n_labels + n_features)) < 0.05).astype(int)
    lines += [",".join(map(str, row)) for row in cells.tolist()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _line_iter(path: Path):  # noqa: ANN202 - a generator of str
    from longtail_mltc.corpora.lines import utf8_lines

    return (line for _, line in utf8_lines(path, expected="an ARFF file"))


def _liac(path: Path, dense: bool) -> tuple[list[str], int]:
    import arff

    kind = arff.DENSE if dense else arff.COO
    result = arff.load(_line_iter(path), encode_nominal=True, return_type=kind)
    data = result["data"]
    nonzero = int(np.count_nonzero(np.asarray(data if dense else data[0], dtype=float)))
    return [name for name, _ in result["attributes"]], nonzero


def _ours(path: Path) -> tuple[list[str], int]:
    from longtail_mltc.corpora.arff import read_arff

    table = read_arff(path)
    return [attribute.name for attribute in table.attributes], len(table.rows.indices)


def _child(mode: str, path: Path, dense: bool) -> None:
    """Parse once in this (fresh) interpreter; print seconds, attributes and non-zeros."""
    import longtail_mltc.corpora.arff  # noqa: F401 - import cost outside the timing

    if mode == "liac":
        import arff  # noqa: F401
    start = time.perf_counter()
    names, nonzero = _liac(path, dense) if mode == "liac" else _ours(path)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "names": names, "nonzero": nonzero}))


def _time(mode: str, path: Path, dense: bool) -> dict[str, object]:
    best: dict[str, object] | None = None
    for _ in range(_REPEAT):
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, str(path), str(int(dense))],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


def _errors(folder: Path) -> None:
    import arff

    from longtail_mltc.corpora.arff import read_arff

    print("\nmalformed rows (tests/test_corpora_mulan.py): ours | liac-arff 2.5.0")
    accepted = 0
    for number, rows in enumerate(_MALFORMED, start=1):
        path = folder / f"bad{number}.arff"
        path.write_text(_small_arff(rows), encoding="utf-8")
        try:
            read_arff(path)
            ours = "ACCEPTED"
        except ValueError as error:
            ours = str(error).removeprefix(f"{path}: ")
        try:
            arff.load(_line_iter(path), encode_nominal=True, return_type=arff.DENSE)
            theirs = "ACCEPTED (no error)"
            accepted += 1
        except Exception as error:  # noqa: BLE001 - any liac-arff error is reported as is
            theirs = f"{type(error).__name__}: {error}"
        print(f"  {rows!r}\n    ours: {ours}\n    liac: {theirs}")
    print(f"liac-arff accepted {accepted} of the {len(_MALFORMED)} malformed inputs")


def main(delicious: Path) -> None:
    try:
        import arff
    except ImportError:
        sys.exit("liac-arff is not installed: pip install liac-arff==2.5.0")
    if not hasattr(arff, "ArffDecoder"):
        sys.exit(f"the module 'arff' at {arff.__file__} is not liac-arff")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = [
            (delicious / "delicious-train.arff", False),
            (delicious / "delicious-test.arff", False),
            (write_sparse(folder / "bibtex_sized.arff", 7395, 1836, 159, _SEED), False),
            (write_dense(folder / "enron_meka_sized.arff", 1702, 1001, 53, _SEED), True),
        ]
        total = {"ours": 0.0, "liac": 0.0}
        print(f"best of {_REPEAT} fresh interpreters, seconds to parse")
        for path, dense in files:
            ours, liac = _time("ours", path, dense), _time("liac", path, dense)
            same = ours["names"] == liac["names"] and ours["nonzero"] == liac["nonzero"]
            total["ours"] += float(ours["seconds"])
            total["liac"] += float(liac["seconds"])
            print(
                f"  {path.name:26s} ours {ours['seconds']:.3f}  liac-arff {liac['seconds']:.3f}  "
                f"ratio liac/ours {liac['seconds'] / ours['seconds']:.2f}  "
                f"same attributes and non-zeros: {same}"
            )
            if not same:
                sys.exit(f"{path}: the parsers disagree")
        print(
            f"  all files: ours {total['ours']:.3f}  liac-arff {total['liac']:.3f}  "
            f"ratio liac/ours {total['liac'] / total['ours']:.2f}"
        )
        _errors(folder)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]), sys.argv[4] == "1")
    else:
        default = _ROOT.parent / "shared" / "datasets" / "delicious"
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
