"""Typed options of a batch prediction job (``relapse-ml predict``), checked once when built."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from relapse_ml.errors import UserError

ENGINES = ("local", "spark")
# Workers beyond 4 gain little: the main process writing results in file order
# becomes the bottleneck.
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """Scoring processes when not given: the CPU count, at most :data:`MAX_DEFAULT_WORKERS`."""
    return min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS)


@dataclass(frozen=True)
class PredictConfig:
    """One batch prediction job.

    Parameters
    ----------
    data_dir : Path
        Folder with ``patients`` and ``measurements`` (CSV or Parquet).
    model_uri : str
        ``models:/name@alias``, ``models:/name/version``, ``runs:/...`` or a ``.skops`` file.
    out : Path
        Scores file, ``.csv`` or ``.parquet``.
    rejects : Path, optional
        Rejects file (default ``<stem>.rejects.csv`` beside ``out``).
    top_k : int
        Plain-language drivers per patient (0 to 20).
    chunk_size : int
        Patients per chunk (memory grows with it; results do not change).
    engine : {"local", "spark"}
        Where chunks are processed.
    workers : int, optional
        Local engine: processes scoring chunks (results do not depend on it);
        default :func:`default_workers`.
    json_summary : bool
        Echo the end-of-run summary as JSON instead of text.
    progress : bool
        Show a progress bar when stderr is a terminal.
    max_internal_error_share : float
        Patients whose scoring fails (rejected with reason ``internal error: ...``)
        are tolerated up to this share of the input; above it the run fails.
    landmark : int, optional
        Landmark day L: patients are assumed alive and relapse-free at L and only data
        known by L is used; default the model's first landmark. A landmark the model
        was not trained for is an error naming the trained ones (exit code 2).

    Raises
    ------
    UserError
        A value outside its allowed range (exit code 2).
    """

    data_dir: Path
    model_uri: str
    out: Path
    rejects: Path | None = None
    top_k: int = 3
    chunk_size: int = 5_000
    engine: str = "local"
    workers: int | None = None
    json_summary: bool = False
    progress: bool = True
    max_internal_error_share: float = 0.01
    landmark: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "out", Path(self.out))
        if self.rejects is not None:
            object.__setattr__(self, "rejects", Path(self.rejects))
        if self.workers is None:
            object.__setattr__(self, "workers", default_workers())
        if self.engine not in ENGINES:
            raise UserError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if not 0 <= self.top_k <= 20:
            raise UserError(f"top_k must be between 0 and 20, not {self.top_k}")
        for name in ("chunk_size", "workers"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.landmark is not None and self.landmark < 0:
            raise UserError(f"landmark must be a day >= 0, not {self.landmark}")
        if not 0 <= self.max_internal_error_share <= 1:
            raise UserError("the share of internal errors allowed must be between 0 and 1")
