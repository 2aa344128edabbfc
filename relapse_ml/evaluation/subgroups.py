"""Performance by subgroup (disease, target antigen, costimulatory domain, site...)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from relapse_ml.evaluation._kernels import MetricKernels, check_inputs, single_threaded_blas
from relapse_ml.evaluation.bootstrap import METRIC_NAMES

__all__ = ["DEFAULT_SUBGROUPS", "MISSING_LEVEL", "subgroup_metrics"]

DEFAULT_SUBGROUPS = ("disease", "target_antigen", "costim_domain", "site")
MISSING_LEVEL = "(missing)"


def _levels(column: pd.Series) -> tuple[pd.Series, list[str]]:
    """Column as strings (missing -> MISSING_LEVEL) and its observed levels in order."""
    as_str = column.astype(object).where(column.notna(), MISSING_LEVEL).astype(str)
    present = set(as_str)
    if isinstance(column.dtype, pd.CategoricalDtype):
        ordered = [str(c) for c in column.cat.categories if str(c) in present]
    else:
        ordered = sorted(present - {MISSING_LEVEL})
    if MISSING_LEVEL in present:
        ordered.append(MISSING_LEVEL)
    return as_str, ordered


@single_threaded_blas
def subgroup_metrics(
    frame: pd.DataFrame,
    by: Sequence[str] = DEFAULT_SUBGROUPS,
    *,
    min_events: int = 10,
    y_col: str = "y",
    p_col: str = "p",
    w_col: str | None = "w",
) -> pd.DataFrame:
    """Metrics within each level of each subgroup variable, small groups suppressed.

    Parameters
    ----------
    frame : DataFrame
        One row per test patient with the ``by`` columns, the outcome ``y_col``
        (0/1), the predicted risk ``p_col`` and the weight ``w_col``.
    by : sequence of str
        Subgroup variables; each is analysed separately (no crossing). Missing
        values form their own level, ``"(missing)"``, so every patient is counted.
    min_events : int, default 10
        Metrics are NaN (``suppressed`` True) when a level has fewer than
        ``min_events`` events or fewer than ``min_events`` non-events (unweighted
        counts): estimates from so few events are too unstable to report.
    y_col, p_col, w_col : str
        Column names; ``w_col=None`` means unit weights.

    Returns
    -------
    DataFrame
        Long format, one row per (variable, level): ``variable``, ``level``, ``n``,
        ``events``, ``non_events``, ``suppressed`` and the metrics ``auroc``,
        ``auprc``, ``brier``, ``calibration_slope``, ``calibration_intercept``,
        ``ici`` (point estimates; see :mod:`relapse_ml.evaluation.metrics`).
    """
    if min_events < 1:
        raise ValueError(f"min_events must be >= 1, got {min_events}")
    needed = [*by, y_col, p_col] + ([w_col] if w_col is not None else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"subgroup_metrics: frame lacks column(s) {', '.join(missing)}")
    y, p, w = check_inputs(
        frame[y_col].to_numpy(), frame[p_col].to_numpy(), None if w_col is None else frame[w_col]
    )
    rows: list[dict[str, object]] = []
    for variable in by:
        values, levels = _levels(frame[variable])
        codes = values.to_numpy()
        for level in levels:
            mask = codes == level
            events = int(y[mask].sum())
            non_events = int(mask.sum()) - events
            suppressed = events < min_events or non_events < min_events
            row: dict[str, object] = {
                "variable": variable,
                "level": level,
                "n": int(mask.sum()),
                "events": events,
                "non_events": non_events,
                "suppressed": suppressed,
            }
            if suppressed:
                row.update(dict.fromkeys(METRIC_NAMES, np.nan))
            else:
                kernels = MetricKernels(y[mask], p[mask], w[mask])
                values_ = kernels.all(w[mask][None, :])
                row.update({name: float(values_[name][0]) for name in METRIC_NAMES})
            rows.append(row)
    columns = ["variable", "level", "n", "events", "non_events", "suppressed", *METRIC_NAMES]
    return pd.DataFrame(rows, columns=columns)
