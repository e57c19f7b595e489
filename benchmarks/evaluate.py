"""Accuracy of a cleaner on the benchmark inputs (no timing here: see benchmarks.speed)."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.datasets import AebPage, GoldPage
from benchmarks.metrics import PageScore, bootstrap_f1, corpus_scores, line_scores, page_score, tokens
from cleaner.model import CLASSES


def aeb_scores(extract: Callable[[AebPage], str], pages: list[AebPage]) -> dict:
    """AEB token-shingle scores of ``extract`` over all pages and over unseen-site pages,
    with a 95 % bootstrap interval of F1."""
    per_page = [(p, page_score(extract(p), p.gold)) for p in pages]
    return score_groups(per_page)


def score_groups(per_page: list[tuple[AebPage, PageScore]]) -> dict:
    out = {}
    groups = (
        ("all", lambda p: True),
        ("unseen", lambda p: not p.seen_site),
        ("other_languages", lambda p: p.lang != "en"),
    )
    for name, keep in groups:
        scores = [s for p, s in per_page if keep(p)]
        out[name] = corpus_scores(scores)
        out[name]["f1_ci95"] = bootstrap_f1(scores)
    return out


def oracle_text(page: AebPage) -> str:
    """The best a line filter can do on the text rendering: keep exactly the lines whose
    token 4-grams are mostly in the gold (lines of 1-3 tokens: when they occur in it)."""
    gold_tokens = tokens(page.gold)
    gold_grams = {tuple(gold_tokens[i : i + 4]) for i in range(len(gold_tokens) - 3)}
    joined = " " + " ".join(gold_tokens) + " "
    kept = []
    for line in page.text.split("\n"):
        t = tokens(line)
        if len(t) >= 4:
            grams = [tuple(t[i : i + 4]) for i in range(len(t) - 3)]
            keep = sum(g in gold_grams for g in grams) / len(grams) >= 0.5
        else:
            keep = bool(t) and (" " + " ".join(t) + " ") in joined
        if keep:
            kept.append(line)
    return "\n".join(kept)


def gold_line_scores(label_lines: Callable[[str], list[str]], pages: list[GoldPage]) -> dict:
    """Per-class line scores on the gold pages, for dev (non-AEB) and test (AEB) pages."""
    out = {}
    for split in ("dev", "test"):
        gold: list[str] = []
        predicted: list[str] = []
        for page in pages:
            if page.split != split:
                continue
            labels = label_lines(page.text)
            if len(labels) != len(page.labels):
                raise AssertionError(f"{page.key}: {len(labels)} labels for {len(page.labels)} lines")
            gold.extend(page.labels)
            predicted.extend(labels)
        out[split] = line_scores(gold, predicted, CLASSES)
        out[split]["pages"] = sum(1 for p in pages if p.split == split)
    return out


def snippet_rates(extract: Callable[[dict], str], pages: list[dict]) -> dict:
    """trafilatura evaluation set: share of ``with`` snippets kept and of ``without`` dropped."""
    kept = dropped = n_with = n_without = 0
    for page in pages:
        out = " ".join(extract(page).split())
        for s in page["with"]:
            n_with += 1
            kept += " ".join(s.split()) in out
        for s in page["without"]:
            n_without += 1
            dropped += " ".join(s.split()) not in out
    return {
        "with_kept": round(kept / max(n_with, 1), 4),
        "without_dropped": round(dropped / max(n_without, 1), 4),
        "pages": len(pages),
    }
