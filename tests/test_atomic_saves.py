"""Every dataset type the catalog uses saves atomically: a failed save keeps the previous file.

The types come from conf/base/catalog.yml itself (the inner ``dataset:`` of an
MlflowArtifactDataset included), so a new entry with an in-place writer fails here.
"""

from __future__ import annotations

import io
import os
import resource
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from conftest import PROJECT_ROOT  # noqa: E402
from kedro.io import Version  # noqa: E402
from kedro.io.core import parse_dataset_definition  # noqa: E402
from kedro_datasets.json import JSONDataset  # noqa: E402
from kedro_datasets.matplotlib import MatplotlibDataset  # noqa: E402
from kedro_datasets.pandas import CSVDataset, ParquetDataset  # noqa: E402
from kedro_datasets.text import TextDataset  # noqa: E402

from longtail_mltc.atomic_files import write_atomically  # noqa: E402
from longtail_mltc.datasets import NumpyDataset, SafetensorsDataset, SkopsDataset  # noqa: E402

CATALOG = PROJECT_ROOT / "conf" / "base" / "catalog.yml"
SIZE_LIMIT = 4096  # bytes a file may grow to in the "disk full" child (each sample is larger)


def _catalog_types() -> list[str]:
    """The dataset type of every catalog entry (for a wrapper: the dataset it wraps)."""
    entries = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    types = set()
    for name, entry in entries.items():
        if name.startswith("_") or not isinstance(entry, dict):
            continue
        inner = entry.get("dataset")
        types.add((inner if isinstance(inner, dict) else entry)["type"])
    return sorted(types)


def _figure(seed: int) -> plt.Figure:
    rng = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(rng.random(200))
    return fig


class _NoText:
    """A cell that cannot be written as CSV text."""

    def __str__(self) -> str:
        raise ValueError("this cell has no text")

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        raise ValueError("this cell has no text")


@dataclass(frozen=True)
class Sample:
    """Two valid payloads (each over SIZE_LIMIT bytes once saved) and one that fails half way."""

    filename: str
    make: Callable[[int], Any]  # seed → data
    bad: Callable[[], Any] | None  # data whose serialisation fails after part was written
    equal: Callable[[Any, Any], bool]
    load_args: dict[str, Any]


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    return True


def _arrays_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(np.asarray(a[k]), b[k]) for k in a)


def _table(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"doc_id": np.arange(2000), "score": rng.random(2000).round(6)})


SAMPLES: dict[type, Sample] = {
    JSONDataset: Sample(
        "metrics.json",
        lambda seed: {"scores": [seed + i / 7 for i in range(2000)]},
        lambda: {"scores": list(range(20_000)), "zz_not_json": object()},
        lambda a, b: a == b,
        {},
    ),
    ParquetDataset: Sample(
        "corpus.parquet",
        _table,
        lambda: pd.DataFrame({"doc_id": [1, "two", object()]}),
        _frames_equal,
        {},
    ),
    CSVDataset: Sample(
        "table.csv",
        _table,
        lambda: pd.DataFrame({"a": [*range(100_001), _NoText()]}),  # fails in the 2nd chunk
        _frames_equal,
        {"save_args": {"index": False}},
    ),
    TextDataset: Sample(
        "comparison.md",
        lambda seed: f"| run | score |\n|---|---|\n{f'| {seed} | 0.5 |' * 500}\n",
        lambda: "| run |\n" * 5000 + "\ud800",  # a lone surrogate cannot be encoded
        lambda a, b: a == b,
        {},
    ),
    SkopsDataset: Sample(
        "features.skops",
        lambda seed: {"seed": seed, "payload": np.random.default_rng(seed).random(3000)},
        None,  # a type the load would refuse is refused before anything is written
        lambda a, b: (
            a.keys() == b.keys()
            and a["seed"] == b["seed"]
            and np.array_equal(a["payload"], b["payload"])
        ),
        {},
    ),
    MatplotlibDataset: Sample(
        "plot.png",
        _figure,
        None,  # rendered in memory before the file is opened: only a full disk can break it
        lambda figure, png: png == _png_bytes(figure),
        {"save_args": {"dpi": 72}},
    ),
    NumpyDataset: Sample(
        "scores.npz",
        lambda seed: {"scores": np.random.default_rng(seed).random(3000)},
        None,  # object arrays are refused before anything is written
        _arrays_equal,
        {},
    ),
    SafetensorsDataset: Sample(
        "model.safetensors",
        lambda seed: {"w": torch.arange(3000, dtype=torch.float32) + seed},
        None,  # a non-tensor value is refused before anything is written
        lambda a, b: a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a),
        {},
    ),
}


