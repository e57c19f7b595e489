import threading

import numpy as np
import pytest

import cleaner
from cleaner import Cleaner, LabeledLine

ARTICLE = (
    "City News\n"
    "Home | World | Business | Sport | Weather\n\n"
    "Council approves budget after long debate\n"
    "By Jane Doe | March 3, 2024\n\n"
    "The city council approved the new budget on Tuesday after a debate that lasted well into the night.\n\n"
    "Members argued over school funding, road repairs and the cost of the new library, which opened last year.\n\n"
    "\u201cWe had to make hard choices,\u201d said the council's chair, who voted for the plan with six others.\n\n"
    "Opponents said the increase in fees would fall hardest on small shops in the old town centre.\n\n"
    "The mayor said the plan would be reviewed again in the spring, once tax receipts are known.\n\n"
    "Share this article\n"
    "Facebook | Twitter | Email\n\n"
    "Leave a Reply\n"
    "Your email address will not be published. Required fields are marked *\n\n"
    "\u00a9 2024 City News. All rights reserved.\n"
)


def test_label_returns_one_entry_per_line_and_reproduces_input():
    for text in [ARTICLE, ARTICLE.replace("\n", "\r\n"), "", "\n", "one line", "a\rb\rc"]:
        lines = cleaner.label(text)
        assert "".join(line.text + line.end for line in lines) == text
        assert [line.index for line in lines] == list(range(len(lines)))
        assert all(isinstance(line, LabeledLine) for line in lines)


def test_label_blank_lines_and_probabilities():
    lines = cleaner.label(ARTICLE)
    for line in lines:
        if line.text.strip():
            assert line.label in cleaner.api.LABELS
            assert set(line.probabilities) == set(cleaner.api.LABELS)
            assert abs(sum(line.probabilities.values()) - 1) < 1e-6
            assert line.score == max(line.probabilities.values())
        else:
            assert line.label == "blank" and line.probabilities == {}


def test_clean_keeps_article_drops_furniture():
    out = cleaner.clean(ARTICLE)
    assert "The city council approved the new budget" in out
    assert "The mayor said the plan" in out
    assert "Home | World" not in out
    assert "All rights reserved" not in out
    assert "Leave a Reply" not in out


def test_clean_only_drops_lines_and_keeps_paragraph_breaks():
    out = cleaner.clean(ARTICLE)
    input_lines = ARTICLE.split("\n")
    kept = [ln for ln in out.split("\n") if ln]
    it = iter(input_lines)
    assert all(any(ln == x for x in it) for ln in kept), "kept lines must be a subsequence of the input"
    assert "\n\n" in out  # paragraphs stay apart


def test_keep_comment_and_threshold():
    with_comments = cleaner.clean(ARTICLE, keep=("body", "comment"))
    assert "Leave a Reply" in with_comments
    everything = cleaner.clean(ARTICLE, keep=cleaner.api.LABELS)
    assert [x for x in everything.split("\n") if x] == [x for x in ARTICLE.split("\n") if x.strip()]
    assert cleaner.clean(ARTICLE, threshold=1.0) == ""
    assert cleaner.clean(ARTICLE, threshold=0.0).count("\n") >= cleaner.clean(ARTICLE).count("\n")


def test_bytes_input_any_encoding():
    assert cleaner.clean(ARTICLE.encode("utf-8")) == cleaner.clean(ARTICLE)
    assert cleaner.clean(ARTICLE.encode("utf-16")) == cleaner.clean(ARTICLE)
    broken = ARTICLE.encode("utf-8").replace(b"after", b"\xff\xfeafter")
    assert isinstance(cleaner.clean(broken), str)
    assert len(cleaner.label(broken)) == len(cleaner.label(ARTICLE))


def test_empty_and_whitespace():
    assert cleaner.clean("") == ""
    assert cleaner.label("") == [] == cleaner.label("", mode="html")  # no line, no entry
    assert cleaner.clean("   \n\n\t\n") == ""
    assert [x.label for x in cleaner.label("  \n")] == ["blank"]


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="keep"):
        Cleaner(keep=("article",))
    with pytest.raises(ValueError, match="threshold"):
        Cleaner(threshold=2)
    with pytest.raises(ValueError, match="mode"):
        Cleaner(mode="pdf")


def test_bad_settings_per_call_are_the_same_clear_errors():
    c = Cleaner()
    for call in (c.clean, c.clean_many, cleaner.clean):
        text = ["x"] if call == c.clean_many else "x"
        with pytest.raises(ValueError, match="threshold"):
            call(text, threshold=5)
        with pytest.raises(ValueError, match="threshold"):
            call(text, threshold=float("nan"))
        with pytest.raises(ValueError, match="mode"):
            call(text, mode="HTML")
        with pytest.raises(ValueError, match="keep"):
            call(text, keep=())
    with pytest.raises(ValueError, match="mode"):
        cleaner.label("x", mode="xml")
    with pytest.raises(TypeError, match="str or bytes, not int"):
        cleaner.clean(123)  # bytes(123) would be 123 NULs
    with pytest.raises(TypeError, match="list"):
        c.clean_many("abc")  # would be cleaned character by character
    with pytest.raises(ValueError, match="mode"):
        c.clean_many([], mode="x")


