"""Writing outputs so that a reader sees them whole or not at all.

A file is written under a hidden temporary name beside its target and renamed over it; a
directory (a trace, a set of results) is built as a hidden sibling and renamed into place,
swapping out the one it replaces in one step where the system can. Traces, results and
reports all go through these functions.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Callable, Iterable

from dmmemu.errors import OutputError


def write_atomically(path: Path, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)`` then rename over ``path``: readers never see a partial file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600; an output file is as any other
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def staging_directory(path: Path) -> Path:
    """A new hidden sibling of ``path`` to build its content in (the parents are created):
    on the same file system, so that ``move_into_place`` is a rename."""
    path = path.absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    os.chmod(tmp, 0o777 & ~umask())
    return tmp


def move_into_place(tmp: Path, path: Path, replace: bool) -> None:
    """Rename ``tmp`` to ``path``; an existing directory is swapped out in one step where the
    system can (Linux renameat2 RENAME_EXCHANGE), else moved aside just before."""
    if not replace:
        if path.exists():
            path.rmdir()  # empty: rename would replace it anyway on POSIX, not on Windows
        os.rename(tmp, path)
        return
    if _exchange(tmp, path):
        shutil.rmtree(tmp)  # tmp now holds the old content
        return
    old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:12]}"
    os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2; False where that is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # kernel or file system without the flag
    raise OSError(code, os.strerror(code), str(b))


def check_target(path: Path, *, overwrite: bool, owned: Callable[[Path], bool], what: str,
                 inputs: Iterable[Path] = (), option: str = "--out") -> bool:
    """Whether the directory ``path`` may receive an output of the kind ``what`` names: True
    when an existing output of that kind is to be replaced (``overwrite``), False when it is
    new or empty. Refused always: a path that is, holds or lies inside one of ``inputs``,
    the current directory or one holding it, a file, and a non-empty directory that
    ``owned`` does not recognise as an output of this kind (dmmemu replaces only what it
    wrote). ``option`` names the path in the CLI."""
    resolved = path.resolve()
    here = Path.cwd().resolve()
    if resolved == here or resolved in here.parents:  # it is renamed, so it cannot be cwd
        message = (f"{path} is the current directory or holds it; name a new directory for "
                   "the output")
        raise OutputError(message, cli=f"{option} {message}")
    for source in inputs:
        source = Path(source).resolve()
        if resolved == source or source in resolved.parents or resolved in source.parents:
            relation = ("is" if resolved == source else
                        "lies inside" if source in resolved.parents else "holds")
            message = (f"{path} {relation} the input {source}; an output never goes into "
                       f"(or over) its input: choose another directory")
            raise OutputError(message, cli=f"{option} {message}")
    if not path.exists():
        return False
    if not path.is_dir():
        message = f"{path} is a file, not a directory; choose another path"
        raise OutputError(message, cli=f"{option} {message}")
    if not any(path.iterdir()):
        return False
    if not owned(path):
        message = (f"{path} is a non-empty directory that does not hold {what}; dmmemu writes "
                   f"only into a new or empty directory or over its own output: choose "
                   f"another path")
        raise OutputError(message, cli=f"{option} {message}")
    if not overwrite:
        message = f"{path} already holds {what}"
        raise OutputError(f"{message}; pass overwrite=True to replace it",
                          cli=f"{option} {message}; pass --overwrite to replace it")
    return True


def os_error_text(exc: OSError) -> str:
    """An operating-system error in a user's words: the path and the reason, no errno code
    (``existing.txt: file exists``)."""
    reason = (exc.strerror or str(exc)).rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    return f"{exc.filename}: {reason}" if exc.filename else reason
