"""Kedro project settings: OmegaConfigLoader with base + local environments."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kedro.config import MissingConfigException, OmegaConfigLoader
from kedro.framework.hooks import hook_impl
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import UnsupportedInterpolationType
from omegaconf.resolvers import oc

from longtail_mltc.config_checks import configuration_warnings
from longtail_mltc.hooks import (
    CloseConfigurationRunsOnError,
    FailRunsOnSignal,
    HideTrackingCredentials,
    NameSessionRunAfterCorpus,
    ProfileNodes,
    RemoveOutputsOfFailedIngestion,
    RequireInputFiles,
)

logger = logging.getLogger(__name__)


class WarnOnConfigurationMistakes:
    """Once the context exists, log a WARNING for each :mod:`longtail_mltc.config_checks`
    finding (an unread ``corpus_profiles`` key, a Chinese user corpus without jieba)."""

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        loader = context.config_loader
        try:
            params = loader["parameters"]
        except Exception:  # the run reports it where the parameters are used; nothing to check
            logger.debug("configuration checks skipped: parameters do not load", exc_info=True)
            return
        envs = [loader.base_env, loader.env or loader.default_run_env]
        for warning in configuration_warnings(params, Path(loader.conf_source), envs):
            logger.warning("configuration: %s", warning)


HOOKS = (
    CloseConfigurationRunsOnError(),
    FailRunsOnSignal(),
    HideTrackingCredentials(),
    NameSessionRunAfterCorpus(),
    ProfileNodes(),
    WarnOnConfigurationMistakes(),
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
    """Kedro's loader with two changes.

    - Parameters resolve once, after conf/base, the run environment (conf/local, conf/ci) and
      ``--params`` are merged, so ``${oc.select:corpus_profiles.${corpus}.validation,1000}`` in
      conf/base sees a profile declared in conf/local, and a conf/local file may use
      ``${corpus}``. Kedro 1.7 resolves conf/base alone first (issue 21, item 2).
    - ``${oc.env:...}`` also works in mlflow.yml, for the tracking URI only. Kedro itself
      resolves ``oc.env`` in credentials alone. Anywhere else (parameters, ``--params``, the
      catalog) it is refused with an error naming the key, before any value is read.
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

    # Overrides a private method of Kedro 1.7.0's OmegaConfigLoader (kedro is pinned ==1.7.0;
    # tests/test_config_profiles.py pins its signature, so an upgrade fails loudly there).
    def _resolve_from_raw_config(  # noqa: PLR0913
        self,
        key: str,
        base_configs: dict[Path, DictConfig],
        env_configs: dict[Path, DictConfig],
        base_path: str,
        env_path: str,
        processed_files: set[Path],
    ) -> dict[str, Any]:
        """Parameters: merge base, the run environment and the runtime parameters unresolved,
        then resolve once. Every other key, and a non-soft merge, as Kedro does it.

        The soft merge of resolved dicts that Kedro does equals this merge of the unresolved
        files, except that interpolations now see the merged result. Duplicate keys within an
        environment are still refused (``_read_raw_config`` checks them).
        """
        soft = self.merge_strategy.get(key, "destructive") == "soft"
        if key != "parameters" or not soft:
            return super()._resolve_from_raw_config(
                key, base_configs, env_configs, base_path, env_path, processed_files
            )
        if not processed_files:
            raise MissingConfigException(
                f"No files of YAML or JSON format found in {base_path} or {env_path} matching"
                f" the glob pattern(s): {[*self.config_patterns[key]]}"
            )
        merged = OmegaConf.unsafe_merge(
            *base_configs.values(), *env_configs.values(), self.runtime_params
        )
        return OmegaConf.to_container(merged, resolve=True)  # type: ignore[return-value]


CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment (e.g. conf/ci) overrides single nested keys instead of whole sections.
    "merge_strategy": {"parameters": "soft"},
}
