"""Batch cleaning of JSONL, WARC and WET files (made here from the AEB fixture pages)."""

import bz2
import gzip
import io
import json
import lzma
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

import cleaner
from benchmarks.datasets import aeb_pages

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("fastwarc")

from warc_files import warc_record  # noqa: E402

from cleaner import batch  # noqa: E402  (after the skip: reading WARC needs fastwarc)
from cleaner.decode import web_charset  # noqa: E402
from cleaner.streams import WholeWrites  # noqa: E402

ARTICLE = "The council approved the new budget on Tuesday after a long debate about schools and roads."


@pytest.fixture(scope="module")
def pages():
    return aeb_pages()[:12]


def http_response(body: bytes, content_type: str | None, status: str = "200 OK", headers: str = "") -> bytes:
    content_type_line = f"Content-Type: {content_type}\r\n" if content_type else ""
    return f"HTTP/1.1 {status}\r\n{content_type_line}{headers}\r\n".encode() + body


def response(url: str, body: bytes, content_type: str | None = "text/html; charset=utf-8", **http) -> bytes:
    return warc_record("response", url.rsplit("/", 1)[-1], url, http_response(body, content_type, **http),
                       "application/http; msgtype=response")  # fmt: skip


def run(*args, cwd: Path = ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "cleaner", "batch", *args], capture_output=True, text=True, cwd=cwd,
                          env=env)  # fmt: skip


def run_here(capsys, *args) -> tuple[int, str]:
    """``cleaner batch ARGS`` in this process (one job): (exit status, stderr)."""
    status = batch.main([*args, "--jobs", "1"])
    return status, capsys.readouterr().err


def read_out(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(x) for x in f]


def jsonl(*records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def test_jsonl_with_one_and_two_jobs(tmp_path, pages):
    src = tmp_path / "pages.jsonl.gz"
    with gzip.open(src, "wt", encoding="utf-8") as f:
        for p in pages:
            f.write(json.dumps({"id": p.id, "url": p.url, "text": p.text}) + "\n")
        f.write("{broken json\n")
        f.write(json.dumps({"id": "no-text", "body": "x"}) + "\n")
    one, two = tmp_path / "one.jsonl.gz", tmp_path / "two.jsonl"
    r1 = run(str(src), "-o", str(one), "--jobs", "1")
    r2 = run(str(src), "-o", str(two), "--jobs", "2", "--labels")
    # Two documents failed: reported in the output, counted in the summary, exit status 1.
    assert r1.returncode == 1 and r2.returncode == 1, r1.stderr + r2.stderr
    assert "14 documents (12 cleaned, 2 failed, 0 not pages)" in r1.stderr and "Traceback" not in r2.stderr
    a, b = read_out(one), read_out(two)
    assert [x["id"] for x in a] == [p.id for p in pages] + [f"{src}:{len(pages) + 1}", "no-text"]
    assert [x.get("text") for x in a] == [x.get("text") for x in b]
    for p, rec in zip(pages, a):
        assert rec["text"] == cleaner.clean(p.text)
    assert "not JSON" in a[-2]["error"] and "no text field" in a[-1]["error"]
    labels = b[0]["labels"]
    assert {x["label"] for x in labels} <= {"body", "comment", "related", "boilerplate"}
    assert [x["text"] for x in labels] == [t for t in pages[0].text.split("\n") if t.strip()]
    assert sorted(os.listdir(tmp_path)) == ["one.jsonl.gz", "pages.jsonl.gz", "two.jsonl"]  # no temporary left


def test_warc_and_wet(tmp_path, pages):
    warc = tmp_path / "crawl.warc.gz"
    records = [warc_record("warcinfo", "info", "", b"software: test\r\n", "application/warc-fields")]
    records += [response(p.url, p.html.encode()) for p in pages[:5]]
    records.append(response("http://x.example/a.pdf", b"%PDF-1.4", "application/pdf"))
    warc.write_bytes(b"".join(gzip.compress(r) for r in records))  # one gzip member per record
    wet = tmp_path / "crawl.warc.wet.gz"
    wet.write_bytes(gzip.compress(b"".join(
        warc_record("conversion", f"c{i}", p.url, p.text.encode(), "text/plain") for i, p in enumerate(pages[:5])
    )))  # fmt: skip
    out = tmp_path / "out.jsonl"
    r = run(str(warc), str(wet), "-o", str(out), "--jobs", "2")
    # A PDF is no page: reported, but not a failure.
    assert r.returncode == 0, r.stderr
    assert "11 documents (10 cleaned, 0 failed, 1 not pages)" in r.stderr
    recs = read_out(out)
    assert len(recs) == 11
    for p, rec in zip(pages[:5], recs[:5]):
        assert rec["url"] == p.url and rec["text"] == cleaner.clean(p.html, mode="html")
    # Every record of the file is counted: the warcinfo record is record 1.
    assert [rec["source"] for rec in recs[:6]] == [f"{warc}:{n}" for n in range(2, 8)]
    assert "application/pdf" in recs[5]["error"]
    for p, rec in zip(pages[:5], recs[6:]):
        assert rec["id"].startswith("<urn:uuid:c") and rec["text"] == cleaner.clean(p.text, mode="text")


def test_time_limit_is_reported_not_fatal(tmp_path, pages):
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": p.html}) + "\n" for i, p in enumerate(pages[:3])))
    out = tmp_path / "o.jsonl"
    r = run(str(src), "-o", str(out), "--jobs", "1", "--timeout", "0.000001")
    assert r.returncode == 1 and "3 failed" in r.stderr
    assert all("time limit" in x["error"] for x in read_out(out))


def test_time_limit_is_per_document_not_per_group(pages, monkeypatch):
    batch._init_worker({"keep": ("body",)})
    worker = batch._worker["cleaner"]
    predict_many, predict = worker.predict_many, worker.predict

    def slow_group(group):  # the three pages together take longer than one page's limit
        time.sleep(0.3)
        return predict_many(group)

    def slow_second(lines):
        if lines.text == slow_lines:
            time.sleep(0.3)
        return predict(lines)

    docs = [batch.Document(str(i), None, f"t:{i}", p.text, "text") for i, p in enumerate(pages[:3])]
    slow_lines = worker.segment(pages[1].text, mode="text").text
    monkeypatch.setattr(worker, "predict_many", slow_group)
    monkeypatch.setattr(worker, "predict", slow_second)
    results = batch._clean_group((docs, False, 0.2))
    assert "time limit" in results[1]["error"]
    assert [results[0]["text"], results[2]["text"]] == [cleaner.clean(pages[i].text, mode="text") for i in (0, 2)]


def test_a_time_limit_beyond_the_timer_is_no_limit(tmp_path, capsys):
    src, out = tmp_path / "a.jsonl", tmp_path / "o.jsonl"
    src.write_text(jsonl({"id": "a", "text": ARTICLE}))
    status, err = run_here(capsys, str(src), "-o", str(out), "--timeout", "1e10")  # setitimer: OverflowError
    assert status == 0 and read_out(out)[0]["text"] == ARTICLE, err


def test_missing_input_is_a_clear_error(tmp_path):
    r = run(str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "o.jsonl"))
    assert r.returncode == 1 and "none.jsonl: no such file" in r.stderr and "Traceback" not in r.stderr


