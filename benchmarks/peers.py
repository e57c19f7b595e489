"""Adapters for the systems we compare with. Each one turns a page (HTML, or plain text for
text-mode rows) into the text it keeps; a peer whose package is missing is skipped with a
note. Install them with ``pip install 'cleaner[bench]'``.
"""

from __future__ import annotations

import html as htmllib
import importlib.metadata
import re
from collections.abc import Callable
from dataclasses import dataclass

_TERMINAL = (".", "!", "?", '"', "”", "’", "'")
_C4_BAD = re.compile(r"javascript|cookie policy|terms of use|privacy policy|use cookies|lorem ipsum", re.I)


@dataclass
class Peer:
    name: str
    input: str  # "html" or "text"
    package: str | None
    make: Callable[[], Callable]  # the extraction function: str -> str (batched: list -> list)
    note: str = ""
    batched: bool = False  # the function takes all pages at once
    languages: bool = False  # the function takes (page, language code) pairs

    def version(self) -> str:
        if self.package is None:
            return ""
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return ""

    def load(self) -> Callable | None:
        """The extraction function, or None when the package is not installed."""
        try:
            return self.make()
        except ImportError as exc:
            self.note = f"skipped: {exc.name or exc} not installed"
            return None


def c4_filter(text: str) -> str:
    """A C4-style line filter (Raffel et al. 2020): keep lines that end in terminal
    punctuation, have at least 3 words, and do not mention javascript or cookie/legal text."""
    kept = []
    for line in text.split("\n"):
        s = line.strip()
        if s.endswith(_TERMINAL) and len(s.split()) >= 3 and not _C4_BAD.search(s):
            kept.append(s)
    return "\n".join(kept)


def _lines_as_html(text: str) -> str:
    """Plain text as HTML with one ``<p>`` per line, for HTML extractors on text input."""
    return (
        "<html><body>"
        + "".join(f"<p>{htmllib.escape(x)}</p>" for x in text.split("\n") if x.strip())
        + "</body></html>"
    )


def _on_lines(extract: Callable) -> Callable:
    """``extract`` on plain text made HTML; a page is the text, or a (text, language) pair."""

    def run(page: str | tuple[str, str]) -> str:
        if isinstance(page, tuple):
            return extract((_lines_as_html(page[0]), page[1]))
        return extract(_lines_as_html(page))

    return run


def _trafilatura(**options) -> Callable[[str], str]:
    import trafilatura

    return lambda html: trafilatura.extract(html, **options) or ""


# ISO 639-1 codes of the languages jusText has a stoplist for, by that stoplist's name.
_JUSTEXT_STOPLISTS = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian",
    "id": "Indonesian", "it": "Italian", "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian", "ms": "Malay",
    "nl": "Dutch", "no": "Norwegian_Bokmal", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish", "tr": "Turkish",
    "uk": "Ukrainian", "vi": "Vietnamese",
}  # fmt: skip


def _justext() -> Callable[[tuple[str, str]], str]:
    """jusText with the stoplist of the page's language, as its authors advise; a language
    it has none for (Japanese, Chinese) runs language-independent (no stop words)."""
    import justext

    def run(page: tuple[str, str]) -> str:
        html, lang = page
        if not html.strip():
            return ""
        name = _JUSTEXT_STOPLISTS.get(lang)
        options = {} if name else {"stopwords_low": 0, "stopwords_high": 0}
        try:
            paragraphs = justext.justext(html, justext.get_stoplist(name) if name else frozenset(), **options)
        except Exception:  # justext raises on unparsable input; count it as empty output
            return ""
        return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)

    return run


def _resiliparse() -> Callable[[str], str]:
    from resiliparse.extract.html2text import extract_plain_text

    return lambda html: extract_plain_text(html, main_content=True)


def _boilerpy3() -> Callable[[str], str]:
    from boilerpy3 import extractors

    extractor = extractors.ArticleExtractor()

    def run(html: str) -> str:
        try:
            return extractor.get_content(html)
        except Exception:  # boilerpy3 raises on some pages; count it as empty output
            return ""

    return run


def _readability() -> Callable[[str], str]:
    import lxml.html
    from readability import Document

    def run(html: str) -> str:
        try:
            summary = Document(html).summary(html_partial=True)
            return lxml.html.fromstring(summary).text_content() if summary.strip() else ""
        except Exception:  # readability raises on empty or odd documents
            return ""

    return run


def _ours(mode: str, batched: bool = False, headline: bool = True) -> Callable:
    from cleaner import Cleaner

    c = Cleaner(mode=mode, headline=headline)  # type: ignore[arg-type]
    return c.clean_many if batched else c.clean


# AEB's articleBody leaves out the headline, as trafilatura's and Readability's text does:
# these rows ask for the body without it (Cleaner(headline=False)); the others keep it.
NO_HEADLINE_HTML, NO_HEADLINE_TEXT = (
    "cleaner (html, clean_many, no headline)",
    "cleaner (text, clean_many, no headline)",
)


def html_peers() -> list[Peer]:
    return [
        Peer("cleaner (html)", "html", "cleaner", lambda: _ours("html")),
        Peer("cleaner (html, clean_many)", "html", "cleaner", lambda: _ours("html", batched=True), batched=True),
        Peer(NO_HEADLINE_HTML, "html", "cleaner", lambda: _ours("html", batched=True, headline=False), batched=True),
        Peer("trafilatura", "html", "trafilatura", _trafilatura),
        Peer("trafilatura (no comments)", "html", "trafilatura", lambda: _trafilatura(include_comments=False)),
        Peer("readability-lxml", "html", "readability-lxml", _readability),
        Peer("resiliparse (main content)", "html", "resiliparse", _resiliparse),
        Peer("boilerpy3", "html", "boilerpy3", _boilerpy3),
        Peer("jusText", "html", "justext", _justext, languages=True),
    ]


def text_peers() -> list[Peer]:
    return [
        Peer("cleaner (text)", "text", "cleaner", lambda: _ours("text")),
        Peer("cleaner (text, clean_many)", "text", "cleaner", lambda: _ours("text", batched=True), batched=True),
        Peer(NO_HEADLINE_TEXT, "text", "cleaner", lambda: _ours("text", batched=True, headline=False), batched=True),
        Peer("keep all lines", "text", None, lambda: lambda text: text),
        Peer("C4-style line filter", "text", None, lambda: c4_filter),
        Peer("jusText (a <p> per line)", "text", "justext", lambda: _on_lines(_justext()), languages=True),
        Peer("trafilatura (a <p> per line)", "text", "trafilatura", lambda: _on_lines(_trafilatura())),
    ]
