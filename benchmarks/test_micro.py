"""Microbenchmarks of the hot paths: ``pytest benchmarks --benchmark-only``.

Each times one stage on the same AEB page (HTML and its text rendering), so a change to a
stage shows in its own number.
"""

import pytest

from benchmarks.datasets import aeb_pages
from cleaner import Cleaner, features
from cleaner.segment import segment_html, segment_text


@pytest.fixture(scope="module")
def page():
    pages = sorted(aeb_pages(), key=lambda p: len(p.html))
    return pages[len(pages) // 2]  # a median-sized page


@pytest.fixture(scope="module")
def cleaner():
    return Cleaner(mode="text")


def test_segment_text(benchmark, page):
    benchmark(segment_text, page.text)


def test_segment_html(benchmark, page):
    benchmark(segment_html, page.html)


def test_features(benchmark, page, cleaner):
    lines = segment_text(page.text)
    benchmark(features.text_features, lines, cleaner.model.vocab, lexicon=cleaner.model.lexicon)


def test_predict(benchmark, page, cleaner):
    lines = segment_text(page.text)
    benchmark(cleaner.predict, lines)


def test_clean_text_end_to_end(benchmark, page, cleaner):
    benchmark(cleaner.clean, page.text)
