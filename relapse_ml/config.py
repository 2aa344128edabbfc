"""Configuration loaded once, at the CLI: YAML recipes into the typed objects the layers define.

``pipelines/train.yaml`` (shipped inside the package as ``relapse_ml.pipelines``)
is the one place the training defaults are written; a user's recipe overrides
any subset of its keys, and the command line a few top-level ones. Each section
becomes the type of the layer that uses it (``FeatureConfig`` in features,
``TaskConfig`` in task, ``SplitConfig`` and ``SelectionConfig`` in modeling,
``EvaluationConfig`` in evaluation, ``RiskBands`` in artifact,
``PromotionConfig`` and ``TrainConfig`` in training), and each type checks its
own allowed values against the constants that define them. Unknown keys are
errors that name the file and the key, never silently ignored.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from relapse_ml.errors import ConfigError
from relapse_ml.features import FeatureConfig
from relapse_ml.training.config import TrainConfig

PACKAGED_RECIPES = "relapse_ml.pipelines"
TRAIN_RECIPE = "train.yaml"
CHAMPION_ALIAS = "champion"
# Keys of earlier recipes, and what replaced them (named in the error).
_RENAMED_KEYS = {
    "features.landmark_day": "'task.landmarks_days' (a list of landmark days, e.g. [28, 90, 180])"
}


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({exc})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, Mapping):
        raise ConfigError(f"{where}: expected a mapping of options, found {type(loaded).__name__}")
    return dict(loaded)


@functools.cache
def _packaged_train_recipe() -> dict[str, Any]:
    text = resources.files(PACKAGED_RECIPES).joinpath(TRAIN_RECIPE).read_text(encoding="utf-8")
    return _read_yaml(text, f"{PACKAGED_RECIPES}/{TRAIN_RECIPE}")


def default_registered_name() -> str:
    """The registered model name of the shipped recipe (``car-t-relapse``)."""
    return str(_packaged_train_recipe()["registered_name"])


def default_model_uri() -> str:
    """What ``predict`` and ``explain`` score with by default: the champion of the shipped name."""
    return f"models:/{default_registered_name()}@{CHAMPION_ALIAS}"


def _merge(base: Mapping[str, Any], update: Mapping[str, Any], where: str, path: str = ""):
    """``base`` with ``update``'s keys replacing or (for sections) merging into it."""
    out = dict(base)
    for key, value in update.items():
        name = f"{path}{key}"
        if name in _RENAMED_KEYS:
            raise ConfigError(f"{where}: {name!r} was replaced by {_RENAMED_KEYS[name]}")
        if key not in base:
            known = ", ".join(sorted(base))
            raise ConfigError(f"{where}: unknown key {name!r}; known here: {known}")
        # Antigen thresholds are one value (a table), replaced whole, not merged.
        if (
            isinstance(base[key], Mapping)
            and isinstance(value, Mapping)
            and name != ("features.antigen_density_thresholds")
        ):
            out[key] = _merge(base[key], value, where, f"{name}.")
        else:
            out[key] = value
    return out


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _build(cls: type, values: Mapping[str, Any], where: str) -> Any:
    """Instantiate dataclass ``cls`` from a complete mapping (sections recursively)."""
    if cls is FeatureConfig:
        try:
            return FeatureConfig.from_dict(values)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    fields = [f.name for f in dataclasses.fields(cls)]
    missing = [name for name in fields if name not in values]
    if missing:
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}")
    kwargs: dict[str, Any] = {}
    for name in fields:
        kind, value = _field_type(cls, name), values[name]
        if dataclasses.is_dataclass(kind):
            kwargs[name] = _build(kind, value, f"{where}.{name}")
        elif typing.get_origin(kind) is tuple and isinstance(value, Mapping):
            kwargs[name] = dict(value)  # a keyed table (risk bands by landmark): the type converts
        elif typing.get_origin(kind) is tuple:
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{where}.{name}: expected a list, found {value!r}")
            kwargs[name] = tuple(value)
        elif isinstance(kind, types.UnionType) or value is None:
            kwargs[name] = value
        elif kind in (int, float, bool, str) and not _is_kind(value, kind):
            raise ConfigError(
                f"{where}.{name}: expected {kind.__name__}, found {type(value).__name__} {value!r}"
            )
        else:
            kwargs[name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _is_kind(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def load_train_config(path: Path | None = None, **overrides: Any) -> TrainConfig:
    """The shipped recipe, overridden by ``path`` and then by ``overrides``.

    Parameters
    ----------
    path : Path, optional
        A user's recipe (any subset of ``pipelines/train.yaml``'s keys).
    **overrides
        Keys set from the command line (e.g. ``experiment``), or whole sections
        as mappings merged into the recipe's (``selection={"families": [...]}``);
        ``None`` is ignored.

    Raises
    ------
    ConfigError
        The file is missing or unreadable, or holds unknown keys or bad values.
    """
    values = _packaged_train_recipe()
    where = f"{PACKAGED_RECIPES}/{TRAIN_RECIPE}"
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror})") from None
        where = str(path)
        values = _merge(values, _read_yaml(text, where), where)
    given = {k: v for k, v in overrides.items() if v is not None}
    if given:
        where = f"{where} with {', '.join(sorted(given))} from the command line"
        values = _merge(values, given, where)
    return _build(TrainConfig, values, where)
