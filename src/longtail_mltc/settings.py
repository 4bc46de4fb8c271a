"""Kedro project settings: OmegaConfigLoader with base + local environments."""

from kedro.config import OmegaConfigLoader
from omegaconf.resolvers import oc

from longtail_mltc.hooks import CloseConfigurationRunsOnError, FailRunsOnSignal, ProfileNodes

HOOKS = (CloseConfigurationRunsOnError(), FailRunsOnSignal(), ProfileNodes())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Lets conf/base/mlflow.yml take MLFLOW_TRACKING_URI from the environment (Kedro allows
    # ${oc.env:...} only in credentials unless a project registers it).
    "custom_resolvers": {"oc.env": oc.env},
    # An environment (e.g. conf/ci) overrides single nested keys instead of whole sections.
    "merge_strategy": {"parameters": "soft"},
}
