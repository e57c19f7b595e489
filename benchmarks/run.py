"""The benchmark suite: accuracy and speed of cleaner beside its peers, from one command.

    python -m benchmarks --quick     # CI: every AEB page once, floors checked
    python -m benchmarks             # release: 5 rounds of timing (median), all cores, memory

Everything runs on the same pages in the same process run. Accuracy: AEB token-shingle
precision/recall/F1 (HTML, and the plain-text rendering of the text-mode issue) with 95 %
bootstrap intervals, over all pages and over pages from sites unseen in training; oracle
rows; line-level per-class scores and confusion matrices on the gold set; snippet rates on
trafilatura's evaluation set. Speed: pages/s, MB/s and lines/s on one core (median of the
repetitions) and on all cores, as a ratio to trafilatura measured in the same run; peak
memory on AEB's HTML (ours and the peers', each in a fresh process); peak memory and start-up
time of the CLI. Results: a markdown table on stdout; JSON, a markdown
report and PNG plots in benchmarks/results/. Exit 1 when an accuracy figure falls below
benchmarks/floors.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import datasets, evaluate, peers
from benchmarks.metrics import page_score

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FLOORS = HERE / "floors.json"
PUBLISHED = datasets.BENCH / "published"


def _timed_run(extract, inputs: list[str], repeats: int, batched: bool = False) -> tuple[list[str], float]:
    """Outputs of ``extract`` on every input (``batched``: on all inputs in one call) and the
    median wall time of ``repeats`` passes."""
    times = []
    outputs: list[str] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        outputs = list(extract(inputs)) if batched else [extract(x) for x in inputs]
        times.append(time.perf_counter() - t0)
    return outputs, statistics.median(times)


def aeb_rows(pages, systems: list[peers.Peer], *, repeats: int) -> list[dict]:
    """Scores and speed of each system on AEB. The systems take turns, one pass each per
    round (the order rotated every round), so a host that slows down for a while slows them
    alike; each row keeps its pass times per round, for ratios taken round by round."""
    rows, runs = [], []
    for peer in systems:
        extract = peer.load()
        row = {"system": peer.name, "input": peer.input, "version": peer.version()}
        rows.append(row)
        if extract is None:
            row["note"] = peer.note
            print(f"bench: {peer.name}: {peer.note}", file=sys.stderr)
            continue
        inputs = [p.html if peer.input == "html" else p.text for p in pages]
        row["megabytes"] = round(sum(len(x.encode("utf-8")) for x in inputs) / 1e6, 3)
        if peer.languages:
            inputs = [(x, p.lang) for x, p in zip(inputs, pages)]
        runs.append((row, extract, inputs, peer.batched))
        row["round_seconds"] = []
    outputs: dict[str, list[str]] = {}
    for round_number in range(repeats):
        turn = round_number % max(len(runs), 1)
        for row, extract, inputs, batched in runs[turn:] + runs[:turn]:
            t0 = time.perf_counter()
            outputs[row["system"]] = list(extract(inputs)) if batched else [extract(x) for x in inputs]
            row["round_seconds"].append(round(time.perf_counter() - t0, 6))
    for row, *_ in runs:
        seconds = statistics.median(row["round_seconds"])
        scores = evaluate.score_groups([(p, page_score(o, p.gold)) for p, o in zip(pages, outputs[row["system"]])])
        row.update(scores=scores, seconds=round(seconds, 3), pages_per_s=round(len(pages) / seconds, 1),
                   mb_per_s=round(row["megabytes"] / seconds, 2))  # fmt: skip
        print(f"bench: {row['system']:32s} F1 {scores['all']['f1']:.3f}  {row['pages_per_s']:8.1f} pages/s",
              file=sys.stderr)  # fmt: skip
    return rows


def oracle_rows(pages) -> list[dict]:
    oracle = evaluate.aeb_scores(evaluate.oracle_text, pages)
    return [{"system": "oracle: lines aligned to the gold", "input": "text", "scores": oracle}]


def published_rows(pages) -> list[dict]:
    """Other systems' published AEB outputs, scored with our metric (reference rows)."""
    rows = []
    for path in sorted(PUBLISHED.glob("*.json.gz")):
        data = json.loads(gzip.decompress(path.read_bytes()))
        outputs = data.get("output", data)
        per_page = [(p, page_score((outputs.get(p.id) or {}).get("articleBody"), p.gold)) for p in pages]
        rows.append({"system": f"{path.name.split('.')[0]} (published output)", "input": "html",
                     "scores": evaluate.score_groups(per_page)})  # fmt: skip
    return rows


