import gzip
import io
import json
import pickle

import numpy as np
import pytest

from cleaner import Cleaner, ModelError
from cleaner import model as model_io
from cleaner.features import feature_names


def test_shipped_model_loads_and_matches_features():
    m = model_io.load(model_io.DEFAULT_MODEL, feature_names=feature_names())
    assert m.classes == ("body", "comment", "related", "boilerplate")
    assert len(m.networks) >= 1 and m.vocab


def test_corrupted_model_is_refused_with_the_file_named(tmp_path):
    bad = tmp_path / "model.npz"
    data = bytearray(model_io.DEFAULT_MODEL.read_bytes())
    data[100] ^= 0xFF
    bad.write_bytes(bytes(data))
    (tmp_path / "model.npz.sha256").write_text(model_io.DEFAULT_MODEL.with_name("text.npz.sha256").read_text())
    with pytest.raises(ModelError, match=r"model\.npz: checksum mismatch"):
        model_io.load(bad)
    with pytest.raises(ModelError, match="cannot be read"):
        Cleaner(model=tmp_path / "absent.npz")


def test_pickled_arrays_are_never_loaded(tmp_path):
    path = tmp_path / "evil.npz"
    buf = io.BytesIO()
    np.savez(buf, header=np.array([{"x": 1}], dtype=object))  # an object array needs pickle
    path.write_bytes(buf.getvalue())
    (tmp_path / "evil.npz.sha256").write_text(model_io.sha256_of(buf.getvalue()) + "  evil.npz\n")
    with pytest.raises(ModelError, match="not a cleaner model"):
        model_io.load(path)
    assert pickle  # the format is checked, not trusted


def test_model_for_other_features_is_refused(tmp_path):
    m = model_io.load(model_io.DEFAULT_MODEL)
    for header in (dict(m.header, feature_names=["x"]), dict(m.header, context_feature_names=["p_body"])):
        path = tmp_path / "other.npz"
        model_io.save(path, model_io.Model(header, m.networks, m.vocab))
        with pytest.raises(ModelError, match="other features"):
            Cleaner(model=path)


def test_bad_model_files_are_clear_errors_naming_the_file(tmp_path):
    def refused(data: bytes, checksum: bytes | None) -> str:
        path = tmp_path / "mine.npz"
        path.write_bytes(data)
        sha = tmp_path / "mine.npz.sha256"
        sha.unlink(missing_ok=True)
        if checksum is not None:
            sha.write_bytes(checksum)
        with pytest.raises(ModelError) as error:
            Cleaner(model=path)
        assert "mine.npz" in str(error.value)
        return str(error.value)

    def checksum(data: bytes) -> bytes:
        return (model_io.sha256_of(data) + "  mine.npz\n").encode()

    shipped = model_io.DEFAULT_MODEL.read_bytes()
    assert "mine.npz.sha256 cannot be read" in refused(shipped, None)
    assert "holds no checksum" in refused(shipped, b"")
    assert "holds no checksum" in refused(shipped, b"\xff\xfe")
    assert "not a cleaner model" in refused(b"PK\x03\x04junk", checksum(b"PK\x03\x04junk"))
    buf = io.BytesIO()
    np.savez(buf, header=np.frombuffer(b"[1]", dtype=np.uint8))
    assert "not a cleaner model" in refused(buf.getvalue(), checksum(buf.getvalue()))
    # A user's own model is retrained, not restored by reinstalling.
    assert "reinstall" not in refused(b"x", checksum(b"y")) and "--out" in refused(b"x", checksum(b"y"))
    assert "not an .npz archive" in refused(b"\x80\x04junk", checksum(b"\x80\x04junk"))  # never "allow_pickle"
    shipped_model = model_io.load(model_io.DEFAULT_MODEL)
    for header in (dict(shipped_model.header, passes=10**9), dict(shipped_model.header, kind=["x"])):
        path = tmp_path / "odd.npz"
        model_io.save(path, model_io.Model(header, shipped_model.networks, shipped_model.vocab))
        with pytest.raises(ModelError, match="passes or kind"):
            Cleaner(model=path)
    upper = tmp_path / "upper.npz"
    upper.write_bytes(shipped)
    (tmp_path / "upper.npz.sha256").write_text(model_io.sha256_of(shipped).upper() + "  upper.npz\n")
    assert Cleaner(model=upper).model.vocab
    html = model_io.DEFAULT_HTML_MODEL.read_bytes()
    assert "an HTML model" in refused(html, checksum(html)) and "html_model" in refused(html, checksum(html))


