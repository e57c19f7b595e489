"""Batch cleaning of corpora: JSONL(.gz), WARC(.gz) responses and WET(.gz) conversions.

    python -m cleaner batch INPUT... -o OUTPUT.jsonl.gz [--jobs N] [--labels]

One JSON record per document, in input order: ``{"id", "url", "source", "text"}`` (plus
``"labels"`` with ``--labels``), or ``{"id", "url", "source", "error"}`` for a document that
could not be cleaned (undecodable, not text or HTML, over the time limit): nothing is
dropped silently, and the batch goes on. Input is read and output written in blocks, so
memory stays bounded; ``--jobs`` worker processes (default: all cores) each load the model
once. A progress line on stderr when it is a terminal; a summary line at the end always.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cleaner.api import BLANK, assemble, labeled_lines
from cleaner.model import ModelError
from cleaner.segment import Lines

BLOCK_PER_JOB = 32  # documents handed to each worker per round (bounds memory)
GROUP = 16  # documents classified together (Cleaner.predict_many)


@dataclass
class Document:
    id: str
    url: str | None
    source: str  # "file:record number"
    content: bytes | str | None
    mode: str  # "auto", "text" or "html"
    error: str | None = None


def _open_text(path: Path) -> IO[str]:
    raw = open(path, "rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", errors="replace")
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace")


def read_jsonl(path: Path, *, field: str, id_field: str, url_field: str, mode: str) -> Iterator[Document]:
    """Documents of a JSONL(.gz) file: the text or HTML in ``field``."""
    with _open_text(path) as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            source = f"{path}:{n}"
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield Document(source, None, source, None, mode, f"not JSON ({exc.msg})")
                continue
            if not isinstance(rec, dict):
                yield Document(source, None, source, None, mode, "not a JSON object")
                continue
            doc_id = str(rec.get(id_field, source))
            url = rec.get(url_field)
            content = rec.get(field)
            if not isinstance(content, str):
                yield Document(doc_id, url, source, None, mode, f"no text field {field!r}")
                continue
            yield Document(doc_id, url, source, content, mode)


def read_warc(path: Path, *, mode: str) -> Iterator[Document]:
    """Documents of a WARC or WET file (gzipped or not): HTML of ``response`` records, text
    of ``conversion`` records (Common Crawl WET)."""
    try:
        from fastwarc.warc import ArchiveIterator, WarcRecordType
    except ImportError:
        raise SystemExit("cleaner batch: reading WARC/WET needs fastwarc: pip install 'cleaner[warc]'") from None
    wanted = WarcRecordType.response | WarcRecordType.conversion
    with open(path, "rb") as stream:
        for n, rec in enumerate(ArchiveIterator(stream, record_types=wanted, parse_http=True), 1):
            source = f"{path}:{n}"
            doc_id = rec.record_id or source
            url = rec.headers.get("WARC-Target-URI")
            payload = rec.reader.read()
            if rec.record_type == WarcRecordType.conversion:
                yield Document(doc_id, url, source, payload, "text" if mode == "auto" else mode)
                continue
            content_type = (rec.http_content_type or "").lower()
            if content_type and not any(t in content_type for t in ("html", "text/plain", "xml")):
                yield Document(doc_id, url, source, None, mode, f"content type {content_type} is not text or HTML")
                continue
            yield Document(doc_id, url, source, payload, "html" if mode == "auto" and "html" in content_type else mode)


def read_inputs(paths: list[Path], args: argparse.Namespace) -> Iterator[Document]:
    for path in paths:
        name = path.name.lower()
        fmt = args.format
        if fmt == "auto":
            fmt = "warc" if ".warc" in name or ".wet" in name else "jsonl"
        if fmt == "warc":
            yield from read_warc(path, mode=args.mode)
        else:
            yield from read_jsonl(
                path, field=args.field, id_field=args.id_field, url_field=args.url_field, mode=args.mode
            )


# --- workers -------------------------------------------------------------------------------

_worker: dict = {}


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
    """Build the worker's Cleaner from its keyword settings (``model``, ``keep``, ...)."""
    from cleaner.api import Cleaner

    _worker["cleaner"] = Cleaner(**settings)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _on_alarm)


class _TimeLimit:
    """Raise _Timeout when the block takes longer than ``seconds`` (0: no limit; only where
    the platform has SIGALRM)."""

    def __init__(self, seconds: float):
        self.seconds = seconds if hasattr(signal, "SIGALRM") else 0

    def __enter__(self) -> None:
        if self.seconds > 0:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc) -> None:
        if self.seconds > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _error(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, _Timeout):
        return f"took longer than the time limit ({timeout:g} s)"
    return f"{type(exc).__name__}: {exc}"


def _clean_group(task: tuple[list[Document], bool, float]) -> list[dict]:
    """Clean a group of documents: each is decoded and segmented on its own (a bad one gets
    an error record), then all are classified together (Cleaner.predict_many); should that
    fail, each is classified alone so the error lands on the document that caused it."""
    docs, with_labels, timeout = task
    cleaner = _worker["cleaner"]
    results: list[dict] = []
    segmented: list[tuple[dict, Lines]] = []
    for doc in docs:
        out: dict = {"id": doc.id, "url": doc.url, "source": doc.source}
        results.append(out)
        if doc.error is not None:
            out["error"] = doc.error
            continue
        try:
            with _TimeLimit(timeout):
                segmented.append((out, cleaner.segment(doc.content, mode=doc.mode)))
        except Exception as exc:  # one bad document must not stop the batch; it is reported
            out["error"] = _error(exc, timeout)
    try:
        with _TimeLimit(timeout * len(segmented)):
            probabilities = cleaner.predict_many([lines for _, lines in segmented])
    except Exception:
        probabilities = []
        for out, lines in segmented:
            try:
                with _TimeLimit(timeout):
                    probabilities.append(cleaner.predict(lines))
            except Exception as exc:
                out["error"] = _error(exc, timeout)
                probabilities.append(None)
    for (out, lines), P in zip(segmented, probabilities):
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


