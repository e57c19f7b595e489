"""Command line: ``python -m cleaner [FILE ...]`` (or ``cleaner``).

Reads each FILE (``-`` or none: standard input), writes the cleaned text to standard output.
Exit status: 0 done, 1 an input or output could not be read or written (one line on stderr
naming it), 2 a usage error.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO, NoReturn

from cleaner import __version__
from cleaner import decode as decoding
from cleaner.streams import OutputError, display_name, standard_output, stdout_closed, write_all, writing

try:  # numpy loads here, in the first tenth of a second: Ctrl-C then ends the run as later
    from cleaner.model import CLASSES, ModelError
except KeyboardInterrupt:
    print("cleaner: interrupted", file=sys.stderr)
    sys.exit(130)

if TYPE_CHECKING:
    from cleaner.segment import Lines

# Text larger than this is cleaned in pieces of about PIECE_LINES lines (cut at a blank line
# where one is near), so memory stays bounded however large the input.
WHOLE_LIMIT = 8 << 20
PIECE_LINES = 20_000
HTML_LIMIT = 256 << 20
# Inputs (files, or pieces of a large one) are classified together up to this much text: many
# small files then go through Cleaner.predict_many's batches, several times faster than one
# clean() or label() per file, and the same output.
BATCH_CHARS = 2 << 20
EXIT_OK, EXIT_IO, EXIT_USAGE = 0, 1, 2


class InputError(Exception):
    """An input that cannot be cleaned; the message names it."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def label_list(value: str) -> tuple[str, ...]:
    """The labels a ``--keep`` value lists, comma-separated (the Cleaner checks them).

    >>> label_list("body, comment")
    ('body', 'comment')
    """
    return tuple(k.strip() for k in value.split(",") if k.strip())


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="cleaner",
        description="Strip boilerplate from scraped pages (plain text or HTML): keep the article. "
        "For corpora (JSONL, WARC, WET) on all cores: cleaner batch --help.",
        epilog="Exit status: 0 done; 1 an input or output failed (named on stderr); 2 usage error.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="input files; '-' or none reads standard input")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--labels", action="store_true", help="print every line as label<TAB>score<TAB>text")
    out.add_argument("--json", action="store_true", help="print every line as a JSON object (JSON Lines)")
    p.add_argument("--keep", type=label_list, default="body",
                   help=f"labels to keep, comma-separated, among {', '.join(CLASSES)} (default: body)")  # fmt: skip
    p.add_argument("--threshold", type=float, default=None, help="keep a line when P(kept labels) >= this (0-1)")
    p.add_argument("--no-headline", dest="headline", action="store_false",
                   help="leave out the article's headline (as AEB's articleBody and trafilatura do)")  # fmt: skip
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--html", dest="mode", action="store_const", const="html",
                      help="treat input as HTML (default: detected from the input)")  # fmt: skip
    mode.add_argument("--text", dest="mode", action="store_const", const="text", help="treat input as plain text")
    p.add_argument("--model", default=None, help="text model file (.npz) from `python -m cleaner.train`")
    p.add_argument("--html-model", default=None,
                   help="HTML model file (.npz) from `python -m cleaner.train --renderings html`")  # fmt: skip
    p.add_argument("--version", action="version", version=f"cleaner {__version__}")
    p.set_defaults(mode="auto")
    return p


def _open(name: str) -> BinaryIO:
    if name == "-":
        return sys.stdin.buffer
    if os.path.isdir(name):
        raise InputError(f"{name}: is a directory")
    try:
        return open(name, "rb")
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


def _pieces(name: str, stream: BinaryIO, mode: str) -> Iterator[tuple[str, str]]:
    """Yield (mode, text) pieces of one input: the whole input when small or HTML, else
    pieces of about PIECE_LINES lines decoded incrementally."""
    head = stream.read(WHOLE_LIMIT)
    if decoding.looks_binary(head):
        kind = "gzip" if head[:2] == b"\x1f\x8b" else "PDF" if head[:5] == b"%PDF-" else "binary"
        raise InputError(f"{name}: looks like {kind} data, not text or HTML")
    from cleaner.segment import looks_like_html

    sniffed = decoding.decode(head[: 1 << 17])  # looks_like_html skips up to 64 KiB of leading comments
    is_html = mode == "html" or (mode == "auto" and looks_like_html(sniffed))
    rest = stream.read(1)
    if not rest:
        yield ("html" if is_html else "text"), decoding.decode(head)
        return
    if is_html:
        data = head + rest + stream.read(HTML_LIMIT)
        if stream.read(1):
            raise InputError(f"{name}: HTML larger than {HTML_LIMIT >> 20} MB; split it or use --text")
        yield "html", decoding.decode(data)
        return
    # Large text: decode incrementally, as decoding.decode would (the codec of a byte-order
    # mark, or UTF-16 shown by its NULs; else UTF-8 with stray bytes read as cp1252).
    bom = decoding.bom_codec(head)
    codec, skip = bom if bom else (decoding.utf16_without_bom(head[:4096]), 0)
    decoder = (
        codecs.getincrementaldecoder(codec)(errors="replace")
        if codec and codec != "utf-8"
        else codecs.getincrementaldecoder("utf-8")(errors="cleaner-cp1252")
    )
    carry = ""
    chunk = head[skip:] + rest
    end = None  # the line terminator pieces are cut at: "\n", or "\r" in old Mac text
    while chunk:
        carry += decoder.decode(chunk)
        end = end or ("\n" if "\n" in carry or "\r" not in carry else "\r")
        lines = carry.split(end)
        # A piece goes out only while a whole piece stays behind, so the last one is never a
        # short tail: a short text is read as one page, and a tail is not a page.
        while len(lines) > 2 * PIECE_LINES:
            cut = PIECE_LINES
            for back in range(min(2000, cut)):  # a blank line near the cut keeps paragraphs whole
                if not lines[cut - back].strip():
                    cut -= back
                    break
            yield "text", end.join(lines[:cut]) + end
            lines = lines[cut:]
        carry = end.join(lines)
        chunk = stream.read(1 << 20)
    carry += decoder.decode(b"", final=True)
    if carry:
        yield "text", carry


