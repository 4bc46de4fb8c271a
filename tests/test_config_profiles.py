"""Corpus profiles and parameters resolve after every configuration environment is merged
(issue 21, item 2), configuration that would silently do nothing is warned about, and
`kedro run` ends a configuration error as one line (item 7)."""

from __future__ import annotations

import inspect
import logging
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import click
import kedro
import pytest
import yaml
from click.testing import CliRunner
from conftest import PROJECT_ROOT
from kedro.config import MissingConfigException, OmegaConfigLoader
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro_project import copy_project

from longtail_mltc import cli, config_checks, settings
from longtail_mltc.config_errors import ConfigurationError

KEDRO = str(Path(sys.executable).with_name("kedro"))

GOEMOTIONS = """\
user_corpora:
  goemotions:
    files: {train: train.tsv, valid: dev.tsv, test: test.tsv}
    text_columns: text
    label_column: labels
corpus_profiles:
  goemotions:
    validation: 5426
    tokenizer: whitespace
"""


def _loader(conf: Path, **kwargs) -> OmegaConfigLoader:
    return settings.CONFIG_LOADER_CLASS(str(conf), **settings.CONFIG_LOADER_ARGS, **kwargs)


def _write(conf: Path, env: str, name: str, text: str) -> Path:
    path = conf / env / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def conf(tmp_path) -> Path:
    """The project's conf/ with an empty conf/local."""
    return copy_project(tmp_path / "project") / "conf"


# --- the overridden Kedro method ---------------------------------------------------------------


def test_the_overridden_kedro_method_is_still_kedros():
    """ProjectConfigLoader overrides OmegaConfigLoader._resolve_from_raw_config, a private
    method of Kedro 1.7.0: an upgrade that renames it or changes its arguments fails here."""
    assert kedro.__version__ == "1.7.0"
    ours = settings.ProjectConfigLoader._resolve_from_raw_config
    kedros = OmegaConfigLoader._resolve_from_raw_config
    assert ours is not kedros
    expected = ["self", "key", "base_configs", "env_configs", "base_path", "env_path"]
    assert list(inspect.signature(kedros).parameters) == [*expected, "processed_files"]
    assert inspect.signature(ours).parameters.keys() == inspect.signature(kedros).parameters.keys()
    assert "self._resolve_from_raw_config(" in inspect.getsource(OmegaConfigLoader.__getitem__)


# --- profiles and interpolations from any environment ------------------------------------------


@pytest.mark.parametrize("env", [None, "ci", "experiment"])
def test_a_profile_declared_beside_its_corpus_outside_base_is_used(conf, env):
    """Kedro resolved conf/base alone: GoEmotions got validation 1000 and the English
    tokenizer although conf/local said 5426 and whitespace."""
    _write(conf, env or "local", "parameters_goemotions.yml", GOEMOTIONS)
    params = _loader(conf, env=env, runtime_params={"corpus": "goemotions"})["parameters"]
    assert params["features"]["validation"] == 5426
    assert params["features"]["tokenizer"] == "whitespace"
    assert params["user_corpora"]["goemotions"]["label_column"] == "labels"
    assert "douban_movies_table" in params["user_corpora"]  # base's corpora stay


def test_a_profile_key_left_out_in_local_keeps_the_default_of_base(conf):
    _write(conf, "local", "parameters_goemotions.yml", GOEMOTIONS)
    params = _loader(conf, runtime_params={"corpus": "goemotions"})["parameters"]
    # the oc.select defaults: no profile key for either
    assert params["label_stats"]["groups"] == {"head_quantile": 0.667, "tail_quantile": 0.333}
    assert params["label_stats"]["head_min"] is None


def test_params_still_override_a_local_profile(conf):
    _write(conf, "local", "parameters_goemotions.yml", GOEMOTIONS)
    runtime = {"corpus": "goemotions", "features": {"validation": 0.2}}
    params = _loader(conf, runtime_params=runtime)["parameters"]
    assert params["features"]["validation"] == 0.2
    assert params["features"]["tokenizer"] == "whitespace"


