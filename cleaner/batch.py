"""Batch cleaning of corpora: JSONL, WARC responses and WET conversions (gzip, xz or bzip2).

    python -m cleaner batch INPUT... -o OUTPUT.jsonl.gz [--jobs N] [--labels]

An INPUT of ``-`` is JSONL (or, with ``--format warc``, WARC) on standard input; a pipe or
FIFO is read like a file. One JSON record per document, in input order: ``{"id", "url",
"source", "text"}`` (plus ``"labels"`` with ``--labels``), or ``{"id", "url", "source",
"error"}`` for a record that was not cleaned: nothing is dropped silently, and the batch
goes on. An error is either a
failure (not JSON, undecodable, cut short, over the time limit, a file that cannot be read
further) or a WARC record that is no page to clean (an image, an HTTP 404 or redirect).
Input is read and output written in blocks, so memory stays bounded; ``--jobs`` worker
processes (default: all cores) each load the model once. The output appears under its name
only when the run completes. A progress line on stderr when it is a terminal; a summary
line at the end always. Exit status: 0 done; 1 a document or file failed (counted in the
summary) or an input or output could not be opened; 2 a usage error; 130 interrupted
(Ctrl-C); 143 terminated (SIGTERM, as sent by timeout, systemd or Slurm).
"""

from __future__ import annotations

import argparse
import bz2
import codecs
import gzip
import io
import json
import lzma
import math
import os
import secrets
import signal
import stat
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cleaner.api import BLANK, assemble, labeled_lines
from cleaner.decode import decode, looks_binary
from cleaner.model import ModelError
from cleaner.segment import Lines, looks_like_html
from cleaner.streams import OutputError, WholeWrites, display_name, standard_output, stdout_closed, writing

if TYPE_CHECKING:  # pragma: no cover
    from fastwarc.warc import WarcRecord

BLOCK_PER_JOB = 32  # documents handed to each worker per round (bounds memory)
GROUP = 16  # documents classified together (Cleaner.predict_many)
# A compressed HTTP body larger than this once decompressed is reported, not decompressed
# (the command line's limit for one HTML page).
MAX_DECOMPRESSED = 256 << 20
# Worker pools that break one after another with no group cleaned in between: the workers
# cannot run at all (or every group kills one), so the run stops instead of going on.
MAX_BREAKS_IN_A_ROW = 3
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
# A --timeout longer than this (about 11.6 days) means no limit: no document needs more, and
# far longer ones overflow the interval timer (setitimer raised OverflowError on each).
MAX_TIMEOUT = 10**6
WARC_HINT = "reading WARC/WET needs fastwarc: pip install 'cleaner[warc]'"


@dataclass
class Document:
    id: Any  # the input's id, unchanged (a JSON value); the source when it has none
    url: Any
    source: str  # "file:line" (JSONL) or "file:record" (WARC, every record counted)
    content: str | bytes | None  # bytes: a WARC body, decoded by page_text in the worker
    mode: str  # "text" or "html" ("auto": sniffed)
    error: str | None = None
    charset: str | None = None  # the HTTP charset of a WARC body
    not_a_page: bool = False  # the error says why a WARC record is no page (not a failure)
    unreadable_file: bool = False  # the error says why the rest of the file cannot be read
    size: int = 0  # bytes of input, for the summary


class NotAPage(Exception):
    """A WARC record that holds no page to clean (an image, an HTTP error or redirect)."""


class RecordError(Exception):
    """A WARC record that should hold a page but cannot be read (cut short, damaged)."""


# --- reading input files --------------------------------------------------------------------

# Errors that mean an input file is damaged or unreadable from some point on (a truncated or
# corrupt gzip/xz/bzip2 stream, a disk error); gzip.BadGzipFile is an OSError.
DAMAGE = (OSError, EOFError, zlib.error, lzma.LZMAError)
_COMPRESSED = ((b"\x1f\x8b", gzip.GzipFile), (b"\xfd7zXZ\x00", lzma.LZMAFile), (b"BZh", bz2.BZ2File))


def _decompressed(raw: IO[bytes]) -> IO[bytes]:
    """The bytes of ``raw``, decompressed when it starts like gzip, xz or bzip2. A pipe
    (standard input, a FIFO, ``<(zcat ...)``) cannot seek back: its first bytes are peeked."""
    if raw.seekable():
        magic = raw.read(6)
        raw.seek(0)
    else:
        if not hasattr(raw, "peek"):
            raw = io.BufferedReader(raw)  # type: ignore[arg-type]
        magic = raw.peek(6)[:6]  # type: ignore[attr-defined]
    for signature, opener in _COMPRESSED:
        if magic.startswith(signature):
            return opener(fileobj=raw) if opener is gzip.GzipFile else opener(raw)
    return raw


def _unreadable_file(name: str, number: int, exc: BaseException | str) -> Document:
    """The error record of a file that cannot be read from record ``number`` on."""
    reason = exc if isinstance(exc, str) else getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    where = f" after record {number - 1}" if number > 1 else ""
    source = f"{name}:{number}"
    return Document(source, None, source, None, "text", f"cannot read the file{where}: {reason}", unreadable_file=True)


@contextmanager
def _input_stream(name: str) -> Iterator[IO[bytes]]:
    """An input's bytes, decompressed: the file ``name``, or standard input for "-" (left
    open, as it is not ours)."""
    if name == "-":
        stream = _decompressed(sys.stdin.buffer)
        try:
            yield stream
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()  # a decompressor: standard input under it stays open
        return
    with open(name, "rb") as raw, _decompressed(raw) as stream:
        yield stream


