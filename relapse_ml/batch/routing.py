"""Routing measurements to patient chunks: an id index and a spill to temporary files.

Measurement files are rarely sorted like the patients file, so the batch job does
not rely on order. A first pass reads only ``patients.patient_id`` and builds a
compact index (64-bit hash -> chunk, about 40 bytes per patient: 40 MB per million
patients, the only memory that grows with the input). A second pass streams the
measurements once and appends each row, with its file row number, to the spill
file of its patient's chunk (Arrow IPC, lz4). Scoring then reads one chunk's
measurements at a time, so memory follows the chunk size. Rows whose patient_id
is not in the patients table are kept aside as orphans (reported, never scored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relapse_ml.batch.reading import ArrowBatch, bad_row_id, iter_batches
from relapse_ml.errors import STRUCTURAL, ContractError, Problem

ROW_COLUMN = "__row"
CHUNK_COLUMN = "__chunk"
MAX_SPILL_FILES = 128
ORPHAN = -1


def _text(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Stripped text with "" for missing (validation strips ids the same way)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        array = pc.cast(array, pa.string())
    return pc.utf8_trim_whitespace(pc.fill_null(array.cast(pa.string()), ""))


def hash_ids(ids: pa.Array) -> np.ndarray:
    """Deterministic 64-bit hashes of text ids (pandas' keyed SipHash)."""
    return pd.util.hash_array(np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object))


@dataclass
class PatientIndex:
    """Where each patient_id of the patients file goes: its chunk number.

    Attributes
    ----------
    chunk_size : int
        Patients per chunk.
    n_chunks : int
        Number of chunks.
    n_rows : int
        Patients rows read (parsed and unreadable).
    """

    chunk_size: int
    n_chunks: int
    n_rows: int
    _hashes: np.ndarray = field(repr=False)
    _chunks: np.ndarray = field(repr=False)
    _ids: pa.Array = field(repr=False)

    def lookup(self, ids: pa.Array) -> np.ndarray:
        """Chunk number of each id, :data:`ORPHAN` when it is not a patient."""
        ids = _text(ids)
        if len(ids) == 0 or len(self._hashes) == 0:
            return np.full(len(ids), ORPHAN, dtype=np.int64)
        encoded = pc.dictionary_encode(ids)
        distinct = encoded.dictionary
        hashes = hash_ids(distinct)
        pos = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
        # The hash only proposes a candidate; the id text decides.
        same = (self._hashes[pos] == hashes) & pc.equal(
            self._ids.take(pa.array(pos)), distinct
        ).to_numpy(zero_copy_only=False)
        chunk = np.where(same, self._chunks[pos], ORPHAN)
        return chunk[encoded.indices.to_numpy(zero_copy_only=False)]


def build_patient_index(path: Path, chunk_size: int) -> PatientIndex:
    """Read ``patients.patient_id`` once; detect ids repeated anywhere in the file.

    Raises
    ------
    ContractError
        A patient_id appears more than once (structural: the run stops).
    """
    hashes, chunks, ids, rows = [], [], [], []
    n_rows = 0
    n_chunks = 0
    header: list[str] | None = None
    for number, batch in enumerate(iter_batches("patients", path, chunk_size, ["patient_id"])):
        n_chunks = number + 1
        batch_ids = _text(batch.table.column("patient_id"))
        if batch.bad_rows:
            header = header or _csv_header(path)
            extra = [bad_row_id(text, header) for _, text in batch.bad_rows]
            batch_ids = pa.concat_arrays([batch_ids, pa.array(extra, pa.string())])
            batch_rows = np.concatenate([batch.row_numbers, [r for r, _ in batch.bad_rows]])
        else:
            batch_rows = batch.row_numbers
        keep = pc.not_equal(batch_ids, "").to_numpy(zero_copy_only=False)
        kept = batch_ids.filter(pa.array(keep))
        hashes.append(hash_ids(kept))
        chunks.append(np.full(len(kept), number, dtype=np.int32))
        ids.append(kept)
        rows.append(np.asarray(batch_rows, dtype=np.int64)[keep])
        n_rows += len(batch_ids)
    all_hashes = np.concatenate(hashes) if hashes else np.array([], dtype=np.uint64)
    order = np.argsort(all_hashes, kind="stable")
    all_ids = pa.concat_arrays(ids).take(pa.array(order)) if ids else pa.array([], pa.string())
    all_rows = np.concatenate(rows)[order] if rows else np.array([], dtype=np.int64)
    sorted_hashes = all_hashes[order]
    _check_repeats(sorted_hashes, all_ids, all_rows)
    return PatientIndex(
        chunk_size=chunk_size,
        n_chunks=max(1, n_chunks),
        n_rows=n_rows,
        _hashes=sorted_hashes,
        _chunks=(np.concatenate(chunks)[order] if chunks else np.array([], dtype=np.int32)),
        _ids=all_ids,
    )


