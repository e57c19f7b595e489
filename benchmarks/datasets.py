"""Benchmark inputs, read from ``fixtures/`` (built by ``python -m benchmarks.datasets build``
from ``../shared/data``, so benchmarks and tests run without it).

* ``fixtures/bench/aeb.jsonl.gz``: the 181 AEB test pages: HTML, the plain-text rendering
  the text-mode issue defines (resiliparse, lines whitespace-collapsed, empty lines dropped),
  the gold ``articleBody``, and whether the page's site is seen in training.
* ``fixtures/bench/snippets.jsonl.gz``: trafilatura's evaluation pages (as text) with their
  ``with`` / ``without`` snippets.
* gold pages: ``fixtures/gold/pages/*.tsv.gz`` (hand-checked line labels) with the corpus records.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.corpus import (
    DEFAULT_DATA,
    ROOT,
    corpus_file,
    gold_files,
    gold_key,
    is_checked_gold,
    read_corpus,
    read_gold,
    read_pages,
    resiliparse_lines,
    write_jsonl,
)
from cleaner.segment import render_text, segment_html

BENCH = ROOT / "fixtures" / "bench"
EXAMPLE = ROOT / "fixtures" / "examples" / "news-article-with-boilerplate"


@dataclass
class AebPage:
    id: str
    url: str
    html: str
    text: str
    gold: str
    seen_site: bool
    lang: str = "und"  # the data set's guess (its manifest), for peers that need a language


def read_jsonl_gz(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for raw in f:
            yield json.loads(raw)


def aeb_pages() -> list[AebPage]:
    return [AebPage(**rec) for rec in read_jsonl_gz(BENCH / "aeb.jsonl.gz")]


def snippet_pages() -> list[dict]:
    return list(read_jsonl_gz(BENCH / "snippets.jsonl.gz"))


@dataclass
class GoldPage:
    key: str  # dataset/id
    dataset: str
    split: str  # dev or test
    text: str  # the page as plain text (text-own rendering, one line per labelled line)
    labels: list[str]  # one per line of text
    lang: str


def example_page() -> tuple[str, list[str]]:
    """The bundled example page and its label per line (empty for blank lines)."""
    text = EXAMPLE.with_suffix(".txt").read_text(encoding="utf-8")
    labels = EXAMPLE.with_suffix(".labels").read_text(encoding="utf-8").split("\n")[: len(text.splitlines())]
    return text, labels


def gold_pages() -> list[GoldPage]:
    """Hand-checked pages, plus the example page, as text with one label per line."""
    meta = {}
    for split in ("dev", "test", "train"):
        path = corpus_file(split)
        if path.exists():
            for rec in read_corpus(path, rendering="html"):
                if rec.get("gold"):
                    meta[rec["dataset"] + "__" + rec["id"]] = rec
    pages = []
    for path in gold_files():
        if not is_checked_gold(path):
            continue
        labels, texts = read_gold(path)
        rec = meta.get(gold_key(path))
        dataset, _, page_id = gold_key(path).partition("__")
        split = rec["split"] if rec else ("test" if dataset == "aeb" else "dev")
        lang = rec["lang"] if rec else "und"
        pages.append(GoldPage(f"{dataset}/{page_id}", dataset, split, "\n".join(texts) + "\n", labels, lang))
    text, labels = example_page()
    lines = text.splitlines()
    pages.append(GoldPage("example/news-article-with-boilerplate", "example", "dev",
                          "\n".join(t for t, lab in zip(lines, labels) if lab) + "\n", [lab for lab in labels if lab], "en"))  # fmt: skip
    return pages


def trained_ids(dataset: str) -> set[str]:
    """Ids of a data set's pages in the corpus ``train`` split (hand-checked pages the models
    learned from), which the benchmarks leave out."""
    return {rec["id"] for rec in read_corpus(corpus_file("train"), rendering="html") if rec["dataset"] == dataset}


def build(data: Path) -> None:
    """Write fixtures/bench from the shared data (deterministic bytes)."""
    test = {rec["id"]: rec for rec in read_corpus(corpus_file("test"), rendering="html")}
    aeb = []
    for page in read_pages(data):
        if page.dataset != "aeb":
            continue
        aeb.append({
            "id": page.id, "url": page.url or "", "html": page.html,
            "text": "\n".join(resiliparse_lines(page.html)) + "\n", "gold": page.gold_body or "",
            "seen_site": bool(test[page.id].get("seen_site")), "lang": page.lang,
        })  # fmt: skip
    write_jsonl(BENCH / "aeb.jsonl.gz", aeb)
    snippets = []
    trained = trained_ids("trafilatura-eval")
    for page in read_pages(data, snippet_pages=True):
        if page.dataset == "trafilatura-eval" and page.snippets is not None and page.id not in trained:
            # The page as text (our rendering): the HTML of all 990 pages would not fit fixtures/.
            snippets.append({"id": page.id, "lang": page.lang, "text": render_text(segment_html(page.html)),
                             "with": page.snippets.get("with") or [], "without": page.snippets.get("without") or []})  # fmt: skip
    write_jsonl(BENCH / "snippets.jsonl.gz", snippets)
    print(f"datasets: {len(aeb)} AEB pages, {len(snippets)} snippet pages", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.datasets")
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    build(args.data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