def jsonl_document(line: bytes, source: str, *, field: str, id_field: str, url_field: str, mode: str) -> Document:
    """One JSONL line as a Document. The line is decoded like any input (a byte-order mark
    skipped, stray non-UTF-8 bytes read as cp1252), so one bad byte costs no record."""
    size = len(line)
    try:
        record = json.loads(decode(line))
    except RecursionError:
        return Document(source, None, source, None, mode, "not JSON (nested too deeply)", size=size)
    except ValueError as exc:  # json.JSONDecodeError, or a number too long to read
        return Document(source, None, source, None, mode, f"not JSON ({getattr(exc, 'msg', exc)})", size=size)
    if not isinstance(record, dict):
        return Document(source, None, source, None, mode, "not a JSON object", size=size)
    doc_id, url = record.get(id_field, source), record.get(url_field)
    if field not in record:
        return Document(doc_id, url, source, None, mode, f"no text field {field!r}", size=size)
    content = record[field]
    if not isinstance(content, str):
        return Document(doc_id, url, source, None, mode, f"field {field!r} is not a string", size=size)
    return Document(doc_id, url, source, content, mode, size=size)


def read_jsonl(name: str, *, field: str, id_field: str, url_field: str, mode: str) -> Iterator[Document]:
    """Documents of a JSONL file (gzip, xz or bzip2 compressed or not; "-": standard input):
    the text or HTML in ``field``. A file damaged part way gives the records before the
    damage, then an error; a WARC file gives one error (read it with ``--format warc``)."""
    shown = display_name(name)
    number = 0
    first = True
    try:
        with _input_stream(name) as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                if first and line.startswith(b"WARC/"):
                    # Not a bad first record but the wrong reader: one error, not one per line.
                    yield _unreadable_file(shown, number, "a WARC file, not JSONL (read it with --format warc)")
                    return
                first = False
                yield jsonl_document(
                    line, f"{shown}:{number}", field=field, id_field=id_field, url_field=url_field, mode=mode
                )
    except DAMAGE as exc:
        yield _unreadable_file(shown, number + 1, exc)


class _UntilDamaged:
    """A stream that ends where its data is damaged (a truncated or corrupt gzip member, a
    disk error), keeping the error in ``damage``: the WARC reader then reads every record
    before the damage, and the damage is reported after them."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.damage: BaseException | None = None
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        if self.damage is not None:
            return b""
        try:
            # read1: one decompression step at a time, so damage loses the least data.
            data = self.stream.read1(size) if size > 0 else self.stream.read()  # type: ignore[attr-defined]
        except DAMAGE as exc:
            self.damage = exc
            return b""
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position


def warc_documents(stream: IO[bytes], name: str, *, mode: str = "auto") -> Iterator[Document]:
    """Documents of a WARC or WET stream (gzip, xz or bzip2 compressed or not): a page or an
    error record for each response (HTTP) and conversion (WET text) record; other records
    are skipped, but counted in each document's ``source`` (``name:3`` is the 3rd record).
    A stream damaged part way gives the records before the damage, then an error record.
    ``cleaner batch`` and :func:`cleaner.spark.warc_records` both read WARC files with it."""
    try:
        from fastwarc.warc import ArchiveIterator, WarcRecordType
    except ImportError:
        raise ImportError(WARC_HINT) from None
    wanted = (WarcRecordType.response, WarcRecordType.conversion)
    try:
        reader = _UntilDamaged(_decompressed(stream))
    except DAMAGE as exc:
        yield _unreadable_file(name, 1, exc)
        return
    number = 0
    damage: BaseException | None = None
    try:
        for number, record in enumerate(ArchiveIterator(reader, parse_http=False), 1):  # type: ignore[arg-type]
            if record.record_type in wanted:
                yield warc_document(record, f"{name}:{number}", mode=mode)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # "Invalid WARC header"; or a panic of fastwarc's Rust core (a BaseException)
        damage = exc
    damage = reader.damage or damage  # the stream's damage is the cause of what fastwarc then saw
    if damage is not None:
        yield _unreadable_file(name, number + 1, damage)


def read_warc(name: str, *, mode: str) -> Iterator[Document]:
    """Documents of a WARC or WET file ("-": standard input): see :func:`warc_documents`. A
    file that is not WARC from its first record on gets a hint to read it as JSONL."""
    shown = display_name(name)
    if name == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(name, "rb")
        except OSError as exc:
            yield _unreadable_file(shown, 1, exc)
            return
    try:
        for doc in warc_documents(stream, shown, mode=mode):
            if doc.unreadable_file and doc.source == f"{shown}:1" and "WARC header" in (doc.error or ""):
                doc.error = f"{doc.error} (not a WARC file? --format jsonl reads it as JSONL)"
            yield doc
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def warc_document(record: WarcRecord, source: str, *, mode: str = "auto") -> Document:
    """One WARC response or conversion record (read with ``parse_http=False``) as a Document:
    its page, or why it has none (see :func:`record_page`)."""
    doc_id = record.record_id or source
    url = record.headers.get("WARC-Target-URI")
    try:
        body, kind, charset = record_page(record)
    except NotAPage as exc:
        return Document(doc_id, url, source, None, mode, str(exc), not_a_page=True)
    except RecordError as exc:
        return Document(doc_id, url, source, None, mode, str(exc))
    except Exception as exc:  # a record shaped in a way nobody foresaw: reported, and the batch goes on
        return Document(doc_id, url, source, None, mode, f"cannot read the record ({type(exc).__name__}: {exc})")
    return Document(doc_id, url, source, body, kind if mode == "auto" else mode, charset=charset, size=len(body))


def record_page(record: WarcRecord) -> tuple[bytes, str, str | None]:
    """(body, kind, HTTP charset) of a WARC response or WET conversion record: the body with
    its HTTP Transfer-Encoding (chunked, gzip, deflate) and Content-Encoding (gzip, deflate,
    br) undone; kind "html" for HTML and XML, "text" for text/plain and WET text, "auto" for
    a page of no declared type (sniffed once decoded, see :func:`page_text`).

    Raises RecordError when the record is cut short (a truncated file) or its body cannot be
    decoded, NotAPage when it holds no page: an HTTP status other than 2xx, a content type
    other than HTML, XML or plain text, or binary data without a content type. The status
    and type are read from the headers first: the body of a record that is no page (a
    200 MB video) is skipped in bounded steps, never held in memory.
    """
    from fastwarc.warc import WarcRecordType

    if record.record_type == WarcRecordType.conversion:  # WET: text already
        return _whole_payload(record), "text", None
    http = record.is_http
    if http:
        record.parse_http()  # the reader then starts at the HTTP body
    try:
        if not http:  # a response of another protocol (dns:, ftp:): its WARC content type
            media_type, charset = parse_content_type(record.headers.get("Content-Type"))
        else:
            headers = record.http_headers
            if "\n" in headers.status_line:  # no CRLF found: the reader took the whole record for the status line
                raise RecordError("HTTP header lines end in a bare LF, which the WARC reader does not read")
            if headers.status_code is None:
                raise RecordError(f"no HTTP status in {headers.status_line[:80]!r}")
            if not 200 <= headers.status_code < 300:
                raise NotAPage(f"HTTP status {headers.status_code}")
            media_type, charset = parse_content_type(headers.get("Content-Type"))
        kind = page_kind(media_type)
    except (NotAPage, RecordError):
        _skip_payload(record)  # a truncated record says so, whatever it held
        raise
    payload = _whole_payload(record)
    if http:
        payload = undo_encodings(
            payload,
            transfer_encoding=headers.get("Transfer-Encoding"),
            content_encoding=headers.get("Content-Encoding"),
            cut_short_ok="WARC-Truncated" in record.headers,  # the crawler kept only a prefix
        )
    if kind is None and looks_binary(payload):
        raise NotAPage("not text or HTML (binary data, no content type)")
    return payload, kind or "auto", charset


def _cut_short(record: WarcRecord, read: int) -> RecordError:
    return RecordError(f"record cut short ({read} of {record.content_length} bytes): a truncated file?")


def _whole_payload(record: WarcRecord) -> bytes:
    """The rest of a record's payload; RecordError when the file ends before it does."""
    payload = record.reader.read()
    if len(payload) < record.content_length:
        raise _cut_short(record, len(payload))
    return payload


