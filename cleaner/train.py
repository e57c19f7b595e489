"""Train the line classifier from corpus pages and write a model file.

    python -m cleaner.train                                   # the shipped text model
    python -m cleaner.train --data my-pages.jsonl.gz --out my-model.npz

Pages are corpus records (JSONL, plain, gzipped or xz, one page a line): ``{"rendering": ...,
"lines": [{"text": ..., "label": ...}, ...]}`` with labels ``body``, ``comment``,
``related``, ``boilerplate`` and an empty label for blank lines. Training is seeded: the
same data and seed give the same weights. Needs scikit-learn (``pip install cleaner[train]``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import lzma
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from cleaner import features
from cleaner.model import CLASSES, DEFAULT_HTML_MODEL, DEFAULT_MODEL, FORMAT_VERSION, Ensemble, Model, Network, save
from cleaner.segment import Dom, Lines, segment_text

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "fixtures" / "corpus" / "train.jsonl.xz"
TEXT_RENDERINGS = ("text-own", "text-other")
VOCAB_SIZE = 400
LEXICON_SIZE = 3000
LEXICON_MIN_SITES = 20
LEXICON_LONGEST = 12
MEMBERS = 3  # networks per pass, averaged
GOLD_WEIGHT = 3.0  # hand-checked lines against distant labels (measured on held-out gold pages)
# Share of the text pages also trained on without their boilerplate lines (dev: a third cost
# about .02 body tokens on resiliparse's rendering; a fifth and a tenth did not).
PRECLEANED_SHARE = 0.2
# Hidden units of each network, by model kind. The text model's networks have 32: against 64
# on the dev gold pages, line F1 rose (body .882 -> .891, related .758 -> .779 on our own
# rendering), body tokens stayed within .003, and inference is about 1.2x faster (16 cost
# accuracy). The HTML model keeps 64: with 32, its dev body tokens fell (.970 -> .960), and
# its networks are a small part of its time.
HIDDEN = {"text": 32, "html": 64}


def text_own_lines(html_record: dict, paragraph_breaks: bool) -> list[dict]:
    """The text rendering of an html corpus record: the same lines, with a blank line (empty
    label) between blocks when ``paragraph_breaks``."""
    out: list[dict] = []
    previous = None
    block_col = html_record["dom_fields"].index("block")
    for line in html_record["lines"]:
        block = line["dom"][block_col]
        if paragraph_breaks and previous is not None and block != previous:
            out.append({"text": "", "label": "", "cue": ""})
        out.append({"text": line["text"], "label": line["label"], "cue": line.get("cue", "")})
        previous = block
    return out


def iter_records(path: Path):
    """Corpus records of a JSONL file (plain, ``.gz`` or ``.xz``), one page each.

    A record may say ``"derived_from": "html"`` (our corpus stores its text-own rendering
    so): its lines are then the preceding html record's, with blank lines between blocks
    when ``paragraph_breaks`` is set.
    """
    opener = {".gz": gzip.open, ".xz": lzma.open}.get(path.suffix, open)
    html_record = None
    with opener(path, "rt", encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{n}: not JSON ({exc.msg})") from None
            if rec.get("rendering") == "html":
                html_record = rec
            if rec.get("derived_from") == "html":
                if html_record is None or html_record.get("id") != rec.get("id"):
                    raise SystemExit(
                        f"{path}:{n}: page {rec.get('id')} refers to an html record that does not precede it"
                    )
                rec = dict(rec, lines=text_own_lines(html_record, rec.get("paragraph_breaks", True)))
                del rec["derived_from"]
                rec.pop("paragraph_breaks", None)
            yield rec


def read_records(paths: list[Path], renderings: tuple[str, ...]) -> list[dict]:
    """Corpus records of the given renderings from JSONL files (plain, .gz or .xz)."""
    return [rec for path in paths for rec in iter_records(path) if rec.get("rendering", "text-own") in renderings]


def page_text(record: dict) -> str:
    return "\n".join(line["text"] for line in record["lines"])


def learn_vocab(records: list[dict], size: int = VOCAB_SIZE) -> tuple[str, ...]:
    """The words found on the most pages' body lines (function words of the training languages)."""
    df: Counter = Counter()
    for rec in records:
        words = set()
        for line in rec["lines"]:
            if line["label"] == "body":
                words.update(w for w in features.words_of(line["text"]) if len(w) <= 6)
        df.update(words)
    # Ties broken by the word: set and Counter order follow str hashes, which differ between
    # processes, so most_common alone could pick another vocabulary on a rerun.
    ranked = sorted(df.items(), key=lambda item: (-item[1], item[0]))
    return tuple(sorted(w for w, _ in ranked[:size]))