def test_a_local_file_may_interpolate_the_corpus(conf):
    """Kedro resolved conf/local alone, where `corpus` is not defined."""
    _write(conf, "local", "parameters_mine.yml", "my_report: reports/${corpus}.md\n")
    assert _loader(conf)["parameters"]["my_report"] == "reports/reuters.md"  # globals.yml
    runtime = {"corpus": "bioasq"}
    assert _loader(conf, runtime_params=runtime)["parameters"]["my_report"] == "reports/bioasq.md"


def test_ci_settings_reach_the_backbones_that_interpolate_them():
    """balanced_losses.backbones.rnn_att.training is ${altxml.rnn_att.training}: conf/ci's
    one epoch now reaches it (it stayed at conf/base's 10)."""
    ci = yaml.safe_load((PROJECT_ROOT / "conf/ci/parameters_altxml.yml").read_text("utf-8"))
    params = _loader(PROJECT_ROOT / "conf", env="ci")["parameters"]
    backbones = params["balanced_losses"]["backbones"]
    assert backbones["rnn_att"]["training"]["max_epochs"] == 1
    for name in ("altxml", "rnn_att", "cnn_rnn"):
        assert backbones[name]["training"] == params["altxml"][name]["training"]
        assert backbones[name]["training"] == {
            **backbones[name]["training"],
            **ci["altxml"][name]["training"],
        }


def _leaves(tree: object, path: str = "") -> dict[str, object]:
    if not isinstance(tree, dict):
        return {path: tree}
    return {
        k: v
        for key, sub in tree.items()
        for k, v in _leaves(sub, f"{path}.{key}".lstrip(".")).items()
    }


def test_only_the_interpolated_backbones_change_against_kedros_own_loader(conf):
    """The whole resolved parameters dict: identical to Kedro's loader in the default
    environment (Reuters); under --env ci exactly the 13 values of the three backbones that
    interpolate `altxml` and the 3 of the kim_cnn backbone that interpolates
    `single.encoder_params` differ."""
    args = {**settings.CONFIG_LOADER_ARGS, "runtime_params": {"corpus": "reuters"}}
    kedros = OmegaConfigLoader(str(conf), **args)["parameters"]
    assert _loader(conf, runtime_params={"corpus": "reuters"})["parameters"] == kedros

    kedros_ci = _leaves(OmegaConfigLoader(str(conf), env="ci", **args)["parameters"])
    ours_ci = _leaves(_loader(conf, env="ci", runtime_params={"corpus": "reuters"})["parameters"])
    assert ours_ci.keys() == kedros_ci.keys()
    changed = sorted(key for key in ours_ci if ours_ci[key] != kedros_ci[key])
    assert len(changed) == 16
    assert {key.split(".")[2] for key in changed} == {"altxml", "rnn_att", "cnn_rnn", "kim_cnn"}
    kim_cnn = [key.rsplit(".", 1)[1] for key in changed if ".kim_cnn." in key]
    assert sorted(kim_cnn) == ["embedding_dim", "hidden_dim", "num_filters"]  # conf/ci's single
    assert all(key.startswith("balanced_losses.backbones.") for key in changed)


def test_duplicate_keys_within_an_environment_are_still_refused(conf):
    _write(conf, "local", "parameters_a.yml", "shared_key: 1\n")
    _write(conf, "local", "parameters_b.yml", "shared_key: 2\n")
    with pytest.raises(ValueError, match="Duplicate keys found.*shared_key"):
        _loader(conf)["parameters"]


def test_no_parameter_file_is_still_missing_configuration(tmp_path):
    for env in ("base", "local"):
        (tmp_path / "conf" / env).mkdir(parents=True)
    with pytest.raises(MissingConfigException, match="parameters"):
        _loader(tmp_path / "conf")["parameters"]


# --- warnings ----------------------------------------------------------------------------------


def _warnings(conf: Path, caplog, env: str | None = None, **runtime) -> list[str]:
    """What the project's hook logs once a context exists."""
    loader = _loader(conf, env=env, runtime_params=runtime)
    hook = next(h for h in settings.HOOKS if isinstance(h, settings.WarnOnConfigurationMistakes))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=settings.__name__):
        hook.after_context_created(SimpleNamespace(config_loader=loader))
    return [r.getMessage() for r in caplog.records if r.name == settings.__name__]


