"""Build the labelled line corpus in ``fixtures/corpus/`` from ``../shared/data``.

    python -m benchmarks.corpus build [--data ../shared/data] [--out fixtures/corpus]

Every page gives lines in up to three renderings:

* ``html``: our own selectolax segmentation (:func:`cleaner.segment.segment_html`), each line
  with its DOM context;
* ``text-own``: the same lines as the plain text a crawler gives (one block per line; on
  half of the pages with blank lines between blocks, on the other half without);
* ``text-other``: resiliparse's plain-text rendering (for the AEB test pages exactly the
  rendering the benchmark uses; for every dev page, so dev measures it on all held-out gold
  pages; for a third of the training pages, so the text model does not learn only our
  segmenter's quirks: more of them cost dev accuracy). Its lines take the labels of the own
  lines they align to.

Labels (see ``fixtures/LABELS.md``) come from people where they exist (page-signal's span
classes; the hand-checked gold set in ``fixtures/gold/``), else from distant rules: a line
is ``body`` when most of its tokens align to the page's gold text; ``comment`` when it aligns
to the dragnet gold's comment part or sits under a comment DOM cue or says a comment prompt;
``related`` under a related-content DOM cue or a teaser heading; else ``boilerplate``. Each
line keeps the ``cue`` that decided it. The output is byte-for-byte reproducible.

Splits are by site: AEB only in ``test``; a quarter of the other sites in ``dev``, except
that half of the dev sites holding hand-checked pages go to ``train`` (see
:func:`assign_splits`), so the models learn from hand labels and are measured on the rest.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import html as htmllib
import io
import json
import lzma
import re
import sys
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from cleaner.cues import comment_dom_cue, comment_phrase, is_byline, related_dom_cue, related_heading
from cleaner.decode import decode
from cleaner.model import CLASSES
from cleaner.segment import Dom, Lines, segment_html
from cleaner.train import iter_records, text_own_lines

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "fixtures" / "corpus"
GOLD_DIR = ROOT / "fixtures" / "gold" / "pages"
DEV_SHARE = 0.25  # share of sites (not pages) held out as dev
GOLD_TRAIN_SHARE = 0.5  # share of the dev sites with hand-checked pages moved to train
TEXT_OTHER_SHARE = 1 / 3
_WORD = re.compile(r"\w+")
_COMMENTS_MARKER = "%^&*"
_CLEANEVAL_TAG = re.compile(r"^\s*<[phl]>", re.M)
_STRAY_TAG = re.compile(r"</?[a-z]{1,10}>")
_TEXT_WRAPPER = re.compile(r'<text id="([^"]*)"')
_CANONICAL = re.compile(
    r"""<link[^>]+rel=["']?canonical["']?[^>]*href=["']([^"']+)|<link[^>]+href=["']([^"']+)["'][^>]*rel=["']?canonical"""
    r"""|<meta[^>]+property=["']og:url["'][^>]*content=["']([^"']+)""",
    re.I,
)
_HREF = re.compile(r"""href=["']?(https?://[^"'\s>/]+)""", re.I)
_SOCIAL = re.compile(
    r"(facebook|twitter|google|youtube|linkedin|pinterest|instagram|addthis|feedburner|w3\.org|"
    r"doubleclick|apple\.com|microsoft|adobe|wordpress\.org|gravatar|disqus|creativecommons|flickr|"
    r"digg|reddit|stumbleupon|delicious|technorati|yahoo|amazon|fakehost|bit\.ly|t\.co\b)"
)
_TWO_PART_TLD = {"co.uk", "com.au", "com.br", "co.jp", "co.kr", "com.cn", "co.in", "com.mx", "co.nz", "org.uk",
                 "ac.uk", "gov.uk", "com.ar", "com.tr", "co.za", "com.sg", "com.hk", "com.tw", "ne.jp", "or.jp"}  # fmt: skip


# --- small helpers ---------------------------------------------------------------------------