def learn_lexicon(records: list[dict], *, size: int = LEXICON_SIZE, min_sites: int = LEXICON_MIN_SITES,
                  longest: int = LEXICON_LONGEST, smoothing: float = 20.0) -> features.Lexicon:  # fmt: skip
    """The ``size`` words that say most about the class of a short line (``longest`` words at
    most: menus, prompts, headings, teasers, where a word can decide), each with its smoothed
    log-lift per class against all short lines; only words found on ``min_sites`` sites or
    more (a site's own menu words say nothing about other sites)."""
    index = {c: i for i, c in enumerate(CLASSES)}
    counts: dict[str, np.ndarray] = {}
    sites: dict[str, set] = {}
    prior = np.zeros(len(CLASSES))
    for rec in records:
        site = rec.get("domain", rec.get("id"))
        for line in rec["lines"]:
            c = index.get(line["label"])
            if c is None:
                continue
            found = features.words_of(line["text"])
            if len(found) > longest:
                continue
            prior[c] += 1
            for w in set(found):
                row = counts.get(w)
                if row is None:
                    row = counts[w] = np.zeros(len(CLASSES))
                    sites[w] = set()
                row[c] += 1
                sites[w].add(site)
    share = prior / max(prior.sum(), 1.0)
    chosen = []
    for w, row in counts.items():
        if len(sites[w]) < min_sites or len(features.words_of(w)) != 1:
            continue
        lift = np.log((row + smoothing * share) / (row.sum() + smoothing)) - np.log(np.maximum(share, 1e-12))
        chosen.append((-float(row @ lift), w, lift))  # information: count times divergence
    chosen.sort(key=lambda item: (item[0], item[1]))
    chosen = sorted(chosen[:size], key=lambda item: item[1])
    return features.Lexicon(
        tuple(w for _, w, _ in chosen), np.array([lift for _, _, lift in chosen]).reshape(-1, len(CLASSES))
    )


def with_windows(records: list[dict], *, seed: int) -> list[dict]:
    """The pages plus one short window (1 to 12 lines) cut from each around one of its body
    lines, so the model also knows a pasted paragraph or a snippet without the rest of its
    page. (Windows at random places would mostly fall in long comment threads and teach
    that a few lines of prose alone are comments.)"""
    rng = np.random.default_rng(seed)
    out = list(records)
    for rec in records:
        body = [i for i, line in enumerate(rec["lines"]) if line["label"] == "body"]
        if not body:
            continue
        size = int(rng.integers(1, 13))
        centre = body[int(rng.integers(0, len(body)))]
        start = max(0, centre - int(rng.integers(0, size)))
        window = rec["lines"][start : start + size]
        out.append(dict(rec, id=f"{rec.get('id')}#window", lines=window))
    return out


