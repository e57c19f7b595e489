"""Standard streams and file names for the two command lines (``cleaner`` and ``cleaner
batch``): one way each to show a name, to write everything, to report an output that cannot
be written, and to stop on a closed stdout."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO


class OutputError(Exception):
    """An output that cannot be opened or written (closed, disk full); the message names it."""


@contextmanager
def writing(shown: str) -> Iterator[None]:
    """An OSError while writing the output ``shown`` becomes an OutputError naming it, so the
    command lines' handlers of input errors never take it for one. A broken pipe passes on
    as it is: the reader went away, which is said differently."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"{shown}: cannot write ({exc.strerror or exc})") from None


def standard_output() -> IO[bytes]:
    """The binary standard output; OutputError when the process started with it closed
    (``cleaner x.txt >&-``)."""
    if sys.stdout is None:
        raise OutputError("standard output is closed")
    return sys.stdout.buffer


def display_name(name: str) -> str:
    """A file name as valid text: bytes of the name that are not UTF-8 (held by Python as
    surrogates) shown as ``\\xNN``, so output that names the file stays valid UTF-8.

    >>> display_name("caf\\udce9.txt")
    'caf\\\\xe9.txt'
    """
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def write_all(stream: IO[bytes], data: bytes | memoryview) -> None:
    """Write all of ``data``. An unbuffered stdout (python -u, PYTHONUNBUFFERED), or a pipe
    whose reader goes away, may take part of the bytes: writing the rest then raises
    BrokenPipeError instead of losing them silently."""
    view = memoryview(data)
    while view:
        view = view[stream.write(view) or 0 :]


class WholeWrites:
    """A binary stream whose ``write`` writes all it is given (see :func:`write_all`)."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream

    def write(self, data: bytes) -> int:
        write_all(self.stream, data)
        return len(data)

    def flush(self) -> None:
        self.stream.flush()


def stdout_closed(message: str) -> None:
    """The reader of standard output went away, or it cannot be written: stop writing to it
    quietly (no failed flush at exit) and say so once on stderr."""
    try:
        sys.stdout = None  # type: ignore[assignment]
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    finally:
        print(message, file=sys.stderr)
