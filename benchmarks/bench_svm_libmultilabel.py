"""Linear SVM one-vs-rest on Reuters TF-IDF: this project vs LibMultiLabel, same features.

Run (after ``kedro run --pipeline=baselines``, which writes the TF-IDF features):
``bash benchmarks/setup_libmultilabel.sh`` once (LibMultiLabel 0.10.0 in its own virtual
environment, ``benchmarks/.venv-libmultilabel``, never in the project's), then
``PYTHONPATH=src .venv/bin/python benchmarks/bench_svm_libmultilabel.py`` (about a minute).

Both sides get the same sparse TF-IDF matrices of ``data/04_feature/reuters/tfidf_features.pkl``
(training split → fit; test split → decision values) and the same problem: L2-regularised
squared-hinge SVM per label in its dual form (LIBLINEAR solver 1), C = 1, stopping tolerance
1e-4, bias term 1 (scikit-learn's ``LinearSVC`` uses LIBLINEAR too, with the intercept as that
regularised bias feature):

* ours: :class:`longtail_mltc.linear.LinearSVMOneVsRest` (``OneVsRestClassifier(LinearSVC)``,
  one process, labels one after the other; the pipeline's default, without the validation
  threshold shift, which LibMultiLabel's ``train_1vsrest`` does not do either);
* LibMultiLabel: ``linear.train_1vsrest(y, x, options="-s 1 -c 1 -e 0.0001 -B 1")`` and
  ``linear.predict_values`` (its trainer threads over labels, one per physical core).

Each side runs in its own child process, so each peak RSS (``ru_maxrss``) is its own; the time
covers training + prediction of the test decision values, not loading. Printed: seconds, peak
RSS and its growth over the process after loading the features, the time and memory ratios, and
how far the two sets of decision values are apart (max |Δ| and top-1 agreement).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ROOT / "data/04_feature/reuters/tfidf_features.pkl"
SPLIT = ROOT / "data/03_primary/reuters/corpus_split.parquet"
LABEL_INDEX = ROOT / "data/04_feature/reuters/label_index.json"
LML_PYTHON = ROOT / "benchmarks/.venv-libmultilabel/bin/python"
LIBLINEAR_OPTIONS = "-s 1 -c 1 -e 0.0001 -B 1"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def worker(side: str, folder: Path) -> None:
    """Load the matrices, train + predict, write timings, RSS and decision values."""
    x_train = sp.load_npz(folder / "x_train.npz").tocsr()
    y_train = sp.load_npz(folder / "y_train.npz").tocsr()
    x_test = sp.load_npz(folder / "x_test.npz").tocsr()
    rss_loaded = _rss_mb()
    start = time.perf_counter()
    if side == "ours":
        from longtail_mltc.linear import LinearSVMOneVsRest

        model = LinearSVMOneVsRest(C=1.0, tol=1e-4, max_iter=1000, random_state=0)
        model.fit(x_train, y_train)
        fitted = time.perf_counter()
        values = model.decision_function(x_test)
        threads = 1
    else:
        import psutil
        from libmultilabel import linear

        model = linear.train_1vsrest(y_train, x_train, options=LIBLINEAR_OPTIONS, verbose=False)
        fitted = time.perf_counter()
        values = np.asarray(linear.predict_values(model, x_test))
        threads = psutil.cpu_count(logical=False)
    done = time.perf_counter()
    np.save(folder / f"values_{side}.npy", values)
    result = {
        "fit_s": fitted - start,
        "predict_s": done - fitted,
        "peak_rss_mb": _rss_mb(),
        "rss_loaded_mb": rss_loaded,
        "threads": threads,
    }
    (folder / f"result_{side}.json").write_text(json.dumps(result))


def _write_inputs(folder: Path) -> tuple[int, tuple[int, int]]:
    import pandas as pd

    from longtail_mltc.labels import to_label_matrix

    features = pickle.loads(FEATURES.read_bytes())
    split = pd.read_parquet(SPLIT)
    label_index = json.loads(LABEL_INDEX.read_text())
    train = split.loc[split["split"] == "train", "labels"]
    y_train = sp.csr_matrix(to_label_matrix([list(v) for v in train], label_index))
    # LibMultiLabel's one-vs-rest needs a label with both classes: keep the labels ours fits
    counts = np.asarray(y_train.sum(axis=0)).ravel()
    active = np.flatnonzero((counts > 0) & (counts < y_train.shape[0]))
    sp.save_npz(folder / "x_train.npz", sp.csr_matrix(features["train"], dtype=np.float64))
    sp.save_npz(folder / "y_train.npz", sp.csr_matrix(y_train[:, active], dtype=np.float64))
    sp.save_npz(folder / "x_test.npz", sp.csr_matrix(features["test"], dtype=np.float64))
    return len(active), features["train"].shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["ours", "lml"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--lml-python", type=Path, default=LML_PYTHON)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.folder)
        return
    if not FEATURES.is_file():
        sys.exit(f"{FEATURES} is missing: run `kedro run --pipeline=baselines` first")
    if not args.lml_python.is_file():
        sys.exit(f"{args.lml_python} is missing: run `bash benchmarks/setup_libmultilabel.sh`")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n_labels, x_shape = _write_inputs(folder)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        for side, python in (("ours", sys.executable), ("lml", str(args.lml_python))):
            command = [python, __file__, "--worker", side, "--folder", str(folder)]
            subprocess.run(command, check=True, env=env if side == "ours" else None)
        ours = json.loads((folder / "result_ours.json").read_text())
        lml = json.loads((folder / "result_lml.json").read_text())
        values = {side: np.load(folder / f"values_{side}.npy") for side in ("ours", "lml")}
    print(
        f"[data] Reuters TF-IDF: train {x_shape[0]:,} docs × {x_shape[1]:,} features, "
        f"{n_labels} labels with both classes; test {values['ours'].shape[0]:,} docs"
    )
    for name, r in (("ours (scikit-learn LinearSVC)", ours), ("LibMultiLabel 1vsrest", lml)):
        print(
            f"{name:32s} fit {r['fit_s']:6.2f} s + predict {r['predict_s']:5.2f} s = "
            f"{r['fit_s'] + r['predict_s']:6.2f} s; peak RSS {r['peak_rss_mb']:7.1f} MB "
            f"(+{r['peak_rss_mb'] - r['rss_loaded_mb']:.1f} MB after loading), "
            f"{r['threads']} thread(s)"
        )
    total = {k: r["fit_s"] + r["predict_s"] for k, r in (("ours", ours), ("lml", lml))}
    diff = np.abs(values["ours"] - values["lml"]).max()
    same_top1 = (values["ours"].argmax(axis=1) == values["lml"].argmax(axis=1)).mean()
    print(
        f"decision values: max |ours − LibMultiLabel| {diff:.2e}; same top-1 label {same_top1:.2%}"
    )
    print(
        f"ratios ours / LibMultiLabel: time {total['ours'] / total['lml']:.2f}x, "
        f"peak RSS {ours['peak_rss_mb'] / lml['peak_rss_mb']:.2f}x"
    )


if __name__ == "__main__":
    main()
