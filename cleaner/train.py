"""Train the line classifier from corpus pages and write a model file.

    python -m cleaner.train --data my-pages.jsonl.gz --out my-model.npz
    python -m cleaner.train --out cleaner/models/text.npz     # the shipped text model, from the corpus
    python -m cleaner.train --renderings html --out cleaner/models/html.npz

Pages are corpus records (JSONL, plain, gzipped or xz, one page a line): ``{"rendering": ...,
"lines": [{"text": ..., "label": ...}, ...]}`` with labels ``body``, ``comment``,
``related``, ``boilerplate`` and an empty label ("" or null) for blank lines. Bad data stops
training with the file and line named (:class:`DataError`). Training is seeded: the
same data and seed give the same weights. Needs scikit-learn (``pip install cleaner[train]``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import lzma
import math
import sys
import time
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from cleaner import features
from cleaner.model import CLASSES, FORMAT_VERSION, Ensemble, Model, Network, save
from cleaner.segment import Dom, Lines, segment_text

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "fixtures" / "corpus" / "train.jsonl.xz"
TEXT_RENDERINGS = ("text-own", "text-other")
VOCAB_SIZE = 400
LEXICON_SIZE = 3000
LEXICON_MIN_SITES = 20
LEXICON_LONGEST = 12
MEMBERS = 3  # networks per pass, averaged
GOLD_WEIGHT = 3.0  # hand-checked lines against distant labels (measured on held-out gold pages)
# Share of the text pages also trained on without their boilerplate lines (dev: a third cost
# about .02 body tokens on resiliparse's rendering; a fifth and a tenth did not).
PRECLEANED_SHARE = 0.2
# Hidden units of each network, by model kind. The text model's networks have 32: against 64
# on the dev gold pages, line F1 rose (body .882 -> .891, related .758 -> .779 on our own
# rendering), body tokens stayed within .003, and inference is about 1.2x faster (16 cost
# accuracy). The HTML model keeps 64: with 32, its dev body tokens fell (.970 -> .960), and
# its networks are a small part of its time.
HIDDEN = {"text": 32, "html": 64}
# Share of the training pages featurized as if none of their words were in the vocabulary or
# the lexicon, by model kind: a page in a language those lists do not cover (they are learned
# mostly from English and German pages) then still reads as it should. Measured on dev with
# the lists emptied at inference (an unknown language), two seeds each: body tokens on
# resiliparse's rendering .896 -> .904 (text, 0.1), on HTML .909 -> .927 (html, 0.25); on dev
# as it is, within seed noise (text .915/.916 -> .910/.915, HTML .936/.936 -> .934/.934). A
# quarter cost the text model's comment and body lines more (line F1 -.02).
UNKNOWN_WORDS_SHARE = {"text": 0.1, "html": 0.25}
# The corpus's modern pages: news, blog and shop pages of recent years, the kind users clean
# today (most other pages are years older). Their lines weigh MODERN_WEIGHT times more in
# both models. Body tokens on dev's modern pages, seeds 0/1 (text: resiliparse's rendering):
# text, trafilatura-eval (31 pages) .916/.918 at 1, .922 at 2, .927/.925 at 3, .926 at 5;
# readability-testset (17) .924/.930 at 1, .926/.923 at 3; all 522 dev pages .917/.915 at 1,
# .918/.917 at 3. HTML at 1 -> 3: trafilatura-eval .958/.947 -> .961/.959, readability-testset
# .928/.936 -> .942/.940, hand-checked dev pages .969/.965 -> .971/.967, all dev pages
# .934/.934 -> .933/.929 (distant labels, mostly older pages).
MODERN_DATASETS = ("trafilatura-eval", "readability-testset")
MODERN_WEIGHT = 3.0
VALIDATION_FRACTION = 0.1  # of each network's lines, held out for early stopping
# Lines each class needs in the data a network is fitted on: a network learns only the classes
# it sees, and scikit-learn's stratified validation split needs a few lines of each.
MIN_CLASS_LINES = 10
DOM_FIELDS_NEEDED = ("tag", "depth", "heading", "flags", "link_chars", "block", "tokens")
# The type of each "dom" value the model reads, as benchmarks/corpus.py writes them from
# segment.Dom: (Python type, what JSON calls it); "containers" (optional) is checked apart.
DOM_FIELD_TYPES = {"tag": (str, "a string"), "depth": (int, "a whole number"), "heading": (int, "a whole number"),
                   "flags": (int, "a whole number"), "link_chars": (int, "a whole number"),
                   "block": (int, "a whole number"), "tokens": (str, "a string")}  # fmt: skip
# Optional page fields that must have a certain JSON type: (Python types, what JSON calls them).
PAGE_FIELD_TYPES = {"id": ((str, int), "a string or a number"), "domain": ((str,), "a string"),
                    "weight": ((int, float), "a number"), "gold": ((bool,), "true or false"),
                    "paragraph_breaks": ((bool,), "true or false")}  # fmt: skip
JSON_TYPES = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
              bool: "true or false", type(None): "null"}  # fmt: skip


class DataError(ValueError):
    """Training data that cannot be used; the message names the file (and line) at fault."""


def json_type(value: object) -> str:
    """What JSON calls the type of a parsed value: "an object", "a list", "null", ..."""
    return JSON_TYPES.get(type(value), type(value).__name__)


def line_problem(line: object, dom_width: int | None) -> str | None:
    """What is wrong with one entry of a page's ``lines``, or None. ``dom_width``: the length
    of each line's ``dom`` list on an html page (None on text pages)."""
    if not isinstance(line, dict):
        return f"a line must be a JSON object, not {json_type(line)}"
    text = line.get("text")
    if not isinstance(text, str):
        return 'no "text"' if "text" not in line else f'"text" must be a string, not {json_type(text)}'
    if "\n" in text or "\r" in text:
        return '"text" holds a line break (each line of the page is an entry of its own)'
    expected = f"expected one of {', '.join(CLASSES)}"
    if "label" not in line:
        return f'no "label" ({expected}; "" or null on a blank line)'
    label = line["label"]
    if label not in CLASSES and not (label in ("", None) and not text.strip()):
        if label in ("", None):
            return f"empty label on a non-blank line ({expected})"
        return f"unknown label {label!r} ({expected})"
    if dom_width is not None and not (isinstance(line.get("dom"), list) and len(line["dom"]) == dom_width):
        return f'"dom" must be a list of {dom_width} values, one per "dom_fields" entry'
    return None