def _cleaned_blocks(docs: Iterator[Document], pool, jobs: int, args: argparse.Namespace):
    """(block, results) in input order. With workers, the next block is cleaned while the
    previous one is written, so reading, cleaning and writing overlap."""
    pending = None
    for block in _blocks(docs, jobs * BLOCK_PER_JOB):
        tasks = [(block[i : i + GROUP], args.labels, args.timeout) for i in range(0, len(block), GROUP)]
        if pool is None:
            yield block, [r for t in tasks for r in _clean_group(t)]
            continue
        submitted = (block, pool.map_async(_clean_group, tasks, chunksize=1))
        if pending is not None:
            yield pending[0], [r for group in pending[1].get() for r in group]
        pending = submitted
    if pending is not None:
        yield pending[0], [r for group in pending[1].get() for r in group]


def _size(doc: Document) -> int:
    if doc.content is None:
        return 0
    return len(doc.content) if isinstance(doc.content, bytes) else len(doc.content.encode("utf-8", "replace"))


def run(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.inputs]
    for path in paths:
        if not path.is_file():
            print(f"cleaner batch: {path}: {'is a directory' if path.is_dir() else 'no such file'}", file=sys.stderr)
            return 1
    jobs = max(1, args.jobs or os.cpu_count() or 1)
    keep = tuple(k.strip() for k in args.keep.split(",") if k.strip())
    settings = dict(model=args.model, html_model=args.html_model, keep=keep, threshold=args.threshold,
                    headline=args.headline)  # fmt: skip
    try:
        _init_worker(settings)  # fail early on a bad model or setting, in this process
    except (ModelError, ValueError) as exc:
        print(f"cleaner batch: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    out_path = Path(args.output)
    sink = (
        gzip.open(out_path, "wt", encoding="utf-8")
        if out_path.suffix == ".gz"
        else open(out_path, "w", encoding="utf-8")
    )
    pool = None
    if jobs > 1:
        import multiprocessing as mp

        one_blas_thread_per_worker()
        pool = mp.get_context("spawn").Pool(jobs, initializer=_init_worker, initargs=(settings,))
    tty = sys.stderr.isatty()
    started = time.perf_counter()
    docs = errors = 0
    megabytes = 0.0
    try:
        with sink:
            for block, results in _cleaned_blocks(read_inputs(paths, args), pool, jobs, args):
                for doc, result in zip(block, results):
                    sink.write(json.dumps(result, ensure_ascii=False) + "\n")
                    docs += 1
                    errors += "error" in result
                    megabytes += _size(doc) / 1e6
                if tty:
                    rate = docs / max(time.perf_counter() - started, 1e-9)
                    print(
                        f"\rcleaner batch: {docs} documents, {megabytes:.1f} MB, {rate:.0f} docs/s",
                        end="",
                        file=sys.stderr,
                    )
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    seconds = time.perf_counter() - started
    if tty:
        print(file=sys.stderr)
    print(
        f"cleaner batch: {docs} documents ({errors} with errors), {megabytes:.1f} MB in {seconds:.1f} s "
        f"({docs / max(seconds, 1e-9):.1f} docs/s, {megabytes / max(seconds, 1e-9):.2f} MB/s, {jobs} jobs) -> {out_path}",
        file=sys.stderr,
    )
    return 0


def parser() -> argparse.ArgumentParser:
    from cleaner.__main__ import OneLineParser

    p = OneLineParser(prog="cleaner batch", description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="JSONL(.gz), WARC(.gz) or WET(.gz) files")
    p.add_argument("-o", "--output", required=True, help="output JSONL (gzipped when it ends in .gz)")
    p.add_argument("--format", choices=("auto", "jsonl", "warc"), default="auto", help="input format (auto: by name)")
    p.add_argument("--field", default="text", help="JSONL field holding the text or HTML (default: text)")
    p.add_argument("--id-field", default="id", help="JSONL field holding the document id (default: id)")
    p.add_argument("--url-field", default="url", help="JSONL field holding the URL (default: url)")
    p.add_argument("--mode", choices=("auto", "text", "html"), default="auto", help="treat documents as text or HTML")
    p.add_argument("--labels", action="store_true", help="add every line's label and score")
    p.add_argument("--keep", default="body", help="labels to keep, comma-separated (default: body)")
    p.add_argument("--threshold", type=float, default=None, help="keep a line when P(kept labels) >= this")
    p.add_argument("--no-headline", dest="headline", action="store_false", help="leave out each article's headline")
    p.add_argument("--jobs", type=int, default=0, help="worker processes (default: all cores)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per document before it is reported as an error")
    p.add_argument("--model", default=None, help="text model file")
    p.add_argument("--html-model", default=None, help="HTML model file")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    return run(args)
