"""The hand-checked gold set: choose pages, write them for review, measure label noise.

    python -m benchmarks.gold candidates   # write pre-labelled pages to fixtures/gold/pages/
    python -m benchmarks.gold candidates --train 80 [--train-from dragnet]  # and pages of training sites
    python -m benchmarks.gold agreement    # distant labels vs the checked gold, per class
    python -m benchmarks.gold status       # how many pages are checked, by group
    python -m benchmarks.gold show DATASET/ID  # the data set's own gold for a page (to check against)
    python -m benchmarks.gold pack         # compress the checked pages (.tsv -> .tsv.gz)

A candidate file is ``label<TAB>text`` per line, pre-labelled by the distant labeler (training
candidates: by the shipped HTML model, a closer first draft), with a ``# checked: no``
header. A reviewer reads every line against ``fixtures/LABELS.md``, fixes labels, and sets
``# checked: yes``; only checked pages count (and override the corpus). ``pack`` then
compresses them (to edit a packed page again: ``gunzip`` it, edit, ``pack``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from benchmarks.corpus import (
    DEFAULT_DATA,
    GOLD_DIR,
    assign_splits,
    gold_file,
    gold_files,
    gold_state,
    gold_text,
    is_checked_gold,
    label_page,
    pack_gold,
    read_gold,
    read_pages,
    site_of,
    stable_fraction,
)
from benchmarks.metrics import line_scores
from cleaner.api import Cleaner
from cleaner.model import CLASSES
from cleaner.segment import segment_html
from cleaner.train import MODERN_DATASETS

MAX_LINES = {"aeb": 400}
DEFAULT_MAX_LINES = 300


def _group_targets() -> list[tuple[str, int]]:
    return [("aeb", 32), ("comment", 55), ("related", 55), ("non-english", 34), ("other", 45)]


def choose(pages, splits) -> list[tuple[str, object]]:
    """Pick gold pages per group (deterministic): AEB test pages; dev pages with a comment
    section, with related teasers, not in English; and other dev pages."""
    chosen: list[tuple[str, object]] = []
    taken: set[str] = set()
    candidates = []
    for page in pages:
        key = page.dataset + "/" + page.id
        split = splits[key]
        if split == "train":
            continue
        lines, labels, _ = label_page(page, use_gold=False)
        if not 8 <= len(lines) <= MAX_LINES.get(page.dataset, DEFAULT_MAX_LINES):
            continue
        counts = Counter(labels)
        if counts["body"] < 3 and page.snippets is None:
            continue
        candidates.append((page, counts))
    order = sorted(candidates, key=lambda pc: stable_fraction("gold:" + pc[0].dataset + pc[0].id))
    tests = {
        "aeb": lambda p, c: p.dataset == "aeb",
        "comment": lambda p, c: p.dataset != "aeb" and c["comment"] >= 2,
        "related": lambda p, c: p.dataset != "aeb" and c["related"] >= 3,
        "non-english": lambda p, c: p.dataset != "aeb" and p.lang != "en",
        "other": lambda p, c: p.dataset not in ("aeb", "trafilatura-eval"),
    }
    per_site: Counter = Counter()
    for group, target in _group_targets():
        n = 0
        for page, counts in order:
            key = page.dataset + "/" + page.id
            site = site_of(page.url or "") or key
            if n >= target or key in taken or per_site[site] >= 2 or not tests[group](page, counts):
                continue
            chosen.append((group, page))
            taken.add(key)
            per_site[site] += 1
            n += 1
    return chosen


TRAIN_DATASETS = MODERN_DATASETS  # the pages cleaner.train weighs more are the ones labelled for it
TRAIN_MAX_LINES = 320  # modern pages run long (median about 280 lines); longer ones take reviewers too long


def choose_training(pages, splits, n: int, datasets: tuple[str, ...] = TRAIN_DATASETS) -> list[tuple[str, object]]:
    """Pick ``n`` pages of training sites of ``datasets`` to hand-label (deterministic, one per
    site). By default modern news and blog pages (trafilatura-eval, readability-testset),
    which have no line labels otherwise (trafilatura-eval gives snippets only), so the models
    see today's page furniture, not only the 2000s pages the distant labels cover. Dev sites
    are never picked, so the held-out gold pages stay as they are."""
    order = sorted(
        (p for p in pages if p.dataset in datasets and splits[p.dataset + "/" + p.id] == "train"),
        # English first: the language of most news pages (and of most benchmark pages).
        key=lambda p: (p.lang != "en", stable_fraction("gold-train:" + p.dataset + p.id)),
    )
    chosen, sites = [], set()
    for page in order:
        site = site_of(page.url or "") or page.dataset + "/" + page.id
        if len(chosen) >= n or site in sites or gold_file(page.dataset, page.id).exists():
            continue
        if not 20 <= len(segment_html(page.html)) <= TRAIN_MAX_LINES:
            continue
        chosen.append(("train", page))
        sites.add(site)
    return chosen


def write_candidates(data: Path, train: int = 0, train_from: tuple[str, ...] = TRAIN_DATASETS) -> None:
    pages = read_pages(data, snippet_pages=True)
    splits = assign_splits(pages)
    GOLD_DIR.mkdir(parents=True, exist_ok=True)
    model = Cleaner(mode="html") if train else None
    for group, page in choose(pages, splits) + choose_training(pages, splits, train, train_from):
        path = gold_file(page.dataset, page.id)
        if path.exists():
            continue
        lines, labels, _ = label_page(page, use_gold=False)
        if group == "train":
            labels = [lab for lab in model.label(page.html, mode="html") if lab.label != "blank"]
            if [lab.text for lab in labels] != lines.text:
                raise ValueError(f"{page.dataset}/{page.id}: the model's lines differ from the segmentation")
            labels = [lab.label for lab in labels]
        header = [
            "# checked: no",
            f"# page: {page.dataset}/{page.id} group: {group} lang: {page.lang} split: {splits[page.dataset + '/' + page.id]}",
            f"# url: {page.url}",
        ]
        body = [f"{lab}\t{text}" for lab, text in zip(labels, lines.text)]
        path.write_text("\n".join(header + body) + "\n", encoding="utf-8")
        print(f"{group}\t{path.name}\t{len(lines)} lines")


def checked_pages(data: Path):
    """(page, split, gold labels, distant labels, distant cues) for every checked gold page."""
    pages = read_pages(data, snippet_pages=True)
    splits = assign_splits(pages)
    for page in pages:
        path = gold_file(page.dataset, page.id)
        if not is_checked_gold(path):
            continue
        gold_labels, _ = read_gold(path)
        _, distant, cues = label_page(page, use_gold=False)
        yield page, splits[page.dataset + "/" + page.id], gold_labels, distant, cues


def agreement(data: Path) -> dict:
    """Per-class precision/recall of the distant labeler against the gold set (our label
    noise), on the dev gold pages and, separately, on the AEB test pages. trafilatura-eval
    pages are left out: no distant labels are trained from them."""
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for page, _split, gold, distant, _ in checked_pages(data):
        if page.dataset == "trafilatura-eval":
            continue
        names = ["dev (non-AEB)" if page.dataset != "aeb" else "test (AEB)"]
        if page.dataset == "page-signal":
            names.append("dev page-signal (human span labels)")
        for name in names:
            g, d = groups.setdefault(name, ([], []))
            g.extend(gold)
            d.extend(distant)
    return {name: line_scores(g, d, CLASSES) for name, (g, d) in sorted(groups.items())}


def show(data: Path, key: str) -> None:
    """Print what the data set itself says of a page: gold text, comment part, or snippets."""
    for page in read_pages(data, snippet_pages=True, only=key):
        print(f"# {key} url: {page.url}")
        if page.snippets is not None:
            for kind in ("with", "without", "comments"):
                for snippet in page.snippets.get(kind) or []:
                    print(f"{kind}: {snippet}")
        elif page.span_labels:
            print("(page-signal: the pre-labels come from the annotators' own span classes)")
        else:
            print(page.gold_body)
            if page.gold_comments.strip():
                print("\n=== COMMENTS PART OF THE GOLD ===\n" + page.gold_comments)
        return
    print(f"no page {key}", file=sys.stderr)


def status() -> Counter:
    """Gold pages per (group, state): state ``checked``, ``held`` (reviewed, kept out of the
    corpus) or ``unchecked``."""
    names = {"yes": "checked", "held": "held"}  # "no", or no header at all: unchecked
    counts: Counter = Counter()
    for path in gold_files():
        head = [*gold_text(path).split("\n", 3)[:3], "", ""]
        group = head[1].split("group: ")[1].split()[0] if "group: " in head[1] else "?"
        counts[(group, names.get(gold_state(path), "unchecked"))] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gold", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["candidates", "agreement", "status", "show", "pack"])
    parser.add_argument("page", nargs="?", help="DATASET/ID, for show")
    parser.add_argument("--train", type=int, default=0, help="candidates: also this many pages of training sites")
    parser.add_argument("--train-from", default=",".join(TRAIN_DATASETS), help="data sets to take them from")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    if args.command == "show":
        show(args.data, args.page or "")
    elif args.command == "candidates":
        write_candidates(args.data, args.train, tuple(args.train_from.split(",")))
    elif args.command == "pack":
        packed = [pack_gold(path) for path in GOLD_DIR.glob("*.tsv") if is_checked_gold(path)]
        print(f"packed {len(packed)} checked pages")
    elif args.command == "status":
        for (group, state), n in sorted(status().items()):
            print(f"{group}\t{state}\t{n}")
    else:
        result = agreement(args.data)
        print(json.dumps(result, indent=1))
        for name, scores in result.items():
            print(
                f"\n{name}: distant labels vs hand-checked gold (lines: {sum(r['support'] for r in scores['per_class'].values())})"
            )
            print("| class | precision | recall | f1 | support |\n|---|---:|---:|---:|---:|")
            for c, r in scores["per_class"].items():
                print(f"| {c} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['support']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