def _page(i: int) -> dict:
    lines = [
        {"text": "Home | News | Sport | Contact", "label": "boilerplate"},
        {"text": "", "label": ""},
        {
            "text": f"Story number {i} tells how the river rose over the old bridge and the town came together.",
            "label": "body",
        },
        {
            "text": "The volunteers filled sandbags through the night, and the water stopped at the square.",
            "label": "body",
        },
        {"text": "", "label": ""},
        {"text": "You May Also Like", "label": "related"},
        {"text": f"Ten things to know about rivers, part {i}", "label": "related"},
        {"text": "Leave a Reply", "label": "comment"},
        {"text": "Your email address will not be published.", "label": "comment"},
        {"text": "© 2024 Town News. All rights reserved.", "label": "boilerplate"},
    ]
    return {"id": str(i), "domain": f"site{i % 7}.example", "rendering": "text-own", "lines": lines}


def _network(rng, n_features=5, hidden=8):
    return model_io.Network(
        rng.normal(size=n_features), rng.uniform(0.5, 2, size=n_features),
        (rng.normal(size=(n_features, hidden)), rng.normal(size=(hidden, 4))), (rng.normal(size=hidden), rng.normal(size=4)),
    )  # fmt: skip


def test_an_ensemble_predicts_the_mean_of_its_members():
    rng = np.random.default_rng(0)
    members = tuple(_network(rng) for _ in range(3))
    X = rng.normal(size=(30, 5))
    P = model_io.Ensemble(members).predict_proba(X)
    assert np.allclose(P, np.mean([m.predict_proba(X) for m in members], axis=0))
    assert np.allclose(P.sum(axis=1), 1.0)


def test_an_ensemble_reads_column_major_features_as_row_major_ones():
    # The first pass gets column-major features and multiplies them in the other order.
    rng = np.random.default_rng(1)
    ensemble = model_io.Ensemble(tuple(_network(rng) for _ in range(3)))
    X = rng.normal(size=(40, 5)).astype(np.float32)
    np.testing.assert_allclose(ensemble.predict_proba(np.asfortranarray(X)), ensemble.predict_proba(X), rtol=1e-5)


def test_a_model_file_of_the_first_format_still_loads(tmp_path):
    # Format 1 (one network per pass, keys "s{pass}_...") was written by earlier releases.
    net = _network(np.random.default_rng(1))
    header = {"format_version": 1, "classes": ["body", "comment", "related", "boilerplate"], "passes": 1}
    arrays = {"header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), "vocab": np.array(["the"]),
              "s0_mean": net.mean, "s0_scale": net.scale, "s0_w0": net.weights[0], "s0_b0": net.biases[0],
              "s0_w1": net.weights[1], "s0_b1": net.biases[1]}  # fmt: skip
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path = tmp_path / "old.npz"
    path.write_bytes(buf.getvalue())
    (tmp_path / "old.npz.sha256").write_text(model_io.sha256_of(buf.getvalue()) + "  old.npz\n")
    loaded = model_io.load(path)
    X = np.random.default_rng(2).normal(size=(4, 5))
    assert np.allclose(loaded.networks[0].predict_proba(X), net.predict_proba(X))


def _write_pages(path, opener):
    """60 training pages (see :func:`_page`) written with ``opener`` (gzip.open, lzma.open)."""
    with opener(path, "wt", encoding="utf-8") as f:
        for i in range(60):
            f.write(json.dumps(_page(i)) + "\n")
    return path


