"""Benchmark results as a markdown report and PNG plots."""

from __future__ import annotations

from pathlib import Path

HEADLINE_NOTE = (
    "AEB's `articleBody` leaves out the headline, as trafilatura's and Readability's text does; cleaner keeps "
    "it by default (its label is body), and the `no headline` rows ask for the body without it "
    "(`Cleaner(headline=False)`, `--no-headline`)."
)


def _aeb_table(rows: list[dict], speed_key: str | None) -> list[str]:
    head = "| system | version | F1 | 95% CI | precision | recall | F1 unseen sites | F1 not English | pages/s | MB/s |"
    if speed_key:
        head += f" speed vs {speed_key} |"
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in sorted(rows, key=lambda r: -(r.get("scores", {}).get("all", {}).get("f1") or 0)):
        if "scores" not in r:
            out.append(
                f"| {r['system']} | {r.get('version', '')} | {r.get('note', 'skipped')} |"
                + " |" * (head.count("|") - 4)
            )
            continue
        a, u = r["scores"]["all"], r["scores"]["unseen"]
        other = r["scores"].get("other_languages")  # absent from results written before it was measured
        other_f1 = "" if other is None else f"{other['f1']:.3f}"
        lo, hi = a["f1_ci95"]
        line = (f"| {r['system']} | {r.get('version', '')} | **{a['f1']:.3f}** | {lo:.3f}–{hi:.3f} | {a['precision']:.3f} | "
                f"{a['recall']:.3f} | {u['f1']:.3f} | {other_f1} | {r.get('pages_per_s', '')} | {r.get('mb_per_s', '')} |")  # fmt: skip
        if speed_key:
            ratio = next((v for k, v in r.items() if k.startswith("speed_vs_") and not k.endswith("_range")), None)
            spread = next((v for k, v in r.items() if k.startswith("speed_vs_") and k.endswith("_range")), None)
            shown = "" if ratio is None else f"{ratio:.2f}x"
            if spread and len(r.get("round_seconds", ())) > 1:  # one round has no spread to show
                shown += f" ({spread[0]:.2f}–{spread[1]:.2f})"
            line += f" {shown} |"
        out.append(line)
    return out


def _other_language_pages(results: dict) -> str:
    """How many AEB pages are not in English (the pages behind the "F1 not English" column),
    as " (N)", or nothing for results written before the column was measured."""
    for r in results["aeb_html"]:
        if "other_languages" in r.get("scores", {}):
            return f" ({r['scores']['other_languages']['pages']})"
    return ""


def _label_definition(d: dict | None) -> list[str]:
    if not d:
        return []

    def cell(s: dict | None) -> str:
        return f"**{s['f1']:.3f}** ({s['precision']:.3f}, {s['recall']:.3f})" if s else ""

    return [
        f"## AEB's definition of the article against ours ({d['pages']} AEB pages hand-labelled by LABELS.md)",
        "",
        "LABELS.md counts the headline, captions and the standfirst as body; AEB's `articleBody` mostly leaves "
        "them out. The first row is the hand-labelled body itself: the most a system that follows LABELS.md "
        "perfectly can score against `articleBody` on these pages. F1 (precision, recall):",
        "",
        "| | against our labels | against AEB's articleBody |",
        "|---|---|---|",
        *(
            f"| {system} | {cell(r.get('our labels'))} | {cell(r.get('articleBody'))} |"
            for system, r in d["rows"].items()
        ),
        "",
    ]