def test_a_group_that_fails_together_is_cleaned_one_by_one(pages, monkeypatch):
    batch._init_worker({"keep": ("body",)})
    worker = batch._worker["cleaner"]

    def fail(_pages):
        raise MemoryError("the group was too much")

    monkeypatch.setattr(worker, "predict_many", fail)
    docs = [batch.Document(p.id, p.url, f"t:{i}", p.text, "text") for i, p in enumerate(pages[:3])]
    docs.append(batch.Document("bad", None, "t:3", None, "text", error="no text field"))
    results = batch._clean_group((docs, False, 0))
    assert [r["id"] for r in results] == [p.id for p in pages[:3]] + ["bad"]
    assert [r["text"] for r in results[:3]] == [cleaner.clean(p.text, mode="text") for p in pages[:3]]
    assert results[3]["error"] == "no text field"


def test_no_headline_option(tmp_path, pages, capsys):
    src = tmp_path / "pages.jsonl"
    src.write_text("".join(json.dumps({"id": p.id, "text": p.html}) + "\n" for p in pages[:4]))
    out = tmp_path / "out.jsonl"
    status, err = run_here(capsys, str(src), "-o", str(out), "--no-headline")
    assert status == 0, err
    assert [x["text"] for x in read_out(out)] == [cleaner.clean(p.html, headline=False) for p in pages[:4]]
    assert any(cleaner.clean(p.html, headline=False) != cleaner.clean(p.html) for p in pages[:4])


# --- the output ------------------------------------------------------------------------------


def test_output_that_is_an_input_is_refused(tmp_path, capsys):
    src = tmp_path / "same.jsonl"
    src.write_text(jsonl({"id": "a", "text": ARTICLE}))
    for output in (str(src), str(tmp_path / "." / "same.jsonl")):
        with pytest.raises(SystemExit) as exit_:
            batch.main([str(src), "-o", output])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is also an input" in err
    assert src.read_text() == jsonl({"id": "a", "text": ARTICLE})