def test_a_label_kept_twice_counts_once():
    text = "Home | News\n\nThe council approved the new budget on Tuesday after a long debate about schools."
    c = Cleaner()
    lines = c.segment(text)
    P = c.predict(lines)
    assert (
        c.kept(lines, P, keep=("body", "body"), threshold=0.9).tolist()
        == c.kept(lines, P, keep=("body",), threshold=0.9).tolist()
    )
    assert (P[:, 0] < 0.9).any() and (P[:, 0] >= 0.45).any()  # a double count would keep more


def test_cleaner_is_safe_to_share_between_threads():
    c = Cleaner()
    expected = c.clean(ARTICLE)
    results = []

    def work():
        for _ in range(20):
            results.append(c.clean(ARTICLE))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 80


def test_html_input_is_detected():
    html = (
        "<html><body><nav><a href='/'>Home</a></nav><article><h1>Budget passes</h1>"
        + "".join(f"<p>{p}</p>" for p in ARTICLE.split("\n\n")[2:5])
        + "</article><footer>© 2024 City News. All rights reserved.</footer></body></html>"
    )
    out = cleaner.clean(html)
    assert "The city council approved" in out and "<p>" not in out
    assert "All rights reserved" not in out
    assert cleaner.clean(html, mode="text") != out  # forced text mode reads the markup as text


def test_html_label_and_clean_keep_paragraph_breaks():
    html = (
        "<html><body><header><a href='/'>City News</a></header><nav><ul><li><a href='/w'>World</a></li>"
        "<li><a href='/b'>Business</a></li></ul></nav><article><h1>Budget passes</h1>"
        + "".join(f"<p>{p}</p>" for p in ARTICLE.split("\n\n")[2:7])
        + "</article><div class='comment-respond'><h3>Leave a Reply</h3></div>"
        "<footer>© 2024 City News. All rights reserved.</footer></body></html>"
    )
    lines = cleaner.label(html.encode("utf-8"))
    assert [x.text for x in lines][:3] == ["City News", "World", "Business"]
    assert all(x.label in cleaner.api.LABELS for x in lines)
    out = cleaner.clean(html)
    assert "The city council approved" in out and "\n\n" in out
    assert "World" not in out.split("\n")


def test_import_stays_light():
    import subprocess
    import sys

    code = "import sys, cleaner; cleaner.clean('x'); print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy', 'selectolax')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # no scikit-learn ever; selectolax only once HTML arrives


def test_predict_many_gives_each_page_what_predict_gives_it():
    c = Cleaner()
    pages = [
        c.segment(ARTICLE),
        c.segment(
            "<html><body><nav><a href='/'>Home</a></nav><p>A short story about the sea and a boat.</p></body></html>"
        ),
        c.segment(""),
        c.segment("Only one line here."),
        c.segment(ARTICLE.replace("\n\n", "\n")),
    ]
    many = c.predict_many(pages)
    assert len(many) == len(pages)
    for lines, P in zip(pages, many):
        assert np.allclose(P, c.predict(lines))


def test_teasers_after_a_comment_form_stay_related_in_text_mode():
    teasers = (
        "You May Also Like\n\n"
        "RFU set to slash funding for Championship clubs by 50%\n\n"
        "The Rugby Football Union is to cut its funding of second-tier clubs by half, it said on Monday.\n\n"
        "Coronavirus could make rising global hunger worse, warns new report\n\n"
        "The number of people battling acute hunger worldwide rose last year, a report said on Tuesday.\n"
    )
    text = ARTICLE.replace("\u00a9 2024 City News. All rights reserved.\n", teasers)
    labels = {line.text: line.label for line in cleaner.label(text, mode="text")}
    assert labels["Leave a Reply"] == "comment"
    teaser_lines = [t for t in teasers.split("\n") if t and t != "You May Also Like"]
    assert all(labels[t] != "comment" for t in teaser_lines), {t: labels[t] for t in teaser_lines}
    assert sum(labels[t] == "related" for t in teaser_lines) >= 3


def test_example_page_lines_get_their_labels():
    from benchmarks import datasets

    text, gold = datasets.example_page()
    predicted = [line.label for line in cleaner.label(text, mode="text")]
    pairs = [(g, p) for g, p in zip(gold, predicted) if g]
    for cls, count in (("body", 39), ("comment", 2), ("related", 9)):
        assert sum(1 for g, p in pairs if g == cls) == count
        assert all(p == cls for g, p in pairs if g == cls), [(g, p) for g, p in pairs if g == cls]
    assert all(g == "body" for g, p in pairs if p == "body")  # nothing else kept