def _assert_cleans_an_unseen_page(model_path):
    out = Cleaner(model=model_path).clean("\n".join(x["text"] for x in _page(99)["lines"]))
    assert "Story number 99" in out and "All rights reserved" not in out


def test_retraining_is_reproducible_and_usable(tmp_path):
    pytest.importorskip("sklearn")
    from cleaner.train import train

    data = _write_pages(tmp_path / "pages.jsonl.gz", gzip.open)
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    train([data], a, seed=3, hidden=16, max_iter=200)
    train([data], b, seed=3, hidden=16, max_iter=200)
    assert a.read_bytes() == b.read_bytes()
    _assert_cleans_an_unseen_page(a)


def test_train_cli_reports_bad_data(tmp_path):
    pytest.importorskip("sklearn")
    import subprocess
    import sys

    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    out = subprocess.run([sys.executable, "-m", "cleaner.train", "--data", str(bad), "--out", str(tmp_path / "m.npz")],
                         capture_output=True)  # fmt: skip
    assert out.returncode != 0 and b"bad.jsonl:1: not JSON" in out.stderr


def _train_cli(capsys, *args):
    """Exit status and stderr lines of ``python -m cleaner.train ARGS``, run in this process."""
    from cleaner.train import main

    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    return status, capsys.readouterr().err.splitlines()


_BAD_RECORDS = {
    "no lines": ({"id": "x", "rendering": "text-own"}, 'no "lines"'),
    "a line without a label": ({"lines": [{"text": "Hello there"}]}, 'lines[0]: no "label"'),
    "a blank line without a label": ({"lines": [{"text": ""}]}, 'lines[0]: no "label"'),
    "a null label on a text line": (
        {"lines": [{"text": "", "label": ""}, {"text": "Hello there", "label": None}]},
        "lines[1]: empty label on a non-blank line (expected one of body, comment, related, boilerplate)",
    ),
    "text a number": ({"lines": [{"text": 42, "label": "body"}]}, 'lines[0]: "text" must be a string, not a number'),
    "a record a list": ([{"text": "Hello there", "label": "body"}], "a page must be a JSON object, not a list"),
    "an unknown label": (
        {"lines": [{"text": "Hello there", "label": "main"}]},
        "lines[0]: unknown label 'main' (expected one of body, comment, related, boilerplate)",
    ),
    "a line with a line break": ({"lines": [{"text": "a\nb", "label": "body"}]}, '"text" holds a line break'),
    "a weight not a number": ({"weight": "heavy", "lines": []}, '"weight" must be a number, not a string'),
    "gold not true or false": ({"gold": "yes", "lines": []}, '"gold" must be true or false, not a string'),
}


def _html_page(**dom_of_line_1) -> dict:
    """An html page of two lines, with "dom" values as benchmarks/corpus.py writes them; the
    keyword arguments replace values of its second line (``lines[1]``)."""
    fields = ["tag", "depth", "heading", "flags", "link_chars", "block", "tokens", "containers"]
    rows = [["div", 3, 0, 1, 11, 0, "nav menu", [1, 0, 0]], ["p", 5, 0, 0, 0, 1, "article body", [2, 1, 0]]]
    rows[1] = [dom_of_line_1.get(name, value) for name, value in zip(fields, rows[1])]
    lines = [{"text": "Home | News", "label": "boilerplate"}, {"text": "The river rose.", "label": "body"}]
    return {"id": "h", "rendering": "html", "dom_fields": fields,
            "lines": [dict(line, dom=row) for line, row in zip(lines, rows)]}  # fmt: skip


# Wrongly typed "dom" values used to pass the checks and crash in the features.
_BAD_RECORDS |= {
    f"dom {name} {value!r}": (_html_page(**{name: value}), f"lines[1]: \"dom\" value '{name}' must be {problem}")
    for name, value, problem in [
        ("depth", "deep", "a whole number, not a string"),
        ("flags", "x", "a whole number, not a string"),
        ("heading", True, "a whole number, not true or false"),
        ("block", 1.5, "a whole number, not a number"),
        ("tag", 5, "a string, not a number"),
        ("tokens", None, "a string, not null"),
        ("containers", None, "a list of 3 whole numbers, not null"),
        ("containers", [1, 2], "a list of 3 whole numbers, not [1, 2]"),
        ("containers", [1, "2", 3], 'a list of 3 whole numbers, not [1, "2", 3]'),
    ]
}


