"""Benchmark: streaming BioASQ parse vs ``json.load`` of the whole file (DESIGN "Performance").

Run: ``PYTHONPATH=src python benchmarks/bench_bioasq_stream.py [size_mb] [folder]``
(defaults: 200 MB, ``/tmp/longtail_mltc_bench``). Writes a synthetic allMeSH-shaped file with
:func:`~longtail_mltc.corpora.bioasq.write_synthetic_bioasq` (reused when already there), then
measures, each in a fresh interpreter (best of two runs):

- ``iter_bioasq_articles``: iterate every article (the streaming reader);
- ``json.load``: the named alternative, the whole file decoded into one Python object;
- ``read_bioasq``: for information, streaming parse + the Corpus table of every article.

Prints throughput (MB/s of file), peak resident memory above an interpreter that only imported
the same modules (ru_maxrss), the streaming parse's tracemalloc peak (its increase in RSS is
below the import-time high-water mark), and the ratios.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from longtail_mltc.corpora.bioasq import iter_bioasq_articles, read_bioasq, write_synthetic_bioasq

_SEED = 0


def synthetic_file(size_mb: float, folder: Path) -> Path:
    """A synthetic file of about ``size_mb`` MB (10^6 bytes) in ``folder``, reused if present."""
    with tempfile.TemporaryDirectory() as probe_dir:
        probe = write_synthetic_bioasq(Path(probe_dir) / "probe.json", 2_000, seed=_SEED)
    n_articles = max(1, round(size_mb * 1e6 / (probe / 2_000)))
    path = folder / f"bioasq_synthetic_{n_articles}_seed{_SEED}.json"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        start = time.perf_counter()
        write_synthetic_bioasq(partial, n_articles, seed=_SEED)
        partial.rename(path)
        print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return path


def _measure(mode: str, path: Path) -> dict[str, float]:
    """Run one mode in this process (called in a child) and return its figures."""
    result: dict[str, float] = {}
    start = time.perf_counter()
    if mode == "stream":
        result["articles"] = sum(1 for _ in iter_bioasq_articles(path, progress=False))
    elif mode == "json_load":
        with open(path, encoding="utf-8") as handle:
            result["articles"] = len(json.load(handle)["articles"])
    elif mode == "read_bioasq":
        corpus = read_bioasq(path.parent, file_name=path.name, progress=False)
        result["articles"] = len(corpus)
    elif mode == "stream_tracemalloc":
        import tracemalloc

        tracemalloc.start()
        result["articles"] = sum(1 for _ in iter_bioasq_articles(path, progress=False))
        result["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    elif mode != "baseline":
        raise ValueError(mode)
    result["seconds"] = time.perf_counter() - start
    result["maxrss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return result


def _in_child(mode: str, path: Path) -> dict[str, float]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _best(mode: str, path: Path, repeats: int = 2) -> dict[str, float]:
    runs = [_in_child(mode, path) for _ in range(repeats)]
    return {
        "seconds": min(run["seconds"] for run in runs),
        "maxrss_bytes": min(run["maxrss_bytes"] for run in runs),
        "articles": runs[0].get("articles", 0),
    }


def main() -> None:
    size_mb = float(sys.argv[1]) if len(sys.argv) > 1 else 200.0
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/longtail_mltc_bench")
    path = synthetic_file(size_mb, folder)
    size = path.stat().st_size
    baseline = _best("baseline", path)["maxrss_bytes"]
    stream = _best("stream", path)
    loaded = _best("json_load", path)
    table = _best("read_bioasq", path, repeats=1)
    traced = _in_child("stream_tracemalloc", path)
    assert stream["articles"] == loaded["articles"] == traced["articles"]
    mib = 1 << 20
    print(f"file: {path} ({size / 1e6:.1f} MB, {int(stream['articles'])} articles)")
    print(f"interpreter + imports: {baseline / mib:.0f} MiB resident")
    for name, run in (
        ("iter_bioasq_articles", stream),
        ("json.load", loaded),
        ("read_bioasq (table)", table),
    ):
        print(
            f"{name:22s} {run['seconds']:6.2f} s  {size / 1e6 / run['seconds']:6.1f} MB/s  "
            f"peak RSS +{(run['maxrss_bytes'] - baseline) / mib:7.1f} MiB"
        )
    print(f"streaming parse tracemalloc peak: {traced['tracemalloc_peak'] / mib:.2f} MiB")
    speed = loaded["seconds"] / stream["seconds"]
    # ru_maxrss is a high-water mark: the stream's few MiB may hide under the import-time peak,
    # so its memory is the larger of its RSS increase and its tracemalloc peak.
    stream_memory = max(stream["maxrss_bytes"] - baseline, traced["tracemalloc_peak"])
    memory = (loaded["maxrss_bytes"] - baseline) / stream_memory
    print(f"throughput ratio (stream / json.load): {speed:.2f}x")
    print(
        f"peak memory ratio (json.load RSS increase / stream {stream_memory / mib:.1f} MiB): "
        f"{memory:.0f}x"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(_measure(sys.argv[2], Path(sys.argv[3]))))
    else:
        main()
