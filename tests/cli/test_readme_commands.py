"""The README is executable: every ``relapse-ml`` command it shows runs as written.

Each command is taken from README.md (inline code and code blocks), reduced to
its plain documented form (optional ``[...]`` parts dropped), its placeholders
(DIR, N, S, FILE, ID) filled in, and run through the installed console script
in a temporary folder with MLflow's embedded default store. The quick start is
run by ``.ci/run``; ``mlflow models serve`` and the ``curl`` request run in
``tests/integration/test_rest_serving.py``.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from relapse_ml.cli import app
from relapse_ml.schema import render_data_dictionary
from tests.helpers import stop_process, venv_env, wait_for_http

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CONSOLE_SCRIPT = Path(sys.executable).parent / "relapse-ml"
# Stage order: data first, then the model, then what uses the model.
STAGES = ("--help", "schema", "simulate", "validate", "train", "predict", "explain", "demo")
N_PATIENTS = "600"
SEED = "7"
COHORT = "cohort"


def readme_commands(text: str) -> list[str]:
    """Every ``relapse-ml ...`` command shown in ``text`` (inline code or code-block lines)."""
    commands = []
    for span in re.findall(r"`([^`\n]+)`", text):
        if span.startswith("relapse-ml"):
            commands.append(span)
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            for part in re.split(r"&&", line):
                part = part.strip().removeprefix(".venv/bin/")
                if part.startswith("relapse-ml"):
                    commands.append(part)
    return commands


def plain_form(command: str) -> str:
    """Drop optional ``[...]`` parts (tuning flags) and markdown escapes."""
    command = command.replace("\\|", "|")
    previous = None
    while previous != command:
        previous = command
        command = re.sub(r"\s*\[[^\[\]]*\]", "", command)
    return " ".join(command.split())


def fill_placeholders(command: str, patient_id: str) -> list[str]:
    """Replace the README's placeholders with values for a run in the test folder."""
    words = shlex.split(command)
    subcommand = words[1] if len(words) > 1 else ""
    values = {
        "--n": N_PATIENTS,
        "--seed": SEED,
        "--data": COHORT,
        "--patient": patient_id,
        "--out": {"simulate": COHORT, "predict": "scores.csv"}.get(subcommand, "out.txt"),
    }
    filled = []
    for i, word in enumerate(words):
        if re.fullmatch(r"[A-Z]+", word) and i > 0 and words[i - 1] in values:
            word = values[words[i - 1]]
        elif re.fullmatch(r"[A-Z]+", word):
            raise AssertionError(f"unknown placeholder {word!r} in README command {command!r}")
        filled.append(word)
    return [str(CONSOLE_SCRIPT), *filled[1:]]


def _stage(command: str) -> int:
    words = command.split()
    name = words[1] if len(words) > 1 else "--help"
    return STAGES.index(name)


def _run(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = venv_env()
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLFLOW_REGISTRY_URI", None)
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_readme_lists_every_cli_command():
    documented = {plain_form(c).split()[1] for c in readme_commands(README.read_text()) if " " in c}
    registered = {command.name or command.callback.__name__ for command in app.registered_commands}
    assert registered <= documented, f"undocumented commands: {registered - documented}"


def test_placeholders_are_filled_and_options_dropped():
    line = "relapse-ml simulate --n N --seed S --out DIR [--format csv\\|parquet]"
    args = fill_placeholders(plain_form(line), "P1")
    assert args[1:] == ["simulate", "--n", N_PATIENTS, "--seed", SEED, "--out", COHORT]
    with pytest.raises(AssertionError, match="XYZ"):
        fill_placeholders("relapse-ml predict --out XYZ --bogus XYZ", "P1")


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """Run every README command in stage order in one folder; keep each result."""
    assert CONSOLE_SCRIPT.is_file(), f"the console script is not installed at {CONSOLE_SCRIPT}"
    folder = tmp_path_factory.mktemp("readme")
    plain = sorted(
        dict.fromkeys(plain_form(c) for c in readme_commands(README.read_text())), key=_stage
    )
    results: dict[str, subprocess.CompletedProcess] = {}
    for command in plain:
        patient_id = ""
        if (folder / COHORT / "patients.csv").is_file():
            patient_id = pd.read_csv(folder / COHORT / "patients.csv", dtype=str)["patient_id"][0]
        results[command] = _run(fill_placeholders(command, patient_id), folder)
    return folder, results


def _only(results: dict, stage: str) -> list[subprocess.CompletedProcess]:
    found = [r for c, r in results.items() if _stage(c) == STAGES.index(stage)]
    assert found, f"README shows no `relapse-ml {stage}` command"
    return found


def test_every_readme_command_exits_zero(readme_run):
    _folder, results = readme_run
    failed = {
        c: f"exit {r.returncode}: {r.stderr.strip()[-800:]}"
        for c, r in results.items()
        if r.returncode != 0
    }
    assert not failed, failed
    for result in results.values():
        assert "Traceback" not in result.stderr


def test_readme_commands_write_what_they_promise(readme_run):
    folder, results = readme_run
    (schema,) = _only(results, "schema")
    assert schema.stdout == render_data_dictionary()
    cohort = folder / COHORT
    for name in ("patients", "measurements", "outcomes", "truth"):
        assert (cohort / f"{name}.csv").is_file()
    assert len(pd.read_csv(cohort / "patients.csv")) == int(N_PATIENTS)
    assert "no problems found" in _only(results, "validate")[0].stdout

    # Both URIs explicit: another test may have left mlflow's global registry URI set.
    store = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    # `train` registered version 1; the demo, run last, registers the next one.
    versions = client.search_model_versions("name='car-t-relapse'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    assert str(client.get_model_version_by_alias("car-t-relapse", "champion").version) in {"1", "2"}

    for result in _only(results, "predict"):
        assert "scored" in result.stdout
    for stem, suffix in (("scores", ".csv"), ("scores", ".parquet")):
        scores = folder / f"{stem}{suffix}"
        assert scores.is_file(), f"{scores.name} missing"
        frame = pd.read_csv(scores) if suffix == ".csv" else pd.read_parquet(scores)
        rejects = pd.read_csv(folder / f"{stem}.rejects.csv")
        assert len(frame) + len(rejects) == int(N_PATIENTS)
        assert frame["risk"].between(0, 1).all()
        drift = json.loads((folder / f"{stem}.drift.json").read_text())
        assert "summary" in drift

    report = folder / "report.html"
    assert report.is_file() and "<html" in report.read_text().lower()

    demo = folder / "demo-output"
    assert demo.is_dir()
    assert any(p.suffix == ".html" for p in demo.rglob("*"))


def test_readme_mlflow_ui_command_serves_the_store(readme_run):
    """``mlflow ui --backend-store-uri sqlite:///mlflow.db`` (as the README shows) answers."""
    folder, _results = readme_run
    (command,) = re.findall(r"`(mlflow ui [^`]+)`", README.read_text())
    args = [str(Path(sys.executable).parent / "mlflow"), *shlex.split(command)[1:]]
    env = venv_env()
    process = subprocess.Popen(
        args, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        # The documented form binds MLflow's default, 127.0.0.1:5000.
        wait_for_http("http://127.0.0.1:5000/health", 120, process)
        with urllib.request.urlopen(
            "http://127.0.0.1:5000/api/2.0/mlflow/registered-models/search", timeout=10
        ) as response:
            names = [m["name"] for m in json.loads(response.read())["registered_models"]]
        assert "car-t-relapse" in names
    finally:
        stop_process(process, 30)
