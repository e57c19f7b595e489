"""Properties over arbitrary input: label() never raises, gives one entry per line and the
input back; clean() only drops lines; the same input always gives the same output."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cleaner
from cleaner.decode import decode

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
line_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
line_end = st.sampled_from(["\n", "\r\n", "\r", "\n\n"])
pages = st.lists(st.tuples(line_text, line_end), max_size=30).map(lambda rows: "".join(t + e for t, e in rows))
any_text = st.one_of(pages, st.text(max_size=500))
html_pages = st.lists(
    st.one_of(
        st.sampled_from(["<p>", "</p>", "<div class='comment'>", "</div>", "<br>", "<ul><li>", "<a href=x>", "</a>",
                         "<script>", "</script>", "<!--", "-->", "<![CDATA[", "]]>", "<h1>", "<table><tr><td>"]),
        line_text,
    ),
    max_size=40,
).map(lambda parts: "<html><body>" + "".join(parts))  # fmt: skip


@SETTINGS
@given(any_text)
def test_label_gives_back_the_text(text):
    lines = cleaner.label(text, mode="text")
    assert "".join(x.text + x.end for x in lines) == text
    assert [x.index for x in lines] == list(range(len(lines)))
    assert all(x.label in ("body", "comment", "related", "boilerplate", "blank") for x in lines)


@SETTINGS
@given(st.binary(max_size=600))
def test_label_takes_any_bytes(data):
    lines = cleaner.label(data, mode="text")
    assert "".join(x.text + x.end for x in lines) == decode(data)


@SETTINGS
@given(any_text)
def test_clean_only_drops_lines_and_is_deterministic(text):
    out = cleaner.clean(text, mode="text")
    assert out == cleaner.clean(text, mode="text")
    source = iter(x.text for x in cleaner.label(text, mode="text"))
    for kept in (x for x in out.split("\n") if x):
        assert any(kept == line for line in source), "kept lines must be a subsequence of the input lines"


@SETTINGS
@given(html_pages)
def test_html_never_raises_and_is_deterministic(html):
    lines = cleaner.label(html, mode="html")
    assert all(x.text.strip() for x in lines)  # HTML lines are the visible text blocks
    assert cleaner.clean(html, mode="html") == cleaner.clean(html, mode="html")
