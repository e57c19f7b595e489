"""Batch cleaning of JSONL, WARC and WET files (made here from the AEB fixture pages)."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

import cleaner
from benchmarks.datasets import aeb_pages

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("fastwarc")


@pytest.fixture(scope="module")
def pages():
    return aeb_pages()[:12]


def warc_record(kind: str, record_id: str, url: str, block: bytes, content_type: str) -> bytes:
    head = (
        f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{record_id}>\r\nWARC-Target-URI: {url}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(block)}\r\n\r\n"
    ).encode()
    return head + block + b"\r\n\r\n"


def http_response(body: bytes, content_type: str) -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n".encode() + body


def run(*args):
    return subprocess.run([sys.executable, "-m", "cleaner", "batch", *args], capture_output=True, text=True, cwd=ROOT)


def read_out(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(x) for x in f]


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
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr
    assert "14 documents (2 with errors)" in r1.stderr
    a, b = read_out(one), read_out(two)
    assert [x["id"] for x in a] == [p.id for p in pages] + [f"{src}:{len(pages) + 1}", "no-text"]
    assert [x.get("text") for x in a] == [x.get("text") for x in b]
    for p, rec in zip(pages, a):
        assert rec["text"] == cleaner.clean(p.text)
    assert "not JSON" in a[-2]["error"] and "no text field" in a[-1]["error"]
    labels = b[0]["labels"]
    assert {x["label"] for x in labels} <= {"body", "comment", "related", "boilerplate"}
    assert [x["text"] for x in labels] == [t for t in pages[0].text.split("\n") if t.strip()]


def test_warc_and_wet(tmp_path, pages):
    warc = tmp_path / "crawl.warc.gz"
    records = [warc_record("response", f"r{i}", p.url, http_response(p.html.encode(), "text/html; charset=utf-8"),
                           "application/http; msgtype=response") for i, p in enumerate(pages[:5])]  # fmt: skip
    records.append(warc_record("response", "pdf", "http://x.example/a.pdf", http_response(b"%PDF-1.4", "application/pdf"),
                               "application/http; msgtype=response"))  # fmt: skip
    warc.write_bytes(gzip.compress(b"".join(records)))
    wet = tmp_path / "crawl.warc.wet.gz"
    wet.write_bytes(gzip.compress(b"".join(
        warc_record("conversion", f"c{i}", p.url, p.text.encode(), "text/plain") for i, p in enumerate(pages[:5])
    )))  # fmt: skip
    out = tmp_path / "out.jsonl"
    r = run(str(warc), str(wet), "-o", str(out), "--jobs", "2")
    assert r.returncode == 0, r.stderr
    recs = read_out(out)
    assert len(recs) == 11
    for p, rec in zip(pages[:5], recs[:5]):
        assert rec["url"] == p.url and rec["text"] == cleaner.clean(p.html, mode="html")
    assert "application/pdf" in recs[5]["error"]
    for p, rec in zip(pages[:5], recs[6:]):
        assert rec["id"].startswith("<urn:uuid:c") and rec["text"] == cleaner.clean(p.text, mode="text")


def test_time_limit_is_reported_not_fatal(tmp_path, pages):
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": p.html}) + "\n" for i, p in enumerate(pages[:3])))
    out = tmp_path / "o.jsonl"
    r = run(str(src), "-o", str(out), "--jobs", "1", "--timeout", "0.000001")
    assert r.returncode == 0
    assert all("time limit" in x["error"] for x in read_out(out))


def test_missing_input_is_a_clear_error(tmp_path):
    r = run(str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "o.jsonl"))
    assert r.returncode == 1 and "none.jsonl: no such file" in r.stderr and "Traceback" not in r.stderr


def test_a_group_that_fails_together_is_cleaned_one_by_one(pages, monkeypatch):
    from cleaner import batch

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


def test_no_headline_option(tmp_path, pages):
    src = tmp_path / "pages.jsonl"
    src.write_text("".join(json.dumps({"id": p.id, "text": p.html}) + "\n" for p in pages[:4]))
    out = tmp_path / "out.jsonl"
    r = run(str(src), "-o", str(out), "--jobs", "1", "--no-headline")
    assert r.returncode == 0, r.stderr
    assert [x["text"] for x in read_out(out)] == [cleaner.clean(p.html, headline=False) for p in pages[:4]]
    assert any(cleaner.clean(p.html, headline=False) != cleaner.clean(p.html) for p in pages[:4])
