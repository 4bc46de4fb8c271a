"""Kedro project settings: OmegaConfigLoader with base + local environments."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kedro.config import OmegaConfigLoader
from omegaconf import OmegaConf
from omegaconf.errors import UnsupportedInterpolationType
from omegaconf.resolvers import oc

from longtail_mltc.hooks import (
    CloseConfigurationRunsOnError,
    FailRunsOnSignal,
    HideTrackingCredentials,
    ProfileNodes,
    RemoveOutputsOfFailedIngestion,
    RequireInputFiles,
)

HOOKS = (
    CloseConfigurationRunsOnError(),
    FailRunsOnSignal(),
    HideTrackingCredentials(),
    ProfileNodes(),
    RemoveOutputsOfFailedIngestion(),
    RequireInputFiles(),
)

# The environment variables configuration may read besides credentials (where Kedro allows any):
# only in mlflow.yml, and only the tracking URI, so `--params x=${oc.env:TOKEN}` cannot copy a
# secret into MLflow parameters or logs.
MLFLOW_ENVIRONMENT_VARIABLES = frozenset({"MLFLOW_TRACKING_URI"})
_ENV_RESOLVER = "oc.env"


def _mlflow_env(name: str, *default: Any) -> Any:
    """``oc.env`` restricted to ``MLFLOW_ENVIRONMENT_VARIABLES``."""
    if name not in MLFLOW_ENVIRONMENT_VARIABLES:
        raise ValueError(
            f"mlflow.yml reads only {sorted(MLFLOW_ENVIRONMENT_VARIABLES)} from the environment, "
            f"not {name!r}: put secrets in conf/local/credentials.yml"
        )
    return oc.env(name, *default)


@contextmanager
def _resolver(name: str, function: Any) -> Iterator[None]:
    OmegaConf.register_resolver(name, function, replace=True)
    try:
        yield
    finally:
        OmegaConf.clear_resolver(name)


class ProjectConfigLoader(OmegaConfigLoader):
    """Kedro's loader; ``${oc.env:...}`` also works in mlflow.yml, for the tracking URI only.

    Kedro itself resolves ``oc.env`` in credentials alone. Anywhere else (parameters,
    ``--params``, the catalog) it is refused with an error naming the key, before any value is
    read from the environment.
    """

    def __getitem__(self, key: str) -> dict[str, Any]:
        try:
            if key != "mlflow":
                return super().__getitem__(key)
            with _resolver(_ENV_RESOLVER, _mlflow_env):
                return super().__getitem__(key)
        except UnsupportedInterpolationType as exc:
            if _ENV_RESOLVER not in str(exc):
                raise
            raise ValueError(
                f"{key}: environment variables (${{oc.env:...}}) are read only in credentials "
                f"and in mlflow.yml ({', '.join(sorted(MLFLOW_ENVIRONMENT_VARIABLES))}); "
                f"'{exc.full_key}' asks for one"
            ) from None


CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment (e.g. conf/ci) overrides single nested keys instead of whole sections.
    "merge_strategy": {"parameters": "soft"},
}