def _skip_payload(record: WarcRecord) -> None:
    """Read past the rest of a record's payload without keeping it (fastwarc reads it in
    bounded steps); RecordError when the file ends before it does."""
    skipped = record.reader.consume()
    if skipped < record.content_length:
        raise _cut_short(record, skipped)


def parse_content_type(value: str | None) -> tuple[str, str | None]:
    """(media type in lower case, charset or None) of a Content-Type header.

    >>> parse_content_type('Text/HTML; Charset="ISO-8859-1"')
    ('text/html', 'ISO-8859-1')
    """
    if not value:
        return "", None
    media_type, *parameters = value.split(";")
    charset = None
    for parameter in parameters:
        key, _, val = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'").strip() or None
    return media_type.strip().lower(), charset


def page_kind(media_type: str) -> str | None:
    """How a page of this media type is read: "html" for HTML and XML (XHTML, RSS and Atom
    feeds: parsed as HTML), "text" for text/plain, None when no type is given (the page is
    sniffed). NotAPage for any other type (images, SVG too; PDF; office documents, though
    their types say xml).

    >>> page_kind("application/rss+xml"), page_kind("text/plain"), page_kind("")
    ('html', 'text', None)
    """
    if not media_type:
        return None
    if media_type.endswith(("html", "/xml", "+xml")) and not media_type.startswith("image/"):
        return "html"
    if media_type == "text/plain":
        return "text"
    raise NotAPage(f"content type {media_type} is not text or HTML")


def _codings(header: str | None) -> list[str]:
    """The codings a Transfer-Encoding or Content-Encoding header lists, in the order applied."""
    return [coding.strip().lower() for coding in (header or "").split(",") if coding.strip()]


def undo_encodings(payload: bytes, *, transfer_encoding: str | None, content_encoding: str | None,
                   cut_short_ok: bool = False) -> bytes:  # fmt: skip
    """The HTTP body without its transfer codings (chunked, gzip, deflate: ``gzip, chunked``
    is gzipped, then chunked) and then its content encodings (gzip, deflate, br), each
    header's last coding undone first. RecordError when a coding is unknown or its data
    damaged; data that ends early passes when ``cut_short_ok`` (the crawler truncated it).

    >>> undo_encodings(b"5\\r\\nHello\\r\\n0\\r\\n\\r\\n", transfer_encoding="chunked", content_encoding=None)
    b'Hello'
    """
    for coding in reversed(_codings(transfer_encoding)):
        if coding == "chunked":
            payload = _unchunked(payload, cut_short_ok)
        else:
            payload = _undo_coding(payload, coding, "transfer", cut_short_ok)
    for coding in reversed(_codings(content_encoding)):
        payload = _undo_coding(payload, coding, "content", cut_short_ok)
    return payload


