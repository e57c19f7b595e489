"""Each metric on small cases worked out by hand, and the AEB metric against published figures."""

import doctest
import gzip
import json
from pathlib import Path

import pytest

from benchmarks import metrics
from benchmarks.evaluate import snippet_rates
from benchmarks.metrics import corpus_scores, line_scores, page_score, shingles, tokens

ROOT = Path(__file__).resolve().parent.parent


def test_metrics_doctests():
    assert doctest.testmod(metrics).failed == 0


def test_tokens_keep_case_and_scripts():
    assert tokens("Hello, World! Ünïcode 日本語 x_y") == ["Hello", "World", "Ünïcode", "日本語", "x_y"]
    assert tokens(None) == []


def test_shingles_multiset():
    # "a b a b a b": shingles (a,b,a,b) twice and (b,a,b,a) once
    assert shingles("a b a b a b".split()) == {("a", "b", "a", "b"): 2, ("b", "a", "b", "a"): 1}


def test_page_score_by_hand():
    # gold shingles: abcd, bcde; predicted: abcd, bcdx -> tp 1, fp 1, fn 1 -> each 1/3
    s = page_score("a b c d x", "a b c d e")
    assert (s.tp, s.fp, s.fn) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert s.precision == pytest.approx(0.5) and s.recall == pytest.approx(0.5)
    perfect = page_score("a b c d e", "a  b, c. d e")
    assert perfect.precision == perfect.recall == 1.0 and perfect.exact
    empty = page_score("", "a b c d")
    assert empty.precision is None and empty.recall == 0.0
    # Nothing to find and nothing found: in neither average (the AEB metric's rule), not a
    # perfect page that would lift both.
    both_empty = page_score("...", "")
    assert both_empty.precision is None and both_empty.recall is None and both_empty.exact
    assert corpus_scores([both_empty, page_score("a b c d x", "a b c d e")])["f1"] == pytest.approx(0.5)


def test_corpus_scores_by_hand():
    # page 1: P 0.5 R 0.5; page 2: nothing predicted -> only recall 0; page 3: perfect
    pages = [page_score("a b c d x", "a b c d e"), page_score("", "p q r s"), page_score("k l m n", "k l m n")]
    s = corpus_scores(pages)
    p, r = (0.5 + 1) / 2, (0.5 + 0 + 1) / 3
    assert s["precision"] == pytest.approx(p, abs=1e-4) and s["recall"] == pytest.approx(r, abs=1e-4)
    assert s["f1"] == pytest.approx(2 * p * r / (p + r), abs=1e-4)
    assert s["accuracy"] == pytest.approx(1 / 3, abs=1e-4)


def test_line_scores_by_hand():
    gold = ["body", "body", "body", "comment", "related", "boilerplate"]
    pred = ["body", "body", "boilerplate", "comment", "body", "boilerplate"]
    s = line_scores(gold, pred, ("body", "comment", "related", "boilerplate"))
    assert s["per_class"]["body"] == {"precision": 0.6667, "recall": 0.6667, "f1": 0.6667, "support": 3}
    assert s["per_class"]["related"]["recall"] == 0.0
    assert s["per_class"]["boilerplate"]["precision"] == 0.5
    assert s["confusion"][0] == [2, 0, 0, 1]
    assert s["accuracy"] == pytest.approx(4 / 6, abs=1e-4)


def test_snippet_rates_by_hand():
    pages = [{"text": "keep me\nalso here", "with": ["keep me", "missing"], "without": ["also here", "gone"]}]
    r = snippet_rates(lambda p: p["text"], pages)
    assert r["with_kept"] == 0.5 and r["without_dropped"] == 0.5


@pytest.mark.parametrize(
    "system, f1, precision, recall", [("trafilatura", 0.958, 0.938, 0.978), ("goose3", 0.896, 0.940, 0.856)]
)
def test_metric_reproduces_published_aeb_figures(system, f1, precision, recall):
    from benchmarks.datasets import aeb_pages

    pages = aeb_pages()
    data = json.loads(gzip.decompress((ROOT / "fixtures" / "bench" / "published" / f"{system}.json.gz").read_bytes()))
    outputs = data.get("output", data)
    s = corpus_scores([page_score((outputs.get(p.id) or {}).get("articleBody"), p.gold) for p in pages])
    assert (round(s["f1"], 3), round(s["precision"], 3), round(s["recall"], 3)) == (f1, precision, recall)