def label_definition(pages) -> dict:
    """How far LABELS.md's body is from AEB's ``articleBody``, on the AEB pages hand-labelled
    by LABELS.md: the hand-labelled body lines scored against ``articleBody`` (the most a
    system that follows LABELS.md perfectly can score there: LABELS.md counts headlines,
    captions and standfirsts as body), with and without the headline (as ``headline=False``
    finds it), and cleaner scored against both. Text lines carry the hand labels of the HTML
    lines they come from (the corpus does so)."""
    import numpy as np

    from benchmarks.corpus import corpus_file
    from benchmarks.dev import body_text
    from benchmarks.metrics import corpus_scores
    from cleaner import Cleaner
    from cleaner.api import headline_line
    from cleaner.train import iter_records, lines_of

    articles = {p.id: p.gold for p in pages}
    c = Cleaner()
    scores: dict[tuple[str, str], list] = {}

    def score(system: str, texts: list[str], kept: np.ndarray, ours: str, article: str) -> None:
        output = "\n".join(t for t, k in zip(texts, kept) if k)
        if system.startswith("cleaner"):
            scores.setdefault((system, "our labels"), []).append(page_score(output, ours))
        scores.setdefault((system, "articleBody"), []).append(page_score(output, article))

    for rec in iter_records(corpus_file("test")):
        if not rec.get("gold") or rec.get("rendering") not in ("html", "text-other") or rec["id"] not in articles:
            continue
        lines = lines_of(rec)
        texts = [line["text"] for line in rec["lines"]]  # the non-blank lines, as lines_of's
        hand = np.array([line["label"] == "body" for line in rec["lines"]])
        ours, article = body_text(rec["lines"]), articles[rec["id"]]
        P = c.predict(lines)
        if rec["rendering"] == "html":
            score("our labels (LABELS.md body lines)", texts, hand, ours, article)
            no_headline = hand.copy()
            if (first := headline_line(lines, hand)) is not None:
                no_headline[first] = False
            score("our labels, without the headline", texts, no_headline, ours, article)
            score("cleaner (html)", texts, c.kept(lines, P), ours, article)
            score("cleaner (html, no headline)", texts, c.kept(lines, P, headline=False), ours, article)
        else:
            score("cleaner (text)", texts, c.kept(lines, P), ours, article)
    rows: dict[str, dict] = {}
    for (system, against), per_page in scores.items():
        s = corpus_scores(per_page)
        rows.setdefault(system, {})[against] = {k: round(s[k], 4) for k in ("precision", "recall", "f1")}
    return {"pages": len(scores.get(("cleaner (html)", "articleBody"), [])), "rows": rows}


def line_level(repeats: int) -> tuple[dict, dict]:
    """Per-class line scores on the gold set (text rendering) and the cleaner's line speed."""
    from cleaner import Cleaner

    c = Cleaner(mode="text")
    pages = datasets.gold_pages()

    def labels(text: str) -> list[str]:
        return [x.label for x in c.label(text, mode="text") if x.label != "blank"]

    scores = evaluate.gold_line_scores(labels, pages)
    texts = [p.text for p in pages]
    _, seconds = _timed_run(lambda t: c.label(t, mode="text"), texts, repeats)
    n_lines = sum(len(p.labels) for p in pages)
    return scores, {"lines_per_s": round(n_lines / seconds), "lines": n_lines}


def line_level_html() -> dict:
    """Per-class line scores on the gold set, HTML rendering (lines with their DOM context)."""
    from benchmarks.dev import gold_scores
    from cleaner import Cleaner

    c = Cleaner(mode="html")
    out = {}
    for split in ("dev", "test"):
        s = gold_scores(c, "html", split, all_pages=False)
        out[split] = dict(s["lines"], pages=s["pages"][0])
    return out


