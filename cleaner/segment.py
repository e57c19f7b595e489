"""Text or HTML to :class:`Lines`, the one record every later stage reads.

Plain text: one line per input line, blank lines kept (they mark paragraph breaks), so the
lines reproduce the input exactly. HTML: selectolax (lexbor) parses the page; invisible
content goes; block-level elements and ``<br>`` end a line; inline text joins. Each HTML
line keeps its DOM context (see :class:`Dom`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, fields
from functools import cached_property, lru_cache

import numpy as np

__all__ = [
    "DOM_FLAGS",
    "Dom",
    "Lines",
    "concat_lines",
    "looks_like_html",
    "render_text",
    "segment_html",
    "segment_text",
]

_LINE_SPLIT = re.compile(r"(\r\n|\r|\n)")


@dataclass
class Dom:
    """DOM context of HTML lines, one entry per line (parallel lists)."""

    tag: list[str] = field(default_factory=list)  # nearest block-level ancestor
    depth: list[int] = field(default_factory=list)  # element depth of the line's first text
    heading: list[int] = field(default_factory=list)  # 1-6 inside <h1>-<h6>, else 0
    flags: list[int] = field(default_factory=list)  # bit set of DOM_FLAGS over all ancestors
    link_chars: list[int] = field(default_factory=list)  # characters of text inside <a>
    tokens: list[str] = field(default_factory=list)  # ancestors' class/id/role tokens, nearest first
    # Document-order numbers of the nearest three block-level ancestors (0: none): lines that
    # share one are in the same container (an article body, a teaser list, a menu).
    containers: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass
class Lines:
    """A page as lines: ``text`` without terminators, ``end`` the terminator of each.

    ``"".join(t + e for t, e in zip(lines.text, lines.end))`` gives back the segmented text.
    ``block`` numbers paragraphs: lines of one block share it.
    """

    text: list[str]
    end: list[str]
    block: np.ndarray
    dom: Dom | None = None

    def __len__(self) -> int:
        return len(self.text)

    def window(self, start: int, stop: int) -> Lines:
        """Lines ``start`` to ``stop`` (exclusive) as their own Lines."""
        dom = None
        if self.dom is not None:
            dom = Dom(*(getattr(self.dom, f.name)[start:stop] for f in fields(Dom)))
        return Lines(self.text[start:stop], self.end[start:stop], self.block[start:stop], dom)

    @cached_property
    def blank(self) -> np.ndarray:  # computed once: every stage asks for it
        return _blank(self.text)


def _blank(texts: list[str]) -> np.ndarray:
    """Which lines are empty or white space only (as ``str.strip`` sees it), by C loops."""
    blank = np.fromiter(map(str.isspace, texts), dtype=bool, count=len(texts))
    blank |= np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) == 0
    return blank


def concat_lines(pages: list[Lines]) -> tuple[Lines, np.ndarray]:
    """Several pages' lines as one :class:`Lines` (blocks renumbered so that none spans two
    pages), and the page number of every line: the features take whole batches in one go.
    The pages are all text or all HTML.

    >>> lines, page = concat_lines([segment_text("a\\n\\nb"), segment_text("c")])
    >>> lines.text, page.tolist(), lines.block.tolist()
    (['a', '', 'b', 'c'], [0, 0, 0, 1], [0, 1, 1, 2])
    """
    if len({p.dom is None for p in pages}) > 1:
        raise ValueError("concat_lines takes pages of one kind (all text or all HTML)")
    text: list[str] = []
    end: list[str] = []
    blocks: list[np.ndarray] = []
    offset = 0
    for p in pages:
        text += p.text
        end += p.end
        if len(p):
            blocks.append(p.block - p.block.min() + offset)
            offset = int(blocks[-1].max()) + 1
    block = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int64)
    dom = None
    if pages and pages[0].dom is not None:
        dom = Dom(*(list(itertools.chain.from_iterable(getattr(p.dom, f.name) for p in pages)) for f in fields(Dom)))
    page = np.repeat(np.arange(len(pages)), [len(p) for p in pages])
    lines = Lines(text, end, block.astype(np.int64), dom)
    lines.__dict__["blank"] = np.concatenate([p.blank for p in pages]) if pages else np.zeros(0, dtype=bool)
    return lines, page


def segment_text(text: str) -> Lines:
    """Split plain text into lines, keeping every character.

    >>> lines = segment_text("Title\\r\\n\\nBody one.\\nBody two.")
    >>> lines.text, lines.end
    (['Title', '', 'Body one.', 'Body two.'], ['\\r\\n', '\\n', '\\n', ''])
    """
    if not text:
        return Lines([], [], np.zeros(0, dtype=np.int64))
    if "\r" in text:
        parts = _LINE_SPLIT.split(text)
        content = parts[0::2]
        ends = [*parts[1::2], ""]
    else:  # the common case, split by str.split alone (several times faster than the pattern)
        content = text.split("\n")
        ends = ["\n"] * (len(content) - 1) + [""]
    if len(content) > 1 and content[-1] == "":  # text ends with a terminator: no empty last line
        content.pop()
        ends.pop()
    blank = _blank(content)
    block = np.cumsum(blank) if len(content) else np.zeros(0, dtype=np.int64)
    lines = Lines(content, ends, block.astype(np.int64))
    lines.__dict__["blank"] = blank  # fills the cached property: no second pass over the lines
    return lines


# --- HTML ---------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    "address article aside blockquote body center dd details dialog dir div dl dt fieldset "
    "figcaption figure footer form frameset h1 h2 h3 h4 h5 h6 header hgroup hr html legend li "
    "main menu nav ol p pre section summary table tbody td tfoot th thead tr ul caption".split()
)
# Content a reader never sees as text.
_SKIP_TAGS = frozenset(
    "script style noscript template svg math iframe object embed canvas head select option "
    "textarea audio video map area datalist title meta link base param source track".split()
)
DOM_FLAGS = (
    "list", "table", "blockquote", "figure", "form", "nav", "header", "footer",
    "aside", "article", "main", "pre", "link", "button", "label", "time", "strong",
)  # fmt: skip
_FLAG_OF_TAG = {
    "ul": "list", "ol": "list", "li": "list", "dl": "list", "menu": "list",
    "table": "table", "blockquote": "blockquote", "q": "blockquote",
    "figure": "figure", "figcaption": "figure", "form": "form", "nav": "nav",
    "header": "header", "footer": "footer", "aside": "aside", "article": "article",
    "main": "main", "pre": "pre", "a": "link", "button": "button", "label": "label",
    "time": "time", "strong": "strong", "b": "strong",
}  # fmt: skip
_FLAG_BIT = {tag: 1 << DOM_FLAGS.index(name) for tag, name in _FLAG_OF_TAG.items()}
_LINK_BIT = 1 << DOM_FLAGS.index("link")
_PRE_BIT = 1 << DOM_FLAGS.index("pre")
# Tokens of class/id values: whole runs of ASCII letters and digits ("comment-respond" gives
# "comment" and "respond"), kept when they are 2 to 24 letters. Letters only drops the hashed
# names of CSS-in-JS classes ("bnmgrs6xg0wd").
_TOKEN = re.compile(r"(?<![0-9a-z])[a-z]{2,24}(?![0-9a-z])")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_MAX_TOKENS = 24
# Tags of the HTML vocabulary (a text about "<name@example.com>" or "<3" has none of them).
_HTML_TAG = re.compile(
    r"<(/?)(?:html|head|body|meta|link|title|style|script|noscript|div|p|span|a|table|tr|td|th|tbody|thead|br|hr|"
    r"img|h[1-6]|ul|ol|li|dl|dt|dd|article|section|main|header|footer|nav|aside|blockquote|pre|code|strong|em|b|"
    r"i|u|form|input|button|label|select|figure|figcaption|iframe|svg|center|font)(?=[\s/>])",
    re.I,
)
# How a page or a fragment of one starts (not "<img ...>": text rendered with a tracking
# pixel left in it starts so).
_HTML_START = re.compile(
    r"<(?:!doctype\s+html|html|head|body|meta|link|title|style|script|div|p|table|ul|ol|dl|h[1-6]|article|"
    r"section|main|header|footer|nav|aside|blockquote|pre|form|figure)(?=[\s/>])",
    re.I,
)
# Comments and <?xml ...?> declarations a page may open with, however long.
_LEADING_COMMENTS = re.compile(r"(?:\s|<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z))*", re.S)


def _collapse_spaces(text: str) -> str:
    """Whitespace runs as one space, none at either end. ``str.split`` is fastest on ordinary
    lines; a huge one (a 50 MB text node) would become millions of word objects (a regex
    substitution too), so whole-string replaces collapse it instead."""
    if len(text) < 1 << 16:
        return " ".join(text.split())
    for space in _whitespace():
        if space != " " and space in text:
            text = text.replace(space, " ")
    while "  " in text:  # each pass halves every run of spaces
        text = text.replace("  ", " ")
    return text.strip()


@lru_cache(maxsize=1)
def _whitespace() -> str:
    """The characters ``str.split`` splits on (all below U+3001)."""
    return "".join(c for c in map(chr, range(0x3001)) if c.isspace())


def looks_like_html(text: str) -> bool:
    """Guess whether ``text`` is HTML from its first 2 KiB after any leading whitespace,
    comments and ``<?xml ...?>`` declarations.

    >>> looks_like_html("<!DOCTYPE html><html><body><p>Hi</p></body></html>")
    True
    >>> looks_like_html("<p>The council met on Tuesday.</p>")
    True
    >>> looks_like_html("Prices rose 3% <in> March. Wrap it in <p> and use <br> for a break.")
    False
    """
    start = _LEADING_COMMENTS.match(text, 0, 1 << 16).end()
    head = text[start : start + 2048]
    if _HTML_START.match(head):  # a page, or a fragment ("<p>...</p>")
        return True
    # Else only dense markup: text that shows a snippet of it ("wrap it in <p>", a code
    # sample's "<div class="box"><p>Hi</p></div>") has a few tags, a page many.
    tags = [m.group(1) for m in _HTML_TAG.finditer(head)]
    return len(tags) >= 8 and tags.count("/") >= 2


@lru_cache(maxsize=8192)  # a page repeats its class names on many elements
def _tokens_of(*values: str | None) -> tuple[str, ...]:
    found: tuple[str, ...] = ()
    for value in values:
        if value:
            found += _value_tokens(value)
    return found


@lru_cache(maxsize=8192)  # a page nests the same few ancestor chains over and over
def _token_string(tokens: tuple[str, ...]) -> str:
    return " ".join(dict.fromkeys(tokens))


@lru_cache(maxsize=8192)  # a page repeats its class names on many elements
def _value_tokens(value: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(value.lower()))


@lru_cache(maxsize=4096)
def _hidden_style(style: str) -> bool:
    return _HIDDEN_STYLE.search(style) is not None


# A tag never spans another "<", and its name is read whole (the look-ahead): each "<" is then
# tried in time proportional to the text up to the next "<", so unclosed "<a<a<a…" stays linear.
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/<>]*)(?![^\s/<>])[^<>]*?(/?)>")
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
# Elements whose end tag is optional: the next sibling closes them ("<li>a<li>b" is two items,
# not one inside the other), so they never add nesting.
_CLOSED_BY_SIBLINGS = frozenset(
    "p li dt dd option optgroup tr td th thead tbody tfoot colgroup caption rb rt rtc rp".split()
)
_FOREIGN = frozenset(("svg", "math"))  # the only content where "<x/>" closes itself
_NESTING_CHECK_TAGS = 20_000  # fewer tags cannot nest deep enough to matter
MAX_NESTING = 3_000


def _limit_nesting(html: str) -> str:
    """Drop the tags nested deeper than MAX_NESTING. The HTML parser's tree building is
    quadratic in nesting depth (a page of 100,000 nested <div>s takes minutes), while no real
    page nests anywhere near this deep; the text inside the dropped tags is kept. Depth is
    counted as the parser will build it: "<div/>" opens a div (HTML ignores the slash outside
    SVG and MathML), and elements closed by their next sibling do not nest."""
    if html.count("<") < _NESTING_CHECK_TAGS:
        return html
    depth = foreign = 0
    cut: list[tuple[int, int]] = []
    for m in _TAG.finditer(html):
        closing, name, self_closing = m.group(1), m.group(2).lower(), m.group(3)
        if name in _VOID or name in _CLOSED_BY_SIBLINGS or (self_closing and foreign):
            continue
        if closing:
            if depth > MAX_NESTING:
                cut.append(m.span())
            depth = max(depth - 1, 0)
            if name in _FOREIGN:
                foreign = max(foreign - 1, 0)
        else:
            depth += 1
            if depth > MAX_NESTING:
                cut.append(m.span())
            if name in _FOREIGN:
                foreign += 1
    if not cut:
        return html
    pieces, last = [], 0
    for start, end in cut:
        pieces.append(html[last:start])
        last = end
    pieces.append(html[last:])
    return "".join(pieces)


def segment_html(html: str) -> Lines:
    """Segment an HTML page into text lines with their DOM context.

    >>> lines = segment_html("<body><nav><a href=/>Home</a></nav><p>First <b>para</b>.<br>Next</p></body>")
    >>> lines.text
    ['Home', 'First para.', 'Next']
    >>> lines.dom.tag, lines.dom.link_chars
    (['nav', 'p', 'p'], [4, 0, 0])
    """
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(_limit_nesting(html))
    root = tree.body if tree.body is not None else tree.root
    if root is None:
        return Lines([], [], np.zeros(0, dtype=np.int64), Dom())
    # One tuple per line (text, block, then the Dom fields in order), split into lists at the end.
    rows: list[tuple] = []

    # Open-element stack entries: (block tag, depth, heading, flags, tokens, containers); the
    # line under construction takes its context from the stack when its first text arrives.
    stack: list[tuple[str, int, int, int, tuple[str, ...], tuple[int, int, int]]] = [("body", 0, 0, 0, (), (0, 0, 0))]
    element_number = 0
    pieces: list[str] = []
    link_chars = 0
    context = stack[-1]
    block_id = 0

    def flush() -> None:
        nonlocal pieces, link_chars
        if pieces:
            line = _collapse_spaces("".join(pieces))
            if line:
                tag, depth, heading, flags, tokens, containers = context
                rows.append((line, block_id, tag, depth, heading, flags, min(link_chars, len(line)),
                             _token_string(tokens), containers))  # fmt: skip
        pieces = []
        link_chars = 0

    open_nodes: list[tuple] = []  # (element, is block) of each stack entry above the root's
    node = root.child
    while node is not None:
        tag = node.tag
        descend = False
        if tag == "-text":
            raw = node.text_content
            if raw:
                top = stack[-1]
                if top[3] & _PRE_BIT and "\n" in raw:
                    for i, part in enumerate(raw.split("\n")):
                        if i:
                            flush()
                        if part.strip():
                            if not pieces:
                                context = top
                            pieces.append(part)
                elif pieces or not raw.isspace():  # isspace: no stripped copy of every text
                    if not pieces:
                        context = top
                    pieces.append(raw)
                    if top[3] & _LINK_BIT:
                        link_chars += len(raw.strip())
        elif tag and tag[0] != "-" and tag not in _SKIP_TAGS:
            attrs = node.attributes
            hidden = False
            if attrs:  # read inline: a function call per element costs more than the reads
                get = attrs.get
                style = get("style")
                hidden = "hidden" in attrs or get("aria-hidden") == "true" or bool(style and _hidden_style(style))
            if not hidden:
                if tag == "br" or tag == "hr":
                    if pieces:
                        flush()
                else:
                    child = node.child  # read once: each read builds a new node object
                    descend = child is not None
                    is_block = tag in _BLOCK_TAGS
                    if is_block:
                        if pieces:
                            flush()
                        block_id += 1
                    if descend:
                        parent = stack[-1]
                        heading = int(tag[1]) if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456" else parent[2]
                        containers = parent[5]
                        if is_block:
                            element_number += 1
                            containers = (element_number, containers[0], containers[1])
                        own = _tokens_of(get("id"), get("class"), get("role"), get("itemprop")) if attrs else ()
                        stack.append(
                            (
                                tag if is_block else parent[0],
                                parent[1] + 1,
                                heading,
                                parent[3] | _FLAG_BIT.get(tag, 0),
                                (own + parent[4])[:_MAX_TOKENS] if own else parent[4],
                                containers,
                            )
                        )
        if descend:
            open_nodes.append((node, is_block))
            node = child
            continue
        # Leave finished elements until one has a next sibling.
        while True:
            following = node.next
            if following is not None:
                node = following
                break
            if not open_nodes:
                node = None
                break
            node, was_block = open_nodes.pop()
            stack.pop()
            if was_block:
                if pieces:
                    flush()
                block_id += 1
    flush()
    if not rows:
        return Lines([], [], np.zeros(0, dtype=np.int64), Dom())
    text, block, *dom_fields = map(list, zip(*rows))
    return Lines(text, ["\n"] * len(text), np.asarray(block, dtype=np.int64), Dom(*dom_fields))


def render_text(lines: Lines, *, paragraph_breaks: bool = True) -> str:
    """Plain text of segmented HTML as a crawler would give it: one block per line, and
    (with ``paragraph_breaks``) a blank line between blocks.

    >>> render_text(segment_html("<p>One<br>Two</p><p>Three</p>"))
    'One\\nTwo\\n\\nThree\\n'
    """
    out: list[str] = []
    previous = None
    for text, block in zip(lines.text, lines.block.tolist()):
        if paragraph_breaks and previous is not None and block != previous:
            out.append("")
        out.append(text)
        previous = block
    return "\n".join(out) + ("\n" if out else "")
