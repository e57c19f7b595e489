"""Feature behaviour the models rely on: a page's rows are the same alone or in a batch."""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cleaner import cues, features
from cleaner.features import (
    TEXT_ONLY_NAMES,
    Lexicon,
    container_groups,
    context_features,
    context_names,
    dom_feature_names,
    dom_features,
    feature_names,
    html_features,
    text_features,
)
from cleaner.segment import concat_lines, segment_html, segment_text


def test_html_rows_are_the_same_alone_or_in_a_batch():
    pages = [
        segment_html(
            "<nav class='menu'><a href=/>Home</a><a href=/n>News</a></nav>"
            "<div class='article-body'><p>The council met on Tuesday.</p><p>It voted.</p></div>"
        ),
        segment_html("<div id=main><h1>Title</h1><ul class=related><li><a href=/x>Other story</a></li></ul></div>"),
        segment_html("<p>One line, no classes at all.</p>"),
    ]
    lines, page = concat_lines(pages)
    batch = dom_features(lines, page)
    alone = np.vstack([dom_features(p) for p in pages])
    assert batch.shape == (6, len(dom_feature_names()))  # the menu's links are one line
    np.testing.assert_array_equal(batch, alone)
    assert batch[:, dom_feature_names().index("dom_nav")].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def test_context_rows_have_one_column_per_name_even_when_empty():
    classes = ("body", "comment", "related", "boilerplate")
    text = segment_text("Home | News\nThe council met on Tuesday and voted for the new budget.\n12 Comments")
    X = text_features(text)
    for rows in (3, 0):  # a page, and a page without lines
        P = np.full((rows, 4), 0.25)
        assert context_features(X[:rows], P).shape == (rows, len(context_names(classes)))
    page = segment_html("<div><p>The council met on Tuesday.</p><p>It voted.</p></div><ul><li>Other</li></ul>")
    H, groups = html_features(page), container_groups(page)
    P = np.full((len(H), 4), 0.25)
    assert context_features(H, P, groups=groups).shape == (3, len(context_names(classes, containers=True)))
    assert context_features(H[:0], P[:0], groups=groups[:0]).shape == (0, len(context_names(classes, containers=True)))


def test_text_rows_are_the_same_alone_or_in_a_batch():
    pages = [
        segment_text("Home | News\n\nLeave a Reply\nThe council met on Tuesday and voted for the new budget.\nHome"),
        segment_text("By Jane Doe\nThe the the council council met.\n\n12 Comments"),
        segment_text(""),
        segment_text("... --- !!!"),
    ]
    lines, page = concat_lines(pages)
    batch = text_features(lines, ("the", "council"), page)
    alone = np.vstack([text_features(p, ("the", "council")) for p in pages])
    np.testing.assert_allclose(batch, alone, rtol=1e-12, atol=1e-12)  # window means: running sums


# More short words than a page's top 20 and more long ones than its topic words (ties at the
# cut), words whose keys differ by little ("16", "17"), capitals, accents and punctuation.
_WORDS = [
    *(f"w{i}" for i in range(30)),
    "16",
    "17",
    "The",
    "é",
    "budget.",
    "—",
    "🙂",  # above U+FFFF: a page with one takes another path through the character tables
    *(f"council{c}" for c in "abcdefghijkl"),
]
_PAGE = st.lists(
    st.lists(st.sampled_from(_WORDS), min_size=8, max_size=14).map(" ".join), min_size=10, max_size=16
).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(_PAGE, min_size=2, max_size=5))
def test_word_counts_and_ties_do_not_depend_on_the_batch(texts):
    pages = [segment_text(t) for t in texts]
    lines, page = concat_lines(pages)
    batch = text_features(lines, ("the", "16"), page)
    alone = np.vstack([text_features(p, ("the", "16")) for p in pages])
    np.testing.assert_allclose(batch, alone, rtol=1e-12, atol=1e-12)


def test_a_second_article_in_the_same_template_reads_as_a_repeat():
    article = (
        "<article class=post><div class=entry><p>{0} opens here.</p><figure>Photo</figure>"
        "<p>{0} goes on.</p></div></article>"
    )
    page = segment_html("<main>" + article.format("The story") + article.format("The next story") + "</main>")
    alone = dom_features(page)
    repeat = alone[:, dom_feature_names().index("log_repeat3")]
    # The first article's paragraphs share a container, though a figure splits them.
    assert repeat.tolist() == [0.0, 0.0, 0.0, np.log(2), np.log(2), np.log(2)]
    lines, rows = concat_lines([segment_html("<p>Another page.</p>"), page])
    np.testing.assert_array_equal(dom_features(lines, rows)[1:], alone)