def has_type(value: object, types: tuple[type, ...]) -> bool:
    """Whether a parsed JSON value is of one of ``types``: true and false are not numbers."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def _is_containers(value: object) -> bool:
    return type(value) is list and len(value) == 3 and all(type(number) is int for number in value)


def dom_problem(lines: list[dict], fields: list) -> str | None:
    """What is wrong with the "dom" values of an html page's lines (each a list as long as
    ``fields``, checked before), or None: each field the model reads must hold its type
    (:data:`DOM_FIELD_TYPES`; ``containers``: a list of 3 whole numbers), or features
    would fail on it later, far from the line at fault."""
    for name, (kind, what) in DOM_FIELD_TYPES.items():
        column = fields.index(name)  # the first of its name, as lines_of reads it
        values = [line["dom"][column] for line in lines]
        if {type(value) for value in values} <= {kind}:  # all well (the usual case): one quick pass
            continue
        bad = next(i for i, value in enumerate(values) if type(value) is not kind)
        return f'lines[{bad}]: "dom" value {name!r} must be {what}, not {json_type(values[bad])}'
    if "containers" in fields:
        column = fields.index("containers")
        for i, line in enumerate(lines):
            value = line["dom"][column]
            if not _is_containers(value):
                shown = json.dumps(value)[:40] if isinstance(value, list) else json_type(value)
                return f"lines[{i}]: \"dom\" value 'containers' must be a list of 3 whole numbers, not {shown}"
    return None


def record_problem(rec: object) -> str | None:
    """What is wrong with a corpus record as read from its file, or None when it can be
    trained on. (A record ``"derived_from": "html"`` has no lines of its own: they are the
    preceding html record's, checked with it.)

    >>> record_problem({"lines": [{"text": "Hello", "label": "body"}, {"text": "", "label": ""}]}) is None
    True
    >>> record_problem({"lines": [{"text": "", "label": None}, {"text": "Hello", "label": "main"}]})
    "lines[1]: unknown label 'main' (expected one of body, comment, related, boilerplate)"
    """
    if not isinstance(rec, dict):
        return f"a page must be a JSON object, not {json_type(rec)}"
    for key, (types, name) in PAGE_FIELD_TYPES.items():
        if key in rec and not has_type(rec[key], types):
            return f'"{key}" must be {name}, not {json_type(rec[key])}'
    if rec.get("derived_from") == "html":
        return None
    if "lines" not in rec:
        return 'no "lines" (a list of {"text": ..., "label": ...} objects)'
    lines = rec["lines"]
    if not isinstance(lines, list):
        return f'"lines" must be a list, not {json_type(lines)}'
    dom_width = None
    if rec.get("rendering") == "html":
        fields = rec.get("dom_fields")
        if not isinstance(fields, list) or not all(name in fields for name in DOM_FIELDS_NEEDED):
            return f'an html page needs "dom_fields" naming {", ".join(DOM_FIELDS_NEEDED)}'
        dom_width = len(fields)
    for i, line in enumerate(lines):
        problem = line_problem(line, dom_width)
        if problem:
            return f"lines[{i}]: {problem}"
    if dom_width is not None:
        return dom_problem(lines, rec["dom_fields"])
    return None


def text_own_lines(html_record: dict, paragraph_breaks: bool) -> list[dict]:
    """The text rendering of an html corpus record: the same lines, with a blank line (empty
    label) between blocks when ``paragraph_breaks``."""
    out: list[dict] = []
    previous = None
    block_col = html_record["dom_fields"].index("block")
    for line in html_record["lines"]:
        block = line["dom"][block_col]
        if paragraph_breaks and previous is not None and block != previous:
            out.append({"text": "", "label": "", "cue": ""})
        out.append({"text": line["text"], "label": line["label"], "cue": line.get("cue", "")})
        previous = block
    return out


def iter_records(path: Path) -> Iterator[dict]:
    """Corpus records of a JSONL file (plain, ``.gz`` or ``.xz``), one page each, every one
    checked (:func:`record_problem`); a bad one raises :class:`DataError` naming its line.

    A record may say ``"derived_from": "html"`` (our corpus stores its text-own rendering
    so): its lines are then the preceding html record's, with blank lines between blocks
    when ``paragraph_breaks`` is set.
    """
    opener = {".gz": gzip.open, ".xz": lzma.open}.get(path.suffix, open)
    html_record = None
    try:
        with opener(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                try:
                    text = raw.decode("utf-8-sig")
                except UnicodeDecodeError:
                    raise DataError(f"{path}:{n}: not UTF-8 text") from None
                if not text.strip():
                    continue
                try:
                    rec = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{n}: not JSON ({exc.msg})") from None
                problem = record_problem(rec)
                if problem:
                    raise DataError(f"{path}:{n}: {problem}")
                if rec.get("rendering") == "html":
                    html_record = rec
                if rec.get("derived_from") == "html":
                    if html_record is None or html_record.get("id") != rec.get("id"):
                        raise DataError(
                            f"{path}:{n}: page {rec.get('id')} refers to an html record that does not precede it"
                        )
                    rec = dict(rec, lines=text_own_lines(html_record, rec.get("paragraph_breaks", True)))
                    del rec["derived_from"]
                    rec.pop("paragraph_breaks", None)
                yield rec
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:  # unreadable, corrupt or cut short
        raise DataError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None


def read_records(paths: list[Path], renderings: tuple[str, ...]) -> list[dict]:
    """Corpus records of the given renderings from JSONL files (plain, .gz or .xz)."""
    return [rec for path in paths for rec in iter_records(path) if rec.get("rendering", "text-own") in renderings]


def page_text(record: dict) -> str:
    return "\n".join(line["text"] for line in record["lines"])


def learn_vocab(records: list[dict], size: int = VOCAB_SIZE) -> tuple[str, ...]:
    """The words found on the most pages' body lines (function words of the training languages)."""
    df: Counter = Counter()
    for rec in records:
        words = set()
        for line in rec["lines"]:
            if line["label"] == "body":
                words.update(w for w in features.words_of(line["text"]) if len(w) <= 6)
        df.update(words)
    # Ties broken by the word: set and Counter order follow str hashes, which differ between
    # processes, so most_common alone could pick another vocabulary on a rerun.
    ranked = sorted(df.items(), key=lambda item: (-item[1], item[0]))
    return tuple(sorted(w for w, _ in ranked[:size]))


def learn_lexicon(records: list[dict], *, size: int = LEXICON_SIZE, min_sites: int = LEXICON_MIN_SITES,
                  longest: int = LEXICON_LONGEST, smoothing: float = 20.0) -> features.Lexicon:  # fmt: skip
    """The ``size`` words that say most about the class of a short line (``longest`` words at
    most: menus, prompts, headings, teasers, where a word can decide), each with its smoothed
    log-lift per class against all short lines; only words found on ``min_sites`` sites or
    more (a site's own menu words say nothing about other sites)."""
    index = {c: i for i, c in enumerate(CLASSES)}
    counts: dict[str, np.ndarray] = {}
    sites: dict[str, set] = {}
    prior = np.zeros(len(CLASSES))
    for rec in records:
        site = rec.get("domain", rec.get("id"))
        for line in rec["lines"]:
            c = index.get(line["label"])
            if c is None:
                continue
            found = features.words_of(line["text"])
            if len(found) > longest:
                continue
            prior[c] += 1
            for w in set(found):
                row = counts.get(w)
                if row is None:
                    row = counts[w] = np.zeros(len(CLASSES))
                    sites[w] = set()
                row[c] += 1
                sites[w].add(site)
    share = prior / max(prior.sum(), 1.0)
    seen = share > 0  # a class without short lines gets lift 0 (its share is 0/0 of nothing)
    chosen = []
    for w, row in counts.items():
        if len(sites[w]) < min_sites or len(features.words_of(w)) != 1:
            continue
        lift = np.zeros(len(CLASSES))
        lift[seen] = np.log((row[seen] + smoothing * share[seen]) / (row.sum() + smoothing)) - np.log(share[seen])
        chosen.append((-float(row @ lift), w, lift))  # information: count times divergence
    chosen.sort(key=lambda item: (item[0], item[1]))
    chosen = sorted(chosen[:size], key=lambda item: item[1])
    return features.Lexicon(
        tuple(w for _, w, _ in chosen), np.array([lift for _, _, lift in chosen]).reshape(-1, len(CLASSES))
    )


def with_windows(records: list[dict], *, seed: int) -> list[dict]:
    """The pages plus one short window (1 to 12 lines) cut from each around one of its body
    lines, so the model also knows a pasted paragraph or a snippet without the rest of its
    page. (Windows at random places would mostly fall in long comment threads and teach
    that a few lines of prose alone are comments.)"""
    rng = np.random.default_rng(seed)
    out = list(records)
    for rec in records:
        body = [i for i, line in enumerate(rec["lines"]) if line["label"] == "body"]
        if not body:
            continue
        size = int(rng.integers(1, 13))
        centre = body[int(rng.integers(0, len(body)))]
        start = max(0, centre - int(rng.integers(0, size)))
        window = rec["lines"][start : start + size]
        out.append(dict(rec, id=f"{rec.get('id')}#window", lines=window))
    return out


def precleaned_copies(records: list[dict], *, seed: int, share: float = PRECLEANED_SHARE) -> list[dict]:
    """For a ``share`` of the text pages, a copy without their boilerplate lines: text that
    a crawler or an earlier clean-up already stripped of menus and footers (the bundled
    example page is such text). Without them the model learns that prose right above a
    comment form is page furniture, since on full pages it often is (an author's bio,
    "This entry was posted in ...")."""
    rng = np.random.default_rng(seed + 1)
    out = []
    for rec in records:
        if rec.get("rendering") == "html" or rng.random() >= share:
            continue
        labels = {line["label"] for line in rec["lines"]}
        if "boilerplate" not in labels or "body" not in labels:
            continue
        lines: list[dict] = []
        for line in rec["lines"]:
            # A dropped line leaves its blank neighbours: keep one blank between kept lines.
            if line["label"] == "boilerplate" or (
                not line["text"].strip() and (not lines or not lines[-1]["text"].strip())
            ):
                continue
            lines.append(line)
        out.append(dict(rec, id=f"{rec.get('id')}#precleaned", lines=lines))
    return out


def lines_of(record: dict) -> Lines:
    """The segmented lines of a corpus record: text renderings are segmented as text; html
    renderings carry their DOM context (``dom_fields``) and are rebuilt with it."""
    if record.get("rendering") != "html":
        return segment_text(page_text(record))
    fields = record["dom_fields"]
    rows = [line["dom"] for line in record["lines"]]
    column = {name: [row[fields.index(name)] for row in rows] for name in fields}
    dom = Dom(
        column["tag"],
        column["depth"],
        column["heading"],
        column["flags"],
        column["link_chars"],
        column["tokens"],
        [tuple(c) for c in column.get("containers", [(0, 0, 0)] * len(rows))],
    )
    texts = [line["text"] for line in record["lines"]]
    return Lines(texts, ["\n"] * len(texts), np.asarray(column["block"], dtype=np.int64), dom)


def featurize(lines: Lines, vocab: tuple[str, ...], kind: str, lexicon: features.Lexicon | None = None) -> np.ndarray:
    if kind == "html":
        return features.html_features(lines, vocab, lexicon=lexicon)
    return features.text_features(lines, vocab, lexicon=lexicon)


def matrix(
    records: list[dict],
    vocab: tuple[str, ...],
    kind: str = "text",
    lexicon: features.Lexicon | None = None,
    *,
    unknown_words: frozenset[int] = frozenset(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Features, label indices and page numbers of every labelled line, and for html pages
    the numbers of each line's containers (see :func:`cleaner.features.container_groups`).
    The pages numbered in ``unknown_words`` are featurized without the vocabulary and the
    lexicon (see :data:`UNKNOWN_WORDS_SHARE`)."""
    xs, ys, pages, containers = [], [], [], []
    index = {c: i for i, c in enumerate(CLASSES)}
    for p, rec in enumerate(records):
        lines = lines_of(rec)
        keep = features.nonblank_index(lines)
        labels = [rec["lines"][i]["label"] for i in keep]  # known labels: checked as read
        if not labels:
            continue
        if p in unknown_words:
            xs.append(featurize(lines, (), kind, None))
        else:
            xs.append(featurize(lines, vocab, kind, lexicon))
        ys.append(np.array([index[lab] for lab in labels]))
        pages.append(np.full(len(labels), p))
        if kind == "html":
            containers.append(features.container_groups(lines))
    return np.vstack(xs), np.concatenate(ys), np.concatenate(pages), np.vstack(containers) if containers else None


def line_weights(X: np.ndarray) -> np.ndarray:
    """Longer lines weigh more (square root of their words): the article metric counts tokens,
    yet short lines (headings, prompts) still count."""
    words = np.expm1(X[:, features.BASE_NAMES.index("log_words")])
    w = np.sqrt(1 + words)
    return w / w.mean()


def fit(X: np.ndarray, y: np.ndarray, *, seed: int, hidden: int, max_iter: int,
        weight: np.ndarray | None = None) -> Network:  # fmt: skip
    """One network (a hidden ReLU layer, softmax out) fitted with scikit-learn; ``weight``
    multiplies each line's weight (see :func:`line_weights`)."""
    from sklearn.neural_network import MLPClassifier

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-6] = 1.0
    fitted_lines = len(X) - math.ceil(VALIDATION_FRACTION * len(X))  # as scikit-learn splits them
    clf = MLPClassifier(
        hidden_layer_sizes=(hidden,), alpha=1e-4, batch_size=min(512, fitted_lines), learning_rate_init=1e-3,
        max_iter=max_iter, early_stopping=True, validation_fraction=VALIDATION_FRACTION, n_iter_no_change=4,
        random_state=seed, tol=1e-4,
    )  # fmt: skip
    sample_weight = line_weights(X) if weight is None else line_weights(X) * weight
    clf.fit((X - mean) / scale, y, sample_weight=sample_weight)
    return Network(mean, scale, tuple(clf.coefs_), tuple(clf.intercepts_))


def fit_ensemble(X: np.ndarray, y: np.ndarray, *, seed: int, members: int, hidden: int, max_iter: int,
                 weight: np.ndarray | None = None) -> Ensemble:  # fmt: skip
    """``members`` networks fitted alike from seeds ``seed``, ``seed + 1``, ..."""
    return Ensemble(tuple(
        fit(X, y, seed=seed + m, hidden=hidden, max_iter=max_iter, weight=weight) for m in range(members)
    ))  # fmt: skip


def scarce_classes(y: np.ndarray) -> list[str]:
    """The classes with fewer than :data:`MIN_CLASS_LINES` lines among label indices ``y``."""
    counts = np.bincount(y, minlength=len(CLASSES))
    return [c for c, count in zip(CLASSES, counts) if count < MIN_CLASS_LINES]


@contextmanager
def convergence_summarized(max_iter: int) -> Iterator[None]:
    """Fold scikit-learn's ConvergenceWarnings (one per network stopped by ``max_iter``) into
    one line on stderr; other warnings pass on unchanged."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        yield
    stopped = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if stopped:
        print(f"train: stopped at --max-iter {max_iter} before converging ({len(stopped)} of the networks); "
              "the model may be weaker", file=sys.stderr)  # fmt: skip


def out_of_fold(X: np.ndarray, y: np.ndarray, sites: np.ndarray, *, seed: int, members: int, hidden: int,
                max_iter: int, weight: np.ndarray) -> np.ndarray:  # fmt: skip
    """Probabilities of every line from an ensemble fitted on ``X`` without its page's site
    (two folds by ``sites``, a number per site), so the next pass learns from honest inputs."""
    fold = sites % 2
    P = np.zeros((len(y), len(CLASSES)))
    for f in (0, 1):
        scarce = scarce_classes(y[fold != f])
        if scarce:
            raise DataError(
                f'the pages of half the sites (by "domain") have too few {", ".join(scarce)} lines for the '
                "context pass, which trains on each half: add pages of other sites, or train with --passes 1"
            )
        net = fit_ensemble(X[fold != f], y[fold != f], seed=seed, members=members, hidden=hidden,
                           max_iter=max_iter, weight=weight[fold != f])  # fmt: skip
        P[fold == f] = net.predict_proba(X[fold == f])
    return P


def data_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train(paths: list[Path], out: Path, *, seed: int = 0, hidden: int | None = None, max_iter: int = 40,
          renderings: tuple[str, ...] = TEXT_RENDERINGS, passes: int = 2, gold_weight: float = GOLD_WEIGHT,
          members: int = MEMBERS, precleaned_share: float = PRECLEANED_SHARE,
          unknown_words_share: float | None = None, modern_weight: float = MODERN_WEIGHT) -> Model:  # fmt: skip
    """Train on corpus pages and write the model to ``out`` (plus ``out.sha256``). Lines of
    hand-checked pages (``"gold": true``) weigh ``gold_weight`` times as much as distantly
    labelled ones; a page's optional ``"weight"`` multiplies its lines' weight. ``hidden``:
    hidden units per network (default: :data:`HIDDEN` of the model's kind); lines of pages of
    :data:`MODERN_DATASETS` weigh ``modern_weight`` times more;
    ``unknown_words_share``: see :data:`UNKNOWN_WORDS_SHARE` (default: the model kind's)."""
    import sklearn

    t0 = time.perf_counter()
    data_sha256 = data_hash(paths)  # of the files as read now, not as they may be when training ends
    records = read_records(paths, renderings)
    files = ", ".join(map(str, paths))
    if not records:
        raise DataError(f"{files}: no pages of renderings {', '.join(renderings)}")
    kinds = {"html" if rec.get("rendering") == "html" else "text" for rec in records}
    if len(kinds) > 1:
        raise DataError("train text renderings and the html rendering into separate models (--renderings)")
    labels = [CLASSES.index(line["label"]) for rec in records for line in rec["lines"] if line["text"].strip()]
    scarce = scarce_classes(np.array(labels, dtype=np.int64))
    if scarce:
        raise DataError(f"{files}: too few {', '.join(scarce)} lines (each class needs {MIN_CLASS_LINES} or more)")
    kind = kinds.pop()
    hidden = HIDDEN[kind] if hidden is None else hidden
    unknown_words_share = UNKNOWN_WORDS_SHARE[kind] if unknown_words_share is None else unknown_words_share
    vocab = learn_vocab(records)
    lexicon = learn_lexicon(records)
    records = with_windows(records, seed=seed) + precleaned_copies(records, seed=seed, share=precleaned_share)
    rng = np.random.default_rng(seed + 2)
    unknown_words = frozenset(np.flatnonzero(rng.random(len(records)) < unknown_words_share).tolist())
    X, y, pages, containers = matrix(records, vocab, kind, lexicon, unknown_words=unknown_words)
    print(f"train: {len(records)} pages, {len(y)} lines, {X.shape[1]} features, "
          f"labels {dict(Counter(CLASSES[i] for i in y))} ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)  # fmt: skip
    weight = np.array([
        float(rec.get("weight", 1.0)) * (gold_weight if rec.get("gold") else 1.0)
        * (modern_weight if rec.get("dataset") in MODERN_DATASETS else 1.0)
        for rec in records
    ])[pages]  # fmt: skip
    sites = np.array(
        [int(hashlib.sha256(str(records[p].get("domain", p)).encode()).hexdigest()[:8], 16) for p in pages]
    )
    with convergence_summarized(max_iter):
        networks = [fit_ensemble(X, y, seed=seed, members=members, hidden=hidden, max_iter=max_iter, weight=weight)]
        inputs = X
        for number in range(2, passes + 1):
            # Each context pass reads the previous pass's out-of-fold probabilities.
            P = out_of_fold(inputs, y, sites, seed=seed, members=members, hidden=hidden, max_iter=max_iter,
                            weight=weight)  # fmt: skip
            inputs = features.context_features(X, P, page=pages, groups=containers)
            networks.append(
                fit_ensemble(inputs, y, seed=seed, members=members, hidden=hidden, max_iter=max_iter, weight=weight)
            )
            print(f"train: pass {number} on {inputs.shape[1]} context features ({time.perf_counter() - t0:.0f}s)",
                  file=sys.stderr)  # fmt: skip
    header = {
        "format_version": FORMAT_VERSION,
        "classes": list(CLASSES),
        "kind": kind,
        "feature_names": features.html_feature_names() if kind == "html" else features.feature_names(),
        "context_feature_names": features.context_names(CLASSES, containers=kind == "html") if passes > 1 else [],
        "passes": passes,
        "training_data_sha256": data_sha256,
        "training_pages": len(records),
        "training_lines": len(y),
        "renderings": list(renderings),
        "seed": seed,
        "gold_weight": gold_weight,
        "gold_pages": sum(1 for rec in records if rec.get("gold") and "#" not in str(rec.get("id"))),
        "hidden": hidden,
        "members": members,
        "precleaned_share": precleaned_share,
        "unknown_words_share": unknown_words_share,
        "modern_weight": modern_weight,
        "sklearn_version": sklearn.__version__,
    }
    model = Model(header, tuple(networks), vocab, str(out), lexicon)
    digest = save(out, model)
    print(f"train: wrote {out} (sha256 {digest[:12]}…) in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cleaner.train", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, nargs="+", default=[DEFAULT_DATA], help="corpus JSONL files (plain, .gz or .xz)"
    )
    parser.add_argument(
        "--out", type=Path, required=True,
        help="model file to write (the shipped ones: cleaner/models/text.npz, cleaner/models/html.npz)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=None, help="hidden units (default: 32 text, 64 html)")
    parser.add_argument("--members", type=int, default=MEMBERS, help="networks per pass (their mean is used)")
    parser.add_argument("--max-iter", type=int, default=40, help="training epochs at most")
    parser.add_argument("--gold-weight", type=float, default=GOLD_WEIGHT,
                        help="weight of the lines of hand-checked pages (\"gold\": true)")  # fmt: skip
    parser.add_argument("--unknown-words-share", type=float, default=None,
                        help="share of the pages trained on as if no word were in the vocabulary or lexicon "
                             f"(default: {UNKNOWN_WORDS_SHARE['text']} text, {UNKNOWN_WORDS_SHARE['html']} html)")  # fmt: skip
    parser.add_argument("--modern-weight", type=float, default=MODERN_WEIGHT,
                        help=f"weight of the lines of pages of {', '.join(MODERN_DATASETS)} (default: %(default)g)")  # fmt: skip
    parser.add_argument("--precleaned-share", type=float, default=PRECLEANED_SHARE,
                        help="share of the text pages also trained on without their boilerplate lines")  # fmt: skip
    parser.add_argument(
        "--passes",
        type=int,
        choices=(1, 2, 3),
        default=2,
        help="1: per-line network only; 2: add the context pass; 3: a second context pass",
    )
    parser.add_argument(
        "--renderings",
        default=",".join(TEXT_RENDERINGS),
        help="renderings to learn from: text-own,text-other (text model) or html",
    )
    args = parser.parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("cleaner.train needs scikit-learn: pip install 'cleaner[train]'", file=sys.stderr)
        return 2
    for path in args.data:
        if not path.is_file():
            print(f"cleaner.train: {path}: {'not a file' if path.exists() else 'no such file'}", file=sys.stderr)
            return 1
    try:
        train(args.data, args.out, seed=args.seed, hidden=args.hidden, max_iter=args.max_iter,
              renderings=tuple(args.renderings.split(",")), passes=args.passes, gold_weight=args.gold_weight,
              members=args.members, precleaned_share=args.precleaned_share,
              unknown_words_share=args.unknown_words_share, modern_weight=args.modern_weight)  # fmt: skip
    except DataError as exc:
        print(f"cleaner.train: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a data file that cannot be read, or a model file that cannot be written
        print(f"cleaner.train: {exc.filename}: {exc.strerror}" if exc.filename else f"cleaner.train: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