def _undo_coding(payload: bytes, coding: str, header: str, cut_short_ok: bool) -> bytes:
    """``payload`` without one compression ``coding`` of the ``header`` ("transfer" or
    "content") encoding."""
    if coding == "identity":
        return payload
    if coding in ("gzip", "x-gzip"):
        return _inflated(payload, 16 + zlib.MAX_WBITS, coding, cut_short_ok)
    if coding == "deflate":  # zlib-wrapped as the standard says; raw deflate as some servers send
        wbits = zlib.MAX_WBITS if payload[:1] and (payload[0] & 0x0F) == 8 else -zlib.MAX_WBITS
        return _inflated(payload, wbits, coding, cut_short_ok)
    if coding == "br":
        return _unbrotli(payload, cut_short_ok)
    raise RecordError(f"unsupported {header} encoding {coding}")


def _inflated(data: bytes, wbits: int, encoding: str, cut_short_ok: bool) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, MAX_DECOMPRESSED)
    except zlib.error as exc:
        raise RecordError(f"damaged {encoding} content ({exc})") from None
    if inflater.unconsumed_tail:
        raise RecordError(f"content larger than {MAX_DECOMPRESSED >> 20} MB once decompressed")
    if not inflater.eof and not cut_short_ok:
        raise RecordError(f"damaged {encoding} content (cut short)")
    return out


def _unbrotli(data: bytes, cut_short_ok: bool) -> bytes:
    try:
        import brotli  # a dependency of fastwarc, so there wherever WARC files are read
    except ImportError:
        raise RecordError("unsupported content encoding br (pip install brotli)") from None
    decompressor = brotli.Decompressor()
    try:
        out = decompressor.process(data, output_buffer_limit=MAX_DECOMPRESSED)
    except brotli.error as exc:
        raise RecordError(f"damaged br content ({exc})") from None
    if len(out) >= MAX_DECOMPRESSED:
        raise RecordError(f"content larger than {MAX_DECOMPRESSED >> 20} MB once decompressed")
    if not decompressor.is_finished() and not cut_short_ok:
        raise RecordError("damaged br content (cut short)")
    return out


def _unchunked(data: bytes, cut_short_ok: bool) -> bytes:
    """The body of a chunked transfer encoding: chunks of "size in hex CRLF data CRLF"."""
    chunks, position = [], 0
    while True:
        line_end = data.find(b"\n", position)
        if line_end < 0:
            break
        try:
            size = int(data[position:line_end].split(b";")[0].strip(), 16)
        except ValueError:
            raise RecordError("damaged chunked transfer encoding") from None
        if size <= 0:
            return b"".join(chunks)  # the last chunk
        chunk = data[line_end + 1 : line_end + 1 + size]
        chunks.append(chunk)
        if len(chunk) < size:
            break
        position = line_end + 1 + size
        position += 2 if data[position : position + 2] == b"\r\n" else 1
    if not cut_short_ok:
        raise RecordError("damaged chunked transfer encoding (cut short)")
    return b"".join(chunks)


def page_text(doc: Document) -> tuple[str, str]:
    """(text, "text" or "html") of a document to clean: a WARC body decoded (with its HTTP
    charset, see :func:`cleaner.decode.decode`), a page of undeclared kind sniffed. Called where the
    page is cleaned: in a ``cleaner batch`` worker (not the process that reads), in the
    Spark task of :func:`cleaner.spark.warc_records`."""
    assert doc.content is not None
    text = decode(doc.content, charset=doc.charset) if isinstance(doc.content, bytes) else doc.content
    if doc.mode != "auto":
        return text, doc.mode
    return text, "html" if looks_like_html(text) else "text"


# Name endings of compressed inputs, passed over when the format is read from the name.
COMPRESSION_SUFFIXES = (".gz", ".xz", ".bz2")


def input_format(name: str, choice: str) -> str:
    """The format of an input, "warc" or "jsonl": ``choice``, or by the last suffix of the
    name after any compression suffix (``x.warc.gz``, ``x.warc.wet.gz`` are WARC;
    ``cc.warc.jsonl.gz``, ``-`` and any other name are JSONL).

    >>> input_format("CC-MAIN-1.warc.wet.gz", "auto"), input_format("cc.warc.jsonl", "auto")
    ('warc', 'jsonl')
    """
    if choice != "auto":
        return choice
    suffixes = [suffix.lower() for suffix in Path(name).suffixes]
    while suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
    return "warc" if suffixes and suffixes[-1] in (".warc", ".wet") else "jsonl"


def read_inputs(names: list[str], args: argparse.Namespace) -> Iterator[Document]:
    for name in names:
        if input_format(name, args.format) == "warc":
            yield from read_warc(name, mode=args.mode)
        else:
            yield from read_jsonl(
                name, field=args.field, id_field=args.id_field, url_field=args.url_field, mode=args.mode
            )


# --- workers -------------------------------------------------------------------------------

_worker: dict = {}
# What stops a run: Ctrl-C, and SIGTERM (timeout, systemd, Slurm), where the platform has it.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))
Task = tuple[list[Document], bool, float]  # documents, with labels, seconds per document (0: no limit)


class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Timeout


def one_blas_thread_per_worker() -> None:
    """Before starting worker processes: one core per worker, so each worker's numpy does not
    start a thread per core too (set only where the user has not chosen)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _init_worker(settings: dict) -> None:
    """Build this process's Cleaner from its keyword settings (``model``, ``keep``, ...)."""
    from cleaner.api import Cleaner

    _worker["cleaner"] = Cleaner(**settings)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _on_alarm)


