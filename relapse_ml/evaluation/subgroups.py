"""Performance by subgroup (disease, target antigen, costimulatory domain, site...).

:func:`subgroup_metrics` computes counts and metrics per level (numbers, for
code); :func:`publishable_subgroups` is the form that leaves the process (the
MLflow table, the model card). Its disclosure rule:

- a count below :data:`DISCLOSURE_MIN` (10) is written ``"<10"``;
- within a level, when events or non-events are below 10 the other one is
  hidden too (``n`` minus one gives the other), written ``">=10"`` when it is
  not itself below 10, so no published cell is untrue;
- complementary suppression: the totals of a variable are known (every patient
  is in exactly one level, and the test-set size and event count are
  published), so one hidden level could be recovered by subtraction. While any
  hidden count of a small level is determined by what is published (checked
  exactly, see :func:`recoverable_cells`), the events and non-events of the
  smallest level still showing them are hidden as well (``">=10"``), and its
  size too when a size is what could be recovered.

The totals themselves are not protected: a variable whose only level is small
(a test set of fewer than 10 patients) discloses what the run's parameters do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from relapse_ml.evaluation._kernels import MetricKernels, check_inputs, single_threaded_blas
from relapse_ml.evaluation.bootstrap import METRIC_NAMES

__all__ = [
    "DEFAULT_SUBGROUPS",
    "DISCLOSURE_MIN",
    "MISSING_LEVEL",
    "publishable_subgroups",
    "recoverable_cells",
    "subgroup_metrics",
]

DEFAULT_SUBGROUPS = ("disease", "target_antigen", "costim_domain", "site")
MISSING_LEVEL = "(missing)"
DISCLOSURE_MIN = 10
SMALL = f"<{DISCLOSURE_MIN}"
LARGE = f">={DISCLOSURE_MIN}"
COUNTS = ("n", "events", "non_events")


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


def recoverable_cells(
    published: pd.DataFrame,
    total_n: int,
    total_events: int,
    protect: set[int] | None = None,
) -> list[int]:
    """Positions of hidden cells whose value follows from the published ones.

    Parameters
    ----------
    published : DataFrame
        The levels of ONE variable: ``n``, ``events``, ``non_events`` as
        integers or the strings ``"<10"`` (0-9; ``n`` 1-9) and ``">=10"``.
    total_n, total_events : int
        The variable's totals (taken as public).
    protect : set of int, optional
        Only these positions are checked (default: every hidden cell).

    Returns
    -------
    list of int
        Flat positions ``3 * row + column`` (columns ``n, events, non_events``)
        of hidden cells with a single feasible value. The constraints
        (``n = events + non_events`` per level, column sums equal to the totals)
        form a network matrix, so the linear programme's bounds are integral:
        a cell is determined exactly when its minimum equals its maximum.
    """
    cells = published[list(COUNTS)].to_numpy(dtype=object).ravel()
    k = len(cells)
    rows = len(published)
    bounds = []
    for position, cell in enumerate(cells):
        low = 1 if position % 3 == 0 else 0
        if cell == SMALL:
            bounds.append((low, DISCLOSURE_MIN - 1))
        elif cell == LARGE:
            bounds.append((DISCLOSURE_MIN, None))
        else:
            bounds.append((int(cell), int(cell)))
    a_eq, b_eq = [], []
    for r in range(rows):  # n = events + non_events
        row = np.zeros(k)
        row[3 * r], row[3 * r + 1], row[3 * r + 2] = 1, -1, -1
        a_eq.append(row)
        b_eq.append(0)
    for column, total in ((0, total_n), (1, total_events), (2, total_n - total_events)):
        row = np.zeros(k)
        row[column::3] = 1
        a_eq.append(row)
        b_eq.append(total)
    determined = []
    for position, cell in enumerate(cells):
        if cell not in (SMALL, LARGE) or (protect is not None and position not in protect):
            continue
        extremes = []
        for sign in (1, -1):
            objective = np.zeros(k)
            objective[position] = sign
            result = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            extremes.append(sign * result.fun if result.status == 0 else np.nan)
        if np.isfinite(extremes).all() and extremes[1] - extremes[0] < 0.5:
            determined.append(position)
    return determined


def _publish_variable(levels: pd.DataFrame) -> pd.DataFrame:
    counts = levels[list(COUNTS)].to_numpy(dtype=np.int64)
    cells = counts.astype(object)
    hidden = np.zeros(len(levels), dtype=bool)
    for r, (n, events, non_events) in enumerate(counts):
        if min(events, non_events) < DISCLOSURE_MIN:
            hidden[r] = True
            cells[r, 1] = SMALL if events < DISCLOSURE_MIN else LARGE
            cells[r, 2] = SMALL if non_events < DISCLOSURE_MIN else LARGE
            if n < DISCLOSURE_MIN:
                cells[r, 0] = SMALL
    total_n, total_events = int(counts[:, 0].sum()), int(counts[:, 1].sum())
    # The cells to protect: those of levels with a small count (the complement in
    # such a level reveals the small one). Other hidden cells are all >= 10.
    protect = {3 * r + j for r in np.flatnonzero(hidden) for j in range(3)}
    # Complementary suppression: hide the events (and, when a size is at stake,
    # the size) of the smallest level still showing them, until no protected
    # count can be worked out from the table and the totals.
    while protect:
        determined = recoverable_cells(
            pd.DataFrame(cells, columns=list(COUNTS)), total_n, total_events, protect
        )
        if not determined:
            break
        size_at_stake = any(p % 3 == 0 for p in determined)
        column = 0 if size_at_stake else 1
        candidates = [r for r in range(len(cells)) if cells[r, column] not in (SMALL, LARGE)]
        if not candidates:
            break
        r = min(candidates, key=lambda i: counts[i, 0])
        for j in (0, 1, 2) if size_at_stake else (1, 2):
            if cells[r, j] not in (SMALL, LARGE):
                cells[r, j] = LARGE
    out = levels.copy()
    for j, column in enumerate(COUNTS):
        out[column] = [str(c) for c in cells[:, j]]
    return out


def publishable_subgroups(table: pd.DataFrame) -> pd.DataFrame:
    """The subgroup table as published: counts as strings, small ones hidden.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`subgroup_metrics` (integer counts). A table already
        published (string counts) is returned unchanged.

    Returns
    -------
    DataFrame
        Same rows and columns; ``n``, ``events``, ``non_events`` are strings:
        the count, ``"<10"`` or ``">=10"`` (see the module docstring). Metrics
        are NaN (and ``suppressed`` True) wherever a count is below 10, whatever
        the run's ``min_events``: a metric of a handful of patients discloses them.
    """
    if table.empty or not pd.api.types.is_integer_dtype(table["n"]):
        return table.copy()
    parts = [_publish_variable(levels) for _, levels in table.groupby("variable", sort=False)]
    out = pd.concat(parts).loc[table.index]
    small = (out[list(COUNTS)] == SMALL).any(axis=1)
    out.loc[small, "suppressed"] = True
    out.loc[small, [m for m in METRIC_NAMES if m in out.columns]] = np.nan
    return out
