"""longtail-mltc: multi-label text classification under long-tailed label distributions.

Library layers (corpora, text, labels, losses, models, sampling, training, evaluation) import
neither kedro nor mlflow; ``pipelines`` is the Kedro glue (see ../shared/docs/DESIGN.md).
"""

__version__ = "0.1.0"
