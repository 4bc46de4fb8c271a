#!/usr/bin/env bash
# LibMultiLabel for benchmarks/bench_svm_libmultilabel.py and bench_cnn_libmultilabel.py, in its
# own virtual environment (benchmarks/.venv-libmultilabel, git-ignored): never installed into
# the project's. torch is pinned to the project's CPU wheel (any other spec pulls CUDA builds).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python3.11 -m venv "$here/.venv-libmultilabel"
"$here/.venv-libmultilabel/bin/pip" install -q --upgrade pip
"$here/.venv-libmultilabel/bin/pip" install -q "libmultilabel[nn]==0.10.0" "torch==2.13.0" \
  "lightning==2.6.6" "scipy" "numpy" "psutil" "setuptools<81"
"$here/.venv-libmultilabel/bin/python" -c \
  "from libmultilabel import linear; from libmultilabel.nn import networks; print('LibMultiLabel ready')"
