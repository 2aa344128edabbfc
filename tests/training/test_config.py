"""Typed training configuration: defaults, recipe overrides, clear errors."""

from __future__ import annotations

import pytest
import yaml

from relapse_ml.config import load_train_config
from relapse_ml.errors import ConfigError
from relapse_ml.training.config import TrainConfig


def _flat(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict) and key != "antigen_density_thresholds":
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_the_defaults_are_the_shipped_recipe_read_from_the_package(pytestconfig):
    # pipelines/train.yaml is the one place the defaults are written: every key it
    # sets is what a config loaded without a recipe holds.
    recipe = yaml.safe_load((pytestconfig.rootpath / "pipelines" / "train.yaml").read_text())
    params = load_train_config().to_params()
    compared = 0
    for key, value in _flat(recipe):
        if key == "features.antigen_density_thresholds" or key.startswith("risk_bands.by_landmark"):
            continue
        expected = tuple(value) if isinstance(value, list) else value
        assert params[key] == str(expected), key
        compared += 1
    assert compared > 25
    bands = load_train_config().risk_bands
    assert dict(bands.by_landmark) == {
        int(k): tuple(v) for k, v in recipe["risk_bands"]["by_landmark"].items()
    }
    assert bands.for_landmark(90).thresholds == tuple(recipe["risk_bands"]["by_landmark"][90])
    assert bands.for_landmark(28).thresholds == tuple(recipe["risk_bands"]["thresholds"])
    assert isinstance(load_train_config(), TrainConfig)
    assert load_train_config(pytestconfig.rootpath / "pipelines" / "train.yaml") == (
        load_train_config()
    )


def test_recipe_overrides_and_cli_overrides(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(
        "task: {landmarks_days: [14, 60], horizon_days: 180, censoring: exclude}\n"
        "split: {strategy: site, test_sites: [S1]}\n"
    )
    config = load_train_config(path, experiment="exp-a", registered_name=None)
    assert config.landmark_day == 14 and config.task.horizon_days == 180
    assert config.task.landmarks_days == (14, 60) and config.task.horizons_days == (180, 365, 730)
    assert config.features_at(60).landmark_day == 60
    assert config.task.horizons_after(180) == (365, 730)
    assert config.task.censoring == "exclude" and config.split.test_sites == ("S1",)
    assert config.experiment == "exp-a" and config.registered_name == "car-t-relapse"
    params = config.to_params()
    assert params["task.landmarks_days"] == "(14, 60)" and params["task.censoring"] == "exclude"
    assert "features.landmark_day" not in params


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tasks: {horizon_days: 100}\n", "unknown key 'tasks'"),
        ("task: {horizon: 100}\n", "unknown key 'task.horizon'"),
        ("task: {censoring: ignore}\n", "censoring must be one of ipcw, exclude"),
        ("task: {horizon_days: 20}\n", "horizon_days (20) must be one of horizons_days"),
        ("task: {horizons_days: [20, 30]}\n", "horizon_days (365) must be one of horizons_days"),
        ("task: {landmarks_days: [28, 400]}\n", "[400] are not before the primary horizon 365"),
        ("task: {landmarks_days: [90, 28]}\n", "increasing without repeats"),
        ("task: {landmarks_days: []}\n", "at least one day"),
        (
            "features: {landmark_day: 90}\n",
            "'features.landmark_day' was replaced by 'task.landmarks_days'",
        ),
        ("task: {horizon_days: soon}\n", "task.horizon_days: expected int"),
        ("split: {strategy: alphabetical}\n", "strategy must be one of random, temporal, site"),
        ("promotion: {metric: accuracy}\n", "metric must be one of auroc"),
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