def markdown(results: dict) -> str:
    m = results["machine"]
    out = [
        f"# cleaner benchmark ({results['mode']}, {results['date']})",
        "",
        f"Machine: {m['cpus']} CPUs ({m.get('cpu', 'unknown')}), Python {m['python']}, {m['platform']}. All systems "
        "ran on the same pages in the same process run, one core, taking turns pass by pass; pages/s and MB/s "
        "are the median pass, a speed ratio the median of the passes' ratios (in brackets: their range).",
        "",
        "## AEB, HTML input (181 pages; F1 unseen = the pages of sites not in our training data; F1 not English = "
        f"the pages in other languages{_other_language_pages(results)})",
        "",
        HEADLINE_NOTE,
        "",
        *_aeb_table(results["aeb_html"], "trafilatura"),
        "",
        "## AEB, plain-text input (resiliparse rendering, one block per line)",
        "",
        *_aeb_table(results["aeb_text"], "C4"),
        "",
        "## AEB, published outputs of other systems (our metric; validates it)",
        "",
        *_aeb_table(results["aeb_published"], None),
        "",
        *_label_definition(results.get("label_definition")),
        "## Line labels on the hand-checked gold set",
        "",
    ]
    for key, split, title in (
        ("gold_lines", "dev", "Text rendering, dev pages (not AEB)"),
        ("gold_lines", "test", "Text rendering, AEB test pages"),
        ("gold_lines_html", "dev", "HTML rendering (DOM features), dev pages (not AEB)"),
        ("gold_lines_html", "test", "HTML rendering (DOM features), AEB test pages"),
    ):
        s = results[key][split]
        out += [f"{title}: {s['pages']} pages, line accuracy {s['accuracy']:.3f}", "",
                "| class | precision | recall | F1 | lines |", "|---|---:|---:|---:|---:|"]  # fmt: skip
        out += [f"| {c} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
                for c, v in s["per_class"].items()]  # fmt: skip
        out.append("")
        out += ["Confusion (rows gold, columns predicted): " + ", ".join(s["classes"]), "", "```"]
        out += ["  ".join(f"{n:6d}" for n in row) for row in s["confusion"]]
        out += ["```", ""]
    e = results["example"]
    sn = results["snippets"]["cleaner (text)"]
    cli = results["cli"]
    out += [
        "## Example page, snippets, speed and cost",
        "",
        f"- Example page (`fixtures/examples`): {e['body_kept']}/{e['body_total']} body lines kept, "
        f"{e['other_kept']} other lines kept; comment lines labelled comment {e['comment_labelled']}/{e['comment_total']}, "
        f"related lines labelled related {e['related_labelled']}/{e['related_total']}.",
        f"- trafilatura evaluation set ({sn['pages']} pages, our text rendering): `with` snippets kept "
        f"{sn['with_kept']:.3f}, `without` snippets dropped {sn['without_dropped']:.3f}.",
        *(
            f"- trafilatura evaluation set, HTML, {name}: `with` kept {r['with_kept']:.3f}, `without` dropped "
            f"{r['without_dropped']:.3f}."
            for name, r in results["snippets"].items()
            if name != "cleaner (text)"
        ),
        f"- Line labelling speed (gold pages, text): {results['line_speed']['lines_per_s']} lines/s.",
        f"- CLI start-up (`python -m cleaner example.txt`, median of 7): {cli['startup_s_median']} s.",
        f"- CLI on a {cli['big_input_mb']} MB text file: {cli['big_input_s']} s ({cli['big_input_mb_per_s']} MB/s), "
        f"peak memory {cli['big_input_peak_rss_mb']} MB.",
    ]
    memory = results.get("memory_html", [])
    if memory:
        out.append(
            "- Memory to clean AEB's 181 HTML pages (a fresh process each, one core): the rise while cleaning, over "
            "the process with the system loaded and the pages read (in brackets its peak, about 100 MB of which is "
            "the harness: Python, imports, the pages): "
            + "; ".join(
                f"{r['system']} failed ({r['error']})"
                if "error" in r
                else f"{r['system']} +{r['rise_mb']} MB ({r['peak_rss_mb']} MB)"
                for r in memory
            )
            + "."
        )
    if "all_cores" in results:
        a = results["all_cores"]
        out.append(
            f"- All cores ({a['cores']} worker processes, AEB text, groups of pages as `cleaner batch` cleans them): {a['pages_per_s']} pages/s, {a['mb_per_s']} MB/s."
        )
    for row in results.get("scaling", []):
        out.append(
            f"- CLI on {row['mb']} MB of text: {row['seconds']} s ({row['s_per_mb']} s/MB), peak memory {row['peak_rss_mb']} MB."
        )
    out += ["", f"Run time: {results['seconds']} s.", ""]
    return "\n".join(out)