def precleaned_copies(records: list[dict], *, seed: int, share: float = PRECLEANED_SHARE) -> list[dict]:
    """For a ``share`` of the text pages, a copy without their boilerplate lines: text that
    a crawler or an earlier clean-up already stripped of menus and footers (the bundled
    example page is such text). Without them the model learns that prose right above a
    comment form is page furniture, since on full pages it often is (an author's bio,
    "This entry was posted in ...")."""
    rng = np.random.default_rng(seed + 1)
    out = []
    for rec in records:
        if rec.get("rendering") == "html" or rng.random() >= share:
            continue
        labels = {line["label"] for line in rec["lines"]}
        if "boilerplate" not in labels or "body" not in labels:
            continue
        lines: list[dict] = []
        for line in rec["lines"]:
            # A dropped line leaves its blank neighbours: keep one blank between kept lines.
            if line["label"] == "boilerplate" or (
                not line["text"].strip() and (not lines or not lines[-1]["text"].strip())
            ):
                continue
            lines.append(line)
        out.append(dict(rec, id=f"{rec.get('id')}#precleaned", lines=lines))
    return out


def lines_of(record: dict) -> Lines:
    """The segmented lines of a corpus record: text renderings are segmented as text; html
    renderings carry their DOM context (``dom_fields``) and are rebuilt with it."""
    if record.get("rendering") != "html":
        return segment_text(page_text(record))
    fields = record["dom_fields"]
    rows = [line["dom"] for line in record["lines"]]
    column = {name: [row[fields.index(name)] for row in rows] for name in fields}
    dom = Dom(
        column["tag"],
        column["depth"],
        column["heading"],
        column["flags"],
        column["link_chars"],
        column["tokens"],
        [tuple(c) for c in column.get("containers", [(0, 0, 0)] * len(rows))],
    )
    texts = [line["text"] for line in record["lines"]]
    return Lines(texts, ["\n"] * len(texts), np.asarray(column["block"], dtype=np.int64), dom)


def featurize(lines: Lines, vocab: tuple[str, ...], kind: str, lexicon: features.Lexicon | None = None) -> np.ndarray:
    if kind == "html":
        return features.html_features(lines, vocab, lexicon=lexicon)
    return features.text_features(lines, vocab, lexicon=lexicon)


def matrix(
    records: list[dict], vocab: tuple[str, ...], kind: str = "text", lexicon: features.Lexicon | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Features, label indices and page numbers of every labelled line, and for html pages
    the numbers of each line's containers (see :func:`cleaner.features.container_groups`)."""
    xs, ys, pages, containers = [], [], [], []
    index = {c: i for i, c in enumerate(CLASSES)}
    for p, rec in enumerate(records):
        lines = lines_of(rec)
        keep = features.nonblank_index(lines)
        labels = [rec["lines"][i]["label"] for i in keep]
        if not labels or any(lab not in index for lab in labels):
            bad = next((lab for lab in labels if lab not in index), None)
            if bad is not None:
                raise SystemExit(f"page {rec.get('id')}: unknown label {bad!r} (expected one of {', '.join(CLASSES)})")
            continue
        xs.append(featurize(lines, vocab, kind, lexicon))
        ys.append(np.array([index[lab] for lab in labels]))
        pages.append(np.full(len(labels), p))
        if kind == "html":
            containers.append(features.container_groups(lines))
    return np.vstack(xs), np.concatenate(ys), np.concatenate(pages), np.vstack(containers) if containers else None


def line_weights(X: np.ndarray) -> np.ndarray:
    """Longer lines weigh more (square root of their words): the article metric counts tokens,
    yet short lines (headings, prompts) still count."""
    words = np.expm1(X[:, features.BASE_NAMES.index("log_words")])
    w = np.sqrt(1 + words)
    return w / w.mean()


def fit(X: np.ndarray, y: np.ndarray, *, seed: int, hidden: int, max_iter: int,
        weight: np.ndarray | None = None) -> Network:  # fmt: skip
    """One network (a hidden ReLU layer, softmax out) fitted with scikit-learn; ``weight``
    multiplies each line's weight (see :func:`line_weights`)."""
    from sklearn.neural_network import MLPClassifier

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-6] = 1.0
    clf = MLPClassifier(
        hidden_layer_sizes=(hidden,), alpha=1e-4, batch_size=min(512, len(X)), learning_rate_init=1e-3,
        max_iter=max_iter, early_stopping=True, validation_fraction=0.1, n_iter_no_change=4,
        random_state=seed, tol=1e-4,
    )  # fmt: skip
    sample_weight = line_weights(X) if weight is None else line_weights(X) * weight
    clf.fit((X - mean) / scale, y, sample_weight=sample_weight)
    if list(clf.classes_) != list(range(len(CLASSES))):
        raise SystemExit("training data lacks a class: every one of " + ", ".join(CLASSES) + " needs examples")
    return Network(mean, scale, tuple(clf.coefs_), tuple(clf.intercepts_))


