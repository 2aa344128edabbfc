"""Routing measurements to patient chunks: an id index and a spill to temporary files.

Measurement files are rarely sorted like the patients file, so the batch job does
not rely on order. A first pass reads only ``patients.patient_id`` and builds a
compact index: the sorted 64-bit hashes of the ids and each one's chunk number
(12 bytes per patient: 24 MB for two million; the id texts are not kept). A
second, independent 64-bit hash, held only while the index is built, tells a
repeated id from a hash collision. A second pass streams the measurements once
and appends each row, with its file row number, to the spill file of its
patient's chunk (one file per chunk, Arrow IPC, lz4; each append opens and
closes the file, so no writer stays open). Scoring then reads one chunk's file
at a time, so memory follows the chunk size. A hash only proposes a chunk:
:func:`relapse_ml.batch.chunk.process_chunk` checks each measurement's id
against the chunk's patients, so a collision cannot attach a row to the wrong
patient. Rows whose patient_id is not in the patients table are kept aside as
orphans (reported, never scored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relapse_ml.batch.reading import ArrowBatch, iter_batches, read_header
from relapse_ml.errors import STRUCTURAL, ContractError, Problem
from relapse_ml.io import bad_row_id
from relapse_ml.schema import load_contract
from relapse_ml.validation import UNIQUE_ID, missing_required_columns
from relapse_ml.validation.report import show_found

ROW_COLUMN = "__row"
ORPHAN = -1
# Key of the second hash (pandas' default key is "0123456789123456").
SECOND_HASH_KEY = "relapse-ml-ids-2"


def _text(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Stripped text with "" for missing (validation strips ids the same way)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        array = pc.cast(array, pa.string())
    return pc.utf8_trim_whitespace(pc.fill_null(array.cast(pa.string()), ""))


def hash_ids(ids: pa.Array, key: str | None = None) -> np.ndarray:
    """Deterministic 64-bit hashes of text ids (pandas' keyed SipHash)."""
    values = np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object)
    if key is None:
        return pd.util.hash_array(values)
    return pd.util.hash_array(values, hash_key=key)


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

    def lookup(self, ids: pa.Array) -> np.ndarray:
        """Chunk number of each id's hash, :data:`ORPHAN` when no patient has it."""
        ids = _text(ids)
        if len(ids) == 0 or len(self._hashes) == 0:
            return np.full(len(ids), ORPHAN, dtype=np.int64)
        encoded = pc.dictionary_encode(ids)
        hashes = hash_ids(encoded.dictionary)
        pos = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
        chunk = np.where(self._hashes[pos] == hashes, self._chunks[pos], ORPHAN)
        chunk[np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False)) == ""] = ORPHAN
        return chunk[encoded.indices.to_numpy(zero_copy_only=False)]


def _batch_ids(batch: ArrowBatch, path: Path, header: list[str] | None):
    """Ids of a patients batch (parsed rows, then unreadable rows) and their file rows."""
    batch_ids = _text(batch.table.column("patient_id"))
    if not batch.bad_rows:
        return batch_ids, batch.row_numbers, header
    header = header or read_header("patients", path)
    extra = [bad_row_id(text, header) for _, text in batch.bad_rows]
    ids = pa.concat_arrays([batch_ids, pa.array(extra, pa.string())])
    rows = np.concatenate([batch.row_numbers, [r for r, _ in batch.bad_rows]])
    return ids, rows, header


def build_patient_index(path: Path, chunk_size: int) -> PatientIndex:
    """Read ``patients.patient_id`` once; detect ids repeated anywhere in the file.

    Raises
    ------
    ContractError
        A patient_id appears more than once (structural: the run stops).
    """
    hashes, seconds, chunks = [], [], []
    n_rows = n_chunks = 0
    header: list[str] | None = None
    for number, batch in enumerate(iter_batches("patients", path, chunk_size, ["patient_id"])):
        n_chunks = number + 1
        batch_ids, _, header = _batch_ids(batch, path, header)
        kept = batch_ids.filter(pc.not_equal(batch_ids, ""))
        hashes.append(hash_ids(kept))
        seconds.append(hash_ids(kept, SECOND_HASH_KEY))
        chunks.append(np.full(len(kept), number, dtype=np.int32))
        n_rows += len(batch_ids)
    all_hashes = np.concatenate(hashes) if hashes else np.array([], dtype=np.uint64)
    second = np.concatenate(seconds) if seconds else np.array([], dtype=np.uint64)
    del hashes, seconds
    order = np.lexsort((second, all_hashes))
    sorted_hashes = all_hashes[order]
    del all_hashes
    second = second[order]
    same = np.flatnonzero(sorted_hashes[1:] == sorted_hashes[:-1])
    if same.size:
        if np.any(second[same] != second[same + 1]):
            raise RuntimeError("64-bit hash collision between two patient ids")
        _raise_repeats(path, chunk_size, set(sorted_hashes[same].tolist()))
    del second
    pa.default_memory_pool().release_unused()
    return PatientIndex(
        chunk_size=chunk_size,
        n_chunks=max(1, n_chunks),
        n_rows=n_rows,
        _hashes=sorted_hashes,
        _chunks=(np.concatenate(chunks)[order] if chunks else np.array([], dtype=np.int32)),
    )


