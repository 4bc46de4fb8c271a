#!/usr/bin/env bash
# LibMultiLabel for benchmarks/bench_svm_libmultilabel.py, in its own virtual environment
# (benchmarks/.venv-libmultilabel, git-ignored): never installed into the project's.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python3.11 -m venv "$here/.venv-libmultilabel"
"$here/.venv-libmultilabel/bin/pip" install -q --upgrade pip
"$here/.venv-libmultilabel/bin/pip" install -q "libmultilabel==0.10.0" "scipy" "numpy"
"$here/.venv-libmultilabel/bin/python" -c "from libmultilabel import linear; print('LibMultiLabel ready')"