def stable_fraction(key: str) -> float:
    """A number in [0, 1) fixed by ``key`` (deterministic across runs and machines)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / 16**12


def site_of(url: str) -> str:
    """Registered domain of a URL: ``https://www.bbc.co.uk/news`` -> ``bbc.co.uk``."""
    host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    host = host.lower().strip(".")
    if host.startswith("www."):
        host = host[4:]
    parts = host.split(".")
    if len(parts) >= 3 and ".".join(parts[-2:]) in _TWO_PART_TLD:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:]) if len(parts) >= 2 else host


def guess_url(html: str) -> str | None:
    """The page's own URL from canonical/og:url, else the most linked absolute host."""
    head = html[:200_000]
    match = _CANONICAL.search(head)
    if match:
        url = next(g for g in match.groups() if g)
        if url.startswith("http"):
            return url
    hosts = Counter(h.lower() for h in _HREF.findall(html) if not _SOCIAL.search(h.lower()))
    if hosts:
        return hosts.most_common(1)[0][0]
    return None


def lower_tokens(text: str) -> list[str]:
    return [t.lower() for t in _WORD.findall(text)]


# --- reading the data sets -------------------------------------------------------------------


@dataclass
class Page:
    dataset: str
    id: str
    html: str
    gold_body: str | None  # plain gold text of the article (None: no text gold)
    gold_comments: str  # dragnet's comment part
    url: str | None
    lang: str
    flags: str
    span_labels: bool = False  # page-signal: labels come from the annotated HTML itself
    snippets: dict | None = None  # trafilatura-eval: {"with": [...], "without": [...], "comments": [...]}


def _read_gz(path: Path) -> bytes:
    with gzip.open(path, "rb") as f:
        return f.read()


def _cleaneval_gold(raw: str) -> str:
    lines = [ln for ln in raw.splitlines() if not ln.startswith("URL:")]
    text = _CLEANEVAL_TAG.sub("\n", "\n".join(lines))
    return htmllib.unescape(_STRAY_TAG.sub(" ", text))