def test_topic_columns_tell_the_article_from_a_teaser_and_html_rows_leave_them_out():
    text = (
        "The council approved the budget on Tuesday after a long debate about schools.\n"
        "Several members said the budget leaves schools without enough teachers next year.\n"
        "The mayor defended the budget and promised more money for schools in spring.\n"
        "Celebrity chef opens floating restaurant on the river\n"
    )
    names = feature_names()
    X = text_features(segment_text(text))
    recurs = X[:, names.index("topic_recurs")]
    assert recurs[:3].min() >= 0.25 and recurs[3] == 0.0  # "budget", "schools" recur; the teaser's words do not
    # HTML rows are the text rows without the text-only columns, which come last.
    html = segment_html("".join(f"<p>{line}</p>" for line in text.splitlines()))
    shared = feature_names(text_only=False)
    assert names[: len(shared)] == shared and all(
        n.split("@")[0].split("~")[0] in TEXT_ONLY_NAMES for n in names[len(shared) :]
    )
    np.testing.assert_array_equal(html_features(html)[:, : len(shared)], text_features(html)[:, : len(shared)])


def test_template_columns_count_lines_of_the_page_that_open_or_close_alike():
    page = (
        "Price may be higher now. Price of 02.01.2023 12:53\n"  # dates and times count as one word
        "Price may be higher now. Price of 03.01.2023 10:46\n"
        "The council approved the budget on Tuesday after a long debate.\n"
        "London Eye, the largest observation wheel ... More info\n"
        "Windsor Castle and the State Apartments in a day ... More info\n"
    )
    names = feature_names()
    X = text_features(segment_text(page))
    opening, closing = X[:, names.index("same_opening")], X[:, names.index("same_closing")]
    np.testing.assert_allclose(opening, [np.log(2), np.log(2), 0, 0, 0])
    np.testing.assert_allclose(closing, [np.log(2), np.log(2), 0, np.log(2), np.log(2)])
    # Another page's lines do not count: a page's rows are the same alone or in a batch.
    lines, rows = concat_lines([segment_text(page), segment_text(page)])
    np.testing.assert_allclose(text_features(lines, page=rows), np.vstack([X, X]), rtol=1e-12, atol=1e-12)


# Words and characters the line-end and line-start columns look at, mixed at random.
_PIECES = ["read more", "Read More", "more", "mehr", "weiterlesen", "continue reading", "leer más", "the", "1",
           "a", " ", "  ", ".", ":", ">", ")", "]", "…", "»", "›", '"', "”", "!", "-", "*", "•", "x" * 30]  # fmt: skip


@settings(max_examples=200, deadline=None)
@example(
    ["x" + " )" * 20, "Read more" + "." * 30, " " * 12 + "- item", "…" + " " * 40, "a" + "]" * 9 + "more" + ")" * 10]
)
@given(st.lists(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12).map("".join), min_size=1, max_size=20))
def test_line_end_and_start_columns_follow_their_definitions(lines):
    lines = [t for t in lines if t.strip()]
    if not lines:
        return
    X = text_features(segment_text("\n".join(lines)))
    names = feature_names()

    def read_more(t: str) -> bool:
        t = t.lower()
        return bool(cues.READ_MORE.match(t)) or t[-24:].rstrip(" .:>)]").endswith(features._MORE_WORDS)

    def terminal(t: str) -> bool:
        return t.rstrip(" \"'”’»)]*")[-1:] in (".", "!", "?")

    def bullet(t: str) -> bool:
        t = t.lstrip(" ")
        return t[:1] in ("-", "*", "•", ">") or (t[:1].isdigit() and t[1:2] in (".", ")"))

    for name, test in (("read_more", read_more), ("terminal", terminal), ("bullet_start", bullet)):
        assert X[:, names.index(name)].tolist() == [float(test(t)) for t in lines], name


def _line_key(text: str) -> tuple[int, int]:
    """The duplicate-line key as documented (features._line_keys): the lower-cased code
    points weighted by their position in the line mod 97, plus 1; and the length."""
    return sum(ord(c.lower()) * (i % 97 + 1) for i, c in enumerate(text)), len(text)


# Lines past 97 characters (where the weights start again) and two that collide by design.
_LINE_PIECES = ["Home", "Food", "home", "News", "ab", "ba", "x" * 96, "y" * 97, "Zürich ", "日本", "z" * 200]


