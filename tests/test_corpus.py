"""The labelled corpus and the gold set in fixtures/: schema, one label per line, splits, gold."""

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from benchmarks import corpus, datasets
from cleaner.model import CLASSES
from cleaner.segment import segment_html

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
RECORD_KEYS = {"id", "dataset", "domain", "lang", "split", "rendering", "lines", "url"}


@pytest.fixture(scope="module")
def records() -> list[dict]:
    out = []
    for split in ("train", "dev", "test"):
        out.extend(corpus.read_corpus(corpus.corpus_file(split)))
    return out


def test_fixtures_stay_small():
    total = sum(p.stat().st_size for p in (ROOT / "fixtures").rglob("*") if p.is_file())
    assert total < 40 * 2**20


def test_schema_and_one_label_per_line(records):
    assert len(records) > 6000
    for rec in records:
        assert RECORD_KEYS <= set(rec), rec["id"]
        assert rec["rendering"] in ("html", "text-own", "text-other")
        assert rec["split"] in ("train", "dev", "test")
        for line in rec["lines"]:
            assert set(line) >= {"text", "label", "cue"}
            if line["text"].strip():
                assert line["label"] in CLASSES, (rec["id"], line)
                assert line["cue"]
            else:
                assert rec["rendering"] != "html" and line["label"] == ""
        if rec["rendering"] == "html":
            assert rec["dom_fields"] == corpus.DOM_FIELDS
            assert all(len(line["dom"]) == len(corpus.DOM_FIELDS) for line in rec["lines"])


def test_every_page_has_html_and_text_renderings(records):
    renderings = defaultdict(set)
    for rec in records:
        renderings[(rec["dataset"], rec["id"])].add(rec["rendering"])
    assert all({"html", "text-own"} <= r for r in renderings.values())
    share_other = sum("text-other" in r for r in renderings.values()) / len(renderings)
    assert 0.3 < share_other < 0.6


def test_aeb_only_in_test_and_splits_by_site(records):
    sites = defaultdict(set)
    for rec in records:
        assert (rec["dataset"] == "aeb") == (rec["split"] == "test"), rec["id"]
        if rec["split"] != "test":
            sites[rec["domain"]].add(rec["split"])
        else:
            assert isinstance(rec["seen_site"], bool)
    assert all(len(s) == 1 for s in sites.values()), "a site is in both train and dev"
    seen = {rec["id"] for rec in records if rec["split"] == "test" and rec["seen_site"]}
    assert 20 <= len(seen) <= 60  # AEB shares 28 sites / 40 pages with the other sets


def test_gold_set_size_and_coverage(records):
    gold = [rec for rec in records if rec.get("gold") and rec["rendering"] == "html"]
    assert len(gold) >= 200
    has = Counter()
    for rec in gold:
        labels = {line["label"] for line in rec["lines"]}
        has["aeb"] += rec["dataset"] == "aeb"
        has["comment"] += "comment" in labels
        has["related"] += "related" in labels
        has["non-english"] += rec["lang"] != "en"
        assert all(line["cue"] == "hand" for line in rec["lines"])
        assert rec["split"] == "test" if rec["dataset"] == "aeb" else rec["split"] in ("train", "dev")
    assert has["aeb"] >= 30 and has["comment"] >= 50 and has["related"] >= 50 and has["non-english"] >= 30
    # Half of the non-AEB gold pages' sites train the models; the rest stay held out for measuring.
    held_out = sum(1 for rec in gold if rec["split"] == "dev")
    trained = sum(1 for rec in gold if rec["split"] == "train")
    assert held_out >= 80 and trained >= 250
    # Modern pages (which have no line labels but hand ones) are a large part of what trains.
    modern = {"trafilatura-eval", "readability-testset"}
    assert sum(1 for rec in gold if rec["split"] == "train" and rec["dataset"] in modern) >= 190


