"""A results directory is one unit: complete, or absent.

``ResultsWriter`` writes a run (or several, one sub-directory each) into a hidden sibling of
the target and renames it into place only once every table and the manifest are written, so
a reader sees all of an output or none of it, and an earlier output is replaced only when
asked. The manifest (``manifest.json``) is the commit mark: schema version, dmmemu version,
run label, practice, parameters, the trace's identity (``trace_identity``), and every table
with its rows and bytes. ``run_directories`` is the one reader of it: it refuses a directory
that is partial, changed since it was written, or not dmmemu's, naming it.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from dmmemu.atomic_output import (
    check_target,
    move_into_place,
    os_error_text,
    staging_directory,
)
from dmmemu.errors import DmmemuError, DmmemuWarning, OutputError
from dmmemu.trace.reader import parquet_footer_sha256

if TYPE_CHECKING:  # pragma: no cover
    from dmmemu.results.tables import RunResult

MANIFEST = "manifest.json"
FORMAT = "dmmemu-results"
SCHEMA_VERSION = 1
KIND_RUN = "run"  # a directory of one run's tables
KIND_SET = "set"  # a directory of runs, one sub-directory each


class ResultsError(DmmemuError):
    """A results directory cannot be read (missing, partial, changed, or not dmmemu's)."""


class ResultsWarning(DmmemuWarning):
    """Something beside the results read was left out (an unlisted or partial run)."""


def is_results_directory(path: Path) -> bool:
    """A directory with a dmmemu manifest: an output that ``overwrite`` may replace."""
    try:
        return _read_manifest(path).get("format") == FORMAT
    except ResultsError:
        return False


class ResultsWriter:
    """Writes runs as one output at ``out``: a single run's tables directly in it
    (``single``), or each run in a sub-directory named by its label. Use as a context
    manager: leaving the block normally commits (renames the staging directory into place);
    an error removes it and leaves ``out`` as it was."""

    def __init__(self, out: str | Path, *, overwrite: bool = False, single: bool = False,
                 inputs: Iterable[str | Path] = ()) -> None:
        self.out = Path(out)
        self.single = single
        self._replace = check_target(self.out, overwrite=overwrite, owned=is_results_directory,
                                     what="dmmemu results", inputs=[Path(p) for p in inputs])
        self.staging: Path | None = None
        self.labels: list[str] = []

    def __enter__(self) -> "ResultsWriter":
        self.staging = staging_directory(self.out)
        return self

    def __exit__(self, kind, value, traceback) -> None:
        assert self.staging is not None
        try:
            if kind is None:
                self._commit()
        finally:
            if self.staging.exists():
                shutil.rmtree(self.staging, ignore_errors=True)

    def add(self, label: str, result: "RunResult") -> Path:
        """Write ``result``'s tables and manifest under ``label``; returns where they will be
        once committed."""
        assert self.staging is not None, "use ResultsWriter as a context manager"
        if self.single and self.labels:
            raise OutputError(f"{self.out}: a single-run output holds one run")
        if not self.single and (label in self.labels or not plain_name(label)):
            raise OutputError(f"run label {label!r} must be unique and usable as a directory "
                              "name (no '/', not '.' or '..', not hidden)")
        directory = self.staging if self.single else self.staging / label
        final = self.out if self.single else self.out / label
        directory.mkdir(exist_ok=True)
        _write_run(result, directory, final, label)
        self.labels.append(label)
        return final

    def _commit(self) -> None:
        assert self.staging is not None
        if not self.labels:
            raise OutputError(f"{self.out}: no run to write")
        if not self.single:
            _write_manifest(self.staging, self.out, {
                "format": FORMAT, "schema_version": SCHEMA_VERSION, "kind": KIND_SET,
                "dmmemu_version": _version(), "runs": self.labels})
        try:
            move_into_place(self.staging, self.out, self._replace)
        except OSError as exc:
            raise OutputError(f"could not put the results in place at {self.out}: "
                              f"{os_error_text(exc)}; nothing was written") from None


def plain_name(label: str) -> bool:
    """A run label or table file name usable as a directory entry of its own."""
    return bool(label) and "/" not in label and "\\" not in label and not label.startswith(".")


def _version() -> str:
    from dmmemu import __version__

    return __version__


def _write_run(result: "RunResult", directory: Path, final: Path, label: str) -> None:
    """One run's tables, then its manifest; an OSError names the table, the practice and
    the final path, not the staging one."""
    import pyarrow.parquet as pq

    meta = result.meta
    metadata = meta.as_metadata()
    tables: dict[str, dict[str, Any]] = {}
    for name, frame in result.tables().items():
        file = f"{name}.parquet"
        table = frame.to_arrow()
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
        try:
            pq.write_table(table, directory / file, compression="zstd")
        except OSError as exc:
            raise OutputError(
                f"could not write the {name} table of practice {meta.practice!r} "
                f"({final / file}): {exc.strerror or exc}; nothing was written") from None
        tables[name] = {"file": file, "rows": frame.height,
                        "bytes": (directory / file).stat().st_size,
                        "footer_sha256": parquet_footer_sha256(directory / file)}
    _write_manifest(directory, final, {
        "format": FORMAT, "schema_version": SCHEMA_VERSION, "kind": KIND_RUN,
        "dmmemu_version": meta.version, "run": label, "practice": meta.practice,
        "params": json.loads(metadata["dmmemu.params"]), "engine": meta.engine,
        "seed": meta.seed, "timeline_bin_s": meta.timeline_bin_s,
        "trace": {"name": meta.trace, "files": dict(meta.trace_files)},
        "tables": tables})


def _write_manifest(directory: Path, final: Path, fields: dict[str, Any]) -> None:
    """The commit mark, written last into the private staging directory (whose rename is
    what makes the output appear)."""
    try:
        (directory / MANIFEST).write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n",
                                          encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"could not write {final / MANIFEST}: {exc.strerror or exc}; "
                          "nothing was written") from None


