"""Batch cleaning of corpora: JSONL, WARC responses and WET conversions (gzip, xz or bzip2).

    python -m cleaner batch INPUT... -o OUTPUT.jsonl.gz [--jobs N] [--labels]

One JSON record per document, in input order: ``{"id", "url", "source", "text"}`` (plus
``"labels"`` with ``--labels``), or ``{"id", "url", "source", "error"}`` for a record that
was not cleaned: nothing is dropped silently, and the batch goes on. An error is either a
failure (not JSON, undecodable, cut short, over the time limit, a file that cannot be read
further) or a WARC record that is no page to clean (an image, an HTTP 404 or redirect).
Input is read and output written in blocks, so memory stays bounded; ``--jobs`` worker
processes (default: all cores) each load the model once. The output appears under its name
only when the run completes. A progress line on stderr when it is a terminal; a summary
line at the end always. Exit status: 0 done; 1 a document or file failed (counted in the
summary) or an input or output could not be opened; 2 a usage error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import bz2
import codecs
import gzip
import json
import lzma
import math
import os
import secrets
import signal
import stat
import sys
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
from cleaner.decode import bom_codec, decode, looks_binary, utf16_without_bom, web_charset
from cleaner.model import ModelError
from cleaner.segment import Lines, looks_like_html

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
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
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
    """The bytes of ``raw``, decompressed when it starts like gzip, xz or bzip2."""
    magic = raw.read(6)
    raw.seek(0)
    for signature, opener in _COMPRESSED:
        if magic.startswith(signature):
            return opener(fileobj=raw) if opener is gzip.GzipFile else opener(raw)
    return raw


def _unreadable_file(name: str, number: int, exc: BaseException) -> Document:
    """The error record of a file that cannot be read from record ``number`` on."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    where = f" after record {number - 1}" if number > 1 else ""
    source = f"{name}:{number}"
    return Document(source, None, source, None, "text", f"cannot read the file{where}: {reason}", unreadable_file=True)


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


def read_jsonl(path: Path, *, field: str, id_field: str, url_field: str, mode: str) -> Iterator[Document]:
    """Documents of a JSONL file (gzip, xz or bzip2 compressed or not): the text or HTML in
    ``field``. A file damaged part way gives the records before the damage, then an error."""
    number = 0
    try:
        with open(path, "rb") as raw, _decompressed(raw) as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    yield jsonl_document(
                        line, f"{path}:{number}", field=field, id_field=id_field, url_field=url_field, mode=mode
                    )
    except DAMAGE as exc:
        yield _unreadable_file(str(path), number + 1, exc)


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