def _write(out: BinaryIO, text: str) -> None:
    with writing("standard output"):
        write_all(out, text.encode("utf-8", "surrogatepass"))


def run(args: argparse.Namespace) -> int:
    from cleaner.api import Cleaner, assemble, labeled_lines

    try:
        cleaner = Cleaner(model=args.model, html_model=args.html_model, keep=args.keep, threshold=args.threshold,
                          mode=args.mode, headline=args.headline)  # fmt: skip
    except ValueError as exc:  # a setting the Cleaner refuses (--keep, --threshold): a usage error
        _parser().error(f"--{exc}")
    except ModelError as exc:
        print(f"cleaner: {exc}", file=sys.stderr)
        return EXIT_IO

    out = standard_output()
    status = EXIT_OK
    # Segmented inputs waiting to be classified together, in order: (file number, file name,
    # lines, whether a later piece of a large input).
    pending: list[tuple[int, str, Lines, bool]] = []
    pending_chars = 0
    next_index: dict[int, int] = {}  # per file, the index of its next labelled line

    def write_pending() -> None:
        nonlocal pending_chars
        for (number, name, lines, later_piece), P in zip(pending, cleaner.predict_many([p[2] for p in pending])):
            if args.labels or args.json:
                for line in labeled_lines(lines, P):
                    index = next_index.get(number, 0)
                    next_index[number] = index + 1
                    if args.json:
                        record = {"file": display_name(name), "index": index, "label": line.label, "score": round(line.score, 4),
                                  "probabilities": {k: round(v, 4) for k, v in line.probabilities.items()},
                                  "text": line.text}  # fmt: skip
                        _write(out, json.dumps(record, ensure_ascii=False) + "\n")
                    else:
                        _write(out, f"{line.label}\t{line.score:.3f}\t{line.text}\n")
            else:
                # A large input's later pieces start mid-page: no headline there.
                cleaned = assemble(lines, cleaner.kept(lines, P, headline=True if later_piece else None))
                if cleaned:
                    _write(out, cleaned + "\n")
        pending.clear()
        pending_chars = 0

    for number, name in enumerate(args.files or ["-"]):
        try:
            stream = _open(name)
            try:
                for piece, (mode, text) in enumerate(_pieces(name, stream, args.mode)):
                    pending.append((number, name, cleaner.segment(text, mode=mode), piece > 0))
                    pending_chars += len(text)
                    if pending_chars >= BATCH_CHARS:
                        write_pending()
            finally:
                if stream is not sys.stdin.buffer:
                    stream.close()
        except InputError as exc:
            write_pending()  # what came before the bad input is written first
            print(f"cleaner: {exc}", file=sys.stderr)
            status = EXIT_IO
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            write_pending()
            print(f"cleaner: {name}: cannot read ({exc.strerror or exc})", file=sys.stderr)
            status = EXIT_IO
    write_pending()
    with writing("standard output"):
        out.flush()
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m cleaner`` and the ``cleaner`` script (``cleaner batch ...``
    for corpora: see cleaner/batch.py; a file named "batch" is ``./batch``)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["batch"]:
        from cleaner import batch

        try:
            return batch.main(argv[1:])
        except KeyboardInterrupt:
            print("cleaner batch: interrupted", file=sys.stderr)
            return 130
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except BrokenPipeError:
        stdout_closed("cleaner: output closed before all text was written (broken pipe)")
        return EXIT_IO
    except OutputError as exc:
        stdout_closed(f"cleaner: {exc}")
        return EXIT_IO
    except KeyboardInterrupt:
        print("cleaner: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