@pytest.mark.parametrize("record, problem", _BAD_RECORDS.values(), ids=_BAD_RECORDS.keys())
def test_train_cli_names_the_file_and_line_of_a_bad_record(tmp_path, capsys, record, problem):
    pytest.importorskip("sklearn")
    good = _page(0)  # blank lines may have an empty or a null label (lines 1 and 2 pass)
    good["lines"] += [{"text": "", "label": None}, {"text": " \t", "label": None}]
    data = tmp_path / "pages.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in (good, _html_page(), record)))
    status, err = _train_cli(capsys, "--data", data, "--out", tmp_path / "m.npz")
    assert status == 1 and len(err) == 1
    assert err[0].startswith(f"cleaner.train: {data}:3: ") and problem in err[0]
    assert not (tmp_path / "m.npz").exists()


def test_train_cli_names_unreadable_data(tmp_path, capsys):
    pytest.importorskip("sklearn")
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(json.dumps(_page(0)).encode() + b'\n{"lines": [{"text": "caf\xe9", "label": "body"}]}\n')
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(json.dumps(_page(0)).encode() * 50)[:300])
    for data, problem in ((latin1, f"{latin1}:2: not UTF-8 text"), (cut, f"{cut}: cannot be read")):
        status, err = _train_cli(capsys, "--data", data, "--out", tmp_path / "m.npz")
        assert status == 1 and len(err) == 1 and err[0].startswith(f"cleaner.train: {problem}")


def test_train_cli_needs_out_and_never_writes_the_shipped_model_by_default(tmp_path, capsys):
    pytest.importorskip("sklearn")
    before = model_io.DEFAULT_MODEL.stat().st_mtime_ns
    data = _write_pages(tmp_path / "pages.jsonl.gz", gzip.open)
    status, err = _train_cli(capsys, "--data", data, "--max-iter", 1, "--members", 1, "--passes", 1)
    assert status == 2 and "required: --out" in err[-1]
    assert model_io.DEFAULT_MODEL.stat().st_mtime_ns == before


def test_training_short_of_max_iter_says_so_in_one_line_without_warnings(tmp_path, capsys):
    pytest.importorskip("sklearn")
    import warnings

    from cleaner.train import train

    data = tmp_path / "pages.jsonl"
    data.write_text("".join(json.dumps(_page(i)) + "\n" for i in range(20)))  # fewer lines than a batch
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train([data], tmp_path / "m.npz", hidden=4, max_iter=1, members=2)
    err = capsys.readouterr().err
    assert err.count("stopped at --max-iter 1 before converging") == 1 and "Warning" not in err
    assert (tmp_path / "m.npz").exists()


def test_lexicon_gives_a_class_without_short_lines_no_say():
    import warnings

    from cleaner.train import learn_lexicon

    pages = [{"domain": f"site{i}.example", "lines": [{"text": "Impressum", "label": "boilerplate"},
                                                       {"text": "The minister spoke.", "label": "body"}]}
             for i in range(4)]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no log(0)
        lexicon = learn_lexicon(pages, size=10, min_sites=2)
    assert "impressum" in lexicon.words and np.isfinite(lexicon.scores).all()
    assert not lexicon.scores[:, 1:3].any()  # comment and related: no lines to learn from


def test_a_three_pass_model_trains_from_xz_data_and_cleans(tmp_path):
    pytest.importorskip("sklearn")
    import lzma

    from cleaner.train import train

    data = _write_pages(tmp_path / "pages.jsonl.xz", lzma.open)
    model = train([data], tmp_path / "m.npz", seed=3, hidden=16, max_iter=200, passes=3)
    assert len(model.networks) == 3 and model.header["passes"] == 3
    _assert_cleans_an_unseen_page(tmp_path / "m.npz")