def test_benchmark_snippet_pages_leave_out_the_trained_pages(records):
    trained = {rec["id"] for rec in records if rec["split"] == "train" and rec["dataset"] == "trafilatura-eval"}
    assert trained
    assert not trained & {page["id"] for page in datasets.snippet_pages()}


def test_gold_files_match_the_segmentation(records):
    html = {(rec["dataset"], rec["id"]): rec for rec in records if rec["rendering"] == "html"}
    checked = 0
    for path in corpus.gold_files():
        if corpus.gold_state(path) == "held":
            continue  # reviewed, held out of the corpus (not in the records)
        assert corpus.is_checked_gold(path), f"{path.name} is not checked"
        labels, texts = corpus.read_gold(path)
        dataset, _, page_id = corpus.gold_key(path).partition("__")
        rec = html[(dataset, page_id)]
        assert texts == [line["text"] for line in rec["lines"]]
        assert labels == [line["label"] for line in rec["lines"]]
        checked += 1
    assert checked >= 200


def test_example_page_is_in_the_gold_set():
    pages = {p.key: p for p in datasets.gold_pages()}
    example = pages["example/news-article-with-boilerplate"]
    assert Counter(example.labels) == {"body": 39, "related": 9, "comment": 2}


def test_rendering_is_reproducible_from_the_html(records):
    """The committed AEB lines are what segment_html gives for the committed AEB HTML."""
    test_html = {rec["id"]: rec for rec in records if rec["split"] == "test" and rec["rendering"] == "html"}
    pages = datasets.aeb_pages()
    for page in pages[:25]:
        lines = segment_html(page.html)
        assert lines.text == [line["text"] for line in test_html[page.id]["lines"]]
        assert segment_html(page.html).text == lines.text


def test_distant_labels_are_reproducible(records):
    test_html = {rec["id"]: rec for rec in records if rec["split"] == "test" and rec["rendering"] == "html"}
    for aeb in datasets.aeb_pages()[:25]:
        rec = test_html[aeb.id]
        if rec.get("gold"):
            continue
        page = corpus.Page("aeb", aeb.id, aeb.html, aeb.gold, "", aeb.url, rec["lang"], "")
        lines = segment_html(aeb.html)
        labels, cues = corpus.distant_labels(page, lines)
        assert labels == [line["label"] for line in rec["lines"]]
        assert cues == [line["cue"] for line in rec["lines"]]


@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/data")
def test_builder_gives_the_same_bytes_twice(tmp_path):
    pytest.importorskip("resiliparse")  # the builder's second renderer (bench extra)
    corpus.build(SHARED, tmp_path / "a", limit=12)
    corpus.build(SHARED, tmp_path / "b", limit=12)
    for name in ("train.jsonl.xz", "dev.jsonl.xz", "test.jsonl.xz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_training_candidates_come_from_training_sites_one_per_site_english_first():
    from benchmarks import gold

    html = "<body>" + "".join(f"<p>Paragraph number {i} of the page.</p>" for i in range(30)) + "</body>"

    def page(name: str, site: str, lang: str) -> corpus.Page:
        return corpus.Page("trafilatura-eval", name, html, None, "", f"https://{site}/{name}", lang, "")

    pages = [page("a1", "a.example", "de"), page("a2", "a.example", "en"), page("b1", "b.example", "de"),
             page("c1", "c.example", "en"), page("d1", "d.example", "en")]  # fmt: skip
    splits = {f"trafilatura-eval/{p.id}": "train" for p in pages} | {"trafilatura-eval/d1": "dev"}
    chosen = [p.id for _, p in gold.choose_training(pages, splits, 3)]
    assert len(chosen) == 3 and "d1" not in chosen  # never a dev page
    assert len({name[0] for name in chosen}) == 3  # one page per site
    assert set(chosen[:2]) == {"a2", "c1"} and chosen[2] == "b1"  # English first
    assert gold.choose_training(pages, splits, 3, datasets=("dragnet",)) == []