# ------------------------------------------------------------------------- reading

@dataclass(frozen=True, slots=True)
class RunDirectory:
    """A complete run on disk: its label, directory and manifest."""

    label: str
    path: Path
    manifest: dict[str, Any]


def run_directories(root: str | Path) -> list[RunDirectory]:
    """The complete runs at ``root``: a run directory, a set (every run it lists), or a
    plain directory whose sub-directories are runs (each written on its own). A partial or
    changed run is an error naming it; in a plain directory, sub-directories that hold
    tables but no manifest, and in a set the runs it does not list, are left out with a
    ``ResultsWarning``."""
    root = Path(root)
    if not root.is_dir():
        raise ResultsError(f"{root}: not a directory of results")
    if (root / MANIFEST).exists():
        manifest = _checked_manifest(root)
        if manifest["kind"] == KIND_RUN:
            return [_checked_run(root, manifest, manifest.get("run") or root.name)]
        runs = manifest.get("runs")
        if not isinstance(runs, list) or not all(isinstance(r, str) and plain_name(r)
                                                 for r in runs):
            raise ResultsError(f"{root / MANIFEST}: 'runs' must list the run directories")
        extra = sorted(d.name for d in root.iterdir()
                       if d.is_dir() and not d.name.startswith(".") and d.name not in runs)
        if extra:
            warnings.warn(f"{root}: left out {', '.join(extra)}: not runs of the set that "
                          f"{root / MANIFEST} lists", ResultsWarning, stacklevel=2)
        return [_checked_run(root / label, _checked_manifest(root / label), label)
                for label in runs]
    if any(root.glob("*.parquet")):
        raise ResultsError(_no_manifest(root))
    found, partial = [], []
    for sub in sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")):
        if (sub / MANIFEST).exists():
            manifest = _checked_manifest(sub)
            if manifest["kind"] != KIND_RUN:
                raise ResultsError(f"{sub}: a set of runs inside {root}; read it on its own")
            found.append(_checked_run(sub, manifest, sub.name))
        elif any(sub.glob("*.parquet")):
            partial.append(sub.name)
    if partial:
        message = (f"{root}: left out {', '.join(partial)}: tables without a manifest (a run "
                   "that did not finish, or not written by this dmmemu)")
        if not found:
            raise ResultsError(message + "; run them again")
        warnings.warn(message, ResultsWarning, stacklevel=2)
    if not found:
        raise ResultsError(
            f"{root}: no results found (no {MANIFEST} in it or in its sub-directories); "
            f"write some with `dmmemu run TRACE -p PRACTICE --out {root}`")
    return found


def _no_manifest(path: Path) -> str:
    return (f"{path}: tables without {MANIFEST}: a run that did not finish, or results "
            "not written by this dmmemu; run it again")


def _read_manifest(path: Path) -> dict[str, Any]:
    file = path / MANIFEST
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(_no_manifest(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = os_error_text(exc) if isinstance(exc, OSError) else "not UTF-8 text"
        raise ResultsError(f"{file}: cannot be read ({reason})") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{file}: not a dmmemu manifest (line {exc.lineno}: "
                           f"{exc.msg})") from None
    if not isinstance(manifest, dict):
        raise ResultsError(f"{file}: not a dmmemu manifest (not a JSON object)")
    return manifest


def _checked_manifest(path: Path) -> dict[str, Any]:
    manifest = _read_manifest(path)
    file = path / MANIFEST
    if manifest.get("format") != FORMAT:
        raise ResultsError(f"{file}: not a dmmemu results manifest")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise ResultsError(f"{file}: 'schema_version' must be a positive integer")
    if version > SCHEMA_VERSION:
        raise ResultsError(f"{file}: written by a newer dmmemu (results schema {version}, "
                           f"this one reads {SCHEMA_VERSION}); upgrade dmmemu to read it")
    if manifest.get("kind") not in (KIND_RUN, KIND_SET):
        raise ResultsError(f"{file}: 'kind' must be {KIND_RUN!r} or {KIND_SET!r}")
    return manifest


def _checked_run(path: Path, manifest: dict[str, Any], label: str) -> RunDirectory:
    """A run whose every table is present with the size its manifest gives."""
    if manifest["kind"] != KIND_RUN:
        raise ResultsError(f"{path}: a set of runs where a run was expected")
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise ResultsError(f"{path / MANIFEST}: 'tables' must list the run's tables")
    for name, entry in tables.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("file"), str)
                and plain_name(entry["file"]) and isinstance(entry.get("bytes"), int)
                and isinstance(entry.get("footer_sha256"), str)):
            raise ResultsError(f"{path / MANIFEST}: table {name!r} needs a 'file' in the run "
                               "directory, its 'bytes' and its 'footer_sha256'")
        file = path / entry["file"]
        if not file.is_file():
            raise ResultsError(f"{path}: partial run: {entry['file']} is missing; run it again")
        size = file.stat().st_size
        if size != entry["bytes"]:
            raise ResultsError(f"{path}: changed since it was written: {entry['file']} has "
                               f"{size} bytes, the manifest says {entry['bytes']}; run it "
                               "again")
        if parquet_footer_sha256(file) != entry["footer_sha256"]:
            raise ResultsError(f"{path}: changed since it was written: {entry['file']}'s "
                               "Parquet footer differs from the manifest's; run it again")
    return RunDirectory(label=label, path=path, manifest=manifest)
