"""The feature catalogue: what each feature is, for explanations and reports.

Facts
-----
Some features are forms of one measurement: ``car_auc_0_28_log`` is
``log10(1 + car_auc_0_28)``, the same exposure of the same marker over the same
window. Explanations that speak to a clinician (drivers) must state such a
measurement once, so :func:`measurement_facts` gives every feature its *fact*.
The catalogue encodes a log form in two places that must agree, and both are
required:

- its unit is ``log10(1 + <unit>)`` where ``<unit>`` is the unit of the value;
- its name is the value's feature name plus ``_log`` or ``_log10``
  (:data:`LOG_SUFFIXES`), with the same group, sources and numeric kind.

A log form whose value is not itself a feature (``ldh_u_per_l_log10``: the
contract column is not a feature) is a fact of its own. Threshold flags
(``mrd_positive_at_landmark``), missingness flags and other statistics of the
same marker (peak, level, trend) are separate facts: they say something the
value does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd

FEATURE_KINDS = ("numeric", "binary", "categorical")
#: Name suffixes of a feature that holds ``log10(1 + x)`` of feature ``x``.
LOG_SUFFIXES = ("_log", "_log10")
_LOG_UNIT = re.compile(r"log10\(1 \+ (?P<unit>.+)\)")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature produced by the landmark feature pipeline.

    Attributes
    ----------
    name : str
        Column name in the feature frame (self-explaining, e.g. ``car_auc_0_28_log``).
    group : str
        Mechanism group (one of the contract's groups).
    kind : {"numeric", "binary", "categorical"}
        How modelling treats it: numeric is float64 (NaN missing); binary is
        float64 0/1 (NaN missing); categorical is a string column with
        ``categories`` as the allowed values (NaN missing).
    unit : str
        Unit of the value shown to a clinician ("" when unitless).
    label : str
        Plain-language label a clinician understands.
    sources : tuple of str
        Contract columns and markers it is computed from (``patients.x`` / ``marker:y``).
    categories : tuple of str or None
        Allowed values of a categorical feature.
    """

    name: str
    group: str
    kind: str
    unit: str
    label: str
    sources: tuple[str, ...]
    categories: tuple[str, ...] | None = None


def catalogue_frame(catalogue: tuple[FeatureSpec, ...]) -> pd.DataFrame:
    """Return the catalogue as a DataFrame (one row per feature)."""
    rows = [{**asdict(s), "sources": ";".join(s.sources)} for s in catalogue]
    return pd.DataFrame(rows, columns=[f for f in FeatureSpec.__dataclass_fields__])


def _log_form_of(spec: FeatureSpec, by_name: dict[str, FeatureSpec]) -> FeatureSpec | None:
    """The feature whose value ``spec`` holds as ``log10(1 + x)``, or None."""
    for suffix in LOG_SUFFIXES:
        value = by_name.get(spec.name[: -len(suffix)]) if spec.name.endswith(suffix) else None
        if value is None:
            continue
        unit = _LOG_UNIT.fullmatch(spec.unit)
        same = (
            unit is not None
            and unit.group("unit") == value.unit
            and (spec.group, tuple(spec.sources)) == (value.group, tuple(value.sources))
            and spec.kind == value.kind == "numeric"
        )
        if not same:
            raise ValueError(
                f"catalogue: {spec.name!r} is named as the log form of {value.name!r} but its "
                f"unit, group, sources or kind say otherwise ({spec.unit!r} vs {value.unit!r})"
            )
        return value
    return None


def measurement_facts(catalogue: Sequence[FeatureSpec]) -> tuple[str, ...]:
    """The fact each feature states, in catalogue order (see the module docstring).

    Parameters
    ----------
    catalogue : sequence of FeatureSpec
        A model's or a feature pipeline's catalogue.

    Returns
    -------
    tuple of str
        One key per feature: the name of the member that states the fact most
        readably, the value on its measured scale (``car_auc_0_28`` for both
        ``car_auc_0_28`` and ``car_auc_0_28_log``). A feature that is the only form
        of its measurement is its own fact.

    Raises
    ------
    ValueError
        When a feature is named as the log form of another but its unit, group,
        sources or kind disagree (the catalogue contradicts itself).
    """
    by_name = {s.name: s for s in catalogue}

    def fact(spec: FeatureSpec) -> str:
        value = _log_form_of(spec, by_name)
        return spec.name if value is None else fact(value)

    return tuple(fact(s) for s in catalogue)