def read_warc(path: Path, *, mode: str) -> Iterator[Document]:
    """Documents of a WARC or WET file: see :func:`warc_documents`."""
    try:
        stream = open(path, "rb")
    except OSError as exc:
        yield _unreadable_file(str(path), 1, exc)
        return
    with stream:
        yield from warc_documents(stream, str(path), mode=mode)


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
    the HTTP Content-Encoding (gzip, deflate, br) and chunked Transfer-Encoding undone; kind
    "html" for HTML and XML, "text" for text/plain and WET text, "auto" for a page of no
    declared type (sniffed once decoded, see :func:`page_text`).

    Raises RecordError when the record is cut short (a truncated file) or its body cannot be
    decoded, NotAPage when it holds no page: an HTTP status other than 2xx, a content type
    other than HTML, XML or plain text, or binary data without a content type.
    """
    from fastwarc.warc import WarcRecordType

    if record.record_type == WarcRecordType.response and record.is_http:
        record.parse_http()  # the reader then starts at the HTTP body
    payload = record.reader.read()
    if len(payload) < record.content_length:
        raise RecordError(f"record cut short ({len(payload)} of {record.content_length} bytes): a truncated file?")
    if record.record_type == WarcRecordType.conversion:  # WET: text already
        return payload, "text", None
    if not record.is_http:  # a response of another protocol (dns:, ftp:): its WARC content type
        media_type, charset = parse_content_type(record.headers.get("Content-Type"))
        kind = page_kind(media_type)
    else:
        headers = record.http_headers
        if headers.status_code is None:
            raise RecordError(f"no HTTP status in {headers.status_line[:80]!r}")
        if not 200 <= headers.status_code < 300:
            raise NotAPage(f"HTTP status {headers.status_code}")
        media_type, charset = parse_content_type(headers.get("Content-Type"))
        kind = page_kind(media_type)  # before decompressing: an image is not worth it
        payload = undo_encodings(
            payload,
            transfer_encoding=headers.get("Transfer-Encoding"),
            content_encoding=headers.get("Content-Encoding"),
            cut_short_ok="WARC-Truncated" in record.headers,  # the crawler kept only a prefix
        )
    if kind is None and looks_binary(payload):
        raise NotAPage("not text or HTML (binary data, no content type)")
    return payload, kind or "auto", charset


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


def undo_encodings(payload: bytes, *, transfer_encoding: str | None, content_encoding: str | None,
                   cut_short_ok: bool = False) -> bytes:  # fmt: skip
    """The HTTP body without its chunked transfer encoding and its content encodings (gzip,
    deflate, br), last applied first. RecordError when an encoding is unknown or its data
    damaged; data that ends early passes when ``cut_short_ok`` (the crawler truncated it).

    >>> undo_encodings(b"5\\r\\nHello\\r\\n0\\r\\n\\r\\n", transfer_encoding="chunked", content_encoding=None)
    b'Hello'
    """
    if transfer_encoding and "chunked" in transfer_encoding.lower():
        payload = _unchunked(payload, cut_short_ok)
    encodings = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
    for encoding in reversed(encodings):
        if encoding == "identity":
            continue
        if encoding in ("gzip", "x-gzip"):
            payload = _inflated(payload, 16 + zlib.MAX_WBITS, encoding, cut_short_ok)
        elif encoding == "deflate":  # zlib-wrapped as the standard says; raw deflate as some servers send
            wbits = zlib.MAX_WBITS if payload[:1] and (payload[0] & 0x0F) == 8 else -zlib.MAX_WBITS
            payload = _inflated(payload, wbits, encoding, cut_short_ok)
        elif encoding == "br":
            payload = _unbrotli(payload, cut_short_ok)
        else:
            raise RecordError(f"unsupported content encoding {encoding}")
    return payload


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


def decode_page(payload: bytes, charset: str | None) -> str:
    """Decode an HTTP body: a byte-order mark first, then strict UTF-8 (a valid UTF-8 page
    under another label is UTF-8: servers default their labels), then the HTTP ``charset``,
    then what :func:`cleaner.decode.decode` does (the page's ``<meta>`` charset, UTF-8 with
    stray bytes read as cp1252).

    >>> decode_page("café".encode("latin-1"), "iso-8859-1"), decode_page("café".encode(), "iso-8859-1")
    ('café', 'café')
    """
    codec = web_charset(charset) if charset else None
    if codec in (None, "utf-8") or bom_codec(payload) or utf16_without_bom(payload[:4096]):
        return decode(payload)
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode(codec, "replace")


def page_text(doc: Document) -> tuple[str, str]:
    """(text, "text" or "html") of a document to clean: a WARC body decoded (with its HTTP
    charset, see :func:`decode_page`), a page of undeclared kind sniffed. Called where the
    page is cleaned: in a ``cleaner batch`` worker (not the process that reads), in the
    Spark task of :func:`cleaner.spark.warc_records`."""
    assert doc.content is not None
    text = decode_page(doc.content, doc.charset) if isinstance(doc.content, bytes) else doc.content
    if doc.mode != "auto":
        return text, doc.mode
    return text, "html" if looks_like_html(text) else "text"


def input_format(path: Path, choice: str) -> str:
    """The format of an input, "warc" or "jsonl": ``choice``, or by the name (.warc, .wet)."""
    if choice != "auto":
        return choice
    name = path.name.lower()
    return "warc" if ".warc" in name or ".wet" in name else "jsonl"


def read_inputs(paths: list[Path], args: argparse.Namespace) -> Iterator[Document]:
    for path in paths:
        if input_format(path, args.format) == "warc":
            yield from read_warc(path, mode=args.mode)
        else:
            yield from read_jsonl(
                path, field=args.field, id_field=args.id_field, url_field=args.url_field, mode=args.mode
            )


# --- workers -------------------------------------------------------------------------------

_worker: dict = {}
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
    """A worker process's initializer. Ctrl-C reaches the whole process group: the parent
    alone handles it (stopping the workers), so a worker ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(settings)