def test_standard_output_that_is_an_input_is_refused_too(tmp_path):
    # `cleaner batch x.jsonl -o - >> x.jsonl` would read its own output forever.
    src = tmp_path / "loop.jsonl"
    src.write_text(jsonl({"id": "a", "text": ARTICLE}))
    with open(src, "a") as appended:
        out = subprocess.run([sys.executable, "-m", "cleaner", "batch", str(src), "-o", "-"], stdout=appended,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert out.returncode == 2 and "(standard output) is also an input" in out.stderr
    assert src.read_text() == jsonl({"id": "a", "text": ARTICLE})
    closed = subprocess.run([sys.executable, "-m", "cleaner", "batch", str(src), "-o", "-"], capture_output=True,
                            text=True, cwd=ROOT, preexec_fn=lambda: os.close(1), timeout=60)  # fmt: skip
    assert closed.returncode == 1 and closed.stderr.strip().endswith("standard output is closed"), closed.stderr


def test_http_headers_with_bare_line_feeds_are_an_error_not_an_empty_page(tmp_path, capsys):
    block = b"HTTP/1.1 200 OK\nContent-Type: text/html\n\n<html><body><p>" + ARTICLE.encode() + b"</p></body></html>"
    (tmp_path / "lf.warc").write_bytes(warc_record("response", "1", "http://x/", block, "application/http"))
    status, _ = run_here(capsys, str(tmp_path / "lf.warc"), "-o", str(tmp_path / "out.jsonl"))
    (record,) = read_out(tmp_path / "out.jsonl")
    assert status == 1 and "bare LF" in record["error"] and not record.get("text")


def test_output_path_errors_are_one_line(tmp_path, capsys):
    src = tmp_path / "a.jsonl"
    src.write_text(jsonl({"id": "a", "text": ARTICLE}))
    cases = [(tmp_path / "none" / "o.jsonl", "cannot write (No such file or directory)"), (tmp_path, "is a directory")]
    if Path("/dev/full").exists():
        cases.append((Path("/dev/full"), "cannot write (No space left on device)"))
    for output, message in cases:
        status, err = run_here(capsys, str(src), "-o", str(output))
        assert status == 1 and err.startswith(f"cleaner batch: {output}: {message}") and err.count("\n") == 1, err


def test_output_dash_is_standard_output(tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_text(jsonl({"id": "a", "text": ARTICLE}))
    r = run(str(src), "-o", "-", "--jobs", "1", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["text"] == ARTICLE
    assert sorted(os.listdir(tmp_path)) == ["a.jsonl"]


def test_a_reader_that_leaves_mid_record_is_a_broken_pipe(tmp_path):
    # One record far larger than a pipe holds: its write is cut short when the reader goes.
    src = tmp_path / "big.jsonl"
    src.write_text(jsonl({"id": "big", "text": "\n\n".join(f"Paragraph {i}. {ARTICLE}" for i in range(5000))}))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    job = subprocess.Popen([sys.executable, "-m", "cleaner", "batch", str(src), "-o", "-", "--jobs", "1"], cwd=ROOT,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert job.stdout.read(100).startswith(b'{"id": "big"')
    job.stdout.close()  # as `| head -c 100` does
    err = job.stderr.read().decode()
    assert job.wait(timeout=60) == 1, err
    assert err == "cleaner batch: output closed before all records were written (broken pipe)\n"


def test_whole_writes_go_on_after_a_short_write():
    class Trickle(io.RawIOBase):  # takes at most 3 bytes a write, as a pipe may
        def __init__(self):
            self.data = b""

        def writable(self):
            return True

        def write(self, data):
            self.data += bytes(data[:3])
            return min(3, len(data))

    sink = Trickle()
    assert WholeWrites(sink).write(b"0123456789") == 10 and sink.data == b"0123456789"


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs /dev/shm")
def test_a_regular_file_under_dev_is_replaced_only_when_the_run_completes():
    target = Path(f"/dev/shm/cleaner-test-{os.getpid()}.jsonl")
    target.write_text("the old output\n")
    try:
        out = batch.Output(str(target))
        out.write({"id": "a"})
        out.discard()  # an interrupted run
        assert target.read_text() == "the old output\n"
        assert not [p for p in Path("/dev/shm").iterdir() if p.name.startswith(f".{target.name}.")]
        out = batch.Output(str(target))
        out.write({"id": "a"})
        out.commit()
        assert read_out(target) == [{"id": "a"}]
    finally:
        target.unlink()
    assert batch.Output("/dev/null").temporary is None  # a device is written in place


@pytest.mark.parametrize("suffix, opener", [(".xz", lzma.open), (".bz2", bz2.open), (".gz", gzip.open)])
def test_output_compressed_as_its_name_says(tmp_path, capsys, suffix, opener):
    src, out = tmp_path / "a.jsonl", tmp_path / f"o.jsonl{suffix}"
    src.write_text(jsonl({"id": "a", "text": ARTICLE}))
    status, err = run_here(capsys, str(src), "-o", str(out))
    with opener(out, "rt", encoding="utf-8") as f:
        assert status == 0 and json.loads(f.read())["text"] == ARTICLE, err


def test_output_in_a_compression_it_cannot_write_is_refused(tmp_path, capsys):
    src = tmp_path / "a.jsonl"
    src.write_text(jsonl({"id": "a", "text": ARTICLE}))
    with pytest.raises(SystemExit) as exit_:
        batch.main([str(src), "-o", str(tmp_path / "o.jsonl.zst")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "cannot write .zst compression" in err and err.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == ["a.jsonl"]


def test_a_run_that_fails_leaves_the_old_output(tmp_path, capsys, monkeypatch):
    src, out = tmp_path / "a.jsonl", tmp_path / "out.jsonl"
    src.write_text(jsonl({"id": "a", "text": ARTICLE}, {"id": "b", "text": ARTICLE}))
    out.write_text("the old output\n")
    write = batch.Output.write

    def disk_full_after_one(self, record):
        if record["id"] == "b":
            raise batch.OutputError(f"{self.name}: cannot write (No space left on device)")
        write(self, record)

    monkeypatch.setattr(batch.Output, "write", disk_full_after_one)
    status, err = run_here(capsys, str(src), "-o", str(out))
    assert status == 1 and "(No space left on device); stopped" in err
    assert out.read_text() == "the old output\n" and sorted(os.listdir(tmp_path)) == ["a.jsonl", "out.jsonl"]


def test_lone_surrogates_are_written_as_replacement_characters(tmp_path, capsys):
    src, out = tmp_path / "s.jsonl", tmp_path / "o.jsonl"
    src.write_text('{"id": "s\\udc80", "text": "a \\ud800 b. ' + ARTICLE + '"}\n')
    status, err = run_here(capsys, str(src), "-o", str(out))
    assert status == 0, err
    (record,) = read_out(out)  # valid UTF-8 JSON
    assert record["id"] == "s\ufffd" and record["text"] == f"a \ufffd b. {ARTICLE}"


# --- damaged and odd input -------------------------------------------------------------------


def test_damaged_files_are_reported_and_the_batch_goes_on(tmp_path, capsys):
    lines = jsonl(*({"id": f"r{i}", "text": f"Record {i}. {ARTICLE}"} for i in range(200))).encode()
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(gzip.compress(lines)[:-600])
    corrupt = tmp_path / "corrupt.jsonl.gz"
    data = bytearray(gzip.compress(lines))
    data[-5] ^= 0xFF  # the length in the trailer
    corrupt.write_bytes(bytes(data))
    not_warc = tmp_path / "not.warc"
    not_warc.write_text("this is not a WARC file\n" * 10)
    good = tmp_path / "good.jsonl"
    good.write_text(jsonl({"id": "last", "text": ARTICLE}))
    out = tmp_path / "o.jsonl"
    status, err = run_here(capsys, str(truncated), str(corrupt), str(not_warc), str(good), "-o", str(out))
    assert status == 1 and "Traceback" not in err
    records = read_out(out)
    errors = [r for r in records if "error" in r]
    assert [e["source"].rsplit(":", 1)[0] for e in errors] == [str(truncated), str(corrupt), str(not_warc)]
    assert "Compressed file ended" in errors[0]["error"] and "Invalid WARC header" in errors[2]["error"]
    for e in errors:  # one line on stderr names each file
        assert f"cleaner batch: {e['source']}: cannot read the file" in err
    kept = [r["id"] for r in records if "text" in r]
    assert kept[0] == "r0" and len(kept) > 150 and kept[-1] == "last"  # what was read before the damage, and after
    assert "3 unreadable files" in err


def test_warc_format_on_jsonl_is_an_unreadable_file(tmp_path, capsys):
    src = tmp_path / "a.jsonl"
    src.write_text(jsonl({"id": "a", "text": ARTICLE}))
    status, err = run_here(capsys, "--format", "warc", str(src), "-o", str(tmp_path / "o.jsonl"))
    assert status == 1 and "Invalid WARC header" in err and "Traceback" not in err


def test_truncated_warc_record_is_an_error(tmp_path, capsys):
    whole = response("http://a.example/1", f"<p>{ARTICLE}</p>".encode())
    cut = response("http://a.example/2", f"<p>{ARTICLE}</p>".encode())
    src = tmp_path / "cut.warc"
    src.write_bytes(whole + cut[: len(cut) - 40])
    out = tmp_path / "o.jsonl"
    status, _ = run_here(capsys, str(src), "-o", str(out))
    first, second = read_out(out)
    assert status == 1 and first["text"] == ARTICLE and "cut short" in second["error"]


def test_jsonl_odds(tmp_path, capsys):
    src = tmp_path / "odd.jsonl"
    src.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"id": "bom", "text": ARTICLE}).encode() + b"\n"
        + b'{"id": "cp1252", "text": "It\x92s a \xe9t\xe9 day. ' + ARTICLE.encode() + b'"}\n'
        + jsonl({"id": "number", "text": 42}, {"id": "null", "text": None}, {"id": None, "text": ARTICLE}).encode()
    )  # fmt: skip
    out = tmp_path / "o.jsonl"
    status, err = run_here(capsys, str(src), "-o", str(out))
    bom, stray, number, null, no_id = read_out(out)
    assert bom["text"] == ARTICLE
    assert stray["text"].startswith("It’s a été day.")
    assert number["error"] == null["error"] == "field 'text' is not a string"
    assert no_id["id"] is None and no_id["text"] == ARTICLE
    assert status == 1 and "5 documents (3 cleaned, 2 failed, 0 not pages)" in err


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress, bz2.compress], ids=["gz", "xz", "bz2"])
def test_compressed_jsonl(tmp_path, capsys, compress):
    src = tmp_path / "a.jsonl.z"
    src.write_bytes(compress(jsonl({"id": "a", "text": ARTICLE}).encode()))
    status, _ = run_here(capsys, str(src), "-o", str(tmp_path / "o.jsonl"))
    assert status == 0 and read_out(tmp_path / "o.jsonl")[0]["text"] == ARTICLE


def test_standard_input_and_pipes_are_read(tmp_path, capsys, monkeypatch):
    def pipe(data: bytes) -> int:
        """The read end of a pipe holding ``data`` (small: it fits the pipe)."""
        read_end, write_end = os.pipe()
        os.write(write_end, data)
        os.close(write_end)
        return read_end

    out = tmp_path / "o.jsonl"
    lines = jsonl({"id": "a", "text": ARTICLE}).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(open(pipe(gzip.compress(lines)), "rb")))
    status, err = run_here(capsys, "-", "-o", str(out))
    assert status == 0 and read_out(out) == [{"id": "a", "url": None, "source": "-:1", "text": ARTICLE}], err
    # What <(zcat x.jsonl.gz) names: a pipe under /dev/fd, not a file.
    name = f"/dev/fd/{pipe(bz2.compress(lines))}"
    status, err = run_here(capsys, name, "-o", str(out))
    assert status == 0 and read_out(out)[0]["source"] == f"{name}:1", err
    warc = gzip.compress(response("http://a.example/1", f"<p>{ARTICLE}</p>".encode()))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(open(pipe(warc), "rb")))
    status, err = run_here(capsys, "-", "--format", "warc", "-o", str(out))
    assert status == 0 and read_out(out)[0]["text"] == ARTICLE, err


