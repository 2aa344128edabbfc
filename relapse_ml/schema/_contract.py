"""Typed, immutable view of the contract files shipped as package data."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

CONTRACT_FILE = "contract.yaml"
DTYPES = ("string", "date", "category", "number", "integer", "boolean")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a contract table.

    Attributes
    ----------
    name, dtype, description : str
        Column name, one of ``DTYPES``, and its meaning.
    required : bool
        Whether the column must be present and every cell non-empty.
    unit : str or None
        Unit of a numeric column.
    values : tuple of str or None
        Allowed values of a category (or constrained string) column.
    minimum, maximum : float, str or None
        Inclusive range; dates use ISO strings, ``"today"`` for the run date.
    available_from_day : int or None
        Day relative to infusion from which the value is known.
    group : str or None
        Mechanism group the column belongs to when used as a feature.
    pattern : str or None
        Regular expression a string must match in full.
    unique : bool
        Whether values must be unique within the table.
    references : str or None
        ``"table.column"`` that must contain every value.
    finite : bool
        Whether infinities are rejected (NaN is always "missing").
    maximum_source : str or None
        Why ``maximum`` is plausible (physiology, a published value or a physical
        bound); every numeric patient column has one.
    """

    name: str
    dtype: str
    description: str
    required: bool = False
    unit: str | None = None
    values: tuple[str, ...] | None = None
    minimum: float | str | None = None
    maximum: float | str | None = None
    available_from_day: int | None = None
    group: str | None = None
    pattern: str | None = None
    unique: bool = False
    references: str | None = None
    finite: bool = True
    maximum_source: str | None = None

    def date_bounds(self) -> tuple[dt.date | None, dt.date | None]:
        """Return the inclusive date range, resolving ``"today"`` at call time."""

        def as_date(bound: float | str | None) -> dt.date | None:
            if bound is None:
                return None
            if bound == "today":
                return dt.date.today()
            return dt.date.fromisoformat(str(bound))

        return as_date(self.minimum), as_date(self.maximum)