class _TimeLimit:
    """Raise _Timeout when the block takes longer than ``seconds`` (math.inf: no limit; no
    limit either where the platform has no SIGALRM). No time left raises at once."""

    def __init__(self, seconds: float):
        self.seconds = seconds if hasattr(signal, "SIGALRM") else math.inf

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
def _ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C back while worker processes may start: a new process inherits the signal
    mask, so a worker never sees Ctrl-C, even before its initializer runs; this process
    gets it right after."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
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
        with _ctrl_c_held():
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
                with _ctrl_c_held():
                    return self.pool.submit(_clean_group, task), self.generation
            except BrokenProcessPool:  # the pool broke since the last look
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
        """Stop a pool's workers now, mid-task: shutdown() alone waits for running tasks."""
        # Python before 3.14 (terminate_workers) has no public way to reach the processes.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        pool.shutdown(wait=True)

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
    pending = None
    for block in _blocks(docs, jobs * BLOCK_PER_JOB):
        tasks: list[Task] = [(block[i : i + GROUP], args.labels, args.timeout) for i in range(0, len(block), GROUP)]
        if workers is None:
            yield block, [r for task in tasks for r in _clean_in_process(task)]
            continue
        submitted = (block, [(workers.submit(task), task) for task in tasks])
        if pending is not None:
            yield pending[0], [r for future, task in pending[1] for r in workers.results(future, task)]
        pending = submitted
    if pending is not None and workers is not None:
        yield pending[0], [r for future, task in pending[1] for r in workers.results(future, task)]


def _clean_in_process(task: Task) -> list[dict]:
    try:
        return _clean_group(task)
    except Exception as exc:  # _clean_group reports each document's errors; this is a last resort
        return _group_failed(task, f"{type(exc).__name__}: {exc}")


class OutputError(Exception):
    """The output cannot be opened or written; the message names it."""


# Lone surrogates (a JSON string's "\ud800") cannot be written as UTF-8: written as U+FFFD
# (as bytes: the UTF-8 encoder takes only ASCII text from an error handler).
codecs.register_error("cleaner-lone-surrogate", lambda e: ("\ufffd".encode() * (e.end - e.start), e.end))