def _start_worker(settings: dict) -> None:
    """A worker process's initializer. Ctrl-C reaches the whole process group, and SIGTERM
    often does too (timeout, systemd, Slurm): the parent alone handles them (stopping the
    workers with SIGKILL), so a worker ignores both."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    _init_worker(settings)


class _TimeLimit:
    """Raise _Timeout when the block takes longer than ``seconds`` (math.inf or more than
    MAX_TIMEOUT: no limit; no limit either where the platform has no SIGALRM). No time left
    raises at once."""

    def __init__(self, seconds: float):
        self.seconds = seconds if hasattr(signal, "SIGALRM") and seconds <= MAX_TIMEOUT else math.inf

    def __enter__(self) -> None:
        if self.seconds <= 0:
            raise _Timeout
        if self.seconds < math.inf:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc) -> None:
        if self.seconds < math.inf:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _error(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, _Timeout):
        return f"took longer than the time limit ({timeout:g} s)"
    return f"{type(exc).__name__}: {exc}"


def _clean_group(task: Task) -> list[dict]:
    """Clean a group of documents. Each is segmented on its own (a bad one gets an error
    record), then all are classified together (Cleaner.predict_many) within the least time
    any of them has left; should that fail or run out of time, each is classified alone
    within its own time left, so an error lands on the document that caused it and each
    document gets ``timeout`` seconds for its parsing and classification together."""
    docs, with_labels, timeout = task
    limit = timeout if timeout > 0 else math.inf
    cleaner = _worker["cleaner"]
    results: list[dict] = []
    segmented: list[tuple[dict, Lines, float]] = []  # (result, lines, seconds left)
    for doc in docs:
        out: dict = {"id": doc.id, "url": doc.url, "source": doc.source}
        results.append(out)
        if doc.error is not None:
            out["error"] = doc.error
            continue
        started = time.monotonic()
        try:
            with _TimeLimit(limit):
                text, mode = page_text(doc)
                lines = cleaner.segment(text, mode=mode)
        except Exception as exc:  # one bad document must not stop the batch; it is reported
            out["error"] = _error(exc, timeout)
            continue
        segmented.append((out, lines, limit - (time.monotonic() - started)))
    try:
        with _TimeLimit(min((left for _, _, left in segmented), default=math.inf)):
            probabilities = cleaner.predict_many([lines for _, lines, _ in segmented])
    except Exception:
        probabilities = []
        for out, lines, left in segmented:
            try:
                with _TimeLimit(left):
                    probabilities.append(cleaner.predict(lines))
            except Exception as exc:
                out["error"] = _error(exc, timeout)
                probabilities.append(None)
    for (out, lines, _), P in zip(segmented, probabilities):
        if P is None:
            continue
        try:
            out["text"] = assemble(lines, cleaner.kept(lines, P))
            if with_labels:
                out["labels"] = [
                    {"label": x.label, "score": round(x.score, 4), "text": x.text}
                    for x in labeled_lines(lines, P)
                    if x.label != BLANK
                ]
        except Exception as exc:
            out.pop("text", None)
            out["error"] = _error(exc, timeout)
    return results


def _group_failed(task: Task, message: str) -> list[dict]:
    """Error records for every document of a group that could not be cleaned at all."""
    return [
        {"id": d.id, "url": d.url, "source": d.source, "error": d.error if d.error is not None else message}
        for d in task[0]
    ]


@contextmanager
def _stop_signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while worker processes may start: a new process
    inherits the signal mask, so a worker never sees them, even before its initializer
    runs; this process gets them right after."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set(STOP_SIGNALS))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


class WorkersFailed(Exception):
    """Worker processes kept dying: the run cannot go on."""


class Workers:
    """Worker processes cleaning groups of documents (a ProcessPoolExecutor). A worker that
    dies (killed, out of memory) breaks its pool: a fresh pool replaces it, and each group
    the dead pool had not finished is cleaned again. A group that also breaks the fresh pool
    gets error records; pools that break MAX_BREAKS_IN_A_ROW times with no group cleaned in
    between stop the run (WorkersFailed)."""

    def __init__(self, jobs: int, settings: dict, warn: Callable[[str], None]):
        import multiprocessing

        self.jobs, self.settings, self.warn = jobs, settings, warn
        self.context = multiprocessing.get_context("spawn")
        self.generation = 0  # which pool a future was submitted to
        self.breaks_in_a_row = 0
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        with _stop_signals_held():
            return ProcessPoolExecutor(self.jobs, mp_context=self.context, initializer=_start_worker,
                                       initargs=(self.settings,))  # fmt: skip

    def _replace(self, generation: int) -> None:
        """Replace the pool when it is the one that broke (``generation``)."""
        if generation != self.generation:
            return  # already replaced
        self.breaks_in_a_row += 1
        if self.breaks_in_a_row >= MAX_BREAKS_IN_A_ROW:
            raise WorkersFailed(
                f"worker processes died {self.breaks_in_a_row} times in a row (out of memory, or killed?)"
            )
        self.warn(
            "a worker process died (out of memory, or killed?); starting new ones and cleaning its documents again"
        )
        self._stop_pool(self.pool)
        self.pool = self._new_pool()
        self.generation += 1

    def submit(self, task: Task) -> tuple[Future, int]:
        while True:
            try:
                with _stop_signals_held():
                    return self.pool.submit(_clean_group, task), self.generation
            # The pool broke since the last look. While it is breaking, submit may still try
            # to start a worker in its place and fail on the pool's closed pipes (ValueError:
            # bad value(s) in fds_to_keep) before it says BrokenProcessPool.
            except (BrokenProcessPool, ValueError, OSError):
                self._replace(self.generation)

    def results(self, submitted: tuple[Future, int], task: Task) -> list[dict]:
        """The results of a submitted group; cleaned again in a fresh pool if its pool broke."""
        future, generation = submitted
        try:
            results = future.result()
        except BrokenProcessPool:
            self._replace(generation)
            future, generation = self.submit(task)
            try:
                results = future.result()
            except BrokenProcessPool:
                self._replace(generation)
                return _group_failed(task, "a worker process died cleaning this document or one of its group of "
                                           f"{len(task[0])} (out of memory, or killed?)")  # fmt: skip
            except Exception as exc:
                return _group_failed(task, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a result that could not come back (e.g. not picklable)
            return _group_failed(task, f"{type(exc).__name__}: {exc}")
        if generation == self.generation:
            self.breaks_in_a_row = 0
        return results

    @staticmethod
    def _stop_pool(pool: ProcessPoolExecutor) -> None:
        """Stop a pool's workers now, mid-task (shutdown() alone waits for running tasks), and
        wait for the pool's own thread to end, so that leaving Python never hangs on it."""
        # Python before 3.14 (terminate_workers) has no public way to reach the processes,
        # nor the pool's thread and result pipe.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)
        results = getattr(pool, "_result_queue", None)
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.kill()  # SIGKILL: workers ignore SIGTERM (see _start_worker)
        for process in processes:
            process.join()
        # A worker killed while sending its results leaves part of a message in the result
        # pipe, and the pool's thread waits for the rest forever, unless the last writer (this
        # process) closes the pipe: it then reads its end, finds the pool broken, cleans up.
        writer = getattr(results, "_writer", None)
        if writer is not None:
            writer.close()
        if manager is not None:
            manager.join(timeout=10)

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def stop(self) -> None:
        self._stop_pool(self.pool)


