"""Malformed CSV rows are rejected alike by ``--engine local`` and ``--engine spark``.

Each case breaks one row of a small simulated folder (an extra field, a missing
field, bad quoting; in patients and in measurements) and checks the documented
outcome on both engines: the patient the row names is rejected with the row's
table, file row number and "cannot be read" reason, every other patient is
scored, and the Spark engine's scores and rejects files equal the local ones.
An unreadable row that names no patient stops the run (structural) on both.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from relapse_ml.batch.config import PredictConfig
from relapse_ml.errors import ContractError
from relapse_ml.workflows.predict import run_predict
from relapse_ml.workflows.simulate import run_simulate

pytest.importorskip("pyspark", reason="pyspark is not installed (optional extra [spark])")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

N_PATIENTS = 30
ENGINES = ["local", "spark"]
UNREADABLE = "a row that cannot be read"

Lines = list[str]


def _pid(i: int) -> str:
    return f"P{i:06d}"


def _measurement_row(lines: Lines, pid: str, last: bool = False) -> int:
    """Index in ``lines`` of the first (or last) measurement row of ``pid``."""
    hits = [i for i, line in enumerate(lines) if line.startswith(pid + ",")]
    return hits[-1] if last else hits[0]


def _extra_field(lines: Lines, i: int) -> int:
    lines[i] += ",surplus"
    return i


def _missing_field(lines: Lines, i: int) -> int:
    lines[i] = ",".join(lines[i].split(",")[:3])
    return i


def _unclosed_quote(lines: Lines, i: int) -> int:
    fields = lines[i].split(",")
    fields[1] = '"' + fields[1]  # an opening quote that is never closed
    lines[i] = ",".join(fields)
    return i


# case -> (table edited, edit returning the edited line index, rejected patient)
# The unclosed quote sits on the file's last row: see the module docstring of
# relapse_ml.batch.spark for what happens when rows follow it.
CASES: dict[str, tuple[str, Callable[[Lines], int], str | None]] = {
    "patients-extra-field": ("patients", lambda ls: _extra_field(ls, 5), _pid(5)),
    "patients-missing-field": ("patients", lambda ls: _missing_field(ls, 7), _pid(7)),
    "patients-unclosed-quote": (
        "patients",
        lambda ls: _unclosed_quote(ls, N_PATIENTS),
        _pid(N_PATIENTS),
    ),
    "measurements-extra-field": (
        "measurements",
        lambda ls: _extra_field(ls, _measurement_row(ls, _pid(11))),
        _pid(11),
    ),
    "measurements-missing-field": (
        "measurements",
        lambda ls: _missing_field(ls, _measurement_row(ls, _pid(13))),
        _pid(13),
    ),
    "measurements-unclosed-quote": (
        "measurements",
        lambda ls: _unclosed_quote(ls, len(ls) - 1),
        _pid(N_PATIENTS),
    ),
}


@pytest.fixture(scope="module")
def clean_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("malformed-base")
    run_simulate(n=N_PATIENTS, seed=3, out_dir=folder, fmt="csv")
    for extra in ("outcomes.csv", "truth.csv"):
        (folder / extra).unlink()
    return folder


def _edited(clean: Path, target: Path, table: str, edit: Callable[[Lines], int]) -> int:
    """Copy ``clean`` to ``target`` with one line of ``table`` edited; return its data row."""
    shutil.copytree(clean, target)
    path = target / f"{table}.csv"
    lines = path.read_text().splitlines()
    row = edit(lines)
    path.write_text("\n".join(lines) + "\n")
    return row  # line index == 1-based data row number (the header is line 0)


def _predict(folder: Path, model_path: Path, out: Path, engine: str):
    summary = run_predict(
        PredictConfig(folder, str(model_path), out, chunk_size=8, engine=engine, workers=1)
    )
    scores = pd.read_parquet(out)
    rejects = pd.read_csv(out.with_name("p.rejects.csv"), dtype=str, keep_default_na=False)
    return summary, scores, rejects


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", list(CASES))
def test_malformed_row_rejects_its_patient(
    case, engine, model_path, clean_folder, tmp_path, spark_session
):
    table, edit, rejected = CASES[case]
    folder = tmp_path / "data"
    row = _edited(clean_folder, folder, table, edit)
    summary, scores, rejects = _predict(folder, model_path, tmp_path / engine / "p.parquet", engine)

    assert list(rejects["patient_id"]) == [rejected]
    reject = rejects.iloc[0]
    assert (reject["table"], int(reject["row"])) == (table, row)
    assert UNREADABLE in reject["found"]
    assert reject["expected"].endswith(" fields")
    everyone = {_pid(i) for i in range(1, N_PATIENTS + 1)}
    assert set(scores["patient_id"]) == everyone - {rejected}
    assert (summary.n_scored, summary.n_rejected) == (N_PATIENTS - 1, 1)
    if engine == "spark":
        _, local_scores, local_rejects = _predict(
            folder, model_path, tmp_path / "local" / "p.parquet", "local"
        )
        pd.testing.assert_frame_equal(scores, local_scores)
        pd.testing.assert_frame_equal(rejects, local_rejects)


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_quote_inside_a_field_is_read_alike(
    engine, model_path, clean_folder, tmp_path, spark_session
):
    # A closed quote followed by text: the CSV reader keeps the text (B-ALLx), and
    # validation then rejects the value; both engines must read the cell alike.
    disease = []

    def edit(lines: Lines) -> int:
        fields = lines[9].split(",")
        disease.append(fields[3])
        fields[3] = f'"{fields[3]}"x'
        lines[9] = ",".join(fields)
        return 9

    folder = tmp_path / "data"
    _edited(clean_folder, folder, "patients", edit)
    _, scores, rejects = _predict(folder, model_path, tmp_path / engine / "p.parquet", engine)
    assert list(rejects["patient_id"]) == [_pid(9)]
    assert (rejects.loc[0, "column"], rejects.loc[0, "row"]) == ("disease", "9")
    assert f"{disease[0]}x" in rejects.loc[0, "found"]
    assert set(scores["patient_id"]) == {_pid(i) for i in range(1, N_PATIENTS + 1)} - {_pid(9)}


@pytest.mark.parametrize("engine", ENGINES)
def test_unreadable_measurement_of_unknown_patient(
    engine, model_path, clean_folder, tmp_path, spark_session
):
    folder = tmp_path / "data"
    shutil.copytree(clean_folder, folder)
    with (folder / "measurements.csv").open("a") as handle:
        handle.write("GHOST,7,il6_pg_ml\n")  # unreadable (3 of 6 fields), unknown patient
    n_rows = len((folder / "measurements.csv").read_text().splitlines()) - 1
    summary, scores, rejects = _predict(folder, model_path, tmp_path / engine / "p.parquet", engine)
    assert len(scores) == N_PATIENTS
    assert list(rejects["patient_id"]) == ["GHOST"]
    assert (rejects.loc[0, "table"], int(rejects.loc[0, "row"])) == ("measurements", n_rows)
    assert "1 measurement row(s) not used" in rejects.loc[0, "reason"]
    assert summary.n_unknown_patients == 1


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("table", ["patients", "measurements"])
def test_unreadable_row_naming_no_patient_is_structural(
    table, engine, model_path, clean_folder, tmp_path, spark_session
):
    folder = tmp_path / "data"
    shutil.copytree(clean_folder, folder)
    path = folder / f"{table}.csv"
    lines = path.read_text().splitlines()
    lines.insert(4, ",SITE01")  # no patient_id, 2 fields
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / engine / "p.parquet"
    with pytest.raises(ContractError) as caught:
        run_predict(
            PredictConfig(folder, str(model_path), out, chunk_size=8, engine=engine, workers=1)
        )
    problems = [(p.kind, p.table, p.row, p.found) for p in caught.value.problems]
    assert problems == [("structural", table, 4, f"{UNREADABLE}: ',SITE01'")]
    assert not out.exists()


def test_quote_state_matches_pyarrow():
    # Spark parses a line alone when it ends inside a quoted value; the check
    # must agree with pyarrow's parser on every short line of these characters.
    import io
    import itertools

    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from relapse_ml.batch.spark_reading import _ends_in_quote

    def n_rows(text: str) -> int:
        """Rows pyarrow reads from ``text``, readable or not."""
        invalid = []
        table = pa_csv.read_csv(
            io.BytesIO(text.encode()),
            read_options=pa_csv.ReadOptions(column_names=["a", "b", "c"], use_threads=False),
            parse_options=pa_csv.ParseOptions(
                invalid_row_handler=lambda row: invalid.append(row) or "skip"
            ),
            convert_options=pa_csv.ConvertOptions(column_types={c: pa.string() for c in "abc"}),
        )
        return table.num_rows + len(invalid)

    checked = 0
    for size in range(1, 7):
        for chars in itertools.product('a,"', repeat=size):
            line = "".join(chars)
            # A line ending inside quotes swallows the next row: one row, not two.
            assert _ends_in_quote(line) == (n_rows(f"{line}\nx,y,z\n") == 1), line
            checked += _ends_in_quote(line)
    assert checked > 100  # the opening-quote branch was exercised