@settings(max_examples=150, deadline=None)
@example([["y" * 97 + "Home", "y" * 97 + "Food", "z" * 200 + "Home", "z" * 200 + "Food", "News"], ["News"]])
@given(st.lists(st.lists(st.lists(st.sampled_from(_LINE_PIECES), min_size=1, max_size=4).map("".join),
                         min_size=1, max_size=12), min_size=1, max_size=3))  # fmt: skip
def test_duplicate_column_marks_lines_whose_key_recurs_on_their_page(pages):
    segmented = [segment_text("\n".join(lines)) for lines in pages]
    lines, page = concat_lines(segmented)
    X = text_features(lines, page=page)
    expected = []
    for texts in pages:
        keys = [_line_key(t) for t in texts]
        expected += [float(keys.count(k) > 1) for k in keys]
    assert X[:, feature_names().index("duplicate")].tolist() == expected


def test_lexicon_columns_score_a_lines_words():
    # "e-mail" is two words to the features: a user's lexicon entry like it never matches.
    scores = np.array([[-2.0, -1.0, -1.0, 1.5], [1.0, -1.0, -1.0, -1.0], [0.0, 0.0, 0.0, 9.0]])
    lexicon = Lexicon(("impressum", "minister", "e-mail"), scores)
    lines = segment_text("Impressum | Kontakt\nThe minister spoke.\nNothing known here by e-mail")
    X = text_features(lines, lexicon=lexicon)
    names = feature_names()
    share, boilerplate, body = (X[:, names.index(n)] for n in ("lexicon_words", "lexicon_boilerplate", "lexicon_body"))
    assert boilerplate.tolist() == [1.5, -1.0, 0.0] and body.tolist() == [-2.0, 1.0, 0.0]
    assert share[0] == 0.5 and share[2] == 0.0
    assert not text_features(lines)[:, names.index("lexicon_words")].any()  # no lexicon, no scores


# Keys v + j * _SAME_SLOT hash to neighbouring values, so they contend for one slot of the table.
_SAME_SLOT = pow(0x9E3779B97F4A7C15, -1, 2**64)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3) | st.integers(-(2**63), 2**63 - 1), st.integers(0, 3)), max_size=300))
def test_distinct_numbers_keys_as_unique_does(values):
    # Small keys (short words), full-range ones and keys that contend for a slot, repeated.
    keys = np.array([(v + j * _SAME_SLOT + 2**63) % 2**64 - 2**63 for v, j in values], dtype=np.int64)
    number, one_at = features._distinct(keys)
    _, inverse = np.unique(keys, return_inverse=True)
    assert len(one_at) == len(np.unique(keys))
    assert np.array_equal(keys[one_at][number], keys)  # each key's number names its own value
    # The same grouping as np.unique's: equal numbers exactly where the keys are equal.
    assert np.array_equal(number[:, None] == number[None, :], inverse[:, None] == inverse[None, :])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 40), st.booleans()), max_size=120), st.integers(1, 6))
def test_top_per_page_takes_the_k_most_counted_and_their_ties(rows, k):
    page = np.array([p for p, _, _ in rows], dtype=np.int64)
    count = np.array([c for _, c, _ in rows], dtype=np.int64)
    eligible = np.array([e for _, _, e in rows], dtype=bool)
    expected = np.zeros(len(rows), dtype=bool)
    for i, (p, c, e) in enumerate(rows):
        counts = sorted((c2 for p2, c2, e2 in rows if p2 == p and e2), reverse=True)
        expected[i] = e and c >= 2 and c >= counts[min(k, len(counts)) - 1]
    assert np.array_equal(features._top_per_page(page, count, eligible, k, at_least=2), expected)
    # The same when the histogram caps out (counts above the cap) and the sort decides.
    capped = features._COUNT_CAP
    try:
        features._COUNT_CAP = 8
        assert np.array_equal(features._top_per_page(page, count, eligible, k, at_least=2), expected)
    finally:
        features._COUNT_CAP = capped


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.tuples(st.integers(-(2**63), 2**63 - 1) | st.integers(-5, 5), st.integers(0, 3)), max_size=80),
    st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1) | st.integers(-5, 5), st.integers(0, 3)), max_size=80),
)
def test_key_table_finds_each_key_and_nothing_else(keys, others):
    # Keys that share a bucket (v + j * _SAME_SLOT) make the table search its crowded buckets.
    def wrap(pairs):
        return [(v + j * _SAME_SLOT + 2**63) % 2**64 - 2**63 for v, j in pairs]

    key_list = sorted(set(wrap(keys)))
    table = features._KeyTable(np.array(key_list, dtype=np.int64))
    values = key_list + wrap(others)
    found = table.find(np.array(values, dtype=np.int64))
    assert found.tolist() == [key_list.index(v) if v in key_list else -1 for v in values]