def _png_bytes(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=72)
    return buffer.getvalue()


def _sample(dataset_class: type) -> Sample:
    for base, sample in SAMPLES.items():
        if issubclass(dataset_class, base):
            return sample
    raise AssertionError(f"{dataset_class.__name__}: no sample data in this test, add one")


def _dataset(type_name: str, folder: Path, **extra: Any) -> Any:
    dataset_class, _ = parse_dataset_definition({"type": type_name})
    sample = _sample(dataset_class)
    return dataset_class(filepath=str(folder / sample.filename), **sample.load_args, **extra)


def _load(dataset: Any) -> Any:
    if isinstance(dataset, MatplotlibDataset):  # kedro-datasets cannot load figures
        return Path(str(dataset._get_load_path())).read_bytes()
    return dataset.load()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


CATALOG_TYPES = _catalog_types()


def test_the_catalog_uses_the_project_datasets_only():
    assert CATALOG_TYPES, CATALOG
    in_place = [t for t in CATALOG_TYPES if not t.startswith("longtail_mltc.datasets.")]
    assert in_place == [], "these kedro-datasets types write in place"


@pytest.mark.parametrize("type_name", CATALOG_TYPES)
def test_round_trip(type_name, tmp_path):
    dataset = _dataset(type_name, tmp_path)
    sample = _sample(type(dataset))
    for seed in (1, 2):  # a new file, then a replaced one
        data = sample.make(seed)
        dataset.save(data)
        assert sample.equal(data, _load(dataset))
    assert [p.name for p in tmp_path.iterdir()] == [sample.filename]


# The others render or check their data before writing: only a full disk can break them.
HALF_WAY_TYPES = [
    t for t in CATALOG_TYPES if _sample(parse_dataset_definition({"type": t})[0]).bad is not None
]


@pytest.mark.parametrize("type_name", HALF_WAY_TYPES)
def test_a_save_failing_half_way_keeps_the_previous_file(type_name, tmp_path):
    dataset = _dataset(type_name, tmp_path)
    sample = _sample(type(dataset))
    dataset.save(sample.make(1))
    before = _snapshot(tmp_path)
    with pytest.raises(Exception, match=r"."):
        dataset.save(sample.bad())
    assert _snapshot(tmp_path) == before  # byte-identical, and no temporary file left