def test_the_format_is_read_from_the_last_suffix(tmp_path, capsys):
    src = tmp_path / "cc.warc.jsonl.gz"
    src.write_bytes(gzip.compress(jsonl({"id": "a", "text": ARTICLE}).encode()))
    out = tmp_path / "o.jsonl"
    status, err = run_here(capsys, str(src), "-o", str(out))
    assert status == 0 and read_out(out)[0]["text"] == ARTICLE, err
    names = ["x.warc.gz", "CC-MAIN-1.warc.wet.gz", "X.WARC", "cc.warc.jsonl", "cc.warc.jsonl.gz", "x.jsonl", "-"]
    assert [batch.input_format(n, "auto") for n in names] == ["warc"] * 3 + ["jsonl"] * 4
    # The wrong format, either way: one error naming the file, with a hint.
    warc = tmp_path / "crawl.jsonl"
    warc.write_bytes(response("http://a.example/1", f"<p>{ARTICLE}</p>".encode()))
    status, err = run_here(capsys, str(warc), "--format", "auto", "-o", str(out))
    assert status == 1 and read_out(out)[0]["error"].endswith("a WARC file, not JSONL (read it with --format warc)")
    status, err = run_here(capsys, str(src), "--format", "warc", "-o", str(out))
    assert status == 1 and "not a WARC file? --format jsonl reads it as JSONL" in read_out(out)[0]["error"]