def _raise_repeats(path: Path, chunk_size: int, repeated: set[int]) -> None:
    """Read the ids again to name every repeat after the first (structural), then raise."""
    seen: set[str] = set()
    problems = []
    header: list[str] | None = None
    for batch in iter_batches("patients", path, chunk_size, ["patient_id"]):
        ids, rows, header = _batch_ids(batch, path, header)
        hashes = hash_ids(ids)
        pairs = sorted(
            (int(rows[i]), ids[i].as_py())
            for i in np.flatnonzero(np.isin(hashes, np.fromiter(repeated, dtype=np.uint64)))
        )
        for row, pid in pairs:
            if pid in seen:
                problems.append(
                    Problem(
                        STRUCTURAL, "patients", "patient_id", row, pid, UNIQUE_ID, show_found(pid)
                    )
                )
            seen.add(pid)
    problems.sort(key=lambda p: p.row or 0)
    raise ContractError.unusable(problems, reason="repeated patient ids")


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
    """Measurement rows grouped by patient chunk in temporary files, one per chunk.

    Each file holds length-prefixed Arrow IPC streams (lz4), one per routing
    batch that met the chunk; a chunk is read alone, so memory does not grow
    with the number of chunks.
    """

    def __init__(self, folder: Path, n_chunks: int) -> None:
        self.folder = Path(folder)
        self.n_chunks = n_chunks
        self._schema: pa.Schema | None = None
        self.bad_rows: dict[int, list[tuple[int, str]]] = {}

    def _path(self, chunk: int) -> Path:
        return self.folder / f"measurements-{chunk:06d}.arrows"

    def add(self, batch: ArrowBatch, chunk: np.ndarray) -> None:
        """Append the rows of ``batch`` to the files of their chunks (``chunk`` >= 0)."""
        table = batch.table.append_column(ROW_COLUMN, pa.array(batch.row_numbers, pa.int64()))
        if self._schema is None:
            self._schema = table.schema
        table = table.cast(self._schema)
        order = np.argsort(chunk, kind="stable")
        sorted_chunks = chunk[order]
        first = int(np.searchsorted(sorted_chunks, 0))  # orphans (-1) sort first
        if first == len(order):
            return
        table = table.take(pa.array(order[first:]))
        sorted_chunks = sorted_chunks[first:]
        starts = np.flatnonzero(np.r_[True, sorted_chunks[1:] != sorted_chunks[:-1]])
        ends = np.r_[starts[1:], len(sorted_chunks)]
        options = pa.ipc.IpcWriteOptions(compression="lz4")  # not picklable: not kept
        for start, end in zip(starts, ends, strict=True):
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, self._schema, options=options) as writer:
                writer.write_table(table.slice(int(start), int(end - start)))
            data = sink.getvalue()
            with open(self._path(int(sorted_chunks[start])), "ab") as handle:
                handle.write(len(data).to_bytes(8, "little"))
                handle.write(data)

    def close(self) -> None:
        """Finish writing (nothing is held open; kept for symmetry)."""

    def chunk(self, number: int, columns: list[str]) -> ArrowBatch:
        """Measurements of chunk ``number`` in file row order (empty when it has none)."""
        bad = sorted(self.bad_rows.get(number, []))
        path = self._path(number)
        if not path.is_file():
            empty = pa.table({c: pa.array([], pa.string()) for c in columns})
            return ArrowBatch(empty, np.array([], dtype=np.int64), bad)
        pieces = []
        with open(path, "rb") as handle:
            while size := handle.read(8):
                data = handle.read(int.from_bytes(size, "little"))
                pieces.append(pa.ipc.open_stream(pa.py_buffer(data)).read_all())
        table = pa.concat_tables(pieces).combine_chunks() if len(pieces) > 1 else pieces[0]
        rows = table.column(ROW_COLUMN).to_numpy()
        return ArrowBatch(table.drop_columns([ROW_COLUMN]), rows, bad)

    def discard(self, number: int) -> None:
        """Remove chunk ``number``'s file once it has been read (frees the disk early)."""
        self._path(number).unlink(missing_ok=True)


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
    header = read_header("measurements", path)
    spill = MeasurementSpill(folder, index.n_chunks)
    orphans = OrphanRows()
    for batch in iter_batches("measurements", path, batch_rows):
        if "patient_id" not in batch.table.column_names:
            raise ContractError.unusable(
                missing_required_columns(load_contract().measurements, batch.table.column_names)
            )
        ids = _text(batch.table.column("patient_id"))
        chunk = index.lookup(ids)
        spill.add(batch, chunk)
        # Many small spill pieces fragment Arrow's allocator, which keeps freed
        # pages: without this the peak grows with the number of chunks.
        pa.default_memory_pool().release_unused()
        orphan = chunk == ORPHAN
        if orphan.any():
            orphans.add(ids.filter(pa.array(orphan)), batch.row_numbers[orphan])
        for row, text in batch.bad_rows:
            pid = bad_row_id(text, header)
            if not pid:
                raise ContractError.unusable(
                    [Problem.unreadable_row("measurements", row, text, len(header), None)]
                )
            target = int(index.lookup(pa.array([pid]))[0])
            if target == ORPHAN:
                orphans.add(pa.array([pid]), np.array([row]), unreadable=True)
            else:
                spill.bad_rows.setdefault(target, []).append((row, text))
    spill.close()
    return spill, orphans, header
