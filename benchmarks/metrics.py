"""Scores: the AEB token-shingle metric, per-class line scores, bootstrap intervals.

The AEB metric follows ``shared/data/README.md`` ("AEB metric"): ``\\w+`` tokens (case kept),
4-token shingles as a multiset, per-page tp/fp/fn normalised to sum 1, macro-averaged
precision and recall, F1 the harmonic mean of the two averages.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

TOKEN = re.compile(r"\w+")


def tokens(text: str | None) -> list[str]:
    """``\\w+`` tokens of a text, case kept.

    >>> tokens("Hello, wörld! 3_4")
    ['Hello', 'wörld', '3_4']
    """
    return TOKEN.findall(text or "")


def shingles(toks: list[str], n: int = 4) -> Counter:
    """Multiset of n-token shingles; 1 to n-1 tokens give one shorter shingle.

    >>> sorted(shingles(["a", "b", "c", "d", "e"]).items())
    [(('a', 'b', 'c', 'd'), 1), (('b', 'c', 'd', 'e'), 1)]
    >>> shingles(["a", "b"])
    Counter({('a', 'b'): 1})
    """
    if not toks:
        return Counter()
    if len(toks) < n:
        return Counter([tuple(toks)])
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


@dataclass
class PageScore:
    tp: float
    fp: float
    fn: float
    exact: bool

    # As the AEB metric: a page with no output tokens (tp + fp = 0) is left out of the
    # precision average, one with no gold tokens out of the recall average, even when both are
    # empty; otherwise 1 when the page is exact.
    @property
    def precision(self) -> float | None:
        if self.tp + self.fp == 0:
            return None
        return 1.0 if self.fn == 0 and self.fp == 0 else self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        if self.tp + self.fn == 0:
            return None
        return 1.0 if self.fn == 0 and self.fp == 0 else self.tp / (self.tp + self.fn)


def page_score(predicted: str | None, gold: str | None) -> PageScore:
    """Normalised tp/fp/fn of one page.

    >>> s = page_score("a b c d e", "a b c d x")
    >>> round(s.tp, 3), round(s.fp, 3), round(s.fn, 3)
    (0.333, 0.333, 0.333)
    """
    ptoks, gtoks = tokens(predicted), tokens(gold)
    p, g = shingles(ptoks), shingles(gtoks)
    tp = fp = fn = 0
    for key in p.keys() | g.keys():
        pc, gc = p.get(key, 0), g.get(key, 0)
        tp += min(pc, gc)
        fp += max(0, pc - gc)
        fn += max(0, gc - pc)
    total = tp + fp + fn
    if total:
        return PageScore(tp / total, fp / total, fn / total, ptoks == gtoks)
    return PageScore(0.0, 0.0, 0.0, ptoks == gtoks)


def corpus_scores(pages: list[PageScore]) -> dict[str, float]:
    """Macro precision/recall over pages, F1 of the two averages, and exact-match accuracy
    (unrounded: round when reporting, not before).

    >>> s = corpus_scores([page_score("a b c d", "a b c d"), page_score("", "x y z w")])
    >>> s["precision"], s["recall"], round(s["f1"], 4), s["accuracy"], s["pages"]
    (1.0, 0.5, 0.6667, 0.5, 2)
    """
    precisions = [s.precision for s in pages if s.precision is not None]
    recalls = [s.recall for s in pages if s.recall is not None]
    precision = float(np.mean(precisions)) if precisions else 0.0
    recall = float(np.mean(recalls)) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = float(np.mean([s.exact for s in pages])) if pages else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy, "pages": len(pages)}


def bootstrap_f1(pages: list[PageScore], *, rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of corpus F1 (pages resampled with replacement)."""
    if not pages:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    prec = np.array([np.nan if s.precision is None else s.precision for s in pages])
    rec = np.array([np.nan if s.recall is None else s.recall for s in pages])
    idx = rng.integers(0, len(pages), size=(rounds, len(pages)))
    with np.errstate(invalid="ignore"):
        p = np.nanmean(prec[idx], axis=1)
        r = np.nanmean(rec[idx], axis=1)
        f = np.nan_to_num(2 * p * r / (p + r))
    return (round(float(np.percentile(f, 2.5)), 4), round(float(np.percentile(f, 97.5)), 4))


def line_scores(gold: list[str], predicted: list[str], classes: tuple[str, ...]) -> dict:
    """Per-class precision/recall/F1/support and a confusion matrix (rows gold, columns predicted).

    >>> s = line_scores(["body", "body", "comment"], ["body", "comment", "comment"], ("body", "comment"))
    >>> s["per_class"]["body"], s["confusion"]
    ({'precision': 1.0, 'recall': 0.5, 'f1': 0.6667, 'support': 2}, [[1, 1], [0, 1]])
    """
    index = {c: i for i, c in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for g, p in zip(gold, predicted):
        if g in index and p in index:
            confusion[index[g], index[p]] += 1
    per_class = {}
    for c, i in index.items():
        tp = confusion[i, i]
        predicted_n = confusion[:, i].sum()
        gold_n = confusion[i, :].sum()
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / gold_n if gold_n else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = {
            "precision": round(float(precision), 4),
            "recall": round(float(recall), 4),
            "f1": round(float(f1), 4),
            "support": int(gold_n),
        }
    total = confusion.sum()
    return {
        "per_class": per_class,
        "accuracy": round(float(np.trace(confusion) / total), 4) if total else 0.0,
        "confusion": confusion.tolist(),
        "classes": list(classes),
    }