def test_a_file_name_that_is_not_utf8_is_shown_with_its_bytes(tmp_path, capsys):
    src = tmp_path / os.fsdecode(b"caf\xe9.jsonl")
    try:
        src.write_text(jsonl({"id": "a", "text": ARTICLE}))
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system takes UTF-8 names only")
    out = tmp_path / "o.jsonl"
    status, err = run_here(capsys, str(src), "-o", str(out))
    assert status == 0 and read_out(out)[0]["source"] == f"{tmp_path}/caf\\xe9.jsonl:1", err


def test_bad_html_model_is_checked_up_front(tmp_path, capsys):
    src = tmp_path / "a.jsonl"
    src.write_text(jsonl({"id": "a", "text": ARTICLE}))
    status, err = run_here(capsys, str(src), "-o", str(tmp_path / "o.jsonl"), "--html-model", "nope.npz")
    assert status == 1 and err.startswith("cleaner batch: model file nope.npz") and err.count("\n") == 1
    assert not (tmp_path / "o.jsonl").exists()


# --- WARC records: what is a page, and how it is decoded -------------------------------------


def warc_pages(*records: bytes) -> list[batch.Document]:
    import io

    return list(batch.warc_documents(io.BytesIO(b"".join(records)), "t.warc"))


def test_warc_status_type_and_binary_decisions():
    png = b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256))
    docs = warc_pages(
        response("http://a/404", b"<h1>Not found</h1>", status="404 Not Found"),
        response("http://a/301", b"", status="301 Moved Permanently", headers="Location: http://a/\r\n"),
        response("http://a/png", png, None),
        response("http://a/plain", b"<p>Prices rose.</p>\n<b>in</b> March", "text/plain"),
        response("http://a/nothing-said", b"<html><body><p>Hello</p></body></html>", None),
        response("http://a/feed", b"<rss><item><title>News</title></item></rss>", "application/rss+xml"),
        response("http://a/svg", b"<svg></svg>", "image/svg+xml"),
    )
    status_404, status_301, png_doc, plain, sniffed, feed, svg = docs
    assert status_404.error == "HTTP status 404" and status_301.error == "HTTP status 301"
    assert png_doc.error.startswith("not text or HTML") and png_doc.content is None
    assert all(d.not_a_page for d in (status_404, status_301, png_doc, svg))
    kinds = [batch.page_text(d)[1] for d in (plain, sniffed, feed)]
    assert kinds == ["text", "html", "html"]  # text/plain is text, however it looks


