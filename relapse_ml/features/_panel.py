"""Per-patient measurements in a compact form, and the vectorised kernels on them.

``attach_measurements`` stores each patient's measurement rows as a small float64
array ``[day, marker_code, value, below_lloq]`` (marker_code = position in the
contract's marker catalogue; below_lloq = 1.0 when the qualifier was ``<``).
The arrays carry no patient_id, so relabelling patients cannot move a feature.

``build_panel`` flattens those arrays once, keeps days 0..L, applies the LLOQ rule
to each replicate, averages replicates, and sorts by (patient, marker, day).
Every feature is then computed with ``ufunc.reduceat`` over contiguous segments:
no per-patient Python.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relapse_ml.schema import load_contract

MEASUREMENTS_COLUMN = "measurements"
_N_FIELDS = 4  # day, marker_code, value, below_lloq


def marker_codes(markers: pd.Series) -> np.ndarray:
    """Return catalogue positions of ``markers`` (-1 for a name not in the catalogue)."""
    catalogue = list(load_contract().markers)
    if isinstance(markers.dtype, pd.CategoricalDtype) and list(markers.cat.categories) == catalogue:
        return markers.cat.codes.to_numpy(dtype=np.int64)
    return pd.Categorical(markers, categories=catalogue).codes.astype(np.int64)


def attach_measurements(patients: pd.DataFrame, measurements: pd.DataFrame) -> pd.DataFrame:
    """Attach each patient's measurements to the patients table.

    Parameters
    ----------
    patients : DataFrame
        Canonical typed patients table (one row per unique ``patient_id``).
    measurements : DataFrame
        Canonical typed measurements (``patient_id``, ``day``, ``marker``,
        ``value``, optional ``qualifier``).  Rows of patients not in ``patients``
        or with a marker outside the catalogue are ignored here (validation
        reports them).

    Returns
    -------
    DataFrame
        ``patients`` (same rows, same order) plus :data:`MEASUREMENTS_COLUMN`
        holding, per patient, a float64 array of shape ``(k, 4)`` with columns
        day, marker code, value and below-LLOQ flag, sorted by marker, day and
        value.  Patients without measurements get a ``(0, 4)`` array.
    """
    ids = pd.Index(patients["patient_id"])
    if not ids.is_unique:
        raise ValueError("patients.patient_id must be unique to attach measurements")
    n = len(patients)
    pidx = _positions(ids, measurements["patient_id"])
    codes = marker_codes(measurements["marker"])
    keep = (pidx >= 0) & (codes >= 0)
    day = measurements["day"].to_numpy(dtype=np.int64)[keep]
    value = measurements["value"].to_numpy(dtype=np.float64)[keep]
    if "qualifier" in measurements.columns:
        below = measurements["qualifier"].eq("<").to_numpy(dtype=bool, na_value=False)[keep]
    else:
        below = np.zeros(len(day), dtype=bool)
    pidx, codes = pidx[keep], codes[keep]
    n_markers = len(load_contract().markers)
    # One integer key (patient, marker, day) sorts in a single pass.
    lo = int(day.min()) if len(day) else 0
    span = int(day.max()) - lo + 1 if len(day) else 1
    key = (pidx * n_markers + codes) * span + (day - lo)
    order = _sort_order(key, value, below)
    block = np.empty((len(order), _N_FIELDS), dtype=np.float64)
    block[:, 0] = day[order]
    block[:, 1] = codes[order]
    block[:, 2] = value[order]
    block[:, 3] = below[order]
    bounds = np.concatenate(([0], np.cumsum(np.bincount(pidx, minlength=n)))).tolist()
    column = np.empty(n, dtype=object)
    for i in range(n):  # element-wise: numpy would broadcast a list of equal-shape arrays
        column[i] = block[bounds[i] : bounds[i + 1]]
    out = patients.copy(deep=False)
    out[MEASUREMENTS_COLUMN] = pd.Series(column, index=patients.index, dtype=object)
    return out


class Series:
    """One marker's averaged observations (days 0..L), sorted by patient then day.

    Attributes
    ----------
    n : int
        Number of patients (rows of the input frame).
    day, value : ndarray of float64
        Observation day and (LLOQ-substituted, replicate-averaged) value.
    below : ndarray of bool
        Every replicate of the observation was below the limit of quantification.
    row_pid : ndarray of int64
        Patient position of each observation.
    starts, ends : ndarray of int64
        Segment bounds (one segment per patient with observations; end exclusive).
    seg_pid : ndarray of int64
        Patient position of each segment.
    """

    def __init__(
        self, n: int, row_pid: np.ndarray, day: np.ndarray, value: np.ndarray, below: np.ndarray
    ) -> None:
        self.n = n
        self.row_pid, self.day, self.value, self.below = row_pid, day, value, below
        if len(row_pid):
            flag = np.empty(len(row_pid), dtype=bool)
            flag[0] = True
            np.not_equal(row_pid[1:], row_pid[:-1], out=flag[1:])
            self.starts = np.flatnonzero(flag)
        else:
            self.starts = np.zeros(0, dtype=np.int64)
        self.ends = np.append(self.starts[1:], len(row_pid)).astype(np.int64)
        self.ends = self.ends[: len(self.starts)]  # no segment at all -> no end
        self.seg_pid = row_pid[self.starts]

    def subset(self, mask: np.ndarray) -> Series:
        """Return the observations where ``mask`` holds."""
        return Series(
            self.n, self.row_pid[mask], self.day[mask], self.value[mask], self.below[mask]
        )

    def scatter(self, seg_values: np.ndarray) -> np.ndarray:
        """Spread one value per segment to one per patient (NaN for no segment)."""
        out = np.full(self.n, np.nan)
        out[self.seg_pid] = seg_values
        return out

    def per_row(self, patient_values: np.ndarray) -> np.ndarray:
        """Broadcast one value per patient to the observations."""
        return patient_values[self.row_pid]

    def measured(self) -> np.ndarray:
        """1.0 for patients with at least one observation, else 0.0."""
        out = np.zeros(self.n)
        out[self.seg_pid] = 1.0
        return out

    def seg_sum(self, x: np.ndarray) -> np.ndarray:
        """Sum of ``x`` within each segment."""
        if not len(self.starts):
            return np.zeros(0)
        return np.add.reduceat(x, self.starts)

    def first_where(self, mask: np.ndarray) -> np.ndarray:
        """Index of the first observation of each segment where ``mask`` holds (-1 if none)."""
        if not len(self.starts):
            return np.zeros(0, dtype=np.int64)
        big = len(mask)
        idx = np.where(mask, np.arange(big), big)
        first = np.minimum.reduceat(idx, self.starts)
        return np.where(first < self.ends, first, -1)

    def argmax(self) -> np.ndarray:
        """Index of each segment's maximum value (earliest day on ties)."""
        if not len(self.starts):
            return np.zeros(0, dtype=np.int64)
        seg_max = np.maximum.reduceat(self.value, self.starts)
        is_max = self.value == np.repeat(seg_max, self.ends - self.starts)
        return self.first_where(is_max)

    def last(self) -> np.ndarray:
        """Index of each segment's last (latest-day) observation."""
        return self.ends - 1

    def at_index(self, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Per patient, ``x[idx]`` for each segment (NaN where ``idx`` is -1 or no segment)."""
        vals = np.where(idx >= 0, x[np.maximum(idx, 0)], np.nan) if len(idx) else np.zeros(0)
        return self.scatter(vals)

    def max_value(self) -> np.ndarray:
        """Per patient, the maximum value (NaN when not measured)."""
        return self.at_index(self.value, self.argmax())

    def latest_value(self) -> np.ndarray:
        """Per patient, the value of the last observation (NaN when not measured)."""
        return self.at_index(self.value, self.last())

    def slope(self, y: np.ndarray) -> np.ndarray:
        """Per patient, least-squares slope of ``y`` on day (NaN with < 2 distinct days)."""
        if not len(self.starts):
            return np.full(self.n, np.nan)
        count = (self.ends - self.starts).astype(np.float64)
        mean_x = self.seg_sum(self.day) / count
        mean_y = self.seg_sum(y) / count
        dx = self.day - np.repeat(mean_x, self.ends - self.starts)
        dy = y - np.repeat(mean_y, self.ends - self.starts)
        sxx = self.seg_sum(dx * dx)
        sxy = self.seg_sum(dx * dy)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), np.nan)
        return self.scatter(slope)


class Panel:
    """Measurements of days 0..L, LLOQ rule applied, replicates averaged.

    Parameters
    ----------
    column : ndarray of object
        The :data:`MEASUREMENTS_COLUMN` values, one ``(k, 4)`` array per patient.
    landmark_day : int
        Observations after this day are dropped first, so they cannot matter.
    lloq_factor : float
        Factor applied to a below-limit value (the reported limit).
    """

    def __init__(self, column: np.ndarray, landmark_day: int, lloq_factor: float) -> None:
        self.n = n = len(column)
        lengths = np.fromiter((len(a) for a in column), dtype=np.int64, count=n)
        if n and lengths.sum():
            try:
                block = np.concatenate([a for a in column if len(a)], axis=0)
            except ValueError as err:
                raise ValueError(
                    f"{MEASUREMENTS_COLUMN!r} must hold (k, 4) arrays from attach_measurements"
                ) from err
            if block.ndim != 2 or block.shape[1] != _N_FIELDS:
                raise ValueError(f"{MEASUREMENTS_COLUMN!r} arrays must have 4 columns")
        else:
            block = np.zeros((0, _N_FIELDS))
        day_all = block[:, 0]
        keep = (day_all >= 0) & (day_all <= landmark_day)
        pid = np.repeat(np.arange(n, dtype=np.int64), lengths)[keep]
        day = day_all[keep]
        code = block[keep, 1].astype(np.int64)
        below = block[keep, 3] != 0
        value = block[keep, 2]
        del block, day_all, keep
        # The LLOQ rule acts on each replicate, before averaging (one rule everywhere).
        value = np.where(below, value * lloq_factor, value)
        n_markers = len(load_contract().markers)
        key = (pid * n_markers + code) * (landmark_day + 1) + day.astype(np.int64)
        if len(key) > 1 and not _is_sorted(key, value):
            order = _sort_order(key, value, below)
            key, pid, day, code, value, below = (
                a[order] for a in (key, pid, day, code, value, below)
            )
        if len(key):
            flag = np.empty(len(key), dtype=bool)
            flag[0] = True
            np.not_equal(key[1:], key[:-1], out=flag[1:])
            starts = np.flatnonzero(flag)
            count = np.diff(np.append(starts, len(key)))
            value = np.add.reduceat(value, starts) / count
            # Detected if any replicate was quantified; below the limit only if all were.
            below = np.minimum.reduceat(below.astype(np.uint8), starts).astype(bool)
            pid, day, code = pid[starts], day[starts], code[starts]
        self.pid, self.day, self.code, self.value, self.below = pid, day, code, value, below
        self._cache: dict[int, Series] = {}

    def series(self, marker: str) -> Series:
        """Observations of ``marker`` (a catalogue name)."""
        code = list(load_contract().markers).index(marker)
        if code not in self._cache:
            rows = np.flatnonzero(self.code == code)
            self._cache[code] = Series(
                self.n, self.pid[rows], self.day[rows], self.value[rows], self.below[rows]
            )
        return self._cache[code]


def _positions(ids: pd.Index, values: pd.Series) -> np.ndarray:
    """Position of each of ``values`` in ``ids`` (-1 when absent), hashing in Arrow."""
    found = pc.index_in(pa.array(values.astype("str")), value_set=pa.array(ids.astype("str")))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _sort_order(key: np.ndarray, value: np.ndarray, below: np.ndarray) -> np.ndarray:
    """Order by ``key``, then value and flag within equal keys (replicates).

    Ordering replicates by value makes their float sum, hence every feature,
    independent of the input row order.  Only tied rows pay for the second sort.
    """
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    tie = np.zeros(len(key), dtype=bool)
    same = sorted_key[1:] == sorted_key[:-1]
    tie[1:] |= same
    tie[:-1] |= same
    at = np.flatnonzero(tie)
    if len(at):
        sub = order[at]
        order[at] = sub[np.lexsort((below[sub], value[sub], key[sub]))]
    return order


def _is_sorted(key: np.ndarray, value: np.ndarray) -> bool:
    step = key[1:] - key[:-1]
    if (step < 0).any():
        return False
    ties = step == 0
    return not (value[1:][ties] < value[:-1][ties]).any()


def trapezoid_auc(s: Series) -> np.ndarray:
    """Per patient, trapezoid AUC from day 0 to the last observation (days 0..L).

    The level at day 0 is taken as 0 when not measured (no CAR T cells in blood
    before infusion; starting the curve at the first measured value would add area
    that was never observed).  NaN without an observation after day 0.
    """
    if not len(s.starts):
        return np.full(s.n, np.nan)
    nxt = np.arange(1, len(s.day) + 1)
    nxt[-1] = len(s.day) - 1
    area = (s.day[nxt] - s.day) * (s.value + s.value[nxt]) / 2.0
    area[s.ends - 1] = 0.0  # no trapezoid across patients
    auc = s.seg_sum(area)
    first = s.starts
    auc = auc + s.day[first] * s.value[first] / 2.0  # (0, 0) to the first observation
    auc = np.where(s.day[s.ends - 1] > 0, auc, np.nan)
    return s.scatter(auc)