@dataclass(frozen=True)
class TableSpec:
    """One contract table: its columns in contract order and its key."""

    name: str
    needed_for: str
    one_row_per: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of all contract columns, in contract order."""
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Names of the columns that must be present."""
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name`` (``KeyError`` if not in the contract)."""
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no contract column {name!r}")


@dataclass(frozen=True)
class MarkerSpec:
    """One entry of the marker catalogue.

    Attributes
    ----------
    name, unit, group, description : str
        Catalogue name, the unit every value must be in, mechanism group and meaning.
    maximum : float
        Plausible maximum in ``unit``; a larger value is a per-patient problem.
    maximum_source : str
        The physiology, published value or physical bound behind ``maximum``.
    """

    name: str
    unit: str
    group: str
    description: str
    maximum: float
    maximum_source: str


@dataclass(frozen=True)
class Contract:
    """The whole data contract.

    Attributes
    ----------
    version : int
        Contract version (``schema_version`` in outputs and MLflow runs).
    tables : dict of str to TableSpec
        ``patients``, ``measurements`` and ``outcomes``.
    markers : dict of str to MarkerSpec
        The marker catalogue, in catalogue order.
    groups : tuple of str
        Mechanism groups in display order.
    group_labels : dict of str to str
        Plain-language label of each mechanism group.
    default_landmark_day, default_horizon_days : int
        The prediction task's primary landmark day and horizon (days after infusion).
    default_landmarks_days, default_horizons_days : tuple of int
        Every landmark day and every horizon of the task (version 2), ascending;
        they include the primary ones.
    boolean_true, boolean_false : tuple of str
        Accepted boolean literals, lower case.
    """

    version: int
    tables: dict[str, TableSpec]
    markers: dict[str, MarkerSpec]
    groups: tuple[str, ...]
    group_labels: dict[str, str]
    default_landmark_day: int
    default_horizon_days: int
    default_landmarks_days: tuple[int, ...]
    default_horizons_days: tuple[int, ...]
    boolean_true: tuple[str, ...]
    boolean_false: tuple[str, ...]

    @property
    def patients(self) -> TableSpec:
        """The ``patients`` table spec."""
        return self.tables["patients"]

    @property
    def measurements(self) -> TableSpec:
        """The ``measurements`` table spec."""
        return self.tables["measurements"]

    @property
    def outcomes(self) -> TableSpec:
        """The ``outcomes`` table spec."""
        return self.tables["outcomes"]

    def patient_columns_available_at(self, landmark_day: int) -> tuple[str, ...]:
        """Patient columns whose value is known by ``landmark_day`` (identifier excluded)."""
        return tuple(
            c.name
            for c in self.patients.columns
            if c.available_from_day is not None and c.available_from_day <= landmark_day
        )


def _column(raw: dict[str, Any]) -> ColumnSpec:
    if raw["dtype"] not in DTYPES:
        raise ValueError(f"contract column {raw['name']!r} has unknown dtype {raw['dtype']!r}")
    values = raw.get("values")
    return ColumnSpec(
        name=raw["name"],
        dtype=raw["dtype"],
        description=raw.get("description", ""),
        required=bool(raw.get("required", False)),
        unit=raw.get("unit"),
        values=tuple(str(v) for v in values) if values is not None else None,
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        available_from_day=raw.get("available_from_day"),
        group=raw.get("group"),
        pattern=raw.get("pattern"),
        unique=bool(raw.get("unique", False)),
        references=raw.get("references"),
        finite=bool(raw.get("finite", True)),
        maximum_source=raw.get("max_source"),
    )


def _plausible_maximum(what: str, maximum: Any, source: Any) -> None:
    """A contract without a plausible maximum and its source is a broken contract."""
    if isinstance(maximum, bool) or not isinstance(maximum, (int, float)) or not maximum > 0:
        raise ValueError(f"contract {what} needs a positive plausible maximum, got {maximum!r}")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"contract {what} needs max_source (why its maximum is plausible)")


def _marker(raw: dict[str, Any]) -> MarkerSpec:
    _plausible_maximum(f"marker {raw['name']!r}", raw.get("max"), raw.get("max_source"))
    return MarkerSpec(
        raw["name"],
        raw["unit"],
        raw["group"],
        raw["description"],
        float(raw["max"]),
        raw["max_source"].strip(),
    )


def _days(task: dict[str, Any], key: str, primary: int) -> tuple[int, ...]:
    """A list of task days: whole, ascending, distinct, and holding the primary day."""
    raw = task[key]
    if not isinstance(raw, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in raw
    ):
        raise ValueError(f"contract task.{key} must be a list of whole days, got {raw!r}")
    days = tuple(raw)
    if list(days) != sorted(set(days)):
        raise ValueError(f"contract task.{key} must be ascending without repeats, got {raw!r}")
    if primary not in days:
        raise ValueError(f"contract task.{key} {raw!r} must include the primary day {primary}")
    return days


def parse_contract(document: dict[str, Any]) -> Contract:
    """Build a :class:`Contract` from the parsed YAML document."""
    markers = {m["name"]: _marker(m) for m in document["markers"]}
    tables = {}
    for name, raw in document["tables"].items():
        columns = tuple(_column(c) for c in raw["columns"])
        if name == "patients":
            for c in columns:
                if c.dtype in ("number", "integer"):
                    _plausible_maximum(f"column patients.{c.name}", c.maximum, c.maximum_source)
        if name == "measurements":
            # ``values_from: markers`` ties the marker column to the catalogue.
            columns = tuple(
                ColumnSpec(**{**c.__dict__, "values": tuple(markers)}) if c.name == "marker" else c
                for c in columns
            )
        tables[name] = TableSpec(
            name=name,
            needed_for=raw["needed_for"],
            one_row_per=raw["one_row_per"],
            key=tuple(raw["key"]),
            columns=columns,
        )
    groups = tuple(g["name"] for g in document["mechanism_groups"])
    literals = document["boolean_literals"]
    task = document["task"]
    landmark, horizon = int(task["default_landmark_day"]), int(task["default_horizon_days"])
    landmarks = _days(task, "default_landmarks_days", landmark)
    horizons = _days(task, "default_horizons_days", horizon)
    return Contract(
        version=int(document["version"]),
        tables=tables,
        markers=markers,
        groups=groups,
        group_labels={g["name"]: g["label"] for g in document["mechanism_groups"]},
        default_landmark_day=landmark,
        default_horizon_days=horizon,
        default_landmarks_days=landmarks,
        default_horizons_days=horizons,
        # YAML reads the keys ``true``/``false`` as booleans.
        boolean_true=tuple(str(v).lower() for v in literals[True]),
        boolean_false=tuple(str(v).lower() for v in literals[False]),
    )


def contract_text() -> str:
    """Return the contract YAML exactly as shipped in the package."""
    return resources.files("relapse_ml.data_schema").joinpath(CONTRACT_FILE).read_text("utf-8")


@functools.cache
def load_contract() -> Contract:
    """Load the data contract shipped with the package (cached).

    Returns
    -------
    Contract
        The typed contract.
    """
    return parse_contract(yaml.safe_load(contract_text()))