def read_pages(data: Path, *, snippet_pages: bool = False, only: str | None = None) -> list[Page]:
    """Every usable page of every data set, in manifest order.

    trafilatura-eval has snippet gold only, so its pages give no distant labels: they enter
    the corpus only when hand-labelled in the gold set (or all of them with ``snippet_pages``).
    """
    evaldata = json.loads((data / "trafilatura-eval" / "evaldata.json").read_text(encoding="utf-8"))
    with open(data / "manifest.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    aeb_gold = json.loads((data / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    pages: list[Page] = []
    for row in rows:
        ds, flags = row["dataset"], row["flags"]
        if only is not None and only != ds + "/" + row["id"]:
            continue
        if "no_gold" in flags or "synthetic_fixture" in flags or "empty_gold" in flags:
            continue
        if ds == "trafilatura-eval" and not (snippet_pages or is_checked_gold(gold_file(ds, row["id"]))):
            continue
        html = decode(_read_gz(data / row["html_path"]))
        url = None
        gold_body, gold_comments, span_labels, snippets = None, "", False, None
        if ds == "trafilatura-eval":
            snippets = evaldata[row["gold_key"]]
            key = row["gold_key"]
            url = key if key.startswith("http") else None
        elif ds == "aeb":
            entry = aeb_gold[row["gold_key"]]
            gold_body, url = entry["articleBody"], entry.get("url")
        else:
            gold = decode(_read_gz(data / row["gold_path"])).replace("\r\n", "\n").replace("\r", "\n")
            if ds == "dragnet":
                lines = gold.split("\n")
                cut = next((i for i, ln in enumerate(lines) if _COMMENTS_MARKER in ln), len(lines))
                gold_body, gold_comments = "\n".join(lines[:cut]), "\n".join(lines[cut + 1 :])
            elif ds in ("cleaneval-dev", "cleaneval-final", "cleanportaleval"):
                gold_body = _cleaneval_gold(gold)
                match = _TEXT_WRAPPER.search(html[:2000])
                url = htmllib.unescape(match.group(1)) if match else None
            elif ds == "readability-testset":
                gold_body = "\n".join(segment_html(gold).text)
            elif ds == "page-signal":
                # The site from the input page, whose links are absolute (the annotated gold
                # HTML's are not: most of these pages had no site, each its own in the splits).
                url = guess_url(html)
                html, span_labels = gold, True
        if not url or "//" not in url or "fakehost" in url:
            url = guess_url(html) or url
        pages.append(
            Page(
                ds,
                row["id"],
                html,
                gold_body,
                gold_comments,
                url,
                row["lang_guess"] or "und",
                flags,
                span_labels,
                snippets,
            )
        )
    return pages


# --- distant labels --------------------------------------------------------------------------


class Aligner:
    """Which lines' tokens occur, in runs, in a gold text (fuzzy, token-based)."""

    def __init__(self, gold: str):
        toks = lower_tokens(gold)
        self.trigrams = {tuple(toks[i : i + 3]) for i in range(len(toks) - 2)}
        self.joined = " " + " ".join(toks) + " "

    def coverage(self, toks: list[str]) -> float:
        """Share of the line's tokens inside a 3-token run found in the gold; for lines of 1-2
        tokens 1.0 when the whole line occurs in the gold."""
        n = len(toks)
        if n == 0:
            return 0.0
        if n < 3:
            return 1.0 if (" " + " ".join(toks) + " ") in self.joined else 0.0
        covered = [False] * n
        for i in range(n - 2):
            if tuple(toks[i : i + 3]) in self.trigrams:
                covered[i] = covered[i + 1] = covered[i + 2] = True
        return sum(covered) / n


def _page_signal_labels(html: str) -> tuple[Lines, list[str], list[str]]:
    """Segment an L3S-GN1 annotated page; a line's label is that of the nearest
    ``x-nc-sel*`` ancestor of most of its characters."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    # Mark where each labelled element starts and ends with private-use characters, so the
    # labels survive segmentation; the marks are taken out of the text afterwards.
    for node in tree.css("[class*='x-nc-sel']"):
        classes = (node.attributes.get("class") or "").split()
        sel = next((c for c in classes if c.startswith("x-nc-sel") and c[-1].isdigit()), None)
        if sel is None:
            continue
        open_mark = chr(0xE000 + int(sel[-1]))
        if node.child is not None:
            node.child.insert_before(open_mark)
        else:
            node.insert_child(open_mark)
        node.insert_child("\ue00f")
    marked = re.sub(r"\bx-nc-[\w-]+", "", tree.html or "")
    lines = segment_html(marked)
    sel_to_label = {"0": "boilerplate", "1": "body", "2": "body", "3": "supplemental", "4": "related", "5": "comment"}
    stack: list[str] = []
    keep_text, keep_index, labels, cues = [], [], [], []
    for i, text in enumerate(lines.text):
        counts: Counter = Counter()
        clean = []
        for ch in text:
            code = ord(ch)
            if 0xE000 <= code <= 0xE005:
                stack.append(sel_to_label[str(code - 0xE000)])
            elif code == 0xE00F:
                if stack:
                    stack.pop()
            else:
                clean.append(ch)
                if not ch.isspace():
                    counts[stack[-1] if stack else "unlabelled"] += 1
        line = " ".join("".join(clean).split())
        if not line:
            continue
        label = counts.most_common(1)[0][0] if counts else "unlabelled"
        cue = "page-signal:" + label
        if label == "supplemental":
            # sel3 holds captions (body) and bylines/dates (boilerplate).
            label = "boilerplate" if is_byline(line) or len(lower_tokens(line)) < 8 else "body"
        elif label == "unlabelled":
            label = "boilerplate"
        if label == "boilerplate":
            # The annotators' "not content" holds furniture, teasers and comment prompts;
            # LABELS.md splits them, by the same cues as the other data sets.
            if comment_phrase(line) or (
                comment_dom_cue(lines.dom.tokens[i]) and not _RECENT_WIDGET.search(lines.dom.tokens[i])
            ):
                label, cue = "comment", cue + "+comment-cue"
            elif related_heading(line) or related_dom_cue(lines.dom.tokens[i]):
                label, cue = "related", cue + "+related-cue"
            elif _teaser_headline(
                line, lower_tokens(line), min(lines.dom.link_chars[i], len(line)), lines.dom.tokens[i]
            ):
                label, cue = "related", cue + "+teaser-link"
        keep_text.append(line)
        keep_index.append(i)
        labels.append(label)
        cues.append(cue)
    dom = lines.dom
    assert dom is not None
    for f in fields(Dom):  # every DOM column, so a new one cannot be left unfiltered
        values = getattr(dom, f.name)
        setattr(dom, f.name, [values[i] for i in keep_index])
    dom.link_chars = [min(c, len(t)) for c, t in zip(dom.link_chars, keep_text)]
    out = Lines(
        keep_text, ["\n"] * len(keep_text), np.asarray([lines.block[i] for i in keep_index], dtype=np.int64), dom
    )
    _extend_by_container(out, labels, cues)
    return out, labels, cues


def distant_labels(page: Page, lines: Lines) -> tuple[list[str], list[str]]:
    """Label each HTML line of a page from its gold text and cues; returns (labels, cues)."""
    assert lines.dom is not None
    body = Aligner(page.gold_body or "")
    comments = Aligner(page.gold_comments) if page.gold_comments.strip() else None
    toks = [lower_tokens(t) for t in lines.text]
    body_cov = [body.coverage(t) for t in toks]
    long_body = [i for i, (c, t) in enumerate(zip(body_cov, toks)) if c >= 0.5 and len(t) >= 3]
    lo, hi = (long_body[0] - 5, long_body[-1] + 5) if long_body else (0, -1)
    labels, cues = [], []
    for i, (text, t) in enumerate(zip(lines.text, toks)):
        dom_tokens = lines.dom.tokens[i]
        linky = lines.dom.link_chars[i] >= 0.6 * max(len(text), 1)
        if body_cov[i] >= 0.5 and (len(t) >= 3 or lo <= i <= hi) and not (len(t) < 3 and linky):
            if is_byline(text):
                labels.append("boilerplate"), cues.append("gold+byline")
            else:
                labels.append("body"), cues.append("gold")
        elif comments is not None and comments.coverage(t) >= 0.5 and len(t) >= 3:
            labels.append("comment"), cues.append("gold-comments")
        elif comment_phrase(text):
            labels.append("comment"), cues.append("phrase:comment")
        elif related_heading(text):
            labels.append("related"), cues.append("phrase:related")
        elif (cue := comment_dom_cue(dom_tokens)) and not _RECENT_WIDGET.search(dom_tokens + " " + text.lower()):
            labels.append("comment"), cues.append("dom:" + cue)
        elif cue := related_dom_cue(dom_tokens):
            labels.append("related"), cues.append("dom:" + cue)
        elif _teaser_headline(text, t, lines.dom.link_chars[i], dom_tokens):
            labels.append("related"), cues.append("teaser-link")
        else:
            labels.append("boilerplate"), cues.append("rest")
    _extend_related_runs(lines, labels, cues)
    _extend_by_container(lines, labels, cues)
    return labels, cues


def snippet_labels(page: Page, lines: Lines) -> tuple[list[str], list[str]]:
    """Pre-labels for trafilatura-eval pages (snippet gold only), to be checked by hand: lines
    holding a ``with`` snippet or reading like prose are body; ``without`` snippets boilerplate;
    comment snippets comment; the rest by the distant cues."""
    assert page.snippets is not None and lines.dom is not None
    base_labels, base_cues = distant_labels(page, lines)
    norm = [" ".join(lower_tokens(t)) for t in lines.text]

    def holds(snippet: str, line: str) -> bool:
        key = " ".join(lower_tokens(snippet))
        return bool(key) and (key in line or (len(line) > 20 and line in key))

    labels, cues = [], []
    for i, (text, line) in enumerate(zip(lines.text, norm)):
        words = len(line.split())
        linky = lines.dom.link_chars[i] >= 0.3 * max(len(text), 1)
        if any(holds(s, line) for s in page.snippets.get("with", [])):
            labels.append("body"), cues.append("snippet:with")
        elif any(holds(s, line) for s in page.snippets.get("comments", []) or []):
            labels.append("comment"), cues.append("snippet:comment")
        elif any(holds(s, line) for s in page.snippets.get("without", [])):
            labels.append("boilerplate" if base_labels[i] == "body" else base_labels[i]), cues.append("snippet:without")
        elif base_labels[i] != "boilerplate":
            labels.append(base_labels[i]), cues.append(base_cues[i])
        elif words >= 12 and not linky and text.rstrip()[-1:] in '.!?:;"”“»)':
            labels.append("body"), cues.append("prose")
        else:
            labels.append("boilerplate"), cues.append("rest")
    return labels, cues


_RECENT_WIDGET = re.compile(r"\brecent(?:comments?)?\b|\bwidget\b|letzte kommentare|recent comments")
_FURNITURE = re.compile(
    r"privacy|cookie|terms|copyright|©|subscribe|newsletter|sign (?:in|up)|log ?in|contact|about us|rss|"
    r"advertis|impressum|datenschutz|kontakt|agb|sitemap|all rights|follow us|facebook|twitter",
    re.I,
)


def _teaser_headline(text: str, toks: list[str], link_chars: int, dom_tokens: str = "") -> bool:
    """A link whose text reads like a headline (five words or more, not site furniture, not
    pagination or breadcrumbs) is a teaser for another article; menu items are shorter."""
    cjk = sum(1 for ch in text if "\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af")
    headline_size = (5 <= len(toks) <= 30) or cjk >= 10
    return (
        link_chars >= 0.8 * len(text) and headline_size and not _FURNITURE.search(text) and not is_byline(text)
        and not text.lstrip().startswith(("«", "»", "‹", "›", "<", ">", "←", "→"))
        and not _NAVIGATION.search(dom_tokens)
    )  # fmt: skip


_NAVIGATION = re.compile(r"\b(?:breadcrumbs?|pagination|pager|postnav|tags?|blogroll|categories|archives?)\b")


_UNDECIDED = ("rest", "page-signal:unlabelled", "page-signal:boilerplate")


def _extend_by_container(lines: Lines, labels: list[str], cues: list[str]) -> None:
    """A container (the nearest block ancestor or the one above it) whose lines are mostly
    teasers or comments is a teaser list or a comment thread as a whole: its remaining
    unlabelled lines (dates, snippets, "Read more", author lines) take that label."""
    assert lines.dom is not None
    for level in (0, 1):
        members: dict[int, list[int]] = {}
        for i, containers in enumerate(lines.dom.containers):
            if containers[level]:
                members.setdefault(containers[level], []).append(i)
        for rows in members.values():
            if len(rows) < 3:
                continue
            counts = Counter(labels[i] for i in rows)
            for label in ("related", "comment"):
                if counts[label] >= 3 and counts[label] >= 0.5 * len(rows) and counts["body"] <= 0.1 * len(rows):
                    for i in rows:
                        if labels[i] == "boilerplate" and cues[i] in _UNDECIDED:
                            labels[i], cues[i] = label, f"container-{label}"
                    break


def _extend_related_runs(lines: Lines, labels: list[str], cues: list[str]) -> None:
    """After a teaser heading ("You May Also Like"), the teaser lines that follow are related:
    link-heavy or snippet-like lines up to the next body/comment line or a break in the run."""
    assert lines.dom is not None
    for i, cue in enumerate(list(cues)):
        if cue != "phrase:related":
            continue
        for j in range(i + 1, min(i + 40, len(labels))):
            if labels[j] != "boilerplate" or cues[j] != "rest":
                break
            text = lines.text[j]
            linky = lines.dom.link_chars[j] >= 0.5 * len(text)
            if not (linky or len(text) > 60 or text.lower().startswith(("read more", "more", "weiter"))):
                break
            labels[j], cues[j] = "related", "after-related-heading"


# --- renderings ------------------------------------------------------------------------------


def resiliparse_lines(html: str) -> list[str]:
    """The benchmark's plain-text rendering (text-mode issue): resiliparse, each line
    whitespace-collapsed, empty lines dropped."""
    from resiliparse.extract.html2text import extract_plain_text

    text = extract_plain_text(
        html, preserve_formatting=True, main_content=False, list_bullets=False, alt_texts=False,
        links=False, form_fields=False, noscript=True,
    )  # fmt: skip
    return [c for c in (" ".join(ln.split()) for ln in text.split("\n")) if c]


def carry_labels(own_text: list[str], own_labels: list[str], other_text: list[str]) -> tuple[list[str], list[str]]:
    """Give lines of another rendering the labels of the own lines their tokens align to
    (3-token runs, in order; majority of a line's aligned tokens)."""
    seq, seq_label = [], []
    exact: dict[str, str] = {}
    for text, label in zip(own_text, own_labels):
        toks = lower_tokens(text)
        seq.extend(toks)
        seq_label.extend([label] * len(toks))
        exact.setdefault(" ".join(toks), label)
    where: dict[tuple[str, ...], list[int]] = {}
    for k in range(len(seq) - 2):
        where.setdefault(tuple(seq[k : k + 3]), []).append(k)
    labels, cues = [], []
    cursor = 0
    for text in other_text:
        toks = lower_tokens(text)
        key = " ".join(toks)
        votes: Counter = Counter()
        for k in range(len(toks) - 2):
            spots = where.get(tuple(toks[k : k + 3]))
            if not spots:
                continue
            # Prefer the first occurrence at or after the previous match (renderings keep order).
            spot = next((s for s in spots if s >= cursor), spots[0])
            cursor = spot
            votes[seq_label[spot]] += 1
        if votes:
            labels.append(votes.most_common(1)[0][0]), cues.append("aligned")
        elif key in exact:
            labels.append(exact[key]), cues.append("aligned-exact")
        else:
            labels.append("boilerplate"), cues.append("unaligned")
    return labels, cues


# --- gold ------------------------------------------------------------------------------------


def gold_file(dataset: str, page_id: str) -> Path:
    """A gold page's file: ``<dataset>__<id>.tsv`` while in review, ``.tsv.gz`` once packed
    (``python -m benchmarks.gold pack``)."""
    plain = GOLD_DIR / f"{dataset}__{page_id}.tsv"
    packed = plain.with_name(plain.name + ".gz")
    return packed if packed.exists() else plain


def gold_files() -> list[Path]:
    """Every gold page file, packed or not, in name order."""
    return sorted([*GOLD_DIR.glob("*.tsv"), *GOLD_DIR.glob("*.tsv.gz")], key=gold_key)


def gold_key(path: Path) -> str:
    """``<dataset>__<id>`` of a gold page file."""
    return path.name.removesuffix(".gz").removesuffix(".tsv")


def gold_text(path: Path) -> str:
    """The text of a gold page file, packed or not."""
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")


def gold_state(path: Path) -> str:
    """A gold page's review state from its ``# checked: STATE`` header: ``no`` (in review),
    ``yes`` (checked) or ``held`` (reviewed, but held out of the corpus; its note says why);
    empty for a missing file or header."""
    if not path.exists():
        return ""
    for line in gold_text(path).split("\n", 5)[:5]:
        if line.strip().startswith("# checked:"):
            return line.strip().removeprefix("# checked:").strip()
    return ""


def is_checked_gold(path: Path) -> bool:
    """A gold page counts once a reviewer has marked it ``# checked: yes``."""
    return gold_state(path) == "yes"


def read_gold(path: Path) -> tuple[list[str], list[str]]:
    """A hand-checked page: ``label<TAB>text`` per line (lines starting with ``#`` are notes)."""
    labels, texts = [], []
    for raw in gold_text(path).split("\n"):
        if not raw or raw.startswith("#"):
            continue
        label, _, text = raw.partition("\t")
        if label not in CLASSES:
            raise ValueError(f"{path}: unknown label {label!r} on line {raw[:60]!r}")
        labels.append(label)
        texts.append(text)
    return labels, texts


def pack_gold(path: Path) -> Path:
    """Compress a checked ``.tsv`` gold page to ``.tsv.gz`` (deterministic bytes: no name, no
    time) and remove the plain file; the gold set stays about a quarter of its plain size.
    ``git config diff.gzip.textconv "gzip -dc"`` shows packed pages as text in diffs."""
    packed = path.with_name(path.name + ".gz")
    with open(packed, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(path.read_bytes())
    path.unlink()
    return packed


# --- the build -------------------------------------------------------------------------------


def _dom_rows(lines: Lines) -> list[list]:
    d = lines.dom
    assert d is not None
    return [
        [
            d.tag[i],
            d.depth[i],
            d.heading[i],
            d.flags[i],
            d.link_chars[i],
            int(lines.block[i]),
            d.tokens[i],
            list(d.containers[i]),
        ]
        for i in range(len(lines))
    ]


DOM_FIELDS = ["tag", "depth", "heading", "flags", "link_chars", "block", "tokens", "containers"]


def label_page(page: Page, *, use_gold: bool = True) -> tuple[Lines, list[str], list[str]]:
    """HTML lines of a page with their labels and cues (gold file first, then people, then rules)."""
    if page.span_labels:
        lines, labels, cues = _page_signal_labels(page.html)
    else:
        lines = segment_html(page.html)
        labels, cues = (snippet_labels if page.snippets is not None else distant_labels)(page, lines)
    gold = gold_file(page.dataset, page.id)
    if use_gold and is_checked_gold(gold):
        gold_labels, gold_texts = read_gold(gold)
        if gold_texts != lines.text:
            raise ValueError(f"{gold}: its lines no longer match the segmentation of {page.dataset}/{page.id}")
        labels, cues = gold_labels, ["hand"] * len(gold_labels)
    return lines, labels, cues


def build_records(page: Page, split: str, seen_site: bool | None) -> list[dict]:
    lines, labels, cues = label_page(page)
    base = {"id": page.id, "dataset": page.dataset, "domain": site_of(page.url or "") or f"unknown-{page.dataset}-{page.id}",
            "lang": page.lang, "split": split, "url": page.url}  # fmt: skip
    if seen_site is not None:
        base["seen_site"] = seen_site
    if is_checked_gold(gold_file(page.dataset, page.id)):
        base["gold"] = True
    records = []
    rec = dict(base, rendering="html", dom_fields=DOM_FIELDS)
    rec["lines"] = [
        {"text": t, "label": lab, "cue": c, "dom": d}
        for t, lab, c, d in zip(lines.text, labels, cues, _dom_rows(lines))
    ]
    records.append(rec)

    # The text-own lines are the html lines (plus blank lines between blocks on half of the
    # pages): stored as a reference to the html record, expanded by read_corpus, to keep
    # fixtures/ small.
    breaks = stable_fraction("breaks:" + page.dataset + page.id) < 0.5 or split == "test"
    records.append(dict(base, rendering="text-own", derived_from="html", paragraph_breaks=breaks))

    # Every dev page has it too: the dev figures for this rendering (AEB's text) then rest on
    # all the held-out gold pages, not a third of them.
    if split in ("test", "dev") or stable_fraction("other:" + page.dataset + page.id) < TEXT_OTHER_SHARE:
        other = resiliparse_lines(page.html)
        other_labels, other_cues = carry_labels(lines.text, labels, other)
        records.append(dict(base, rendering="text-other", lines=[
            {"text": t, "label": lab, "cue": "carried:" + c} for t, lab, c in zip(other, other_labels, other_cues)
        ]))  # fmt: skip
    return records


def assign_splits(pages: list[Page]) -> dict[str, str]:
    """Split by site: AEB is ``test``; other sites go to ``dev`` with probability DEV_SHARE.

    Hand-checked labels teach what distant rules miss (teasers above all), so the dev sites
    holding a gold page go to ``train`` with probability GOLD_TRAIN_SHARE, all their pages
    with them: sites stay on one side, and the other gold pages stay held out for measuring.
    """
    site_of_page = {p.dataset + "/" + p.id: site_of(p.url or "") or f"unknown-{p.dataset}-{p.id}" for p in pages}
    gold_sites = {site_of_page[p.dataset + "/" + p.id] for p in pages if is_checked_gold(gold_file(p.dataset, p.id))}
    splits = {}
    for p in pages:
        site = site_of_page[p.dataset + "/" + p.id]
        if p.dataset == "aeb":
            split = "test"
        elif stable_fraction("site:" + site) >= DEV_SHARE:
            split = "train"
        elif site in gold_sites and stable_fraction("gold-site:" + site) < GOLD_TRAIN_SHARE:
            split = "train"
        else:
            split = "dev"
        splits[p.dataset + "/" + p.id] = split
    return splits


def write_jsonl(path: Path, records: list[dict]) -> None:
    """JSONL, xz-compressed for a ``.xz`` path (the corpus: about half the size of gzip), else
    gzipped with a fixed header (no name, mtime 0); either way equal records give equal bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join((json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8") for rec in records)
    if path.suffix == ".xz":
        path.write_bytes(lzma.compress(data, preset=6))
        return
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    path.write_bytes(buf.getvalue())


def corpus_file(split: str, folder: Path | None = None) -> Path:
    """The corpus file of a split (``train``, ``dev``, ``test``)."""
    return (folder or DEFAULT_OUT) / f"{split}.jsonl.xz"


def build(data: Path, out: Path, *, limit: int | None = None) -> dict:
    pages = read_pages(data)
    if limit:
        pages = pages[:limit]
    splits = assign_splits(pages)
    train_sites = {site_of(p.url or "") for p in pages if splits[p.dataset + "/" + p.id] != "test"}
    by_split: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    for n, page in enumerate(pages):
        split = splits[page.dataset + "/" + page.id]
        seen = (site_of(page.url or "") in train_sites) if split == "test" else None
        try:
            by_split[split].extend(build_records(page, split, seen))
        except ValueError as exc:
            print(f"corpus: {exc}", file=sys.stderr)
            raise
        if n % 250 == 0:
            print(f"corpus: {n}/{len(pages)} pages", file=sys.stderr)
    for split, records in by_split.items():
        write_jsonl(corpus_file(split, out), records)
    return summarize(by_split)


def summarize(by_split: dict[str, list[dict]]) -> dict:
    table: dict = {}
    for split, records in by_split.items():
        html_record = None
        for rec in records:
            if rec["rendering"] == "html":
                html_record = rec
            elif rec.get("derived_from") == "html":
                rec = dict(rec, lines=text_own_lines(html_record, rec["paragraph_breaks"]))
            key = f"{split}/{rec['dataset']}/{rec['rendering']}"
            row = table.setdefault(key, {"pages": 0, **{c: 0 for c in CLASSES}})
            row["pages"] += 1
            for line in rec["lines"]:
                if line["label"]:
                    row[line["label"]] += 1
    return table


def read_corpus(path: Path, *, rendering: str | None = None):
    """Yield the records of one corpus file (optionally of one rendering), derived
    renderings expanded."""
    for rec in iter_records(path):
        if rendering is None or rec["rendering"] == rendering:
            yield rec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.corpus", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build fixtures/corpus from the shared data")
    b.add_argument("--data", type=Path, default=DEFAULT_DATA)
    b.add_argument("--out", type=Path, default=DEFAULT_OUT)
    b.add_argument("--limit", type=int, default=None, help="only the first N pages (for a quick look)")
    args = parser.parse_args(argv)
    table = build(args.data, args.out, limit=args.limit)
    print("| split/dataset/rendering | pages | " + " | ".join(CLASSES) + " |")
    print("|---|---:|" + "---:|" * len(CLASSES))
    for key in sorted(table):
        row = table[key]
        print(f"| {key} | {row['pages']} | " + " | ".join(str(row[c]) for c in CLASSES) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
