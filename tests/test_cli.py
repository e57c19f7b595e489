import io
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fixtures" / "examples" / "news-article-with-boilerplate.txt"


def run(*args, stdin=b"", **kw):
    return subprocess.run([sys.executable, "-m", "cleaner", *args], input=stdin, capture_output=True, cwd=ROOT, **kw)


def test_file_and_stdin_give_the_same_output():
    by_file = run(str(EXAMPLE))
    by_stdin = run(stdin=EXAMPLE.read_bytes())
    by_dash = run("-", stdin=EXAMPLE.read_bytes())
    assert by_file.returncode == 0, by_file.stderr
    assert by_file.stdout == by_stdin.stdout == by_dash.stdout
    assert b"Secretary of State Mike Pompeo" in by_file.stdout
    assert b"Leave a Reply" not in by_file.stdout


def test_labels_and_json_formats():
    labels = run("--labels", str(EXAMPLE))
    rows = labels.stdout.decode().rstrip("\n").split("\n")
    assert len(rows) == len(EXAMPLE.read_text().splitlines())
    label, score, _text = rows[0].split("\t", 2)
    assert label in {"body", "comment", "related", "boilerplate"} and 0 <= float(score) <= 1
    as_json = run("--json", str(EXAMPLE))
    records = [json.loads(x) for x in as_json.stdout.decode().splitlines()]
    assert len(records) == len(rows)
    assert {"file", "index", "label", "score", "probabilities", "text"} <= set(records[0])


def test_keep_option():
    out = run("--keep", "body,comment", str(EXAMPLE))
    assert out.returncode == 0 and b"Leave a Reply" in out.stdout


def test_empty_input_gives_empty_output():
    out = run(stdin=b"")
    assert out.returncode == 0 and out.stdout == b""


def test_usage_errors_exit_2_with_one_line():
    for args in (
        ["--keep", "article", str(EXAMPLE)],
        ["--threshold", "3", str(EXAMPLE)],
        ["--no-such-flag"],
        ["batch"],
        ["batch", "--keep", "article", str(EXAMPLE), "-o", "-"],
        ["batch", "--threshold", "3", str(EXAMPLE), "-o", "-"],
    ):
        out = run(*args)
        assert out.returncode == 2, args
        assert out.stderr.decode().count("\n") == 1 and "--help" in out.stderr.decode(), args


def test_unreadable_inputs_exit_1_with_one_line(tmp_path):
    missing = run(str(tmp_path / "missing.txt"))
    assert missing.returncode == 1
    assert missing.stderr.decode().count("\n") == 1 and "missing.txt" in missing.stderr.decode()
    directory = run(str(tmp_path))
    assert directory.returncode == 1 and b"is a directory" in directory.stderr
    binary = tmp_path / "page.gz"
    binary.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(200))
    out = run(str(binary))
    assert out.returncode == 1 and b"gzip" in out.stderr and b"Traceback" not in out.stderr


def test_one_bad_file_does_not_stop_the_others(tmp_path):
    out = run(str(tmp_path / "missing.txt"), str(EXAMPLE))
    assert out.returncode == 1
    assert b"Secretary of State Mike Pompeo" in out.stdout


def test_broken_pipe_is_a_clear_message():
    big = (EXAMPLE.read_text() + "\n") * 200
    proc = subprocess.run(
        f"{sys.executable} -m cleaner --labels | head -1", shell=True, input=big.encode(), capture_output=True, cwd=ROOT
    )
    assert proc.stdout.count(b"\n") == 1
    assert b"Traceback" not in proc.stderr


def test_an_unbuffered_stdout_closed_early_is_a_broken_pipe_too():
    # Under python -u (or PYTHONUNBUFFERED) a write may take only part of the bytes; ignoring
    # the rest made `cleaner big.txt | head -1` exit 0 with silently short output.
    article = ("The council approved the new budget on Tuesday after a long debate. " * 3 + "\n\n") * 2_000
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "cleaner"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT, env=env)  # fmt: skip
    proc.stdin.write(article.encode())
    proc.stdin.close()
    assert proc.stdout.read(10) == b"The counci"
    proc.stdout.close()
    assert proc.wait() == 1
    assert b"broken pipe" in proc.stderr.read()