class Output:
    """Where the records go: standard output for "-"; else a temporary file beside the named
    one, renamed to it by :meth:`commit` when the run completes, so a failed or interrupted
    run leaves the old file as it was (a device or pipe, such as /dev/null, is written
    directly). Gzipped when the name ends in .gz."""

    def __init__(self, name: str):
        self.name = name
        self.temporary: Path | None = None
        self.target: Path | None = None
        if name == "-":
            self.raw: IO[bytes] = sys.stdout.buffer
            self.stream: IO[bytes] = self.raw
            return
        try:
            mode = os.stat(name).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as exc:
            raise OutputError(f"{name}: cannot write ({exc.strerror or exc})") from None
        if mode is not None and stat.S_ISDIR(mode):
            raise OutputError(f"{name}: is a directory")
        try:
            if mode is not None and (not stat.S_ISREG(mode) or name.startswith(("/dev/", "/proc/"))):
                self.raw = open(name, "wb")  # a device, a pipe, /dev/stdout: written in place
            else:
                self.target = Path(os.path.realpath(name))  # through a symbolic link: its target
                self.temporary = self.target.with_name(f".{self.target.name}.{secrets.token_hex(4)}.part")
                fd = os.open(self.temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                if mode is not None:
                    os.chmod(fd, stat.S_IMODE(mode))  # the new file keeps the old one's permissions
                self.raw = open(fd, "wb")
        except OSError as exc:
            raise OutputError(f"{name}: cannot write ({exc.strerror or exc})") from None
        self.stream = self.raw
        if name.endswith(".gz"):  # the gzip header names the file as gzip.open(name) would
            self.stream = gzip.GzipFile(filename=Path(name).name, mode="wb", fileobj=self.raw)

    def write(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            self.stream.write(line.encode("utf-8", "cleaner-lone-surrogate"))
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(f"{self.name}: cannot write ({exc.strerror or exc})") from None

    def commit(self) -> None:
        """Finish the output: flushed, closed and, for a file, renamed into place."""
        try:
            if self.stream is not self.raw:
                self.stream.close()
            if self.raw is sys.stdout.buffer:
                self.raw.flush()
                return
            self.raw.close()
            if self.temporary is not None and self.target is not None:
                os.replace(self.temporary, self.target)
                self.temporary = None
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(f"{self.name}: cannot write ({exc.strerror or exc})") from None

    def discard(self) -> None:
        """Give up: the temporary file is removed (the named file stays as it was)."""
        if self.raw is not sys.stdout.buffer:
            for stream in (self.stream, self.raw):
                try:
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


def run(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.inputs]
    for path in paths:
        if not path.is_file():
            print(f"cleaner batch: {path}: {'is a directory' if path.is_dir() else 'no such file'}", file=sys.stderr)
            return EXIT_FAILED
    if any(input_format(path, args.format) == "warc" for path in paths):
        try:
            import fastwarc  # noqa: F401
        except ImportError:
            print(f"cleaner batch: {WARC_HINT}", file=sys.stderr)
            return EXIT_FAILED
    jobs = max(1, args.jobs or os.cpu_count() or 1)
    keep = tuple(k.strip() for k in args.keep.split(",") if k.strip())
    settings = dict(model=args.model, html_model=args.html_model, keep=keep, threshold=args.threshold,
                    headline=args.headline)  # fmt: skip
    try:
        _init_worker(settings)  # fail early on a bad model or setting, in this process
        if args.html_model:
            _worker["cleaner"].html_model  # noqa: B018  (loaded on first use otherwise: check it now)
    except (ModelError, ValueError) as exc:
        print(f"cleaner batch: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ValueError) else EXIT_FAILED
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
        for block, results in _cleaned_blocks(read_inputs(paths, args), workers, jobs, args):
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
        f"{'standard output' if args.output == '-' else args.output}",
        file=sys.stderr,
    )
    return EXIT_FAILED if tally.failed or tally.unreadable_files else EXIT_OK


def parser() -> argparse.ArgumentParser:
    from cleaner.__main__ import OneLineParser

    p = OneLineParser(
        prog="cleaner batch",
        description=__doc__.split("\n\n")[0],
        epilog="Exit status: 0 done (WARC records that are no page, such as images and HTTP errors, do not count "
        "as failures); 1 a document or file failed (error records in the output, counted in the summary) or an "
        "input or output could not be opened; 2 usage error; 130 interrupted.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="JSONL, WARC or WET files, each gzip, xz or bzip2 compressed or not")  # fmt: skip
    p.add_argument("-o", "--output", required=True,
                   help="output JSONL (gzipped when it ends in .gz; '-': standard output); written under "
                        "another name and renamed when the run completes")  # fmt: skip
    p.add_argument("--format", choices=("auto", "jsonl", "warc"), default="auto",
                   help="input format (auto: WARC when the name has .warc or .wet)")  # fmt: skip
    p.add_argument("--field", default="text", help="JSONL field holding the text or HTML (default: text)")
    p.add_argument("--id-field", default="id", help="JSONL field holding the document id (default: id)")
    p.add_argument("--url-field", default="url", help="JSONL field holding the URL (default: url)")
    p.add_argument("--mode", choices=("auto", "text", "html"), default="auto", help="treat documents as text or HTML")
    p.add_argument("--labels", action="store_true", help="add every line's label and score")
    p.add_argument("--keep", default="body", help="labels to keep, comma-separated (default: body)")
    p.add_argument("--threshold", type=float, default=None, help="keep a line when P(kept labels) >= this")
    p.add_argument("--no-headline", dest="headline", action="store_false", help="leave out each article's headline")
    p.add_argument("--jobs", type=int, default=0, help="worker processes (default: all cores)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds each document may take to decode, parse and classify, together, before it is "
                        "reported as an error (default: 60; 0: no limit)")  # fmt: skip
    p.add_argument("--model", default=None, help="text model file")
    p.add_argument("--html-model", default=None, help="HTML model file (checked at the start)")
    return p


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (yet)
        return False


def main(argv: list[str]) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.jobs < 0:
        p.error("--jobs takes a number of processes (0: all cores)")
    if not args.timeout >= 0:
        p.error("--timeout takes seconds (0: no limit)")
    if args.output != "-":
        for name in args.inputs:
            if _same_file(name, args.output):
                p.error(f"the output {args.output} is also an input; write to another file")
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ncleaner batch: interrupted" if sys.stderr.isatty() else "cleaner batch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `cleaner batch x.jsonl -o - | head`
        from cleaner.__main__ import stdout_closed

        stdout_closed("cleaner batch: output closed before all records were written (broken pipe)")
        return EXIT_FAILED
