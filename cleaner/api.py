"""The public API: :class:`Cleaner`, :func:`clean`, :func:`label`, :class:`LabeledLine`."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from cleaner import features
from cleaner import model as model_io
from cleaner.decode import decode
from cleaner.segment import Lines, concat_lines, looks_like_html, segment_html, segment_text

Mode = Literal["auto", "text", "html"]
LABELS = model_io.CLASSES
BLANK = "blank"


@dataclass(frozen=True)
class LabeledLine:
    """One line of the input with its label.

    ``text`` is the line without its terminator, ``end`` the terminator (``"\\n"``,
    ``"\\r\\n"``, ``"\\r"`` or ``""`` on the last line), so
    ``"".join(l.text + l.end for l in lines)`` gives back the (decoded) input.
    ``label`` is one of ``body``, ``comment``, ``related``, ``boilerplate``, or ``blank``
    for an empty line; ``probabilities`` maps every class to its probability (empty for
    blank lines); ``score`` is the probability of ``label``.

    >>> line = LabeledLine(0, "Leave a Reply", "comment", {"body": 0.1, "comment": 0.9})
    >>> line.score, line.text + line.end
    (0.9, 'Leave a Reply\\n')
    """

    index: int
    text: str
    label: str
    probabilities: dict[str, float]
    end: str = "\n"

    @property
    def score(self) -> float:
        return self.probabilities.get(self.label, 1.0 if self.label == BLANK else 0.0)


class Cleaner:
    """A loaded classifier with its settings; build once, use from any thread.

    Parameters
    ----------
    model : path of a text model file made by ``python -m cleaner.train``; the shipped one if None.
    html_model : path of an HTML model (``python -m cleaner.train --renderings html --out FILE``),
        loaded and checked at once; the shipped one if None, loaded on the first HTML input.
    keep : the labels ``clean`` keeps.
    threshold : keep a line when the summed probability of the ``keep`` labels is at least
        this; lower keeps more (recall), higher keeps less (precision). None keeps the
        lines whose most probable label is in ``keep``.
    mode : ``"text"``, ``"html"``, or ``"auto"`` to detect HTML from the input.
    headline : keep the article's headline; False leaves it out of ``clean`` (see
        :func:`headline_line`), as AEB's ``articleBody``, trafilatura and Readability do.
        ``label`` still labels it ``body``.

    >>> c = Cleaner(keep=("body", "comment"))
    >>> c.clean("Home | News | Sport\\n\\nThe council approved the new budget on Tuesday after a long debate.")
    'The council approved the new budget on Tuesday after a long debate.'
    """

    def __init__(self, *, model: str | Path | None = None, html_model: str | Path | None = None,
                 keep: Iterable[str] = ("body",), threshold: float | None = None, mode: Mode = "auto",
                 headline: bool = True):  # fmt: skip
        self.keep = _check_keep(keep)
        self.threshold = _check_threshold(threshold)
        self.mode = _check_mode(mode)
        self.headline = headline
        self.model = model_io.load(model or model_io.DEFAULT_MODEL, feature_names=features.feature_names(),
                                   context_feature_names=features.context_names(LABELS), kind="text")  # fmt: skip
        self._html_model_path = html_model or model_io.DEFAULT_HTML_MODEL
        self._html_model: model_io.Model | None = None
        self._lock = threading.Lock()
        if html_model:  # a file the caller names fails here, not at the first HTML page
            self.html_model  # noqa: B018

    @property
    def html_model(self) -> model_io.Model:
        """The HTML model; the shipped one is loaded on first use (text-only runs never pay for it)."""
        if self._html_model is None:
            with self._lock:
                if self._html_model is None:
                    self._html_model = model_io.load(
                        self._html_model_path, feature_names=features.html_feature_names(),
                        context_feature_names=features.context_names(LABELS, containers=True), kind="html",
                    )  # fmt: skip
        return self._html_model

    # -- the pipeline: segment, features, predict ---------------------------------------------

    def segment(self, text: str | bytes, *, mode: Mode | None = None) -> Lines:
        """Decode and split the input into lines (HTML is parsed when detected or forced).

        >>> Cleaner().segment("Title\\n\\nFirst paragraph.").text
        ['Title', '', 'First paragraph.']
        """
        if not isinstance(text, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"cleaner takes text as str or bytes, not {type(text).__name__}")
        text = decode(text)
        mode = self.mode if mode is None else _check_mode(mode)
        if mode == "html" or (mode == "auto" and looks_like_html(text)):
            return segment_html(text)
        return segment_text(text)

    def predict(self, lines: Lines) -> np.ndarray:
        """Class probabilities of the non-blank lines (rows in line order, columns
        ``LABELS``). HTML lines (with their DOM context) go to the HTML model, plain text
        lines to the text model. Inputs longer than two pages of PAGE_LINES lines are read in
        windows of about PAGE_LINES, cut where a paragraph starts: each is read as a page
        (save text mode's run test, :func:`body_in_main_runs`, which needs a whole page), and
        memory stays bounded.

        >>> c = Cleaner()
        >>> c.predict(c.segment("Home | News\\n\\nThe council met on Tuesday.")).shape
        (2, 4)
        """
        if not _read_in_windows(lines):
            return self._predict(lines)
        parts = []
        for start, stop in _windows(lines.block, PAGE_LINES):
            # A window is not a page (it may start in one article's tail, or hold several
            # pasted pages): no page-level run test.
            parts.append(self._predict(lines.window(start, stop), whole_pages=False))
        return np.vstack(parts)

    def predict_many(self, pages: list[Lines]) -> list[np.ndarray]:
        """:meth:`predict` for several pages at once, the same probabilities for each. Pages
        of one kind are featurized and classified together, up to about BATCH_LINES lines
        at a time: a few large array operations instead of many small ones per page.

        >>> c = Cleaner()
        >>> pages = [c.segment("Home | News\\n\\nThe council met on Tuesday."), c.segment("<p>Hi there.</p>")]
        >>> [P.shape for P in c.predict_many(pages)]
        [(2, 4), (1, 4)]
        """
        out: list[np.ndarray] = [np.zeros((0, len(LABELS)))] * len(pages)
        for is_html in (False, True):
            group: list[int] = []
            size = 0
            for i, lines in enumerate(pages):
                if (lines.dom is not None) != is_html:
                    continue
                if _read_in_windows(lines):  # alone, in windows
                    out[i] = self.predict(lines)
                    continue
                group.append(i)
                size += len(lines)
                if size >= BATCH_LINES:
                    self._predict_group(pages, group, out)
                    group, size = [], 0
            self._predict_group(pages, group, out)
        return out

    def _predict_group(self, pages: list[Lines], group: list[int], out: list[np.ndarray]) -> None:
        if not group:
            return
        lines, page = concat_lines([pages[i] for i in group])
        P = self._predict(lines, page)
        rows = np.cumsum([np.count_nonzero(~pages[i].blank) for i in group])  # each page's rows of P end here
        for i, part in zip(group, np.split(P, rows[:-1])):
            out[i] = part

    def _predict(self, lines: Lines, page: np.ndarray | None = None, *, whole_pages: bool = True) -> np.ndarray:
        if lines.dom is not None:
            model = self.html_model
            X = features.html_features(lines, model.vocab, page, lexicon=model.lexicon, dtype=np.float32, order="F")
        else:
            model = self.model
            X = features.text_features(lines, model.vocab, page, lexicon=model.lexicon, dtype=np.float32)
        if len(X) == 0:
            return np.zeros((0, len(LABELS)))
        first, *rest = model.networks
        P = first.predict_proba(X)
        groups = features.container_groups(lines) if lines.dom is not None else None
        rows_page = None if page is None else page[features.nonblank_index(lines)]
        for network in rest:  # the context pass re-reads each line with its surroundings
            P = network.predict_proba(features.context_features(X, P, page=rows_page, groups=groups, dtype=np.float32))
        if lines.dom is not None:
            return P
        P = teasers_under_their_heading(X, P)
        return body_in_main_runs(X, P, rows_page) if whole_pages else P

    def kept(self, lines: Lines, P: np.ndarray, *, keep: Iterable[str] | None = None,
             threshold: float | None = None, headline: bool | None = None) -> np.ndarray:  # fmt: skip
        """Which lines ``clean`` keeps (one flag per line, blank lines too), given their
        probabilities from :meth:`predict`; ``keep``, ``threshold`` and ``headline`` override
        the instance's settings.

        >>> c = Cleaner()
        >>> lines = c.segment("Home | News\\n\\nThe council met on Tuesday to approve the budget.")
        >>> c.kept(lines, c.predict(lines)).tolist()
        [False, False, True]
        """
        keep_t = self.keep if keep is None else _check_keep(keep)
        threshold = self.threshold if threshold is None else _check_threshold(threshold)
        cols = [LABELS.index(k) for k in keep_t]
        if threshold is None:
            wanted = np.zeros(len(LABELS), dtype=bool)
            wanted[cols] = True
            chosen = wanted[P.argmax(axis=1)]
        else:
            chosen = P[:, cols].sum(axis=1) >= threshold
        kept = np.zeros(len(lines), dtype=bool)
        rows = features.nonblank_index(lines)
        kept[rows] = chosen
        if not (self.headline if headline is None else headline) and "body" in keep_t:
            first = headline_line(lines, kept)
            if first is not None and P[np.searchsorted(rows, first)].argmax() == _BODY:
                kept[first] = False
        return kept

    # -- public ----------------------------------------------------------------------------

    def label(self, text: str | bytes, *, mode: Mode | None = None) -> list[LabeledLine]:
        """Label every line; see :func:`cleaner.label`.

        >>> [x.label for x in Cleaner().label("Home | News\\n\\nThe council met on Tuesday to approve the budget.")]
        ['boilerplate', 'blank', 'body']
        """
        lines = self.segment(text, mode=mode)
        return labeled_lines(lines, self.predict(lines))

    def clean(self, text: str | bytes, *, keep: Iterable[str] | None = None, threshold: float | None = None,
              mode: Mode | None = None, headline: bool | None = None) -> str:  # fmt: skip
        """The kept lines; see :func:`cleaner.clean`.

        >>> Cleaner(keep=("body", "comment")).clean("The council met on Tuesday to approve the budget.\\nLeave a Reply")
        'The council met on Tuesday to approve the budget.\\nLeave a Reply'
        """
        lines = self.segment(text, mode=mode)
        return assemble(lines, self.kept(lines, self.predict(lines), keep=keep, threshold=threshold, headline=headline))

    def clean_many(self, texts: Iterable[str | bytes], *, keep: Iterable[str] | None = None,
                   threshold: float | None = None, mode: Mode | None = None,
                   headline: bool | None = None) -> list[str]:  # fmt: skip
        """:meth:`clean` for many pages, the same output for each, faster: the pages are
        classified in batches (see :meth:`predict_many`).

        >>> Cleaner().clean_many(["Home | News\\n\\nThe council met on Tuesday to approve the new budget for schools.", ""])
        ['The council met on Tuesday to approve the new budget for schools.', '']
        """
        if isinstance(texts, (str, bytes, bytearray, memoryview)):  # would be cleaned character by character
            raise TypeError("clean_many takes a list (an iterable) of texts; for one text use clean")
        if keep is not None:  # checked before the work, not after it
            _check_keep(keep)
        _check_threshold(threshold)
        if mode is not None:
            _check_mode(mode)
        pages = [self.segment(text, mode=mode) for text in texts]
        return [
            assemble(lines, self.kept(lines, P, keep=keep, threshold=threshold, headline=headline))
            for lines, P in zip(pages, self.predict_many(pages))
        ]


_BODY, _COMMENT, _RELATED = LABELS.index("body"), LABELS.index("comment"), LABELS.index("related")


def teasers_under_their_heading(X: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Text mode's step after the model: a line called a comment whose nearest cue heading
    above is a related one ("You May Also Like" after a "Leave a Reply") is a teaser; its
    comment probability moves to related. Plain text has no DOM regions to tell a thread from a
    teaser list (HTML mode has, and does without this step). On the held-out gold pages it
    is neutral (comment F1 +0.004, related -0.001); it keeps teaser lists that follow a
    comment form related."""
    move = features.related_cue_nearer(X) & (P.argmax(axis=1) == _COMMENT)
    return _moved(P, np.flatnonzero(move), _COMMENT, _RELATED)


# Text mode's run test: a line's words count for the body by how much likelier than not the
# model finds it body; a body line must lie on a run of lines whose count reaches half of the
# page's best run. Chosen on the dev pages (resiliparse's text, body tokens: hand-checked
# pages .945 -> .951, modern news pages .927 -> .933, all pages .918 -> .920; margins 0.4/0.6
# and shares 0.3/0.7 did no better).
_RUN_MARGIN, _RUN_SHARE = 0.5, 0.5
_LOG_WORDS = features.BASE_NAMES.index("log_words")


def body_in_main_runs(X: np.ndarray, P: np.ndarray, page: np.ndarray | None = None) -> np.ndarray:
    """Text mode's last step: a line called body that stands apart from the page's main run
    of body lines (a second article loaded below the first, the blurbs of a menu above it)
    is not body; its body probability moves to its next likeliest class. The article is one
    run, broken at most by short furniture; plain text has no DOM regions to say where it
    ends (HTML mode has, and does without this step). Rows as in ``X``; ``page`` numbers
    the page of every row when they hold several pages.

    >>> X = np.zeros((4, len(features.BASE_NAMES)))
    >>> X[:, _LOG_WORDS] = np.log1p([40, 40, 80, 30])
    >>> P = np.array([[.9, 0, 0, .1], [.9, 0, 0, .1], [.0, 0, .2, .8], [.6, 0, .3, .1]])
    >>> [LABELS[i] for i in body_in_main_runs(X, P).argmax(axis=1)]
    ['body', 'body', 'boilerplate', 'related']
    """
    body = P.argmax(axis=1) == _BODY
    if not body.any():
        return P
    words = np.expm1(X[:, _LOG_WORDS].astype(float))
    rows = np.flatnonzero(body & (features.run_share((P[:, _BODY] - _RUN_MARGIN) * words, page) < _RUN_SHARE))
    others = P[rows].copy()
    others[:, _BODY] = -1.0
    return _moved(P, rows, _BODY, others.argmax(axis=1))


def _moved(P: np.ndarray, rows: np.ndarray, source: int, target: int | np.ndarray) -> np.ndarray:
    """``P`` with the ``source`` class probability of ``rows`` moved to their ``target`` class
    (one for all rows, or one per row); ``P`` itself when no row moves."""
    if len(rows) == 0:
        return P
    P = P.copy()
    P[rows, target] += P[rows, source]
    P[rows, source] = 0.0
    return P


# A plain-text line reads as a headline when it is short and not closed like a sentence
# (a question or exclamation mark may close a headline, so they do not count here).
_HEADLINE_WORDS, _HEADLINE_CHARS, _HEADLINE_CHARS_FEW_WORDS = 25, 150, 60
_SENTENCE_END = re.compile(r"[.,;:…。，、]['\"’”)\]]*$")


def headline_line(lines: Lines, kept: np.ndarray) -> int | None:
    """The index of the article's headline when the kept text starts with one, else None.

    The first kept line is the headline when HTML puts it in an ``<h1>``-``<h3>``, or, in
    plain text, when it reads as a title: at most 25 words and 150 characters (60 with
    fewer than three words, as in unspaced Chinese or Japanese), not ended like a sentence.
    A page with no other kept line has none, so leaving the headline out never empties a
    page. On 270 pages of the training and development sets (every 12th), 88% of the HTML
    headlines found this way and 66% of the plain-text ones are in the page's ``<title>``;
    the rest are mostly headlines worded differently, and site furniture the model kept at
    the top.

    >>> from cleaner.segment import segment_text
    >>> lines = segment_text("Council approves budget\\n\\nThe council approved the budget on Tuesday.")
    >>> headline_line(lines, np.array([True, False, True]))
    0
    """
    rows = np.flatnonzero(kept)
    if len(rows) < 2:
        return None
    first = int(rows[0])
    if lines.dom is not None:
        return first if 1 <= lines.dom.heading[first] <= 3 else None
    text = lines.text[first].strip()
    words = len(text.split())
    short = words <= _HEADLINE_WORDS and len(text) <= (_HEADLINE_CHARS if words > 2 else _HEADLINE_CHARS_FEW_WORDS)
    return first if short and not _SENTENCE_END.search(text) else None


def labeled_lines(lines: Lines, P: np.ndarray) -> list[LabeledLine]:
    """One :class:`LabeledLine` per line from the probabilities of the non-blank lines."""
    out: list[LabeledLine] = []
    rows = iter(P.tolist())
    for i, (t, end, blank) in enumerate(zip(lines.text, lines.end, lines.blank.tolist())):
        if blank:
            out.append(LabeledLine(i, t, BLANK, {}, end))
            continue
        probs = dict(zip(LABELS, next(rows)))
        out.append(LabeledLine(i, t, max(probs, key=probs.__getitem__), probs, end))
    return out


# The models learned from pages of up to about 2,400 lines (99% under 600): a longer input,
# such as many pages pasted into one text, is read in page-sized windows, where its
# page-level features (position, page size, distances to prose) mean what they meant in
# training. Read whole, 180 pages pasted into one text kept 5% of their text, against 61%
# when cleaned one by one (44% in windows).
PAGE_LINES = 1_000
# predict_many featurizes and classifies pages together up to this many lines. Larger batches
# were slower on AEB's text (20,000 lines: -8%): a feature matrix of tens of MB is fresh memory
# from the OS each time, paid for in page faults, while a few MB are reused from the heap.
BATCH_LINES = 5_000


def _read_in_windows(lines: Lines) -> bool:
    """Whether an input is longer than two pages, so :meth:`Cleaner.predict` reads it in windows."""
    return len(lines) > 2 * PAGE_LINES


def _windows(block: np.ndarray, size: int) -> list[tuple[int, int]]:
    """(start, stop) spans of about ``size`` lines covering all lines, cut where a block
    (paragraph) starts when one does within the last quarter of the span."""
    n = len(block)
    spans, start = [], 0
    while start < n:
        stop = min(start + size, n)
        if stop < n:
            starts = np.flatnonzero(block[stop - size // 4 + 1 : stop + 1] != block[stop - size // 4 : stop])
            if len(starts):
                stop = stop - size // 4 + 1 + int(starts[-1])
        spans.append((start, stop))
        start = stop
    return spans


def assemble(lines: Lines, kept: np.ndarray) -> str:
    """Join kept lines; one blank line where the input had a paragraph break between them."""
    rows = np.flatnonzero(kept)
    blocks = lines.block[rows]
    # Paragraphs of kept lines: a new one wherever the block changes.
    cuts = [0, *(np.flatnonzero(blocks[1:] != blocks[:-1]) + 1).tolist(), len(rows)]
    texts = [lines.text[i] for i in rows.tolist()]
    return "\n\n".join("\n".join(texts[a:b]) for a, b in itertools.pairwise(cuts) if b > a)


def _check_keep(keep: Iterable[str]) -> tuple[str, ...]:
    # Each label once: a threshold sums the kept labels' probabilities.
    keep = (keep,) if isinstance(keep, str) else tuple(dict.fromkeys(keep))
    unknown = [k for k in keep if k not in LABELS]
    if unknown or not keep:
        raise ValueError(f"keep takes labels among {', '.join(LABELS)}; got {', '.join(map(repr, unknown)) or 'none'}")
    return keep


def _check_threshold(threshold: float | None) -> float | None:
    if threshold is not None and not 0.0 <= threshold <= 1.0:  # NaN fails too
        raise ValueError(f"threshold must be between 0 and 1, not {threshold!r}")
    return threshold


def _check_mode(mode: str) -> Mode:
    if mode not in ("auto", "text", "html"):
        raise ValueError(f"mode must be 'auto', 'text' or 'html', not {mode!r}")
    return mode  # type: ignore[return-value]


_default: Cleaner | None = None
_default_lock = threading.Lock()


def default_cleaner() -> Cleaner:
    """The shared instance behind :func:`clean` and :func:`label`, loaded on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Cleaner()
    return _default


def clean(text: str | bytes, *, keep: Iterable[str] = ("body",), threshold: float | None = None,
          mode: Mode = "auto", headline: bool = True) -> str:  # fmt: skip
    """Drop boilerplate: return the lines labelled as one of ``keep``, in order, with a blank
    line where the input had a paragraph break between kept lines. Lines are never rewritten.

    ``text`` may be ``str`` or ``bytes`` (decoded by BOM, UTF-8, the page's declared charset,
    then UTF-8 with replacement; never an exception). HTML is detected (or force ``mode``).
    ``headline=False`` leaves out the article's headline (see :func:`headline_line`), as
    AEB's ``articleBody``, trafilatura and Readability do; its label stays ``body``.

    >>> import cleaner
    >>> page = "Share on Facebook\\nCouncil approves budget\\nThe council approved the new budget on Tuesday after a long debate."
    >>> cleaner.clean(page)
    'Council approves budget\\nThe council approved the new budget on Tuesday after a long debate.'
    >>> cleaner.clean(page, headline=False)
    'The council approved the new budget on Tuesday after a long debate.'
    """
    return default_cleaner().clean(text, keep=keep, threshold=threshold, mode=mode, headline=headline)


def label(text: str | bytes, *, mode: Mode = "auto") -> list[LabeledLine]:
    """Label every line: exactly one :class:`LabeledLine` per input line (blank lines too,
    as ``blank``), with class probabilities.

    >>> import cleaner
    >>> page = ("Home | News | Sport\\n\\nThe council approved the new budget on Tuesday after a long debate.\\n\\n"
    ...         "Leave a Reply\\nYour email address will not be published.")
    >>> [(l.label, l.text[:13]) for l in cleaner.label(page)]  # doctest: +NORMALIZE_WHITESPACE
    [('boilerplate', 'Home | News |'), ('blank', ''), ('body', 'The council a'), ('blank', ''),
     ('comment', 'Leave a Reply'), ('comment', 'Your email ad')]
    """
    return default_cleaner().label(text, mode=mode)