def _save_in_child_with_size_limit(dataset: Any, data: Any) -> int:
    """Save in a forked child where files cannot grow past SIZE_LIMIT bytes (EFBIG, as on a
    full disk); return the child's exit status: 0 saved, 1 the save raised. A child process,
    because the limit would break this process's own writes (pytest's capture files)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        status = 2
        try:
            signal.alarm(120)  # a child that hangs is killed (status -14) instead of the suite
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
            hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
            resource.setrlimit(resource.RLIMIT_FSIZE, (SIZE_LIMIT, hard))
            try:
                dataset.save(data)
                status = 0
            except Exception:
                status = 1
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status)


@pytest.mark.parametrize("type_name", CATALOG_TYPES)
def test_a_save_running_out_of_space_keeps_the_previous_file(type_name, tmp_path):
    dataset = _dataset(type_name, tmp_path)
    sample = _sample(type(dataset))
    dataset.save(sample.make(1))
    before = _snapshot(tmp_path)
    assert max(len(content) for content in before.values()) > SIZE_LIMIT
    assert _save_in_child_with_size_limit(dataset, sample.make(2)) == 1
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("type_name", CATALOG_TYPES)
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_files_get_the_mode_the_umask_gives(type_name, umask, mode, tmp_path):
    dataset = _dataset(type_name, tmp_path)
    with _umask(umask):
        dataset.save(_sample(type(dataset)).make(1))
    for file in tmp_path.rglob("*"):
        assert file.stat().st_mode & 0o777 == mode, file


def test_versioned_saves_stay_atomic_and_load_the_latest(tmp_path):
    type_name = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))["single_metrics"]["type"]

    def versioned(save: str | None) -> Any:  # explicit versions: no two saves in one millisecond
        return _dataset(type_name, tmp_path, version=Version(None, save))

    versioned("2026-01-01T00.00.01.000Z").save({"run": 1})
    versioned("2026-01-01T00.00.02.000Z").save({"run": 2})
    assert versioned(None).load() == {"run": 2}
    with pytest.raises(Exception, match="not JSON serializable"):
        versioned("2026-01-01T00.00.03.000Z").save({"run": 3, "bad": object()})
    assert versioned(None).load() == {"run": 2}
    saved = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert saved == [f"metrics.json/2026-01-01T00.00.0{i}.000Z/metrics.json" for i in (1, 2)]


def test_mlflow_artifact_dataset_logs_the_atomically_saved_file(tmp_path, monkeypatch):
    import mlflow
    from kedro.io import DataCatalog
    from kedro_project import reset_mlflow_process_state

    entry = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))["reporting.comparison_table"]
    entry["dataset"]["filepath"] = str(tmp_path / "comparison.csv")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    reset_mlflow_process_state()
    table = _table(3)
    try:
        catalog = DataCatalog.from_config({"comparison": entry})
        experiment = mlflow.create_experiment("atomic", artifact_location=str(tmp_path / "art"))
        with mlflow.start_run(experiment_id=experiment) as run:
            catalog.save("comparison", table)
        logged = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id,
            artifact_path="reporting/comparison.csv",
            dst_path=str(tmp_path / "downloaded"),
        )
    finally:
        reset_mlflow_process_state()
    assert Path(logged).read_bytes() == (tmp_path / "comparison.csv").read_bytes()
    _frames_equal(table, pd.read_csv(logged))
    assert not list(tmp_path.rglob("*.tmp"))


def test_write_atomically_keeps_the_previous_file_when_the_writer_raises(tmp_path):
    target = tmp_path / "a" / "b.txt"
    write_atomically(target, lambda tmp: tmp.write_text("first"))

    def half_written(tmp: Path) -> None:
        tmp.write_text("sec")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, half_written)
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["b.txt"]


def test_a_saved_labeler_folder_gets_normal_modes(tmp_path):
    from longtail_mltc.inference import Preprocessing, TextLabeler
    from longtail_mltc.models import build_classifier
    from longtail_mltc.text import build_vocabulary, tokenize_texts

    vocabulary = build_vocabulary(
        tokenize_texts(["grain exports rose", "earnings fell"], "english")
    )
    params = {"embedding_dim": 4, "num_filters": 2, "hidden_dim": 4, "kernel_sizes": [1]}
    torch.manual_seed(0)
    labeler = TextLabeler(
        build_classifier("kim_cnn", 2, vocab_size=len(vocabulary), **params),
        Preprocessing("english", 8),
        ["earn", "grain"],
        threshold=0.5,
        vocabulary=vocabulary,
        model_config={"encoder": "kim_cnn", "encoder_params": params},
    )
    with _umask(0o022):
        target = labeler.save_directory(tmp_path / "labeler")
        labeler.save_directory(target, overwrite=True)  # the replacing path too
    assert target.stat().st_mode & 0o777 == 0o755
    files = list(target.iterdir())
    assert files and all(f.stat().st_mode & 0o777 == 0o644 for f in files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labeler"]
