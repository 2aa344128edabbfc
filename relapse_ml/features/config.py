"""Typed options of the landmark feature pipeline (the ``features`` section of ``pipelines/train.yaml``).

The shipped recipe is the one place the defaults are written: a
:class:`FeatureConfig` built from a partial mapping, and a transformer whose
parameter is left at ``None``, take the recipe's value.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from relapse_ml.errors import ConfigError

GROUPS = ("antigen", "exhaustion", "persistence", "tme", "clinical")

#: Below-the-limit rules: the factor applied to the reported limit of
#: quantification.  ``half`` (LLOQ/2) is the default; ``sqrt2`` (LLOQ/sqrt(2),
#: Hornung & Reed 1990) is the usual alternative for log-normal data.  The limit
#: itself is never used as the value.
LLOQ_FACTORS = {"half": 0.5, "sqrt2": 1.0 / math.sqrt(2.0)}

#: Antigen-density thresholds (molecules per tumour cell) are rows
#: ``(target_antigen, disease, threshold)``; disease ``"*"`` matches any disease
#: without its own entry.  Sources (shared/spec/domain.md section 2.3):
#: CD19 B-ALL 2,000 (Majzner, ASH 2018); CD19 LBCL 3,000 (Nat Med 2021, axi-cel),
#: applied to the other lymphomas and CLL for lack of disease-specific figures.
#: CD19/CD22 dual CARs use the CD19 figures (the density column holds the first
#: target).  CD22 and BCMA have no published clinical cut-off: CD22 reuses the
#: CD19 figures (Fry 2018 reports lower CD22 density at relapse, no cut-off) and
#: BCMA uses 1,000 molecules/cell, a low-density placeholder well below the
#: ~12,600 typical of myeloma cells (Singh 2021 model).  Both are assumptions;
#: the values are in ``pipelines/train.yaml``.
PACKAGED_RECIPES = "relapse_ml.pipelines"
TRAIN_RECIPE = "train.yaml"


@dataclass(frozen=True)
class FeatureConfig:
    """Options of the landmark feature pipeline.

    Parameters
    ----------
    landmark_day : int
        Landmark day L: only measurements with ``day <= L`` and patient columns
        available by day L are used.
    groups : tuple of str
        Groups to compute, output in this order.
    lloq_rule : {"half", "sqrt2"}
        A value reported with qualifier ``<`` (below the limit of quantification,
        ``value`` holding the limit) becomes ``limit * factor`` (1/2 or 1/sqrt 2)
        for levels, peaks and areas, and counts as *not detectable* for detection
        flags (CAR detectable, MRD positive, B-cell aplasia).  Applied to each
        replicate before replicates are averaged.
    b_cell_aplasia_threshold_per_ul : float
        A post-infusion B-cell count below this (cells/uL), or below the limit of
        quantification, is B-cell aplasia.  Trials define aplasia as CD19+ B cells
        < 1% of lymphocytes (Gardner, Blood 2017; ELIANA); with the ~1,000
        lymphocytes/uL typical after lymphodepletion that is about 10 cells/uL,
        an order of magnitude below normal B-cell counts (100-500/uL).
    peak_window_days : int
        In-vivo exhaustion markers "at the expansion peak" use the observation
        nearest to the CAR-transgene peak day within this many days (earlier wins
        a tie); missing when there is none.
    antigen_negative_pos_pct_cutoff : float
        Antigen-negative residual disease: MRD positive at L while fewer than
        this % of residual tumour cells carry the target antigen (most residual
        cells have escaped).
    antigen_density_thresholds : tuple of (target, disease, threshold)
        Published antigen-density thresholds (sources above).

    Every default is the shipped recipe's (:func:`default_feature_config`).
    """

    landmark_day: int
    groups: tuple[str, ...]
    lloq_rule: str
    b_cell_aplasia_threshold_per_ul: float
    peak_window_days: int
    antigen_negative_pos_pct_cutoff: float
    antigen_density_thresholds: tuple[tuple[str, str, float], ...]

    def __post_init__(self) -> None:
        validate_options(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureConfig:
        """Build a config from a parsed YAML mapping over the recipe's defaults, rejecting unknown keys.

        Parameters
        ----------
        d : mapping
            Keys are field names (any subset).  ``groups`` may be a list;
            ``antigen_density_thresholds`` a mapping ``{target: {disease: value}}``
            (disease ``"*"`` for any) or a list of ``[target, disease, value]``.

        Raises
        ------
        ConfigError
            On an unknown key or an invalid value.
        """
        if not isinstance(d, Mapping):
            raise ConfigError(f"feature options must be a mapping, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        for key in d:
            if key not in known:
                raise ConfigError(
                    f"unknown feature option {key!r}; expected one of {sorted(known)}"
                )
        kwargs = {**_recipe_options(), **d}
        if "groups" in kwargs:
            kwargs["groups"] = tuple(kwargs["groups"])
        if "antigen_density_thresholds" in kwargs:
            kwargs["antigen_density_thresholds"] = _thresholds_from(
                kwargs["antigen_density_thresholds"]
            )
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"invalid feature options: {err}") from err

    def to_dict(self) -> dict[str, Any]:
        """Return the options as plain (YAML/JSON-friendly) values."""
        out = dataclasses.asdict(self)
        out["groups"] = list(self.groups)
        out["antigen_density_thresholds"] = [list(t) for t in self.antigen_density_thresholds]
        return out


@functools.cache
def _recipe_options() -> dict[str, Any]:
    """The ``features`` section of the shipped ``pipelines/train.yaml``, with the first landmark."""
    text = resources.files(PACKAGED_RECIPES).joinpath(TRAIN_RECIPE).read_text(encoding="utf-8")
    recipe = yaml.safe_load(text)
    # The landmark is the task's (one model per landmark); the first is the default.
    return {**recipe["features"], "landmark_day": recipe["task"]["landmarks_days"][0]}


@functools.cache
def default_feature_config() -> FeatureConfig:
    """The feature options of the shipped recipe."""
    return FeatureConfig.from_dict({})


def _thresholds_from(raw: Any) -> tuple[tuple[str, str, float], ...]:
    if isinstance(raw, Mapping):
        rows = []
        for target, per_disease in raw.items():
            if not isinstance(per_disease, Mapping):
                raise ConfigError(
                    f"antigen_density_thresholds[{target!r}] must map disease to value"
                )
            rows.extend((str(target), str(dis), float(v)) for dis, v in per_disease.items())
        return tuple(rows)
    return tuple((str(t), str(dis), float(v)) for t, dis, v in raw)


def validate_options(
    *,
    landmark_day: Any,
    groups: Any,
    lloq_rule: Any,
    b_cell_aplasia_threshold_per_ul: Any,
    peak_window_days: Any,
    antigen_negative_pos_pct_cutoff: Any,
    antigen_density_thresholds: Any,
) -> None:
    """Raise ``ValueError`` naming the first invalid option (used by config and estimators)."""
    if (
        isinstance(landmark_day, bool)
        or not isinstance(landmark_day, numbers.Integral)
        or landmark_day < 0
    ):
        raise ValueError(f"landmark_day must be a non-negative int, got {landmark_day!r}")
    if not isinstance(groups, tuple) or not groups:
        raise ValueError(f"groups must be a non-empty tuple, got {groups!r}")
    for g in groups:
        if g not in GROUPS:
            raise ValueError(f"unknown feature group {g!r}; expected some of {GROUPS}")
    if len(set(groups)) != len(groups):
        raise ValueError(f"groups must not repeat, got {groups!r}")
    if lloq_rule not in LLOQ_FACTORS:
        raise ValueError(f"lloq_rule must be one of {sorted(LLOQ_FACTORS)}, got {lloq_rule!r}")
    for name, value in (
        ("b_cell_aplasia_threshold_per_ul", b_cell_aplasia_threshold_per_ul),
        ("antigen_negative_pos_pct_cutoff", antigen_negative_pos_pct_cutoff),
    ):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if (
        isinstance(peak_window_days, bool)
        or not isinstance(peak_window_days, numbers.Integral)
        or peak_window_days < 0
    ):
        raise ValueError(f"peak_window_days must be a non-negative int, got {peak_window_days!r}")
    for row in antigen_density_thresholds:
        if len(row) != 3 or not float(row[2]) > 0:
            raise ValueError(
                f"antigen density threshold must be (target, disease, >0), got {row!r}"
            )