def test_teaser_step_moves_comment_probability_to_related_only_under_a_related_heading():
    from cleaner.api import teasers_under_their_heading
    from cleaner.features import feature_names

    names = feature_names()
    X = np.zeros((2, len(names)))
    X[:, names.index("log_since_comment_cue")] = np.log1p(2)
    X[0, names.index("log_since_related_cue")] = np.log1p(1)  # "You May Also Like" nearer
    X[1, names.index("log_since_related_cue")] = np.log1p(1000)  # no related heading above
    P = np.array([[0.1, 0.6, 0.2, 0.1], [0.1, 0.6, 0.2, 0.1]])
    out = teasers_under_their_heading(X, P)
    assert np.allclose(out[0], [0.1, 0.0, 0.8, 0.1]) and np.allclose(out[1], P[1])
    assert np.allclose(out.sum(axis=1), 1.0)


def test_a_long_text_read_in_windows_still_gets_one_entry_per_line():
    from cleaner.api import PAGE_LINES

    pasted = (ARTICLE + "\n") * (3 * PAGE_LINES // ARTICLE.count("\n"))  # read in page-sized windows
    lines = cleaner.label(pasted)
    assert "".join(line.text + line.end for line in lines) == pasted
    assert [line.label == "blank" for line in lines] == [not t.strip() for t in pasted.split("\n")[:-1]]


HEADLINED_HTML = (
    "<html><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav><article>"
    "<h1>Council approves budget after long debate</h1>"
    + "".join(f"<p>{p}</p>" for p in ARTICLE.split("\n\n")[2:6])
    + "</article><footer>© 2024 City News. All rights reserved.</footer></body></html>"
)


@pytest.mark.parametrize("page", [ARTICLE, HEADLINED_HTML], ids=["text", "html"])
def test_headline_false_leaves_out_the_headline_and_nothing_else(page):
    with_headline = cleaner.clean(page).split("\n")
    without = cleaner.clean(page, headline=False).split("\n")
    assert with_headline[0] == "Council approves budget after long debate"
    assert without == with_headline[2:]  # the headline and the paragraph break after it
    assert Cleaner(headline=False).clean(page) == "\n".join(without)
    assert Cleaner(headline=False).clean_many([page]) == ["\n".join(without)]
    # Still labelled body: only clean's output changes.
    assert [x.label for x in cleaner.label(page) if x.text == with_headline[0]] == ["body"]


def test_a_sentence_first_or_a_lone_line_is_not_taken_for_a_headline():
    story = ARTICLE.split("\n\n", 2)[2].split("\n", 2)[2]  # the article from its first paragraph on
    assert cleaner.clean(story, headline=False) == cleaner.clean(story)
    lone = "The city council approved the new budget on Tuesday after a debate that lasted into the night"
    assert cleaner.clean(lone, headline=False) == cleaner.clean(lone) == lone
    # Keeping only comments, headline=False has nothing to do.
    assert cleaner.clean(ARTICLE, keep=("comment",), headline=False) == cleaner.clean(ARTICLE, keep=("comment",))


def test_run_step_takes_body_only_from_lines_apart_from_the_main_run():
    from cleaner.api import body_in_main_runs
    from cleaner.features import BASE_NAMES

    # An article of three paragraphs, a long teaser list, then a second article's paragraph
    # (long enough to be body on its own); a second page with only the same paragraph.
    words = [50, 60, 40, 200, 30, 30]
    X = np.zeros((6, len(BASE_NAMES)))
    X[:, BASE_NAMES.index("log_words")] = np.log1p(words)
    body, teasers = [0.9, 0.02, 0.03, 0.05], [0.01, 0.01, 0.9, 0.08]
    second = [0.9, 0.02, 0.06, 0.02]
    P = np.array([body, body, body, teasers, second, second])
    page = np.array([0, 0, 0, 0, 0, 1])
    out = body_in_main_runs(X, P, page)
    assert out[:3].argmax(axis=1).tolist() == [0, 0, 0] and np.array_equal(out[:4], P[:4])
    assert out[4].argmax() == cleaner.api.LABELS.index("related")  # its body share moved to the runner-up
    assert np.allclose(out[4], [0.0, 0.02, 0.96, 0.02])
    assert np.array_equal(out[5], P[5])  # alone on its page, it is that page's main run
    assert np.allclose(out.sum(axis=1), 1.0)


def test_the_run_test_reads_whole_pages_only(monkeypatch):
    # A window of a long text may start in the tail of one article or hold several pasted
    # pages: the page-level run test would drop such a tail, so windows go without it.
    from cleaner.api import PAGE_LINES

    pages_tested = []
    real = cleaner.api.body_in_main_runs
    monkeypatch.setattr(
        cleaner.api, "body_in_main_runs", lambda X, P, page: pages_tested.append(len(P)) or real(X, P, page)
    )
    c = Cleaner()
    c.label(ARTICLE)
    assert pages_tested == [sum(1 for t in ARTICLE.split("\n") if t.strip())]  # one page: its non-blank lines
    pages_tested.clear()
    c.label((ARTICLE + "\n") * (3 * PAGE_LINES // ARTICLE.count("\n")))  # read in windows
    assert pages_tested == []
