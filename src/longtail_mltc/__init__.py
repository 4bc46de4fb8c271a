"""longtail-mltc: multi-label text classification under long-tailed label distributions.

The library layers (text, labels, sampling, corpora, evaluation, losses, models, linear,
training, inference) import neither kedro nor mlflow; ``datasets`` and ``serving`` sit above
them, and ``pipelines`` with the hooks, settings and CLI is the Kedro glue. The layer order and
the allowed imports are in docs/development.md "Layers" (checked by tests/test_layers.py).
"""

__version__ = "0.1.0"
