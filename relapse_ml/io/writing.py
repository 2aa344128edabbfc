"""Writing output files all or nothing: temporary files beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from relapse_ml.io.reading import TABLE_FORMATS

# Temporary files and folders are named ``.<final name>.relapse-ml-tmp-<pid>-<token>``
# so that a later run can recognise (and remove) those of a process that was killed.
TMP_MARKER = ".relapse-ml-tmp-"


def temporary_path(path: Path) -> Path:
    """A fresh temporary name beside ``path`` that records this process's id."""
    path = Path(path)
    token = secrets.token_hex(4)
    return path.with_name(f".{path.name}{TMP_MARKER}{os.getpid()}-{token}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporaries of ``path`` left by processes that are no longer running.

    Parameters
    ----------
    path : Path
        A final output path; its folder is searched for ``.<name>.relapse-ml-tmp-<pid>-*``.

    Returns
    -------
    list of Path
        What was removed.
    """
    path = Path(path)
    prefix = f".{path.name}{TMP_MARKER}"
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    for entry in path.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        pid = entry.name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit() or _pid_alive(int(pid)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _create_empty(tmp: Path) -> None:
    # 0o666 minus the umask: the mode an ordinary new file gets.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    A crash or kill before the rename leaves no file at ``path`` (only a hidden
    temporary that :func:`remove_stale_temporaries` recognises), so readers
    never see a partial file.
    """
    with atomic_paths([path]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(paths: list[Path]) -> Iterator[list[Path]]:
    """Yield temporary paths for several files; on success, rename them all, the last one last.

    The last path marks a complete set: it is removed before any rename and
    renamed after all others. The temporaries are always removed. If the body
    fails, the paths are not touched; if a rename fails, none of the files is
    left at its path (an older file there would no longer match the others).
    """
    paths = [Path(p) for p in paths]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
    temporaries: list[Path] = []
    try:
        for path in paths:
            tmp = temporary_path(path)
            _create_empty(tmp)
            temporaries.append(tmp)
        yield list(temporaries)
        try:
            paths[-1].unlink(missing_ok=True)
            for tmp, path in zip(temporaries, paths, strict=True):
                os.replace(tmp, path)
        except BaseException:
            for path in paths:
                if not path.is_dir():
                    path.unlink(missing_ok=True)
            raise
    finally:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)


def check_output_paths(paths: list[Path]) -> None:
    """Refuse, before any work, output paths that cannot be written.

    Raises
    ------
    ValueError
        Two outputs share a path, a path is a folder, or its folder cannot be
        created (a file is in the way) or written.
    """
    resolved = [Path(p).absolute() for p in paths]
    if len(set(resolved)) < len(resolved):
        raise ValueError(
            f"the scores, rejects and drift files must differ: {', '.join(map(str, paths))}"
        )
    for path in resolved:
        if path.is_dir():
            raise ValueError(f"{path} is a folder; give a file name")
        folder = path.parent
        while not folder.exists() and not folder.is_symlink():
            folder = folder.parent
        if not folder.is_dir():
            raise ValueError(f"cannot create the folder of {path}: {folder} is not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"cannot write to the folder {folder}")


def make_missing_folders(paths: list[Path]) -> list[Path]:
    """Create the missing parent folders of ``paths``; return those created (deepest last).

    Raises
    ------
    ValueError
        A folder cannot be created.
    """
    created: list[Path] = []
    for path in paths:
        missing = []
        folder = Path(path).absolute().parent
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except OSError as exc:
                raise ValueError(f"cannot create the folder {folder}: {exc.strerror}") from None
            created.append(folder)
    return created


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV or Parquet (by the extension of ``path``), atomically.

    Parameters
    ----------
    frame : DataFrame
        Table to write; the index is not written.
    path : Path
        Destination ending in ``.csv`` or ``.parquet``.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise ValueError(f"{path}: expected a .csv or .parquet file name")
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False, lineterminator="\n")
        else:
            frame.to_parquet(tmp, index=False)
    return path


def write_text(text: str, path: Path) -> Path:
    """Write UTF-8 text to ``path`` atomically and return ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- reading