def _csv_header(path: Path) -> list[str]:
    from relapse_ml.batch.reading import read_header

    return read_header("patients", path)


def _check_repeats(hashes: np.ndarray, ids: pa.Array, rows: np.ndarray) -> None:
    """Raise on a repeated patient_id (structural), listing every repeat after the first."""
    if len(hashes) < 2:
        return
    equal = np.flatnonzero(hashes[1:] == hashes[:-1])
    if equal.size == 0:
        return
    problems = []
    for i in equal:
        a, b = ids[int(i)].as_py(), ids[int(i) + 1].as_py()
        if a != b:
            raise RuntimeError(f"64-bit hash collision between patient ids {a!r} and {b!r}")
        later = int(max(rows[i], rows[i + 1]))
        problems.append(
            Problem(
                STRUCTURAL,
                "patients",
                "patient_id",
                later,
                a,
                "a patient_id that appears once",
                repr(a),
            )
        )
    problems.sort(key=lambda p: p.row or 0)
    raise ContractError(problems, summary="the data cannot be used: repeated patient ids")


@dataclass
class OrphanRows:
    """Measurement rows of unknown patients: first row and row count per patient_id."""

    first_row: dict[str, int] = field(default_factory=dict)
    n_rows: dict[str, int] = field(default_factory=dict)
    reason: dict[str, str] = field(default_factory=dict)

    def add(self, ids: pa.Array, rows: np.ndarray, unreadable: bool = False) -> None:
        """Record orphan rows (``ids`` and their file row numbers, in file order)."""
        if len(ids) == 0:
            return
        values, first, counts = np.unique(
            np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object).astype(str),
            return_index=True,
            return_counts=True,
        )
        for value, i, n in zip(values, first, counts, strict=True):
            pid, row = str(value), int(rows[i])
            if pid not in self.first_row or row < self.first_row[pid]:
                self.first_row[pid] = row
                self.reason[pid] = "unreadable" if unreadable else "unknown"
            self.n_rows[pid] = self.n_rows.get(pid, 0) + int(n)

    @property
    def total_rows(self) -> int:
        """Number of orphan measurement rows."""
        return sum(self.n_rows.values())