def plots(results: dict, folder: Path, *, prefix: str) -> list[Path]:
    """F1 against pages/s for every system; per-class line F1; the confusion matrix."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for rows, marker in (("aeb_html", "o"), ("aeb_text", "s")):
        for r in results[rows]:
            if "pages_per_s" not in r or r["system"] == "keep all lines":  # no work: no speed to plot
                continue
            ours = r["system"].startswith("cleaner")
            ax.scatter(r["pages_per_s"], r["scores"]["all"]["f1"], marker=marker, s=80 if ours else 40,
                       color="tab:red" if ours else "tab:blue")  # fmt: skip
            ax.annotate(r["system"], (r["pages_per_s"], r["scores"]["all"]["f1"]), fontsize=7,
                        xytext=(4, 3), textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("pages per second, one core (log scale)")
    ax.set_ylabel("AEB token-shingle F1")
    ax.set_title("AEB: accuracy against speed (circles: HTML input, squares: text input)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path = folder / f"{prefix}-f1-vs-speed.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    fig, ax = plt.subplots(figsize=(6, 4))
    classes = results["gold_lines"]["dev"]["classes"]
    width = 0.38
    for k, split in enumerate(("dev", "test")):
        values = [results["gold_lines"][split]["per_class"][c]["f1"] for c in classes]
        ax.bar([i + (k - 0.5) * width for i in range(len(classes))], values, width, label=split)
    ax.set_xticks(range(len(classes)), classes)
    ax.set_ylim(0, 1)
    ax.set_ylabel("line F1")
    ax.set_title("Line labels on the gold set, per class")
    ax.legend()
    fig.tight_layout()
    path = folder / f"{prefix}-line-f1.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, split in zip(axes, ("dev", "test")):
        matrix = results["gold_lines"][split]["confusion"]
        totals = [max(sum(row), 1) for row in matrix]
        shares = [[n / t for n in row] for row, t in zip(matrix, totals)]
        ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for i, row in enumerate(matrix):
            for j, n in enumerate(row):
                ax.text(
                    j, i, str(n), ha="center", va="center", fontsize=8, color="black" if shares[i][j] < 0.6 else "white"
                )
        ax.set_xticks(range(len(classes)), classes, rotation=30)
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title(f"confusion, {split}")
    fig.tight_layout()
    path = folder / f"{prefix}-confusion.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    return written


README_START, README_END = "<!-- results -->", "<!-- /results -->"


def readme_section(results: dict, prefix: str) -> str:
    """The README's results section: the AEB tables and the F1-vs-speed plot."""
    head = results["headline"]
    lines = [
        README_START,
        f"## Latest results ({results['mode']} benchmark, {results['date']}; "
        f"`python -m benchmarks{' --quick' if results['mode'] == 'quick' else ''}`)",
        "",
        f"Machine: {results['machine']['cpus']} CPUs ({results['machine'].get('cpu', 'unknown')}), Python "
        f"{results['machine']['python']}. Speed: one core, systems taking turns pass by pass in the same run; "
        "median pass, and a ratio's median (range) over the passes; AEB token-shingle F1 with 95 % bootstrap "
        "intervals. Full report: "
        f"[benchmarks/results/{prefix}.md](benchmarks/results/{prefix}.md).",
        "",
        HEADLINE_NOTE,
        "",
        "AEB, HTML input:",
        "",
        *_aeb_table(results["aeb_html"], "trafilatura"),
        "",
        "AEB, plain-text input (resiliparse rendering):",
        "",
        *_aeb_table(results["aeb_text"], "C4"),
        "",
        f"Gold set, dev pages, line F1 (text / HTML): body {head['gold_dev_body_f1']:.3f} / "
        f"{head['gold_dev_html_body_f1']:.3f}; per class in the full report.",
        "",
        *_definition_sentence(results.get("label_definition")),
        f"![AEB F1 against speed](benchmarks/results/{prefix}-f1-vs-speed.png)",
        README_END,
    ]
    return "\n".join(lines)


def _definition_sentence(d: dict | None) -> list[str]:
    """One sentence on how far our label definition is from AEB's (see run.label_definition)."""
    rows = (d or {}).get("rows", {})
    ours, html = rows.get("our labels (LABELS.md body lines)"), rows.get("cleaner (html)")
    headless = rows.get("our labels, without the headline")
    if not ours or not html or not headless:
        return []
    return [
        f"Our labels against AEB's: on the {d['pages']} AEB pages hand-labelled by LABELS.md (headline, captions and "
        f"standfirst are body), the hand-labelled body itself scores {ours['articleBody']['f1']:.3f} against "
        f"`articleBody` ({headless['articleBody']['f1']:.3f} without its headline), the most a perfect LABELS.md "
        "labeller can reach there; cleaner (html) scores "
        f"{html['our labels']['f1']:.3f} against the hand labels and {html['articleBody']['f1']:.3f} against "
        "`articleBody`.",
        "",
    ]


def update_readme(readme: Path, results: dict, prefix: str) -> None:
    text = readme.read_text(encoding="utf-8")
    start = text.find(README_START)
    end = text.find(README_END)
    section = readme_section(results, prefix)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    else:
        stop = end + len(README_END) if end >= 0 else start + len(README_START)
        text = text[:start] + section + text[stop:]
    readme.write_text(text, encoding="utf-8")
