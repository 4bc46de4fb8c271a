"""Serving glue: trained configurations as MLflow pyfunc models (imports mlflow, like
``pipelines/``; the science is :class:`longtail_mltc.inference.TextLabeler`)."""

from .pyfunc import PREDICTOR_PATH, LabelerModel, save_predictor

__all__ = ["PREDICTOR_PATH", "LabelerModel", "save_predictor"]
