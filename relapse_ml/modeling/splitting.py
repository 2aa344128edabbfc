"""The held-out test split: random (stratified), temporal or by site."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from relapse_ml.errors import ConfigError

SPLIT_STRATEGIES = ("random", "temporal", "site")
# Contract patients columns the non-random strategies split on.
INFUSION_DATE = "infusion_date"
SITE = "site"


def split_train_test(
    frame: pd.DataFrame,
    y: Any,
    *,
    strategy: str = "random",
    test_fraction: float = 0.25,
    seed: int = 0,
    test_sites: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split patients into training and held-out test positions.

    Parameters
    ----------
    frame : DataFrame
        One row per patient with the contract patients columns.
    y : array-like of 0/1
        Outcome, same order as ``frame`` (stratifies the random split).
    strategy : {"random", "temporal", "site"}
        ``random``: stratified by ``y``, seeded. ``temporal``: the patients
        infused latest (``infusion_date``) form the test set; every patient
        sharing the cut-off date goes to the test set, so no date straddles the
        split. ``site``: all patients of ``test_sites`` form the test set, or,
        without ``test_sites``, a seeded random choice of sites added until the
        test set holds at least ``test_fraction`` of the patients.
    test_fraction : float
        Target share of patients in the test set, in (0, 1).
    seed : int
        Seed of the random and site strategies.
    test_sites : sequence of str, optional
        Sites held out by the ``site`` strategy.

    Returns
    -------
    train_idx, test_idx : ndarray of int
        Sorted positions (``iloc``) into ``frame``.

    Raises
    ------
    ConfigError
        Unknown strategy, bad fraction, missing dates or sites (with the count),
        unknown test sites, or a split leaving either side without both
        outcome classes.
    """
    y01 = np.asarray(y).astype(np.int64)
    n = len(frame)
    if len(y01) != n:
        raise ValueError("y must have one value per row of frame")
    if strategy not in SPLIT_STRATEGIES:
        raise ConfigError(f"split strategy must be one of {SPLIT_STRATEGIES}, not {strategy!r}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ConfigError(f"test_fraction must lie in (0, 1), not {test_fraction}")
    if strategy == "random":
        positions = np.arange(n)
        train, test = train_test_split(
            positions, test_size=float(test_fraction), stratify=y01, random_state=int(seed)
        )
    elif strategy == "temporal":
        train, test = _temporal(frame, test_fraction)
    else:
        train, test = _by_site(frame, test_fraction, seed, test_sites)
    train, test = np.sort(train), np.sort(test)
    for name, idx in (("training", train), ("test", test)):
        if len(np.unique(y01[idx])) < 2:
            raise ConfigError(
                f"{strategy} split leaves the {name} set without both outcome classes"
            )
    return train, test


def _temporal(frame: pd.DataFrame, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    if INFUSION_DATE not in frame.columns:
        raise ConfigError(f"temporal split needs column {INFUSION_DATE!r}")
    dates = pd.to_datetime(frame[INFUSION_DATE]).to_numpy()
    missing = int(pd.isna(dates).sum())
    if missing:
        raise ConfigError(
            f"temporal split needs {INFUSION_DATE} for every patient; {missing} patient(s) lack it"
        )
    order = np.argsort(dates, kind="mergesort")
    n_test = max(1, math.ceil(len(frame) * float(test_fraction)))
    cutoff = dates[order[len(frame) - n_test]]
    is_test = dates >= cutoff
    if is_test.all():
        raise ConfigError("temporal split: every patient shares the cut-off date")
    positions = np.arange(len(frame))
    return positions[~is_test], positions[is_test]


def _by_site(
    frame: pd.DataFrame, test_fraction: float, seed: int, test_sites: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    if SITE not in frame.columns:
        raise ConfigError(f"site split needs column {SITE!r}")
    site = frame[SITE]
    missing = int(site.isna().sum())
    if missing:
        raise ConfigError(
            f"site split needs {SITE} for every patient; {missing} patient(s) lack it"
        )
    values = site.astype(str).to_numpy()
    sites = sorted(set(values))
    if len(sites) < 2:
        raise ConfigError(f"site split needs at least two sites, found {sites}")
    if test_sites is not None:
        chosen = [str(s) for s in test_sites]
        unknown = sorted(set(chosen) - set(sites))
        if unknown:
            raise ConfigError(f"test_sites not in the data: {unknown}; sites present: {sites}")
        if set(chosen) == set(sites):
            raise ConfigError("test_sites cover every site; nothing is left to train on")
    else:
        rng = np.random.default_rng(int(seed))
        shuffled = [sites[i] for i in rng.permutation(len(sites))]
        counts = pd.Series(values).value_counts()
        chosen, held = [], 0
        for s in shuffled[:-1]:  # always keep at least one training site
            chosen.append(s)
            held += int(counts[s])
            if held >= float(test_fraction) * len(values):
                break
    is_test = np.isin(values, chosen)
    positions = np.arange(len(frame))
    return positions[~is_test], positions[is_test]