def example_page() -> dict:
    """The bundled example page: what is kept and how its labelled lines come out."""
    from collections import Counter

    import cleaner

    # The file itself, blank lines and all (its .labels file has an empty label for those).
    text, gold = datasets.example_page()
    pairs = Counter((gold[x.index], x.label) for x in cleaner.label(text) if x.label != "blank")
    return {
        "body_kept": pairs[("body", "body")],
        "body_total": sum(n for (g, _), n in pairs.items() if g == "body"),
        "other_kept": sum(n for (g, p), n in pairs.items() if p == "body" and g != "body"),
        "comment_labelled": pairs[("comment", "comment")],
        "comment_total": sum(n for (g, _), n in pairs.items() if g == "comment"),
        "related_labelled": pairs[("related", "related")],
        "related_total": sum(n for (g, _), n in pairs.items() if g == "related"),
    }


def snippets(full: bool) -> dict:
    """trafilatura's evaluation set: ours on the text rendering (fixtures); in full mode, when
    ``../shared/data`` is there, ours and trafilatura's on the HTML too."""
    import cleaner

    out = {
        "cleaner (text)": evaluate.snippet_rates(
            lambda p: cleaner.clean(p["text"], mode="text"), datasets.snippet_pages()
        )
    }
    if full and datasets.DEFAULT_DATA.exists():
        from benchmarks.corpus import read_pages

        trained = datasets.trained_ids("trafilatura-eval")
        pages = [
            {"html": p.html, "with": p.snippets.get("with") or [], "without": p.snippets.get("without") or []}
            for p in read_pages(datasets.DEFAULT_DATA, snippet_pages=True)
            if p.dataset == "trafilatura-eval" and p.snippets is not None and p.id not in trained
        ]
        out["cleaner (html)"] = evaluate.snippet_rates(lambda p: cleaner.clean(p["html"], mode="html"), pages)
        for peer in (p for p in peers.html_peers() if p.name.startswith("trafilatura")):
            extract = peer.load()
            if extract is not None:
                out[peer.name] = evaluate.snippet_rates(lambda p, f=extract: f(p["html"]), pages)
    return out


def _cli(args: list[str], stdin: bytes = b"") -> tuple[float, int]:
    """Wall time and peak memory (KiB) of one CLI run in a fresh process."""
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        f"p = subprocess.run([sys.executable, '-m', 'cleaner', *{args!r}], input=sys.stdin.buffer.read(), "
        "stdout=subprocess.DEVNULL); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)"
    )
    out = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, check=True)
    seconds, rss, rc = out.stdout.split()
    if rc != b"0":
        raise RuntimeError(f"cleaner {' '.join(args)} exited {rc.decode()}")
    return float(seconds), int(rss)