def fit_ensemble(X: np.ndarray, y: np.ndarray, *, seed: int, members: int, hidden: int, max_iter: int,
                 weight: np.ndarray | None = None) -> Ensemble:  # fmt: skip
    """``members`` networks fitted alike from seeds ``seed``, ``seed + 1``, ..."""
    return Ensemble(tuple(
        fit(X, y, seed=seed + m, hidden=hidden, max_iter=max_iter, weight=weight) for m in range(members)
    ))  # fmt: skip


def out_of_fold(X: np.ndarray, y: np.ndarray, sites: np.ndarray, *, seed: int, members: int, hidden: int,
                max_iter: int, weight: np.ndarray) -> np.ndarray:  # fmt: skip
    """Probabilities of every line from an ensemble fitted on ``X`` without its page's site
    (two folds by ``sites``, a number per site), so the next pass learns from honest inputs."""
    fold = sites % 2
    P = np.zeros((len(y), len(CLASSES)))
    for f in (0, 1):
        net = fit_ensemble(X[fold != f], y[fold != f], seed=seed, members=members, hidden=hidden,
                           max_iter=max_iter, weight=weight[fold != f])  # fmt: skip
        P[fold == f] = net.predict_proba(X[fold == f])
    return P


def data_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train(paths: list[Path], out: Path, *, seed: int = 0, hidden: int | None = None, max_iter: int = 40,
          renderings: tuple[str, ...] = TEXT_RENDERINGS, passes: int = 2, gold_weight: float = GOLD_WEIGHT,
          members: int = MEMBERS, precleaned_share: float = PRECLEANED_SHARE) -> Model:  # fmt: skip
    """Train on corpus pages and write the model to ``out`` (plus ``out.sha256``). Lines of
    hand-checked pages (``"gold": true``) weigh ``gold_weight`` times as much as distantly
    labelled ones; a page's optional ``"weight"`` multiplies its lines' weight. ``hidden``:
    hidden units per network (default: :data:`HIDDEN` of the model's kind)."""
    import sklearn

    t0 = time.perf_counter()
    data_sha256 = data_hash(paths)  # of the files as read now, not as they may be when training ends
    records = read_records(paths, renderings)
    if not records:
        raise SystemExit(f"no pages of renderings {', '.join(renderings)} in {', '.join(map(str, paths))}")
    kinds = {"html" if rec.get("rendering") == "html" else "text" for rec in records}
    if len(kinds) > 1:
        raise SystemExit("train text renderings and the html rendering into separate models (--renderings)")
    kind = kinds.pop()
    hidden = HIDDEN[kind] if hidden is None else hidden
    vocab = learn_vocab(records)
    lexicon = learn_lexicon(records)
    records = with_windows(records, seed=seed) + precleaned_copies(records, seed=seed, share=precleaned_share)
    X, y, pages, containers = matrix(records, vocab, kind, lexicon)
    print(f"train: {len(records)} pages, {len(y)} lines, {X.shape[1]} features, "
          f"labels {dict(Counter(CLASSES[i] for i in y))} ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)  # fmt: skip
    weight = np.array([float(rec.get("weight", 1.0)) * (gold_weight if rec.get("gold") else 1.0) for rec in records])[
        pages
    ]
    sites = np.array(
        [int(hashlib.sha256(str(records[p].get("domain", p)).encode()).hexdigest()[:8], 16) for p in pages]
    )
    networks = [fit_ensemble(X, y, seed=seed, members=members, hidden=hidden, max_iter=max_iter, weight=weight)]
    inputs = X
    for number in range(2, passes + 1):
        # Each context pass reads the previous pass's out-of-fold probabilities.
        P = out_of_fold(inputs, y, sites, seed=seed, members=members, hidden=hidden, max_iter=max_iter, weight=weight)
        inputs = features.context_features(X, P, page=pages, groups=containers)
        networks.append(
            fit_ensemble(inputs, y, seed=seed, members=members, hidden=hidden, max_iter=max_iter, weight=weight)
        )
        print(f"train: pass {number} on {inputs.shape[1]} context features ({time.perf_counter() - t0:.0f}s)",
              file=sys.stderr)  # fmt: skip
    header = {
        "format_version": FORMAT_VERSION,
        "classes": list(CLASSES),
        "kind": kind,
        "feature_names": features.html_feature_names() if kind == "html" else features.feature_names(),
        "context_feature_names": features.context_names(CLASSES, containers=kind == "html") if passes > 1 else [],
        "passes": passes,
        "training_data_sha256": data_sha256,
        "training_pages": len(records),
        "training_lines": len(y),
        "renderings": list(renderings),
        "seed": seed,
        "gold_weight": gold_weight,
        "gold_pages": sum(1 for rec in records if rec.get("gold") and "#" not in str(rec.get("id"))),
        "hidden": hidden,
        "members": members,
        "precleaned_share": precleaned_share,
        "sklearn_version": sklearn.__version__,
    }
    model = Model(header, tuple(networks), vocab, str(out), lexicon)
    digest = save(out, model)
    print(f"train: wrote {out} (sha256 {digest[:12]}…) in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cleaner.train", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, nargs="+", default=[DEFAULT_DATA], help="corpus JSONL files (plain, .gz or .xz)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="model file to write (default: the shipped text or html model)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=None, help="hidden units (default: 32 text, 64 html)")
    parser.add_argument("--members", type=int, default=MEMBERS, help="networks per pass (their mean is used)")
    parser.add_argument("--max-iter", type=int, default=40, help="training epochs at most")
    parser.add_argument("--gold-weight", type=float, default=GOLD_WEIGHT,
                        help="weight of the lines of hand-checked pages (\"gold\": true)")  # fmt: skip
    parser.add_argument("--precleaned-share", type=float, default=PRECLEANED_SHARE,
                        help="share of the text pages also trained on without their boilerplate lines")  # fmt: skip
    parser.add_argument(
        "--passes",
        type=int,
        choices=(1, 2, 3),
        default=2,
        help="1: per-line network only; 2: add the context pass; 3: a second context pass",
    )
    parser.add_argument(
        "--renderings",
        default=",".join(TEXT_RENDERINGS),
        help="renderings to learn from: text-own,text-other (text model) or html",
    )
    args = parser.parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("cleaner.train needs scikit-learn: pip install 'cleaner[train]'", file=sys.stderr)
        return 2
    for path in args.data:
        if not path.is_file():
            print(f"cleaner.train: {path}: no such file", file=sys.stderr)
            return 1
    renderings = tuple(args.renderings.split(","))
    out = args.out or (DEFAULT_HTML_MODEL if renderings == ("html",) else DEFAULT_MODEL)
    train(args.data, out, seed=args.seed, hidden=args.hidden, max_iter=args.max_iter,
          renderings=renderings, passes=args.passes, gold_weight=args.gold_weight, members=args.members,
          precleaned_share=args.precleaned_share)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