def test_the_shipped_configuration_gives_no_warning(conf, caplog):
    assert _warnings(conf, caplog) == []
    assert _warnings(conf, caplog, env="ci", corpus="douban_movies_table") == []


def test_a_profile_key_no_parameter_file_reads_is_named_with_its_file(conf, caplog):
    typo = GOEMOTIONS.replace("validation: 5426", "validaton: 5426")
    _write(conf, "local", "parameters_goemotions.yml", typo)
    [warning] = _warnings(conf, caplog, corpus="goemotions")
    assert "corpus_profiles.goemotions.validaton" in warning
    assert "conf/local/parameters_goemotions.yml" in warning
    assert "validation" in warning.split("read:")[1]  # the keys that would have worked


def test_an_unread_profile_key_from_params_is_named_as_such(conf, caplog):
    runtime = {"corpus_profiles": {"reuters": {"head_mn": 20}}}
    [warning] = _warnings(conf, caplog, **runtime)
    assert warning.startswith("configuration: corpus_profiles.reuters.head_mn (--params)")


def test_a_profile_key_is_known_once_a_parameter_file_reads_it(conf, caplog):
    _write(conf, "local", "parameters_goemotions.yml", GOEMOTIONS + "    my_window: 7\n")
    assert len(_warnings(conf, caplog, corpus="goemotions")) == 1
    _write(
        conf,
        "ci",
        "parameters_window.yml",
        "window: ${oc.select:corpus_profiles.${corpus}.my_window,3}\n",
    )
    assert _warnings(conf, caplog, corpus="goemotions") == []


def test_a_study_namespace_given_another_loss_or_variant_is_warned_about(conf, caplog):
    runtime = {"hscnn_variants": {"focal": {"loss": "cb", "no_mt": {"variant": "no_css"}}}}
    loss, variant = _warnings(conf, caplog, **runtime)
    assert loss.startswith("configuration: hscnn_variants.focal.loss is 'cb' (--params)")
    assert "names the namespace hscnn_variants.focal," in loss
    assert "hscnn_variants.focal.no_mt.variant is 'no_css' (--params)" in variant
    assert "namespace hscnn_variants.focal.no_mt," in variant


def test_a_study_namespace_renamed_in_a_file_is_named_with_its_file(conf, caplog):
    _write(conf, "local", "parameters_study.yml", "hscnn_variants:\n  wce: {loss: db}\n")
    [warning] = _warnings(conf, caplog)
    assert "hscnn_variants.wce.loss is 'db' (conf/local/parameters_study.yml)" in warning
    # the same values as the namespaces' names change nothing and warn about nothing
    _write(conf, "local", "parameters_study.yml", "hscnn_variants:\n  wce: {loss: wce}\n")
    assert _warnings(conf, caplog) == []


ZH_CORPUS = """\
user_corpora:
  reviews_zh:
    files: reviews.csv
    text_columns: text
    label_column: tags
    lang: zh
"""


def test_a_chinese_user_corpus_without_jieba_is_warned_about(conf, caplog):
    _write(conf, "local", "parameters_reviews.yml", ZH_CORPUS)
    [warning] = _warnings(conf, caplog, corpus="reviews_zh")
    assert "user_corpora.reviews_zh.lang is 'zh'" in warning
    assert "conf/local/parameters_reviews.yml" in warning
    assert "features.tokenizer is 'english'" in warning
    assert _warnings(conf, caplog, corpus="reuters") == []  # not the corpus of this run


def test_a_chinese_user_corpus_with_a_jieba_profile_is_not(conf, caplog):
    profile = "corpus_profiles:\n  reviews_zh: {tokenizer: jieba}\n"
    _write(conf, "local", "parameters_reviews.yml", ZH_CORPUS + profile)
    assert _warnings(conf, caplog, corpus="reviews_zh") == []


