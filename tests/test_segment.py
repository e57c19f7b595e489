import numpy as np

from cleaner.decode import decode, looks_binary
from cleaner.segment import looks_like_html, render_text, segment_html, segment_text


def test_segment_text_keeps_every_character():
    for text in ["", "a", "a\n", "a\r\nb\rc\n\nd", "\n\n\n", "x\n  \ny", "ends\r\n"]:
        lines = segment_text(text)
        assert "".join(t + e for t, e in zip(lines.text, lines.end)) == text
        assert len(lines.block) == len(lines.text)


def test_segment_text_blocks_follow_blank_lines():
    lines = segment_text("a\nb\n\nc\n")
    assert lines.text == ["a", "b", "", "c"]
    assert lines.block[0] == lines.block[1] != lines.block[3]


def test_segment_html_drops_invisible_and_splits_blocks():
    html = """<html><head><title>T</title><style>p{}</style></head><body>
    <script>var x = 1;</script><div hidden>secret</div><p style="display: none">gone</p>
    <nav><ul><li><a href="/">Home</a></li><li><a href="/w">World</a></li></ul></nav>
    <article><h1>Big news</h1><p>First <em>para</em>graph.<br>Second line</p>
    <pre>code 1
code 2</pre><noscript>enable js</noscript></article><!-- a comment --></body></html>"""
    lines = segment_html(html)
    assert lines.text == ["Home", "World", "Big news", "First paragraph.", "Second line", "code 1", "code 2"]
    dom = lines.dom
    assert dom.tag[:3] == ["li", "li", "h1"]
    assert dom.heading[2] == 1 and dom.heading[3] == 0
    assert dom.link_chars[0] == 4 and dom.link_chars[3] == 0
    assert lines.block[3] == lines.block[4]  # <br> keeps the block
    assert lines.block[2] != lines.block[3]
    assert render_text(lines).startswith("Home\n\nWorld\n\nBig news\n\nFirst paragraph.\nSecond line\n")


def test_segment_html_class_tokens_skip_hashed_names():
    lines = segment_html('<div class="comment-respond css-1x2y3z9"><p id="reply-title">Leave a Reply</p></div>')
    assert lines.dom.tokens[0].split() == ["reply", "title", "comment", "respond", "css"]


def test_segment_html_survives_deep_nesting_and_garbage():
    deep = "<div>" * 20000 + "deep text" + "</div>" * 20000
    assert segment_html(deep).text == ["deep text"]
    assert segment_html("<p>unclosed <b>bold <i>italic").text == ["unclosed bold italic"]
    assert segment_html("").text == []
    assert isinstance(segment_html("<<<>>>&&&").block, np.ndarray)


def test_looks_like_html():
    assert looks_like_html("<!doctype html><p>x")
    assert looks_like_html("<html><body><div>x</div></body></html>")
    assert looks_like_html("<html></html>")
    assert looks_like_html("<p>A fragment: one paragraph of a page.</p>")
    assert looks_like_html("<!-- " + "generated " * 400 + "-->\n<?xml version='1.0'?>\n<!DOCTYPE html><p>x</p>")
    assert not looks_like_html("Plain text with a <tag> in it.")
    # Text about markup is text: no end tags, or one code sample.
    assert not looks_like_html("To make a paragraph, wrap it in <p> and use <br> for a line break.")
    assert not looks_like_html('Add this line:\n<script src="vendor/blanket.js"></script>\nand run the tests.')
    assert not looks_like_html('Your markup is <div class="box"><p>Hello</p></div> and then you add CSS.')
    assert not looks_like_html("<name@example.com> wrote:\n> hi")
    assert not looks_like_html('<img src="pixel.gif" style="display:none">\nThe council met on Tuesday.')
    for fragment in ("<article><h2>Budget</h2><section>x</section></article>", "<main>x</main>", "<dl><dt>a</dt></dl>"):
        assert looks_like_html(fragment), fragment


def test_declared_charsets_are_read_as_browsers_do():
    page = b'<html><head><meta charset="%s"></head><body><p>caf\xe9 and more</p></body></html>'
    assert "café and more" in decode(page % b"windows-1252")
    # A declared UTF-16 is read as UTF-8 (these bytes are not UTF-16); codecs that would not
    # read the markup's ASCII as ASCII are ignored, not applied.
    for charset in (b"utf-16le", b"unicode-escape", b"utf-7", b"cp037"):
        assert "caf" in decode(page % charset) and "<p>" in decode(page % charset), charset
    assert "write \\n here" in decode(b'<meta charset="unicode-escape"><p>write \\n here \xe9</p>')


def test_decode_order():
    assert decode("é".encode("utf-16")) == "é"
    assert decode(b"\xef\xbb\xbfhi") == "hi"
    assert decode(b'<meta charset="iso-8859-1"><p>caf\xe9').endswith("café")
    assert decode(b"it\x92s") == "it’s"  # stray cp1252 byte in UTF-8 text
    assert decode(b"\xff\xfe\x00") is not None  # never raises


def test_looks_binary():
    assert looks_binary(b"\x1f\x8b\x08\x00rest")
    assert looks_binary(b"%PDF-1.4\n")
    assert looks_binary(b"abc\x00def")
    assert not looks_binary("plain text, ünïcode".encode())
    assert not looks_binary("utf16".encode("utf-16"))


def test_a_huge_text_node_collapses_its_whitespace_as_split_does():
    # Past 64 KiB a line's whitespace is collapsed by whole-string replaces (bounded memory on
    # a 50 MB text node); the result must be what str.split gives, for every space character.
    import random

    from cleaner.segment import _collapse_spaces, _whitespace

    rng = random.Random(0)
    alphabet = _whitespace() + "ab\u200b\ufeff"
    for _ in range(20):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1 << 16, (1 << 16) + 500)))
        assert _collapse_spaces(text) == " ".join(text.split())
    page = "<p>" + "\u3000\t word " * 20_000 + "</p>"
    assert segment_html(page).text == [" ".join(("word " * 20_000).split())]