def test_a_giant_line_is_read_from_its_first_characters_but_measured_whole(monkeypatch):
    # Features of a line past READ_CHARS are those of its first READ_CHARS characters, but for
    # its length (bounded memory for one huge line); the label still covers the whole line.
    import cleaner

    monkeypatch.setattr(features, "READ_CHARS", 40)
    giant = "The council met on Tuesday and voted for the plan. " * 8
    others = "Home | News\n\nA short closing line of prose.\n"
    X = text_features(segment_text(others + giant))
    X_cut = text_features(segment_text(others + giant[:40]))
    names = feature_names()
    differ = {names[j] for j in np.flatnonzero((X != X_cut).any(axis=0))}
    assert differ and all(name.startswith("log_chars") or name == "chars_vs_page_max" for name in differ)
    assert X[-1, names.index("log_chars")] == np.log1p(len(giant))
    labeled = cleaner.label(others + giant)
    assert labeled[-1].text == giant and "".join(line.text + line.end for line in labeled) == others + giant


def test_distinct_sorts_instead_when_keys_are_made_to_collide(monkeypatch):
    # Words crafted to share one slot would need a round per word (quadratic time): after
    # _MAX_PROBES rounds the grouping is finished by a sort, and is still exact.
    sorts = []
    unique = np.unique
    monkeypatch.setattr(np, "unique", lambda *a, **k: sorts.append(1) or unique(*a, **k))
    keys = np.array([(j * _SAME_SLOT + 2**63) % 2**64 - 2**63 for j in range(3000)] * 2, dtype=np.int64)
    number, one_at = features._distinct(keys)
    assert sorts
    assert len(one_at) == 3000 and np.array_equal(keys[one_at][number], keys)
    assert np.array_equal(number[:3000], number[3000:])


def test_inference_layout_reads_the_same_features_as_training():
    # Inference asks for float32, and column-major HTML rows; training keeps float64 row-major
    # (so a retrain reproduces the shipped models). Same values up to float32 rounding.
    page = segment_html(
        "<nav><a href=/>Home</a></nav><article><h1>Council votes</h1><p>The council met on Tuesday "
        "and voted for the new budget.</p><p>It passed.</p></article><ul class=related><li>Other</li></ul>"
    )
    trained, inferred = html_features(page), html_features(page, dtype=np.float32, order="F")
    assert trained.dtype == np.float64 and trained.flags.c_contiguous
    assert inferred.dtype == np.float32 and inferred.flags.f_contiguous
    np.testing.assert_allclose(inferred, trained, rtol=1e-6, atol=1e-6)
    text = segment_text("Home | News\n\nLeave a Reply\nThe council met on Tuesday and voted.")
    np.testing.assert_allclose(text_features(text, dtype=np.float32), text_features(text), rtol=1e-6, atol=1e-6)
    P = np.full((len(trained), 4), 0.25)
    groups = container_groups(page)
    np.testing.assert_allclose(
        context_features(inferred, P, groups=groups, dtype=np.float32),
        context_features(trained, P, groups=groups),
        rtol=1e-6,
        atol=1e-6,
    )


def test_a_cue_rule_without_first_words_is_run_on_every_line_that_can_start_it(monkeypatch):
    # cues.Rule allows a rule known by its digit start only; the shared word table has no
    # list for it, and its lines are still found.
    import re

    rule = cues.Rule("byline", re.compile(r"\d+ views$"), 40, True, digit_first=True)
    monkeypatch.setattr(cues, "RULES", (*cues.RULES, rule))
    features._cue_words.cache_clear()
    try:
        X = text_features(segment_text("12 views\nThe council met on Tuesday and voted."))
    finally:
        features._cue_words.cache_clear()
    assert X[:, feature_names().index("byline")].tolist() == [1.0, 0.0]


def _run_share_by_brute_force(values: list[float]) -> list[float]:
    best = [
        max(sum(values[a : b + 1]) for a in range(i + 1) for b in range(i, len(values))) for i in range(len(values))
    ]
    top = max(best)
    return [b / top if top > 0 else 1.0 for b in best]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.integers(-50, 50), min_size=1, max_size=25), min_size=1, max_size=5))
def test_run_share_is_each_rows_best_run_against_its_pages_best(pages):
    values = np.array([v for page in pages for v in page], dtype=float)
    page = np.repeat(np.arange(len(pages)), [len(p) for p in pages])
    got = features.run_share(values, page)
    expected = [s for p in pages for s in _run_share_by_brute_force([float(v) for v in p])]
    assert np.allclose(got, expected)  # pages apart: a run never crosses into the next page