def test_warc_charset_and_encodings():
    brotli = pytest.importorskip("brotli")
    latin = "<p>Le café a été ouvert. It’s</p>"
    deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = deflate.compress(b"<p>raw deflate</p>") + deflate.flush()
    chunked_gzip = gzip.compress(b"<p>chunked</p>")
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunked_gzip), chunked_gzip)
    docs = warc_pages(
        response("http://a/latin", latin.encode("cp1252"), "text/html; charset=ISO-8859-1"),
        response("http://a/sjis", "<p>ニュース</p>".encode("shift_jis"), 'text/html; charset="Shift_JIS"'),
        response("http://a/utf8-labelled-latin", "<p>café</p>".encode(), "text/html; charset=iso-8859-1"),
        response("http://a/ebcdic", b"<p>caf\xe9</p>", "text/html; charset=cp037"),
        response("http://a/gzip", gzip.compress(b"<p>gzip</p>"), headers="Content-Encoding: gzip\r\n"),
        response("http://a/deflate", zlib.compress(b"<p>deflate</p>"), headers="Content-Encoding: deflate\r\n"),
        response("http://a/raw-deflate", raw_deflate, headers="Content-Encoding: deflate\r\n"),
        response("http://a/br", brotli.compress(b"<p>br</p>"), headers="Content-Encoding: br\r\n"),
        response("http://a/zstd", b"(\xb5/\xfd", headers="Content-Encoding: zstd\r\n"),
        response("http://a/bad-gzip", b"\x1f\x8b\x08\x00garbage", headers="Content-Encoding: gzip\r\n"),
        response("http://a/chunked", chunked, headers="Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"),
    )
    contents = [batch.page_text(d)[0] if d.error is None else None for d in docs]
    assert contents[:4] == [latin, "<p>ニュース</p>", "<p>café</p>", "<p>café</p>"]  # cp037 is not trusted
    assert contents[4:8] == ["<p>gzip</p>", "<p>deflate</p>", "<p>raw deflate</p>", "<p>br</p>"]
    assert docs[8].error == "unsupported content encoding zstd" and not docs[8].not_a_page
    assert docs[9].error.startswith("damaged gzip content")
    assert contents[10] == "<p>chunked</p>"