# --- the run -------------------------------------------------------------------------------


def _blocks(docs: Iterator[Document], size: int) -> Iterator[list[Document]]:
    block: list[Document] = []
    for doc in docs:
        block.append(doc)
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block


def _cleaned_blocks(docs: Iterator[Document], workers: Workers | None, jobs: int,
                    args: argparse.Namespace) -> Iterator[tuple[list[Document], list[dict]]]:  # fmt: skip
    """(block, results) in input order. With workers, the next block is cleaned while the
    previous one is written, so reading, cleaning and writing overlap."""

    def collected(submitted: tuple[list[Document], list]) -> tuple[list[Document], list[dict]]:
        assert workers is not None  # only blocks given to workers wait here
        block, futures = submitted
        return block, [r for future, task in futures for r in workers.results(future, task)]

    pending = None
    for block in _blocks(docs, jobs * BLOCK_PER_JOB):
        tasks: list[Task] = [(block[i : i + GROUP], args.labels, args.timeout) for i in range(0, len(block), GROUP)]
        if workers is None:
            yield block, [r for task in tasks for r in _clean_in_process(task)]
            continue
        submitted = (block, [(workers.submit(task), task) for task in tasks])
        if pending is not None:
            yield collected(pending)
        pending = submitted
    if pending is not None:
        yield collected(pending)


def _clean_in_process(task: Task) -> list[dict]:
    try:
        return _clean_group(task)
    except Exception as exc:  # _clean_group reports each document's errors; this is a last resort
        return _group_failed(task, f"{type(exc).__name__}: {exc}")


# Lone surrogates (a JSON string's "\ud800") cannot be written as UTF-8: written as U+FFFD
# (as bytes: the UTF-8 encoder takes only ASCII text from an error handler).
codecs.register_error("cleaner-lone-surrogate", lambda e: ("\ufffd".encode() * (e.end - e.start), e.end))


# Name endings of compressed outputs this cleaner cannot write: refused (a usage error), not
# written uncompressed under a name that says otherwise.
UNWRITABLE_COMPRESSION = (".zst", ".zstd", ".lz4", ".lz", ".lzma", ".lzo", ".z", ".zip", ".br", ".7z", ".sz")


def shown_output(name: str) -> str:
    """An output as messages name it: "standard output" for "-"."""
    return "standard output" if name == "-" else name


def output_compression(name: str) -> str | None:
    """How an output is compressed, by its name: "gz", "xz", "bz2" or None (not at all).
    ValueError for a compression it cannot write (``.zst``, ...)."""
    suffix = Path(name).suffix.lower() if name != "-" else ""
    if suffix in COMPRESSION_SUFFIXES:
        return suffix[1:]
    if suffix in UNWRITABLE_COMPRESSION:
        raise ValueError(f"cannot write {suffix} compression: name the output .gz, .xz, .bz2 or uncompressed")
    return None


