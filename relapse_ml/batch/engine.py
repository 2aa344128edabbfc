"""The local engine: index patients, spill measurements by chunk, then process chunk by chunk.

Passes over the input (see :mod:`relapse_ml.batch.routing` for why):

1. ``patients.patient_id`` only -> id index (repeated ids stop the run here);
2. measurements once -> per-chunk spill files + orphan rows;
3. patients again in chunks of ``chunk_size`` rows, each with its spilled
   measurements -> :func:`relapse_ml.batch.chunk.process_chunk`.

Peak memory: one routing batch of measurements and the id index (12 bytes per
patient) during passes 1-2, then a few chunks of patients with their
measurements and explanations (one per worker, plus one). With workers, passes
1-2 run in a process of their own that ends before scoring starts, and every
process the engine starts uses glibc's allocator (see :data:`WORKER_ENVIRONMENT`). The spill files live in ``workdir``, a hidden
folder beside the output that the workflow removes (or the next run, if this
one was killed).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from relapse_ml.batch.chunk import ChunkResult, Scorer, process_chunk, raw_table, reject_frame
from relapse_ml.batch.drift import DriftCounts
from relapse_ml.batch.reading import ArrowBatch, iter_batches, read_header
from relapse_ml.batch.routing import (
    MeasurementSpill,
    OrphanRows,
    build_patient_index,
    spill_measurements,
)
from relapse_ml.errors import ContractError, Problem
from relapse_ml.schema import load_contract
from relapse_ml.validation import missing_required_columns, table_file

# Measurement rows read per batch in the routing pass: 500,000 cost ~300 MB of
# peak memory, 250,000 ~230 MB; fewer make many small spill pieces per chunk.
MEASUREMENT_BATCH_ROWS = 250_000
# Arrow's default pool (mimalloc) keeps freed pages: the routing pass grew with
# the input (~100 MB more at 500,000 patients than at 100,000); with glibc's
# allocator and malloc_trim it does not. Both are read when a process starts, so
# only processes started by the engine (routing, workers) get them.
WORKER_ENVIRONMENT = {"ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_ARENA_MAX": "2"}


def release_memory() -> None:
    """Give freed heap pages back to the system (glibc ``malloc_trim``; elsewhere a no-op)."""
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@contextlib.contextmanager
def _system_arrow_pool() -> Iterator[None]:
    """Allocate Arrow memory with the system allocator in this process meanwhile.

    The environment variable only works before pyarrow loads; this is its
    run-time equivalent for the calling process, which reads and writes every
    chunk. With it, :func:`release_memory` gives freed pages back: reading a
    2,000,000-row patients file a row group at a time stayed at 84-90 MB, and
    grew from 91 to 115 MB with Arrow's default (mimalloc) pool.
    """
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


@contextlib.contextmanager
def _worker_environment() -> Iterator[None]:
    """Set :data:`WORKER_ENVIRONMENT` while worker processes start (spawn copies it)."""
    saved = {k: os.environ.get(k) for k in WORKER_ENVIRONMENT}
    os.environ.update(WORKER_ENVIRONMENT)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def check_required_columns(folder: Path) -> tuple[Path, Path]:
    """Find the patients and measurements files and check their required columns.

    Raises
    ------
    ContractError
        A file is missing, unreadable or lacks a required column (every one is listed).
    """
    contract = load_contract()
    problems: list[Problem] = []
    paths = {}
    for name in ("patients", "measurements"):
        try:
            paths[name] = table_file(folder, name)
            header = read_header(name, paths[name])
        except ContractError as exc:
            problems += exc.problems
            continue
        problems += missing_required_columns(contract.tables[name], header)
    if problems:
        raise ContractError.unusable(problems, folder=folder)
    return paths["patients"], paths["measurements"]


class LocalEngine:
    """Streams a data folder through :func:`process_chunk` on this machine.

    Parameters
    ----------
    folder : Path
        Data folder (``patients`` and ``measurements``, CSV or Parquet).
    chunk_size : int
        Patients per chunk.
    workdir : Path
        Empty folder for the measurement spill files (removed by the caller).
    workers : int
        Processes scoring chunks. TreeSHAP holds the GIL, so threads do not
        help; with more than one, chunks are scored in worker processes (each
        loads the model once) while results are still written in file order.
        Results do not depend on the number of workers.
    """

    name = "local"

    def __init__(self, folder: Path, chunk_size: int, workdir: Path, workers: int = 1) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.folder = Path(folder)
        self.chunk_size = chunk_size
        self.workdir = Path(workdir)
        self.workers = workers
        self._n_rows: int | None = None
        self._spill: MeasurementSpill | None = None
        self._orphans = OrphanRows()
        self._columns: list[str] = []
        self._patients_path: Path | None = None

    def prepare(self) -> int:
        """Read the ids and route the measurements; return the number of input patient rows.

        Raises
        ------
        ContractError
            Structural problems found so far (missing file or column, repeated ids...).
        """
        patients_path, measurements_path = check_required_columns(self.folder)
        self._patients_path = patients_path
        args = (
            patients_path,
            measurements_path,
            self.chunk_size,
            self.workdir,
            max(MEASUREMENT_BATCH_ROWS, self.chunk_size),
        )
        if self.workers == 1:
            routed, error = _route(*args)
        else:
            # In a process of its own: what the routing pass allocates (and
            # Arrow's allocator keeps) goes back to the system when it ends, so
            # the main process does not grow with the input.
            context = multiprocessing.get_context("spawn")
            with _worker_environment(), ProcessPoolExecutor(1, mp_context=context) as pool:
                routed, error = pool.submit(_route, *args).result()
        if error is not None:
            raise ContractError(error[0], summary=error[1])
        self._n_rows, self._spill, self._orphans, self._columns = routed
        return self._n_rows

    def close(self) -> None:
        """Nothing to release (the caller removes ``workdir``)."""

    def chunks(
        self, model, *, scorer: Scorer, top_k: int, model_version: str
    ) -> Iterator[ChunkResult]:
        """Process every chunk in file order; a last, patient-less result carries the orphans.

        With more than one worker, ``scorer=None`` means the default scorer,
        imported by the workers only (it pulls shap, ~100 MB per process).
        """
        if self._n_rows is None or self._spill is None or self._patients_path is None:
            raise RuntimeError("call prepare() first")
        if scorer is None and self.workers == 1:
            from relapse_ml.serving.scoring import score_patients as scorer
        kwargs = {"scorer": scorer, "top_k": top_k, "model_version": model_version}
        with _system_arrow_pool():
            if self.workers == 1:
                for patients, measurements in self._chunk_tables():
                    yield process_chunk(model, patients, measurements, **kwargs)
                    release_memory()
            else:
                yield from self._parallel_chunks(model, kwargs)
        yield ChunkResult(
            scored=reject_frame([]).iloc[:0, :0],
            rejects=reject_frame([]),
            orphans=self._orphans,
            structural=(),
            drift=DriftCounts(),
            n_input=0,
        )

    def _chunk_tables(self) -> Iterator[tuple]:
        """The raw patients and measurements tables of each chunk, in file order."""
        for number, batch in self._patient_batches():
            yield self._reader.tables(number, batch)

    def _patient_batches(self) -> Iterator[tuple[int, ArrowBatch]]:
        return enumerate(iter_batches("patients", self._patients_path, self.chunk_size))

    @property
    def _reader(self) -> _ChunkReader:
        return _ChunkReader(self._spill, self._columns, self._patients_path, self.folder)

    def _parallel_chunks(self, model, kwargs: dict) -> Iterator[ChunkResult]:
        """Score chunks in worker processes, keeping at most ``workers + 1`` in flight.

        The main process sends each worker a chunk's patient rows as Arrow (the
        worker reads the chunk's measurements from its spill file and builds the
        tables itself), so no chunk is ever held as pandas here.
        """
        # spawn: a clean interpreter per worker (forking a process with Arrow and
        # OpenMP threads is not safe); the model is sent once, at start-up.
        context = multiprocessing.get_context("spawn")
        explainer = self._explainer(model, context) if kwargs["scorer"] is None else None
        pending: deque[Future] = deque()
        # Workers start on demand, at any submit: the environment stays set throughout.
        with (
            _worker_environment(),
            ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(model, explainer, self._reader),
            ) as pool,
        ):
            for number, batch in self._patient_batches():
                pending.append(pool.submit(_score_in_worker, number, batch, kwargs))
                if len(pending) > self.workers:
                    yield pending.popleft().result()
                    release_memory()
            while pending:
                yield pending.popleft().result()

    @staticmethod
    def _explainer(model, context):
        """The model's explainer, built in a short-lived process (it imports shap).

        Workers adopt it instead of importing shap themselves (~100 MB each);
        this process does not import shap either.
        """
        with _worker_environment(), ProcessPoolExecutor(1, mp_context=context) as pool:
            return pool.submit(_build_explainer, model).result()


@dataclass(frozen=True)
class _ChunkReader:
    """What a process needs to turn chunk ``number`` into raw tables (picklable)."""

    spill: MeasurementSpill
    columns: list[str]
    patients_path: Path
    folder: Path

    def tables(self, number: int, batch: ArrowBatch) -> tuple:
        """Raw patients and measurements tables of chunk ``number`` (its spill file is removed)."""
        patients = raw_table("patients", batch, self.patients_path)
        measured = self.spill.chunk(number, self.columns)
        self.spill.discard(number)
        return patients, raw_table("measurements", measured, self.folder / "measurements")


def _route(patients_path: Path, measurements_path: Path, chunk_size: int, workdir: Path, rows: int):
    """Index the patients and spill the measurements: ``(routed, None)`` or ``(None, error)``.

    ``error`` is a :class:`ContractError`'s problems and summary (it does not
    pickle, and this may run in another process).
    """
    try:
        index = build_patient_index(patients_path, chunk_size)
        spill, orphans, columns = spill_measurements(measurements_path, index, workdir, rows)
    except ContractError as exc:
        return None, (exc.problems, str(exc).splitlines()[0])
    # The number of rows, not the index: chunks are read in file order, so the
    # index (12 bytes per patient) is not needed once the spill is written.
    return (index.n_rows, spill, orphans, columns), None


_WORKER_MODEL = None
_WORKER_READER: _ChunkReader | None = None


def _build_explainer(model):
    from relapse_ml.explain import native_explainer

    return native_explainer(model)


def _init_worker(model, explainer, reader: _ChunkReader) -> None:
    global _WORKER_MODEL, _WORKER_READER
    _WORKER_MODEL, _WORKER_READER = model, reader
    if explainer is not None:
        from relapse_ml.explain import adopt_explainer

        adopt_explainer(model, explainer)


def _score_in_worker(number: int, batch: ArrowBatch, kwargs: dict) -> ChunkResult:
    if kwargs["scorer"] is None:
        from relapse_ml.serving.scoring import score_patients

        kwargs = {**kwargs, "scorer": score_patients}
    try:
        patients, measurements = _WORKER_READER.tables(number, batch)
        return process_chunk(_WORKER_MODEL, patients, measurements, **kwargs)
    finally:
        release_memory()