def chunked(data: bytes) -> bytes:
    """``data`` in HTTP's chunked transfer coding, as one chunk."""
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)


def test_transfer_codings_other_than_chunked_are_undone_or_reported():
    page = b"<p>transfer</p>"
    both = "Transfer-Encoding: deflate, chunked\r\nContent-Encoding: gzip\r\n"  # compressed twice
    docs = warc_pages(
        response("http://a/1", chunked(gzip.compress(page)), headers="Transfer-Encoding: gzip, chunked\r\n"),
        response("http://a/2", gzip.compress(page), headers="Transfer-Encoding: GZIP\r\n"),
        response("http://a/3", chunked(zlib.compress(gzip.compress(page))), headers=both),
        response("http://a/4", chunked(b"\x1f\x9d\x90garbage"), headers="Transfer-Encoding: compress, chunked\r\n"),
    )
    assert [batch.page_text(d)[0] for d in docs[:3]] == ["<p>transfer</p>"] * 3
    assert docs[3].error == "unsupported transfer encoding compress" and not docs[3].not_a_page


def test_a_record_that_is_no_page_is_skipped_unread():
    import tracemalloc

    video = bytes(range(256)) * (16 << 10)  # 4 MB
    record = response("http://a/v.mp4", video, "video/mp4")
    stream = io.BytesIO(record + response("http://a/p", f"<p>{ARTICLE}</p>".encode()))
    tracemalloc.start()
    try:
        docs = list(batch.warc_documents(stream, "t.warc"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert docs[0].error == "content type video/mp4 is not text or HTML" and docs[0].not_a_page
    assert batch.page_text(docs[1])[0] == f"<p>{ARTICLE}</p>"
    assert peak < len(video) // 4, peak  # its body went by in bounded steps
    # A record cut short is a failure, whatever it held.
    (cut,) = warc_pages(record[: len(record) // 2])
    assert cut.error.startswith("record cut short") and not cut.not_a_page


def test_http_charsets_are_read_as_browsers_read_them():
    assert web_charset("utf-16") == web_charset("UTF-32LE") == "utf-8"
    assert web_charset("windows-1251") == "cp1251" and web_charset("us-ascii") == "cp1252"
    assert web_charset("utf-7") is None and web_charset("base64") is None and web_charset("unicode-escape") is None


# --- stopping: Ctrl-C, a worker that dies ----------------------------------------------------


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def workers_of(pid: int) -> list[int]:
    out = []
    for child in children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                out.append(child)
        except OSError:
            pass
    return out


def start_batch(tmp_path: Path, count: int, *args: str) -> tuple[subprocess.Popen, Path]:
    src, out = tmp_path / "many.jsonl", tmp_path / "out.jsonl"
    src.write_text(jsonl(*({"id": str(i), "text": f"Home | News\n\nRecord {i}. {ARTICLE}"} for i in range(count))))
    out.write_text("the old output\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    job = subprocess.Popen([sys.executable, "-m", "cleaner", "batch", str(src), "-o", str(out), "--jobs", "2", *args],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)  # fmt: skip
    return job, out


def wait_for_workers(job: subprocess.Popen, count: int = 1) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = workers_of(job.pid)
        if len(found) >= count:
            return found
        time.sleep(0.02)
    raise AssertionError("no worker processes started")


linux_only = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")


def fake_pools(monkeypatch, outcome) -> list:
    """Workers get stand-in pools: ``outcome(pool number, task)`` says what submitting a group
    does: None cleans it, an exception is raised by submit, an exception class is what its
    future holds. Returns the list of pools made."""
    from concurrent.futures import Future

    pools: list = []

    class Pool:
        def __init__(self):
            self.number = len(pools)
            pools.append(self)

        def submit(self, _function, task):
            result = outcome(self.number, task)
            if isinstance(result, Exception):
                raise result
            future = Future()
            if result is None:
                future.set_result([{"id": d.id, "text": "cleaned"} for d in task[0]])
            else:
                future.set_exception(result("a child process terminated abruptly"))
            return future

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    monkeypatch.setattr(batch.Workers, "_new_pool", lambda self: Pool())
    return pools


def test_a_group_that_kills_a_fresh_worker_too_gets_error_records(monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    # The first pool has died under every group; later ones die under the killer's.
    def outcome(pool: int, task) -> type | None:
        return BrokenProcessPool if pool == 0 or any(d.id == "killer" for d in task[0]) else None

    pools = fake_pools(monkeypatch, outcome)
    warnings = []
    workers = batch.Workers(2, {}, warnings.append)
    tasks = [([batch.Document(name, None, f"t:{name}", "x", "text")], False, 0.0) for name in ("a", "killer", "b")]
    submitted = [workers.submit(task) for task in tasks]
    results = [workers.results(future, task) for future, task in zip(submitted, tasks)]
    assert results[0] == [{"id": "a", "text": "cleaned"}] and results[2] == [{"id": "b", "text": "cleaned"}]
    assert "a worker process died cleaning this document" in results[1][0]["error"]
    assert len(pools) == 3 and len(warnings) == 2 and workers.breaks_in_a_row == 0


def test_a_pool_that_fails_to_start_a_worker_while_breaking_is_replaced(monkeypatch):
    # Seen once in twenty runs of the worker-killing test: submit on a pool whose worker was
    # just killed tried to start a new one on the pool's closed pipes (ValueError).
    pools = fake_pools(monkeypatch, lambda pool, task: ValueError("bad value(s) in fds_to_keep") if pool == 0 else None)
    warnings = []
    workers = batch.Workers(2, {}, warnings.append)
    task = ([batch.Document("a", None, "t:a", "x", "text")], False, 0.0)
    assert workers.results(workers.submit(task), task) == [{"id": "a", "text": "cleaned"}]
    assert len(pools) == 2 and len(warnings) == 1 and workers.breaks_in_a_row == 0


@linux_only
@pytest.mark.parametrize(
    "signum, whole_group, status, message",
    [
        (signal.SIGINT, True, 130, "interrupted"),  # Ctrl-C: the terminal signals the whole process group
        (signal.SIGTERM, True, 143, "terminated"),  # timeout, systemd and Slurm signal every process
        (signal.SIGTERM, False, 143, "terminated"),  # kill PID
    ],
    ids=["ctrl-c", "sigterm-to-all", "sigterm-to-parent"],
)
def test_stopping_stops_the_workers_and_keeps_the_old_output(tmp_path, signum, whole_group, status, message):
    job, out = start_batch(tmp_path, 100_000)
    workers = wait_for_workers(job, 2)
    time.sleep(0.3)  # the workers start up (or clean): stopping must be clean either way
    if whole_group:
        os.killpg(job.pid, signum)
    else:
        os.kill(job.pid, signum)
    try:
        _, err = job.communicate(timeout=20)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode == status and err == f"cleaner batch: {message}\n", err
    assert out.read_text() == "the old output\n" and sorted(os.listdir(tmp_path)) == ["many.jsonl", "out.jsonl"]
    time.sleep(0.2)
    assert not [
        w for w in workers if Path(f"/proc/{w}").exists() and b"spawn_main" in Path(f"/proc/{w}/cmdline").read_bytes()
    ]


def test_stopping_a_pool_whose_worker_died_mid_message_does_not_hang():
    # The pool's thread waits for the rest of a message a killed worker began to send: Python
    # hung at exit (after Ctrl-C, 1 run in 15 or so) waiting for that thread.
    script = """if True:
        import multiprocessing, os, struct
        from concurrent.futures import ProcessPoolExecutor
        from cleaner.batch import Workers

        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        pool.submit(abs, -1).result()  # the worker and the pool's thread run
        os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"part of a message")
        Workers._stop_pool(pool)
        print("stopped")
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0 and done.stdout == "stopped\n" and not done.stderr, done.stderr


@linux_only
def test_a_killed_worker_is_replaced_and_its_documents_cleaned(tmp_path):
    job, out = start_batch(tmp_path, 15_000)
    os.kill(wait_for_workers(job, 1)[0], signal.SIGKILL)
    try:
        _, err = job.communicate(timeout=60)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode == 0 and "a worker process died" in err, err
    records = read_out(out)
    assert [r["id"] for r in records] == [str(i) for i in range(15_000)] and all("text" in r for r in records)


@linux_only
def test_workers_that_keep_dying_stop_the_run(tmp_path):
    job, out = start_batch(tmp_path, 60_000)
    deadline = time.monotonic() + 30
    while job.poll() is None and time.monotonic() < deadline:
        for worker in workers_of(job.pid):
            os.kill(worker, signal.SIGKILL)
        time.sleep(0.02)
    if job.poll() is None:
        os.killpg(job.pid, signal.SIGKILL)
    _, err = job.communicate()
    assert job.returncode == 1 and "worker processes died 3 times in a row" in err and "Traceback" not in err, err
    assert out.read_text() == "the old output\n"