class MeasurementSpill:
    """Measurement rows grouped by patient chunk in temporary Arrow IPC files.

    At most :data:`MAX_SPILL_FILES` files are open; when there are more chunks,
    consecutive chunks share a file and are read together.
    """

    def __init__(self, folder: Path, n_chunks: int) -> None:
        self.folder = Path(folder)
        self.n_chunks = n_chunks
        self.per_file = max(1, math.ceil(n_chunks / MAX_SPILL_FILES))
        self._writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
        self._schema: pa.Schema | None = None
        self.bad_rows: dict[int, list[tuple[int, str]]] = {}
        self._cached: tuple[int, pa.Table] | None = None

    def _path(self, group: int) -> Path:
        return self.folder / f"measurements-{group:05d}.arrow"

    def add(self, batch: ArrowBatch, chunk: np.ndarray) -> None:
        """Append the rows of ``batch`` to the files of their chunks (``chunk`` >= 0)."""
        table = batch.table.append_column(ROW_COLUMN, pa.array(batch.row_numbers, pa.int64()))
        table = table.append_column(CHUNK_COLUMN, pa.array(chunk.astype(np.int32)))
        if self._schema is None:
            self._schema = table.schema
        group = np.where(chunk >= 0, chunk // self.per_file, -1)
        order = np.argsort(group, kind="stable")
        sorted_groups = group[order]
        starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for start, end in zip(starts, ends, strict=True):
            g = int(sorted_groups[start])
            if g < 0:
                continue
            piece = table.take(pa.array(order[start:end]))
            writer = self._writers.get(g)
            if writer is None:
                writer = pa.ipc.new_file(
                    self._path(g),
                    self._schema,
                    options=pa.ipc.IpcWriteOptions(compression="lz4"),
                )
                self._writers[g] = writer
            writer.write_table(piece.cast(self._schema))

    def close(self) -> None:
        """Finish writing (call once, before :meth:`chunk`)."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def chunk(self, number: int, columns: list[str]) -> ArrowBatch:
        """Measurements of chunk ``number`` in file row order (empty when it has none)."""
        group = number // self.per_file
        if self._cached is None or self._cached[0] != group:
            path = self._path(group)
            table = pa.ipc.open_file(path).read_all() if path.is_file() else None
            self._cached = (group, table) if table is not None else (group, None)
        table = self._cached[1]
        bad = sorted(self.bad_rows.get(number, []))
        if table is None:
            empty = pa.table({c: pa.array([], pa.string()) for c in columns})
            return ArrowBatch(empty, np.array([], dtype=np.int64), bad)
        if self.per_file > 1:
            table = table.filter(pc.equal(table.column(CHUNK_COLUMN), number))
        rows = table.column(ROW_COLUMN).to_numpy()
        return ArrowBatch(table.drop_columns([ROW_COLUMN, CHUNK_COLUMN]), rows, bad)


def spill_measurements(
    path: Path, index: PatientIndex, folder: Path, batch_rows: int
) -> tuple[MeasurementSpill, OrphanRows, list[str]]:
    """Stream the measurements file into per-chunk spill files.

    Returns
    -------
    spill : MeasurementSpill
        The rows of known patients, by chunk.
    orphans : OrphanRows
        Rows whose patient_id is empty or not in the patients table.
    columns : list of str
        The measurements file's columns.

    Raises
    ------
    ContractError
        The file is unreadable, or a row that cannot be read names no patient.
    """
    from relapse_ml.batch.reading import read_header

    header = read_header("measurements", path)
    spill = MeasurementSpill(folder, index.n_chunks)
    orphans = OrphanRows()
    for batch in iter_batches("measurements", path, batch_rows):
        if "patient_id" not in batch.table.column_names:
            raise ContractError(
                [
                    Problem(
                        STRUCTURAL,
                        "measurements",
                        "patient_id",
                        None,
                        None,
                        "a required column",
                        "no such column",
                    )
                ],
                summary="the data cannot be used",
            )
        ids = _text(batch.table.column("patient_id"))
        chunk = index.lookup(ids)
        spill.add(batch, chunk)
        orphan = chunk == ORPHAN
        if orphan.any():
            orphans.add(ids.filter(pa.array(orphan)), batch.row_numbers[orphan])
        for row, text in batch.bad_rows:
            pid = bad_row_id(text, header)
            if not pid:
                raise ContractError(
                    [
                        Problem(
                            STRUCTURAL,
                            "measurements",
                            None,
                            row,
                            None,
                            f"{len(header)} fields",
                            f"a row that cannot be read: {text[:60]!r}",
                        )
                    ],
                    summary="the data cannot be used",
                )
            target = int(index.lookup(pa.array([pid]))[0])
            if target == ORPHAN:
                orphans.add(pa.array([pid]), np.array([row]), unreadable=True)
            else:
                spill.bad_rows.setdefault(target, []).append((row, text))
    spill.close()
    return spill, orphans, header
