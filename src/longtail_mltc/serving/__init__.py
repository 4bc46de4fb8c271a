"""Serving glue: trained configurations as MLflow pyfunc models without pickle (imports
mlflow, like ``pipelines/``; the science is :class:`longtail_mltc.inference.TextLabeler`)."""

from .batch import label_table
from .pyfunc import LOADER_MODULE, PREDICTOR_PATH, LabelerModel, load_labeler, save_predictor

__all__ = [
    "LOADER_MODULE",
    "PREDICTOR_PATH",
    "LabelerModel",
    "label_table",
    "load_labeler",
    "save_predictor",
]
