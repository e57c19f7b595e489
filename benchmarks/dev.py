"""Score candidate models on the dev split: the figures that choose a model (never AEB).

    python -m benchmarks.dev [--model text.npz] [--html-model html.npz]
    python -m benchmarks.dev --peers   # and cleaner beside trafilatura on the dev pages' HTML

Per rendering (text as our segmenter gives it, text as resiliparse renders it, HTML): line
F1 per class on the held-out hand-checked pages, and body token-shingle F1 on those pages and
on all dev pages (the latter against distant labels, about 10% noisy, so it moves least when
hand labels move a model toward LABELS.md); then the same with the models' word lists emptied,
as for a page in a language they do not cover.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
from pathlib import Path

from benchmarks import peers
from benchmarks.corpus import DEFAULT_DATA, corpus_file, read_pages
from benchmarks.metrics import corpus_scores, line_scores, page_score
from cleaner.api import Cleaner
from cleaner.model import CLASSES
from cleaner.train import iter_records, lines_of


def body_text(lines: list[dict]) -> str:
    """The body-labelled lines of a record's non-blank ``lines``, as a page's gold text."""
    return "\n".join(line["text"] for line in lines if line["label"] == "body")


def gold_scores(cleaner: Cleaner, rendering: str, split: str = "dev", *, all_pages: bool = True) -> dict:
    """Line scores on a split's hand-checked pages and body token F1 (those pages / all the
    split's pages; with ``all_pages=False`` only the hand-checked pages are read)."""
    gold, predicted, tokens_gold, tokens_all = [], [], [], []
    for rec in iter_records(corpus_file(split)):
        if rec.get("rendering") != rendering or not (all_pages or rec.get("gold")):
            continue
        lines = [line for line in rec["lines"] if line["text"].strip()]
        labels = [CLASSES[i] for i in cleaner.predict(lines_of(rec)).argmax(axis=1)]
        score = page_score(
            "\n".join(line["text"] for line, label in zip(lines, labels) if label == "body"),
            body_text(lines),
        )
        tokens_all.append(score)
        if rec.get("gold"):
            gold += [line["label"] for line in lines]
            predicted += labels
            tokens_gold.append(score)
    return {
        "lines": line_scores(gold, predicted, CLASSES),
        "body_tokens_gold_pages": corpus_scores(tokens_gold)["f1"],
        "body_tokens_all_pages": corpus_scores(tokens_all)["f1"],
        "pages": (len(tokens_gold), len(tokens_all)),
    }


# The systems read side by side on the dev pages' HTML (peers.html_peers names them).
PEER_SYSTEMS = ("cleaner (html)", peers.NO_HEADLINE_HTML, "trafilatura", "trafilatura (no comments)")


def peer_scores(data: Path = DEFAULT_DATA) -> dict[str, dict]:
    """Body token-shingle precision, recall and F1 of cleaner and trafilatura on the input HTML
    of the dev pages (read from ``data``, the shared data sets), against the dev records' body
    lines: on all dev pages and on the hand-checked ones. The gold follows LABELS.md, not
    AEB's ``articleBody``: headlines, standfirsts and captions are body, reader comments are
    not, so these figures say how well a system finds *our* body; AEB says how well it finds
    AEB's."""
    gold: dict[tuple[str, str], tuple[str, bool]] = {}
    for rec in iter_records(corpus_file("dev")):
        if rec.get("rendering") == "html":
            lines = [line for line in rec["lines"] if line["text"].strip()]
            gold[rec["dataset"], rec["id"]] = (body_text(lines), bool(rec.get("gold")))
    pages = [p for p in read_pages(data) if (p.dataset, p.id) in gold]
    htmls = [p.html for p in pages]
    out = {}
    for peer in peers.html_peers():
        if peer.name not in PEER_SYSTEMS or (extract := peer.load()) is None:
            continue
        outputs = extract(htmls) if peer.batched else [extract(h) for h in htmls]
        scores = [(page_score(o, gold[p.dataset, p.id][0]), gold[p.dataset, p.id][1]) for p, o in zip(pages, outputs)]
        out[peer.name] = {
            "all": corpus_scores([s for s, _ in scores]),
            "checked": corpus_scores([s for s, checked in scores if checked]),
        }
    return out


def unknown_language(cleaner: Cleaner) -> Cleaner:
    """The same models with their vocabulary and lexicon emptied: every page reads as one in
    a language those word lists do not cover (they come mostly from English and German pages)."""
    blind = copy.copy(cleaner)
    blind.model = dataclasses.replace(cleaner.model, vocab=(), lexicon=None)
    blind._html_model = dataclasses.replace(cleaner.html_model, vocab=(), lexicon=None)
    return blind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dev", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="text model (default: the shipped one)")
    parser.add_argument("--html-model", type=Path, help="HTML model (default: the shipped one)")
    parser.add_argument("--peers", action="store_true",
                        help="also cleaner (shipped models) beside trafilatura on the dev pages' HTML (needs ../shared/data)")  # fmt: skip
    args = parser.parse_args(argv)
    cleaner = Cleaner(model=args.model, html_model=args.html_model)
    blind = unknown_language(cleaner)
    print("rendering | line F1 body/comment/related/boilerplate | body token F1 gold pages / all dev pages")
    for rendering, c, shown in (
        ("text-own", cleaner, ""), ("text-other", cleaner, ""), ("html", cleaner, ""),
        ("text-other", blind, ", unknown language"), ("html", blind, ", unknown language"),
    ):  # fmt: skip
        s = gold_scores(c, rendering)
        f1 = "/".join(f"{s['lines']['per_class'][k]['f1']:.3f}" for k in CLASSES)
        print(f"{rendering}{shown} | {f1} | {s['body_tokens_gold_pages']:.3f} / {s['body_tokens_all_pages']:.3f} "
              f"({s['pages'][0]} / {s['pages'][1]} pages)")  # fmt: skip
    if args.peers:
        print("\nsystem | body tokens P / R / F1, all dev pages | hand-checked dev pages")
        for name, s in peer_scores().items():
            cells = [f"{s[k]['precision']:.3f} / {s[k]['recall']:.3f} / {s[k]['f1']:.3f} ({s[k]['pages']})"
                     for k in ("all", "checked")]  # fmt: skip
            print(f"{name} | {cells[0]} | {cells[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