def test_a_kedro_session_runs_the_checks(project, caplog):
    """The hook is registered: creating a context logs the warning."""
    typo = GOEMOTIONS.replace("tokenizer:", "tokeniser:")
    _write(project / "conf", "local", "parameters_goemotions.yml", typo)
    bootstrap_project(project)  # Kedro's logging setup replaces the root's handlers (caplog's)
    logger = logging.getLogger(settings.__name__)
    logger.addHandler(caplog.handler)
    try:
        with KedroSession.create(
            project_path=project, runtime_params={"corpus": "goemotions"}
        ) as s:
            s.load_context()
    finally:
        logger.removeHandler(caplog.handler)
    # One record can reach caplog's handler twice (here and through the root logger, when an
    # earlier test left Kedro's logging set up): count distinct records, not captures.
    records = {id(r): r for r in caplog.records if r.name == settings.__name__}
    messages = [r.getMessage() for r in records.values()]
    assert len(messages) == 1 and "corpus_profiles.goemotions.tokeniser" in messages[0]


def test_known_keys_come_from_the_parameter_files(tmp_path):
    folder = tmp_path / "conf"
    _write(folder, "base", "parameters.yml", "a: ${oc.select:corpus_profiles.${corpus}.alpha,1}\n")
    _write(folder, "base", "parameters/nested.yml", "b: ${corpus_profiles.${corpus}.beta_2}\n")
    _write(folder, "base", "catalog.yml", "c: ${oc.select:corpus_profiles.${corpus}.gamma,1}\n")
    files = config_checks.parameter_files(folder)
    assert {p.relative_to(folder).as_posix() for p in files} == {
        "base/parameters.yml",
        "base/parameters/nested.yml",
    }
    assert config_checks.profile_keys_read(files) == {"alpha", "beta_2"}


# --- configuration errors on the command line --------------------------------------------------


def test_a_configuration_error_is_found_among_causes_and_contexts():
    wrong = ConfigurationError("user_corpora.x.files: expected a file name, got 3")
    assert cli.configuration_error_in(wrong) is wrong
    try:
        try:
            raise wrong
        except ConfigurationError as error:
            raise RuntimeError("node failed") from error
    except RuntimeError as caused:
        assert cli.configuration_error_in(caused) is wrong
    try:
        try:
            raise wrong
        except ConfigurationError:
            raise KeyError("while handling") from None  # the context is still kept
    except KeyError as handled:
        assert cli.configuration_error_in(handled) is wrong
    assert cli.configuration_error_in(ValueError("not configuration")) is None


def test_run_keeps_kedros_options():
    assert [p.name for p in cli.cli.commands["run"].params] == [
        p.name for p in cli.kedro_run.params
    ]


def _invoke_run(monkeypatch, error: Exception):
    def failing(**options):
        assert options["env"] == "ci" and options["params"] == {"corpus": "x"}
        raise error

    monkeypatch.setattr(cli.kedro_run, "callback", failing)
    return CliRunner().invoke(cli.cli, ["run", "--env", "ci", "--params", "corpus=x"])


def test_run_ends_a_configuration_error_as_one_line(monkeypatch):
    wrapped = RuntimeError("runner")
    wrapped.__cause__ = ConfigurationError("corpus: expected a declared corpus, got 'x'")
    result = _invoke_run(monkeypatch, wrapped)
    assert result.exit_code == 2
    assert result.output == "configuration error: corpus: expected a declared corpus, got 'x'\n"


def test_run_raises_other_errors_as_kedro_does(monkeypatch):
    result = _invoke_run(monkeypatch, ZeroDivisionError("a bug"))
    assert result.exit_code == 1 and isinstance(result.exception, ZeroDivisionError)
    assert not isinstance(result.exception, click.exceptions.Exit)


def test_kedro_run_with_an_unknown_corpus_prints_one_line(tmp_path):
    """It printed a ~180-line traceback and exited with status 1."""
    project = copy_project(tmp_path / "project")
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
    }
    out = subprocess.run(
        [KEDRO, "run", "--pipelines=ingestion", "--env=ci", "--params", "corpus=nonexistent"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2, (out.stdout + out.stderr)[-3000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("configuration error: unknown corpus 'nonexistent'")
    assert "user_corpora" in last and "douban_movies_table" in last
    assert "Traceback" not in out.stdout + out.stderr