def test_large_text_in_any_byte_order_mark_is_decoded_in_pieces(monkeypatch):
    from cleaner import __main__ as cli

    monkeypatch.setattr(cli, "WHOLE_LIMIT", 4096)  # read in pieces past 4 KiB
    monkeypatch.setattr(cli, "PIECE_LINES", 50)
    text = "".join(f"Line {i}: the council met again, café ünïcode.\n" for i in range(400))
    for codec in ("utf-32", "utf-16", "utf-8-sig", "utf-16-le"):  # utf-16-le: no mark, told by its NULs
        pieces = list(cli._pieces("page.txt", io.BytesIO(text.encode(codec)), "auto"))
        assert len(pieces) > 2 and "".join(t for _, t in pieces) == text, codec


def test_output_that_cannot_be_written_is_one_line_exit_1(tmp_path):
    full = subprocess.run([sys.executable, "-m", "cleaner", str(EXAMPLE)], stdout=open("/dev/full", "wb"),
                          stderr=subprocess.PIPE, cwd=ROOT)  # fmt: skip
    assert (
        full.returncode == 1
        and full.stderr.decode().strip() == "cleaner: standard output: cannot write (No space left on device)"
    )
    closed = subprocess.run([sys.executable, "-m", "cleaner", str(EXAMPLE)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=ROOT, pass_fds=(), close_fds=True,
                            preexec_fn=lambda: os.close(1))  # fmt: skip
    assert closed.returncode == 1 and closed.stderr.decode().strip() == "cleaner: standard output is closed"


def test_html_after_long_leading_whitespace_is_still_html(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "\n" * 5_000 + "<!-- generated -->\n<html><body><nav>Home</nav><p>The council met.</p></body></html>"
    )
    assert run("--labels", str(page)).stdout.decode().split("\t")[-1] == "The council met.\n"


def test_large_text_with_old_mac_line_ends_is_read_in_pieces(monkeypatch):
    from cleaner import __main__ as cli

    monkeypatch.setattr(cli, "WHOLE_LIMIT", 4096)
    monkeypatch.setattr(cli, "PIECE_LINES", 50)
    text = "".join(f"Line {i}: the council met again.\r" for i in range(400))
    pieces = list(cli._pieces("page.txt", io.BytesIO(text.encode()), "auto"))
    assert len(pieces) > 2 and "".join(t for _, t in pieces) == text


def test_version_empty_labels_and_odd_file_names(tmp_path):
    assert run("--version").stdout.startswith(b"cleaner ")
    assert run("--labels").stdout == run("--json").stdout == b""  # empty input: no line, no record
    name = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.txt")  # not UTF-8: a file system may hold any bytes
    Path(name).write_bytes(EXAMPLE.read_bytes())
    out = run("--json", name)
    first = json.loads(out.stdout.decode("utf-8").split("\n")[0])  # valid UTF-8 JSON
    assert first["file"].endswith("caf\\xe9.txt") and first["index"] == 0


def test_a_bad_html_model_fails_before_any_output(tmp_path):
    out = run("--html-model", str(tmp_path / "absent.npz"), str(EXAMPLE))
    assert out.returncode == 1 and out.stdout == b""
    assert out.stderr.decode().count("\n") == 1 and "absent.npz" in out.stderr.decode()


def test_a_large_texts_last_piece_is_a_whole_piece_not_a_short_tail(monkeypatch):
    # A short piece would be read as one page (page-level steps and all); a tail is not a page.
    from cleaner import __main__ as cli

    monkeypatch.setattr(cli, "WHOLE_LIMIT", 4096)
    monkeypatch.setattr(cli, "PIECE_LINES", 50)
    for count in (101, 130, 149, 150, 151, 199, 260):
        text = "".join(f"Line {i}: the council met again to approve the budget.\n" for i in range(count))
        pieces = [piece for _, piece in cli._pieces("page.txt", io.BytesIO(text.encode()), "auto")]
        assert "".join(pieces) == text
        assert all(piece.count("\n") >= 50 for piece in pieces), (count, [p.count("\n") for p in pieces])


def test_large_text_is_streamed_in_pieces(tmp_path):
    import cleaner
    from benchmarks.datasets import aeb_pages

    pages = "\n\n".join(p.text for p in aeb_pages())
    big = tmp_path / "big.txt"
    big.write_text((pages + "\n\n") * 8)  # about 13 MB: above the whole-input limit, so read in pieces
    out = run(str(big))
    assert out.returncode == 0, out.stderr
    kept = [ln for ln in out.stdout.decode().split("\n") if ln]
    # Pasted together, the pages keep about what they keep one by one (read as one 20,000-line
    # page, only a twentieth of it was kept).
    page_by_page = sum(len(cleaner.clean(p.text, mode="text")) for p in aeb_pages()) / len(pages)
    assert 0.6 * page_by_page < len("\n".join(kept)) / big.stat().st_size < 1.2 * page_by_page
    lines = iter(big.read_text().split("\n"))
    assert all(any(k == x for x in lines) for k in kept), "output lines must be a subsequence of the input"


def test_no_headline_option():
    page = b"Council approves budget after long debate\n\n" + EXAMPLE.read_bytes()
    kept = run(stdin=page).stdout.decode().split("\n")
    without = run("--no-headline", stdin=page).stdout.decode().split("\n")
    assert kept[0] == "Council approves budget after long debate" and without == kept[2:]
    # The example page starts with a sentence, not a headline: nothing to leave out.
    assert run("--no-headline", str(EXAMPLE)).stdout == run(str(EXAMPLE)).stdout


def test_many_files_are_cleaned_together_with_each_files_own_output(tmp_path):
    # Several inputs are classified in one batch; the output is still each file's clean(),
    # in order, and a bad file in the middle is reported while the others come through.
    import cleaner

    text = EXAMPLE.read_text(encoding="utf-8")
    html = (
        "<html><body><nav><a href='/'>Home</a></nav><h1>Rates held</h1><p>"
        + "The bank held rates. " * 30
        + "</p></body></html>"
    )
    files = []
    for i, content in enumerate([text, html, text.replace("Pompeo", "Blinken"), "Menu\n\nOne short line."]):
        path = tmp_path / f"page{i}.{'html' if content is html else 'txt'}"
        path.write_text(content, encoding="utf-8")
        files.append(path)
    out = run(str(files[0]), str(files[1]), str(tmp_path / "missing.txt"), str(files[2]), str(files[3]))
    assert out.returncode == 1 and b"missing.txt" in out.stderr
    expected = "".join(
        cleaner.clean(p.read_text(encoding="utf-8")) + "\n"
        for p in files
        if cleaner.clean(p.read_text(encoding="utf-8"))
    )
    assert out.stdout.decode("utf-8") == expected
    # --json: each file's own labels, its line index counting from 0.
    records = [json.loads(line) for line in run("--json", *map(str, files)).stdout.splitlines()]
    expected_records = [
        (str(p), i, line.label, line.text)
        for p in files
        for i, line in enumerate(cleaner.label(p.read_text(encoding="utf-8")))
    ]
    assert [(r["file"], r["index"], r["label"], r["text"]) for r in records] == expected_records


def test_ctrl_c_while_numpy_loads_is_one_line_not_a_traceback():
    # Ctrl-C in the first tenth of a second lands while numpy loads; an import hook that
    # raises KeyboardInterrupt for numpy stands in for it, deterministically.
    code = (
        "import runpy, sys\n"
        "class CtrlC:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'numpy':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, CtrlC())\n"
        "runpy.run_module('cleaner', run_name='__main__', alter_sys=True)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], input=b"Some text.", capture_output=True, cwd=ROOT)
    assert (out.returncode, out.stderr) == (130, b"cleaner: interrupted\n")


def test_import_cleaner_loads_the_library_on_first_use():
    # numpy loads with the first public name (or submodule) used, not with the package.
    code = "import sys, cleaner; print('numpy' in sys.modules, cleaner.api.LABELS[0], cleaner.Cleaner.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT)
    assert out.stdout == b"False body Cleaner\n", out.stderr