def cli_costs(full: bool) -> dict:
    example = str(datasets.EXAMPLE.with_suffix(".txt"))
    startup = [_cli([example])[0] for _ in range(7)]
    out = {"startup_s_median": round(statistics.median(startup), 3)}
    size_mb = 100 if full else 20
    text = datasets.EXAMPLE.with_suffix(".txt").read_bytes()
    big = (text + b"\n") * (size_mb * 1_000_000 // (len(text) + 1))
    seconds, rss = _cli(["-"], big)
    out.update(big_input_mb=round(len(big) / 1e6, 1), big_input_s=round(seconds, 2),
               big_input_mb_per_s=round(len(big) / 1e6 / seconds, 2), big_input_peak_rss_mb=round(rss / 1024, 1))  # fmt: skip
    return out


def scaling() -> list[dict]:
    """CLI time per MB and peak memory from 1 MB to 100 MB of text (full mode)."""
    text = ("\n\n".join(p.text for p in datasets.aeb_pages()) + "\n\n").encode()
    rows = []
    for mb in (1, 10, 100):
        data = (text * (mb * 1_000_000 // len(text) + 1))[: mb * 1_000_000]
        seconds, rss = _cli(["-"], data)
        rows.append(
            {
                "mb": mb,
                "seconds": round(seconds, 2),
                "s_per_mb": round(seconds / mb, 3),
                "peak_rss_mb": round(rss / 1024),
            }
        )
    return rows


# Systems whose memory on AEB's HTML is measured: ours, page by page and in one batch, and
# the peers the HTML goals name.
MEMORY_SYSTEMS = ("cleaner (html)", "cleaner (html, clean_many)", "trafilatura", "resiliparse (main content)")
_MEMORY_TAG = "bench-memory:"


def _peak_memory(system: str) -> dict | None:
    """Memory one system needs to clean AEB's HTML pages, measured in a fresh process (one
    BLAS thread): the rise of its resident memory while cleaning, over the process with the
    system loaded and the pages read, and the process's peak. None when the system is not
    installed; a row with ``error`` when the run fails (the benchmark carries on)."""
    # Read from /proc (KiB): getrusage's ru_maxrss is inherited through fork and exec on
    # Linux, so a child of this (large) process would report this one's peak. Writing 5 to
    # clear_refs resets the peak (VmHWM) to the current size, so the rise is exact.
    code = (
        "import sys; from benchmarks import datasets, peers; "
        "kib = lambda key: int(next(ln.split()[1] for ln in open('/proc/self/status') if ln.startswith(key))); "
        f"peer = next(p for p in peers.html_peers() if p.name == {system!r}); extract = peer.load(); "
        "extract is None and sys.exit(3); "
        "pages = [p.html for p in datasets.aeb_pages()]; extract(pages[:1]) if peer.batched else extract(pages[0]); "
        "open('/proc/self/clear_refs', 'w').write('5'); before = kib('VmRSS'); "
        "extract(pages) if peer.batched else [extract(h) for h in pages]; "
        f"print({_MEMORY_TAG!r}, before, kib('VmHWM'))"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=HERE.parent, env=env, timeout=600)
    except subprocess.TimeoutExpired:
        return {"system": system, "error": "no result in 600 s"}
    if out.returncode == 3:
        return None
    tagged = [ln.split() for ln in out.stdout.decode(errors="replace").splitlines() if ln.startswith(_MEMORY_TAG)]
    if out.returncode != 0 or not tagged:
        error = (out.stderr.decode(errors="replace").strip().splitlines() or [f"exit status {out.returncode}"])[-1]
        print(f"bench: memory of {system}: {error}", file=sys.stderr)
        return {"system": system, "error": error}
    before, peak = int(tagged[-1][1]), int(tagged[-1][2])
    return {"system": system, "peak_rss_mb": round(peak / 1024, 1), "rise_mb": round((peak - before) / 1024, 1)}


def html_memory(systems: list[str]) -> list[dict]:
    """:func:`_peak_memory` of those of ``systems`` in :data:`MEMORY_SYSTEMS` that are
    installed (Linux only: it reads /proc)."""
    if not Path("/proc/self/status").exists():
        return []
    return [row for row in map(_peak_memory, [s for s in MEMORY_SYSTEMS if s in systems]) if row is not None]


def _clean_group(texts: list[str]) -> int:
    from cleaner.api import default_cleaner

    return sum(map(len, default_cleaner().clean_many(texts, mode="text")))


def all_cores(pages) -> dict:
    """Text-mode throughput with one worker process per core (multiprocessing), each cleaning
    groups of pages together as ``python -m cleaner batch`` does (its GROUP)."""
    import multiprocessing as mp

    from cleaner.batch import GROUP, one_blas_thread_per_worker

    texts = [p.text for p in pages] * 3
    groups = [texts[i : i + GROUP] for i in range(0, len(texts), GROUP)]
    cores = os.cpu_count() or 1
    one_blas_thread_per_worker()
    with mp.get_context("spawn").Pool(cores) as pool:
        pool.map(_clean_group, groups[:cores])  # warm the workers (model load)
        t0 = time.perf_counter()
        pool.map(_clean_group, groups, chunksize=1)
        seconds = time.perf_counter() - t0
    mb = sum(len(t.encode()) for t in texts) / 1e6
    return {"cores": cores, "pages_per_s": round(len(texts) / seconds, 1), "mb_per_s": round(mb / seconds, 2)}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), platform.processor())
    except OSError:
        return platform.processor() or "unknown"


def check_floors(results: dict) -> list[str]:
    floors = json.loads(FLOORS.read_text())
    failures = []
    for key, floor in floors.items():
        if key.startswith("_"):
            continue
        value = results["headline"].get(key)
        if value is None or value < floor:
            failures.append(f"{key} = {value} is below the floor {floor}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one timing pass, no all-cores run, 20 MB memory test")
    parser.add_argument("--no-peers", action="store_true", help="only cleaner and the baselines")
    parser.add_argument("--readme", action="store_true", help="also write the results section of README.md")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 5
    t0 = time.perf_counter()
    pages = datasets.aeb_pages()
    html_systems = [p for p in peers.html_peers() if not args.no_peers or p.package == "cleaner"]
    text_systems = [p for p in peers.text_peers() if not args.no_peers or p.package in ("cleaner", None)]
    results: dict = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "cpu": _cpu_model(),
        },
        "mode": "quick" if args.quick else "full",
        "date": time.strftime("%Y-%m-%d"),
    }
    results["aeb_html"] = aeb_rows(pages, html_systems, repeats=repeats)
    results["aeb_text"] = aeb_rows(pages, text_systems, repeats=repeats) + oracle_rows(pages)
    results["aeb_published"] = published_rows(pages)
    results["gold_lines"], results["line_speed"] = line_level(repeats)
    results["gold_lines_html"] = line_level_html()
    results["label_definition"] = label_definition(pages)
    results["example"] = example_page()
    results["snippets"] = snippets(full=not args.quick)
    results["cli"] = cli_costs(full=not args.quick)
    results["memory_html"] = html_memory([p.name for p in html_systems])
    if not args.quick:
        results["all_cores"] = all_cores(pages)
        results["scaling"] = scaling()
    _add_ratios(results)
    results["headline"] = _headline(results)
    results["seconds"] = round(time.perf_counter() - t0, 1)

    from benchmarks import report

    RESULTS.mkdir(exist_ok=True)
    name = "quick" if args.quick else "full"
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    markdown = report.markdown(results)
    (RESULTS / f"{name}.md").write_text(markdown)
    report.plots(results, RESULTS, prefix=name)
    if args.readme:
        report.update_readme(HERE.parent / "README.md", results, name)
    print(markdown)
    failures = check_floors(results)
    for failure in failures:
        print(f"bench: FLOOR: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _add_ratios(results: dict) -> None:
    """Speed as a ratio to trafilatura (HTML) and to the C4-style filter (text): taken in each
    round between the two systems' passes of that round, then the median and the range of the
    rounds' ratios."""
    by_name = {r["system"]: r for r in results["aeb_html"] + results["aeb_text"] if "pages_per_s" in r}
    for rows, base in (("aeb_html", "trafilatura"), ("aeb_text", "C4-style line filter")):
        reference = by_name.get(base)
        if reference is None:
            continue
        key = f"speed_vs_{base.split()[0].split('-')[0].lower()}"
        for r in results[rows]:
            if "round_seconds" not in r:
                continue
            ratios = [
                (r["megabytes"] / ours) / (reference["megabytes"] / theirs)
                for ours, theirs in zip(r["round_seconds"], reference["round_seconds"])
            ]
            r[key] = round(statistics.median(ratios), 3)
            r[f"{key}_range"] = [round(min(ratios), 3), round(max(ratios), 3)]


def _headline(results: dict) -> dict:
    def f1(rows: str, system: str, group: str = "all") -> float | None:
        row = next((r for r in results[rows] if r["system"] == system and "scores" in r), None)
        return row["scores"][group]["f1"] if row else None

    dev = results["gold_lines"]["dev"]["per_class"]
    dev_html = results["gold_lines_html"]["dev"]["per_class"]
    return {
        "gold_dev_html_body_f1": dev_html["body"]["f1"],
        "aeb_text_f1": f1("aeb_text", "cleaner (text)"),
        "aeb_text_f1_unseen": f1("aeb_text", "cleaner (text)", "unseen"),
        "aeb_html_f1": f1("aeb_html", "cleaner (html)"),
        "aeb_html_f1_no_headline": f1("aeb_html", peers.NO_HEADLINE_HTML),
        "aeb_text_f1_no_headline": f1("aeb_text", peers.NO_HEADLINE_TEXT),
        "gold_dev_body_f1": dev["body"]["f1"],
        "gold_dev_comment_f1": dev["comment"]["f1"],
        "gold_dev_related_f1": dev["related"]["f1"],
        "gold_dev_boilerplate_f1": dev["boilerplate"]["f1"],
        "example_body_kept_share": results["example"]["body_kept"] / max(results["example"]["body_total"], 1),
        "snippets_with_kept": results["snippets"]["cleaner (text)"]["with_kept"],
    }
