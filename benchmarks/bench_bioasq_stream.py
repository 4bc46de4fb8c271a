"""Benchmark: the hand-written BioASQ stream vs ijson vs ``json.load``, in one run.

Run: ``PYTHONPATH=src python benchmarks/bench_bioasq_stream.py [size_mb] [folder]``
(defaults: 40 MB, ``/tmp/longtail_mltc_bench``; needs ``ijson==3.6.0``, a pin of the ``test``
extra). Writes a synthetic allMeSH-shaped file with
:func:`~longtail_mltc.corpora.bioasq_synthetic.write_synthetic_bioasq` (reused when already
there), then measures, each in a fresh interpreter (best of two runs):

- ``stream``: :func:`~longtail_mltc.corpora.bioasq_stream.iter_bioasq_articles`, every article;
- ``ijson``: ``ijson.items(file, "articles.item", use_float=True)`` (its C backend, yajl2_c);
- ``json.load``: the whole file decoded into one Python object;
- ``read_bioasq``: for the share of the parse in a whole read (parse + checks + table).

Prints seconds, MB/s, peak resident memory above an interpreter that only imported the same
modules (ru_maxrss), tracemalloc peaks of the two streams (their RSS increase hides under the
import-time high-water mark), the ratios, and then what each parser says about the malformed
inputs the tests pin (truncated file, bad token, wrong shape, latin-1 bytes, lone surrogate,
raw control character, byte-order mark): the error quality half of the decision in
``corpora/bioasq_stream.py``.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ijson

from longtail_mltc.corpora.bioasq import read_bioasq
from longtail_mltc.corpora.bioasq_stream import iter_bioasq_articles
from longtail_mltc.corpora.bioasq_synthetic import write_synthetic_bioasq
from longtail_mltc.corpora.errors import CorruptRawFileError

_SEED = 0
_MODES = ("stream", "ijson", "json_load", "read_bioasq")


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


def _ijson_articles(path: Path):  # noqa: ANN202 - ijson's generator
    with open(path, "rb") as handle:
        yield from ijson.items(handle, "articles.item", use_float=True)


def _count(mode: str, path: Path) -> int:
    if mode == "stream":
        return sum(1 for _ in iter_bioasq_articles(path, progress=False))
    if mode == "ijson":
        return sum(1 for _ in _ijson_articles(path))
    if mode == "json_load":
        with open(path, encoding="utf-8") as handle:
            return len(json.load(handle)["articles"])
    if mode == "read_bioasq":
        return len(read_bioasq(path.parent, file_name=path.name, progress=False))
    raise ValueError(mode)


def _measure(mode: str, path: Path) -> dict[str, float]:
    """Run one mode in this process (called in a child) and return its figures."""
    result: dict[str, float] = {}
    start = time.perf_counter()
    if mode.endswith("_tracemalloc"):
        import tracemalloc

        tracemalloc.start()
        result["articles"] = _count(mode.removesuffix("_tracemalloc"), path)
        result["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    elif mode != "baseline":
        result["articles"] = _count(mode, path)
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


# --- error quality -----------------------------------------------------------------------------

_GOOD = '{"pmid": "1", "title": "A title.", "meshMajor": ["Humans"], "year": "2013"}'
_MALFORMED: dict[str, bytes] = {
    "truncated file": ('{"articles":[\r\n' + _GOOD + ',\r\n{"pmid": "2", "title": "A ti').encode(),
    "bad token": ('{"articles":[\r\n' + _GOOD + ',\r\n{"pmid" "2"}\r\n]}').encode(),
    "wrong shape": b'{"documents": [{"pmid": "1"}]}',
    "latin-1 bytes": '{"articles":[{"pmid": "1", "title": "2\u00b0C"}]}'.encode("latin-1"),
    "lone surrogate": b'{"articles":[{"pmid": "1", "title": "a\\ud800b"}]}',
    "raw tab in a string": b'{"articles":[{"pmid": "1", "title": "a\tb"}]}',
    "byte-order mark": b'\xef\xbb\xbf{"articles":[{"pmid": "1"}]}',
}
_NOTES = {
    "lone surrogate": "read_bioasq refuses the stream's record, naming the article and field; "
    "ijson's '?' would pass unseen",
    "wrong shape": "ijson yields no article and no error",
}


def _outcome(parse, path: Path) -> str:  # noqa: ANN001 - a callable returning the records
    try:
        records = parse()
    except (CorruptRawFileError, ijson.JSONError, ValueError, KeyError) as error:
        text = " ".join(str(error).replace(str(path), "<file>").split())
        return f"{type(error).__name__}: {text[:240]}{'...' if len(text) > 240 else ''}"
    return f"read {json.dumps(records, ensure_ascii=True)[:80]}"


def error_quality(folder: Path) -> None:
    for name, data in _MALFORMED.items():
        path = folder / f"{name.replace(' ', '_')}.json"
        path.write_bytes(data)
        print(f"- {name}:")
        stream = _outcome(
            lambda path=path: [a.record for a in iter_bioasq_articles(path, progress=False)], path
        )
        print(f"    stream:    {stream}")
        if name == "latin-1 bytes":
            latin = _outcome(
                lambda path=path: [
                    a.record for a in iter_bioasq_articles(path, encoding="latin-1", progress=False)
                ],
                path,
            )
            print(f"    stream, encoding='latin-1': {latin}")
        ijson_out = _outcome(
            lambda data=data: list(ijson.items(io.BytesIO(data), "articles.item", use_float=True)),
            path,
        )
        print(f"    ijson:     {ijson_out}")
        loaded = _outcome(lambda data=data: json.loads(data)["articles"], path)
        print(f"    json.load: {loaded}")
        if name in _NOTES:
            print(f"    note:      {_NOTES[name]}")


def main() -> None:
    size_mb = float(sys.argv[1]) if len(sys.argv) > 1 else 40.0
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/longtail_mltc_bench")
    path = synthetic_file(size_mb, folder)
    size = path.stat().st_size
    print(
        f"ijson {ijson.__version__}, backend {ijson.backend_name}; Python {sys.version.split()[0]}"
    )
    baseline = _best("baseline", path)["maxrss_bytes"]
    runs = {mode: _best(mode, path) for mode in _MODES}
    traced = {mode: _in_child(f"{mode}_tracemalloc", path) for mode in ("stream", "ijson")}
    counts = {run["articles"] for run in (*runs.values(), *traced.values())}
    assert len(counts) == 1, counts
    mib = 1 << 20
    print(f"file: {path} ({size / 1e6:.1f} MB, {int(runs['stream']['articles'])} articles)")
    print(f"interpreter + imports: {baseline / mib:.0f} MiB resident")
    for mode, run in runs.items():
        print(
            f"{mode:12s} {run['seconds']:6.2f} s  {size / 1e6 / run['seconds']:6.1f} MB/s  "
            f"peak RSS +{(run['maxrss_bytes'] - baseline) / mib:7.1f} MiB"
        )
    for mode, run in traced.items():
        print(f"{mode} tracemalloc peak: {run['tracemalloc_peak'] / mib:.2f} MiB")
    stream, ijs, loaded, whole = (runs[mode]["seconds"] for mode in _MODES)
    print(f"time ratio stream / ijson: {stream / ijs:.2f}x (>1: ijson faster)")
    print(f"time ratio stream / json.load: {stream / loaded:.2f}x")
    print(f"parse share of read_bioasq: stream {stream / whole:.0%}, ijson would save ", end="")
    print(f"{(stream - ijs) / whole:.0%} of a whole read")
    # ru_maxrss is a high-water mark: a stream's few MiB may hide under the import-time peak,
    # so its memory is the larger of its RSS increase and its tracemalloc peak.
    memory = {
        mode: max(runs[mode]["maxrss_bytes"] - baseline, traced[mode]["tracemalloc_peak"])
        for mode in ("stream", "ijson")
    }
    json_memory = runs["json_load"]["maxrss_bytes"] - baseline
    print(
        f"peak memory: stream {memory['stream'] / mib:.1f} MiB, ijson {memory['ijson'] / mib:.1f} "
        f"MiB, json.load {json_memory / mib:.0f} MiB (json.load / stream: "
        f"{json_memory / memory['stream']:.0f}x)"
    )
    print("error quality (what each parser says):")
    with tempfile.TemporaryDirectory() as cases:
        error_quality(Path(cases))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(_measure(sys.argv[2], Path(sys.argv[3]))))
    else:
        main()