def _writes_in_place(mode: int) -> bool:
    """Whether an existing output of this ``os.stat`` mode is written directly (a terminal,
    /dev/null, a pipe or FIFO, a socket) rather than through a temporary file renamed over
    it (a regular file, wherever it is: /dev/shm too)."""
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class Output:
    """Where the records go: standard output for "-"; else a temporary file beside the named
    one, renamed to it by :meth:`commit` when the run completes, so a failed or interrupted
    run leaves the old file as it was (a character device, pipe or socket, such as
    /dev/null, is written directly; see :func:`_writes_in_place`). Compressed as the name
    says: .gz, .xz or .bz2 (see :func:`output_compression`)."""

    def __init__(self, name: str):
        self.name = name
        self.shown = shown_output(name)
        self.temporary: Path | None = None
        self.target: Path | None = None
        compression = output_compression(name)
        if name == "-":
            self.raw: IO[bytes] = standard_output()
        else:
            self.raw = self._open(name)
        whole = WholeWrites(self.raw)
        self.stream: IO[bytes] | WholeWrites = whole
        if compression == "gz":  # the gzip header names the file as gzip.open(name) would
            self.stream = gzip.GzipFile(filename=Path(name).name, mode="wb", fileobj=whole)  # type: ignore[arg-type]
        elif compression == "xz":
            self.stream = lzma.LZMAFile(whole, "wb")
        elif compression == "bz2":
            self.stream = bz2.BZ2File(whole, "wb")

    def _open(self, name: str) -> IO[bytes]:
        try:
            mode = os.stat(name).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as exc:
            raise OutputError(f"{name}: cannot write ({exc.strerror or exc})") from None
        if mode is not None and stat.S_ISDIR(mode):
            raise OutputError(f"{name}: is a directory")
        if mode is not None and not stat.S_ISREG(mode) and not _writes_in_place(mode):
            raise OutputError(f"{name}: cannot write (a block device or other special file)")
        with writing(name):
            if mode is not None and _writes_in_place(mode):
                return open(name, "wb")  # a device, a pipe, /dev/stdout on a terminal: written in place
            self.target = Path(os.path.realpath(name))  # through a symbolic link: its target
            self.temporary = self.target.with_name(f".{self.target.name}.{secrets.token_hex(4)}.part")
            fd = os.open(self.temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            if mode is not None:
                os.chmod(fd, stat.S_IMODE(mode))  # the new file keeps the old one's permissions
            return open(fd, "wb")

    def write(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with writing(self.shown):
            self.stream.write(line.encode("utf-8", "cleaner-lone-surrogate"))

    def commit(self) -> None:
        """Finish the output: flushed, closed and, for a file, renamed into place."""
        with writing(self.shown):
            if isinstance(self.stream, WholeWrites):
                self.stream.flush()
            else:
                self.stream.close()  # the compressor's end; the file under it stays open
            if self.raw is sys.stdout.buffer:
                self.raw.flush()
                return
            self.raw.close()
            if self.temporary is not None and self.target is not None:
                os.replace(self.temporary, self.target)
                self.temporary = None

    def discard(self) -> None:
        """Give up: the temporary file is removed (the named file stays as it was)."""
        if self.raw is not sys.stdout.buffer:
            for stream in (self.stream, self.raw):
                try:
                    if not isinstance(stream, WholeWrites):
                        stream.close()
                except OSError:
                    pass
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)
            self.temporary = None


@dataclass
class Tally:
    documents: int = 0
    failed: int = 0
    not_pages: int = 0
    unreadable_files: int = 0
    megabytes: float = 0.0


def input_problem(name: str) -> str | None:
    """Why an input cannot be read at all ("no such file", "is a directory"), or None: a
    file, "-" (standard input), a FIFO or a pipe (``<(zcat x.jsonl.gz)``), a device."""
    if name == "-":
        return None
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    return "is a directory" if stat.S_ISDIR(mode) else None


def run(args: argparse.Namespace) -> int:
    names: list[str] = args.inputs
    for name in names:
        problem = input_problem(name)
        if problem:
            print(f"cleaner batch: {display_name(name)}: {problem}", file=sys.stderr)
            return EXIT_FAILED
    if any(input_format(name, args.format) == "warc" for name in names):
        try:
            import fastwarc  # noqa: F401
        except ImportError:
            print(f"cleaner batch: {WARC_HINT}", file=sys.stderr)
            return EXIT_FAILED
    jobs = max(1, args.jobs or os.cpu_count() or 1)
    settings = dict(model=args.model, html_model=args.html_model, keep=args.keep, threshold=args.threshold,
                    headline=args.headline)  # fmt: skip
    try:
        _init_worker(settings)  # fail early on a bad model or setting, in this process
    except ValueError as exc:  # a setting the Cleaner refuses (--keep, --threshold): a usage error
        parser().error(f"--{exc}")
    except ModelError as exc:
        print(f"cleaner batch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        output = Output(args.output)
    except OutputError as exc:
        print(f"cleaner batch: {exc}", file=sys.stderr)
        return EXIT_FAILED

    tty = sys.stderr.isatty()

    def warn(message: str) -> None:
        print(f"{chr(10) if tty else ''}cleaner batch: {message}", file=sys.stderr)

    workers = None
    started = time.perf_counter()
    tally = Tally()
    done = False
    try:
        if jobs > 1:
            one_blas_thread_per_worker()
            workers = Workers(jobs, settings, warn)
        for block, results in _cleaned_blocks(read_inputs(names, args), workers, jobs, args):
            for doc, result in zip(block, results):
                output.write(result)
                tally.megabytes += doc.size / 1e6
                if doc.unreadable_file:
                    tally.unreadable_files += 1
                    warn(f"{doc.source}: {doc.error}")
                    continue
                tally.documents += 1
                if "error" in result:
                    tally.not_pages += doc.not_a_page
                    tally.failed += not doc.not_a_page
            if tty:
                rate = tally.documents / max(time.perf_counter() - started, 1e-9)
                print(f"\rcleaner batch: {tally.documents} documents, {tally.megabytes:.1f} MB, {rate:.0f} docs/s",
                      end="", file=sys.stderr)  # fmt: skip
        output.commit()
        done = True
    except (OutputError, WorkersFailed) as exc:
        kept = f", {args.output} left as it was" if output.target is not None else ""
        warn(f"{exc}; stopped{kept}")
        return EXIT_FAILED
    finally:
        if not done:
            output.discard()
        if workers is not None and done:
            workers.close()
        elif workers is not None:
            workers.stop()
    seconds = time.perf_counter() - started
    if tty:
        print(file=sys.stderr)
    cleaned = tally.documents - tally.failed - tally.not_pages
    files = f", {tally.unreadable_files} unreadable file{'s' * (tally.unreadable_files != 1)}"
    print(
        f"cleaner batch: {tally.documents} documents ({cleaned} cleaned, {tally.failed} failed, "
        f"{tally.not_pages} not pages){files if tally.unreadable_files else ''}, {tally.megabytes:.1f} MB "
        f"in {seconds:.1f} s ({tally.documents / max(seconds, 1e-9):.1f} docs/s, "
        f"{tally.megabytes / max(seconds, 1e-9):.2f} MB/s, {jobs} jobs) -> "
        f"{shown_output(args.output)}",
        file=sys.stderr,
    )
    return EXIT_FAILED if tally.failed or tally.unreadable_files else EXIT_OK


def parser() -> argparse.ArgumentParser:
    from cleaner.__main__ import OneLineParser, label_list

    p = OneLineParser(
        prog="cleaner batch",
        description=__doc__.split("\n\n")[0],
        epilog="Exit status: 0 done (WARC records that are no page, such as images and HTTP errors, do not count "
        "as failures); 1 a document or file failed (error records in the output, counted in the summary) or an "
        "input or output could not be opened; 2 usage error; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). "
        "Stopped either way, the workers are stopped and an older output file is left as it was.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="JSONL, WARC or WET files, each gzip, xz or bzip2 compressed or not; '-': standard "
                        "input; a FIFO or <(zcat ...) is read like a file")  # fmt: skip
    p.add_argument("-o", "--output", required=True,
                   help="output JSONL (compressed when it ends in .gz, .xz or .bz2; '-': standard output); a "
                        "file is written under another name and renamed when the run completes")  # fmt: skip
    p.add_argument("--format", choices=("auto", "jsonl", "warc"), default="auto",
                   help="input format (auto: WARC when the name's last suffix before .gz, .xz or .bz2 is .warc "
                        "or .wet, as in x.warc.gz; else JSONL, standard input too)")  # fmt: skip
    p.add_argument("--field", default="text", help="JSONL field holding the text or HTML (default: text)")
    p.add_argument("--id-field", default="id", help="JSONL field holding the document id (default: id)")
    p.add_argument("--url-field", default="url", help="JSONL field holding the URL (default: url)")
    p.add_argument("--mode", choices=("auto", "text", "html"), default="auto", help="treat documents as text or HTML")
    p.add_argument("--labels", action="store_true", help="add every line's label and score")
    p.add_argument("--keep", type=label_list, default="body", help="labels to keep, comma-separated (default: body)")
    p.add_argument("--threshold", type=float, default=None, help="keep a line when P(kept labels) >= this")
    p.add_argument("--no-headline", dest="headline", action="store_false", help="leave out each article's headline")
    p.add_argument("--jobs", type=int, default=0, help="worker processes (default: all cores)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds each document may take to decode, parse and classify, together, before it is "
                        f"reported as an error (default: 60; 0, or more than {MAX_TIMEOUT:,}: no limit)")  # fmt: skip
    p.add_argument("--model", default=None, help="text model file")
    p.add_argument("--html-model", default=None, help="HTML model file (checked at the start)")
    return p


def _same_file(name: str, output: str) -> bool:
    """Whether an input is the output ("-": standard output, as `-o - >> x.jsonl` makes it)."""
    try:
        if output == "-":
            return os.path.samestat(os.stat(name), os.fstat(1))
        return os.path.samefile(name, output)
    except OSError:  # one does not exist (yet), or standard output is closed
        return False


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread: it stops a run as Ctrl-C does (a KeyboardInterrupt,
    so whatever lets Ctrl-C through lets it through too), with its own exit status."""


def _on_sigterm(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up short
    raise Terminated


@contextmanager
def _sigterm_stops_the_run() -> Iterator[None]:
    """While the run lasts, SIGTERM raises Terminated (in the main thread only: elsewhere
    Python cannot set a handler, and SIGTERM does what it did)."""
    if not hasattr(signal, "SIGTERM") or threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before if before is not None else signal.SIG_DFL)


def main(argv: list[str]) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.jobs < 0:
        p.error("--jobs takes a number of processes (0: all cores)")
    if not args.timeout >= 0:
        p.error(f"--timeout takes seconds (0, or more than {MAX_TIMEOUT}: no limit)")
    try:
        output_compression(args.output)
    except ValueError as exc:
        p.error(f"-o {args.output}: {exc}")
    for name in args.inputs:
        if name != "-" and _same_file(name, args.output):
            p.error(f"the output ({shown_output(args.output)}) is also an input; write to another file")
    newline = "\n" if sys.stderr.isatty() else ""  # after the progress line
    try:
        with _sigterm_stops_the_run():
            return run(args)
    except Terminated:
        print(f"{newline}cleaner batch: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print(f"{newline}cleaner batch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `cleaner batch x.jsonl -o - | head`
        stdout_closed("cleaner batch: output closed before all records were written (broken pipe)")
        return EXIT_FAILED
