"""Typed training configuration: defaults, recipe overrides, clear errors."""

from __future__ import annotations

import pytest

from relapse_ml.config import TrainConfig, load_train_config
from relapse_ml.errors import ConfigError


def test_shipped_recipe_equals_the_code_defaults(pytestconfig):
    recipe = load_train_config(pytestconfig.rootpath / "pipelines" / "train.yaml")
    assert recipe == TrainConfig()


def test_recipe_overrides_and_cli_overrides(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(
        "features: {landmark_day: 14}\ntask: {horizon_days: 180, censoring: exclude}\nsplit: {strategy: site, test_sites: [S1]}\n"
    )
    config = load_train_config(path, experiment="exp-a", registered_name=None)
    assert config.landmark_day == 14 and config.task.horizon_days == 180
    assert config.task.censoring == "exclude" and config.split.test_sites == ("S1",)
    assert config.experiment == "exp-a" and config.registered_name == "car-t-relapse"
    params = config.to_params()
    assert params["features.landmark_day"] == "14" and params["task.censoring"] == "exclude"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tasks: {horizon_days: 100}\n", "unknown key(s) tasks"),
        ("task: {horizon: 100}\n", "unknown key(s) horizon"),
        ("task: {censoring: ignore}\n", "task.censoring must be ipcw or exclude"),
        ("task: {horizon_days: 20}\n", "must exceed the landmark day"),
        ("split: {strategy: alphabetical}\n", "split.strategy"),
        ("risk_bands: {thresholds: [0.5, 0.2]}\n", "increasing thresholds"),
        ("features: {landmark: 28}\n", "landmark"),
        ("selection: {families: logistic}\n", "expected a list"),
        ("[unbalanced\n", "not valid YAML"),
    ],
)
def test_bad_recipes_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as excinfo:
        load_train_config(path)
    assert message in str(excinfo.value)
    assert str(path) in str(excinfo.value) or "landmark" in message


def test_missing_recipe_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_train_config(tmp_path / "nope.yaml")