def test_precleaned_copies_drop_only_boilerplate_lines():
    from cleaner.train import precleaned_copies

    line = lambda text, label: {"text": text, "label": label}  # noqa: E731
    page = {"id": "p", "rendering": "text-own", "lines": [
        line("Home | News", "boilerplate"), line("", ""), line("The council met.", "body"), line("", ""),
        line("Share this", "boilerplate"), line("", ""), line("Leave a Reply", "comment"),
    ]}  # fmt: skip
    html = dict(page, rendering="html", id="h")
    copies = precleaned_copies([page, html], seed=0, share=1.0)
    assert [c["id"] for c in copies] == ["p#precleaned"]  # the DOM context of html lines would not fit
    # The kept lines are unchanged, in order, one blank line between them.
    assert [x["text"] for x in copies[0]["lines"]] == ["The council met.", "", "Leave a Reply"]
    assert precleaned_copies([page], seed=0, share=0.0) == []


def test_pages_trained_as_an_unknown_language_read_no_word_list():
    from cleaner.features import Lexicon, text_features
    from cleaner.train import lines_of, matrix

    page = {"rendering": "text-own", "lines": [{"text": t, "label": lab} for t, lab in (
        ("Impressum | Kontakt", "boilerplate"), ("The minister spoke at length on Tuesday.", "body"))]}  # fmt: skip
    vocab = ("the", "at", "on")
    lexicon = Lexicon(("impressum", "minister"), np.array([[-2.0, -1.0, -1.0, 1.5], [1.0, -1.0, -1.0, -1.0]]))
    X, y, pages, _ = matrix([page, page], vocab, "text", lexicon, unknown_words=frozenset({1}))
    np.testing.assert_array_equal(X[:2], text_features(lines_of(page), vocab, lexicon=lexicon))
    np.testing.assert_array_equal(X[2:], text_features(lines_of(page)))  # as if no word were known
    names = feature_names()
    assert X[1, names.index("vocab_words")] > 0 and X[3, names.index("vocab_words")] == 0
    assert X[0, names.index("lexicon_words")] > 0 and X[2, names.index("lexicon_words")] == 0
    assert y.tolist() == [3, 0, 3, 0] and pages.tolist() == [0, 0, 1, 1]


def test_vocabulary_ties_are_broken_by_the_word():
    """A rerun in another process (other str hashes) must learn the same vocabulary."""
    from cleaner.train import learn_vocab

    pages = [{"lines": [{"text": text, "label": "body"}]} for text in ("zeta alpha the", "alpha zeta the")]
    assert learn_vocab(pages, size=2) == ("alpha", "the")


def test_lexicon_learns_words_of_many_sites_and_survives_a_round_trip(tmp_path):
    from cleaner.train import learn_lexicon

    pages = [
        {"domain": f"site{i}.example", "lines": [
            {"text": "Impressum Kontakt", "label": "boilerplate"},
            {"text": f"The minister spoke on Tuesday in town {i}.", "label": "body"},
            {"text": f"Menu{i % 2}", "label": "boilerplate"},
        ]}
        for i in range(6)
    ]  # fmt: skip
    lexicon = learn_lexicon(pages, size=50, min_sites=4)
    assert "impressum" in lexicon.words and "minister" in lexicon.words
    assert not any(w.startswith("menu") for w in lexicon.words)  # each on too few sites
    assert list(lexicon.words) == sorted(lexicon.words)
    boilerplate = lexicon.scores[lexicon.words.index("impressum")]
    assert boilerplate.argmax() == 3 and lexicon.scores[lexicon.words.index("minister")].argmax() == 0

    m = model_io.load(model_io.DEFAULT_MODEL)
    path = tmp_path / "m.npz"
    model_io.save(path, model_io.Model(m.header, m.networks, m.vocab, lexicon=lexicon))
    again = model_io.load(path)
    assert again.lexicon.words == lexicon.words
    np.testing.assert_allclose(again.lexicon.scores, lexicon.scores, rtol=1e-6)
