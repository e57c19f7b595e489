"""cleaner.spark in Spark local mode, and the WET-to-Parquet example job."""

import gzip
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from warc_files import warc_record

import cleaner
from benchmarks.datasets import aeb_pages

ROOT = Path(__file__).resolve().parent.parent
installed = all(importlib.util.find_spec(m) for m in ("pyspark", "pandas", "pyarrow", "fastwarc"))
needs_spark = pytest.mark.skipif(not installed, reason="needs pip install 'cleaner[spark,warc]'")
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime")
ARTICLE = "The council approved the new budget on Tuesday after a long debate about schools and roads."


def response(url: str, body: bytes, content_type: str, status: str = "200 OK") -> bytes:
    http = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\r\n".encode() + body
    return warc_record("response", url.rsplit("/", 1)[-1], url, http, "application/http; msgtype=response")


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers with this Python's packages
    session = (
        SparkSession.builder.master("local[2]").appName("cleaner-tests")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate()
    )  # fmt: skip
    yield session
    session.stop()


def test_import_without_spark_names_the_extra():
    # As in an environment without the extra: pandas (imported first) missing, or pyspark.
    for missing, named in (("pandas", "pandas"), ("pyspark", None)):
        code = f"import sys; sys.modules[{missing!r}] = None; import cleaner.spark"
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        last = r.stderr.strip().splitlines()[-1]
        assert r.returncode == 1 and last.startswith("ImportError: cleaner.spark needs pyspark, pandas and pyarrow (")
        assert last.endswith(" is missing): pip install 'cleaner[spark]'") and (named is None or f"({named} " in last)


@needs_spark
def test_a_bad_mode_is_refused_on_the_driver():
    from cleaner.spark import clean_pages

    with pytest.raises(ValueError, match="'htm'"):
        clean_pages(None, "html", mode="htm")  # before the DataFrame is touched


@needs_spark
def test_warc_records_decide_like_cleaner_batch():
    from cleaner.spark import warc_records

    data = b"".join([
        response("http://a/page", f"<html><body><p>{ARTICLE}</p></body></html>".encode(), "text/html"),
        response("http://a/plain", f"<p>Prices rose.</p> <b>in</b> March.\n{ARTICLE}".encode(), "text/plain"),
        response("http://a/latin", f"<p>Caf\xe9. {ARTICLE}</p>".encode("latin-1"), "text/html; charset=iso-8859-1"),
        response("http://a/404", b"<h1>Not found</h1>", "text/html", status="404 Not Found"),
        response("http://a/img", b"\x89PNG\r\n\x1a\n\x00", "image/png"),
    ])  # fmt: skip
    rows = list(warc_records("f.warc", data + data[:-30]))  # and a last record cut short
    page, plain, latin, not_found, image = rows[:5]
    assert page[1:5] == ("http://a/page", "f.warc:1", "html", f"<html><body><p>{ARTICLE}</p></body></html>")
    assert plain[3] == "text" and latin[4].startswith("<p>Café.")  # text/plain is cleaned as text
    assert not_found[3:] == (None, None, "HTTP status 404") and "image/png" in image[5]
    assert "cut short" in rows[-1][5]
    (garbage,) = warc_records("bad.warc", b"not a WARC file\n" * 10)
    assert garbage[2] == "bad.warc:1" and "cannot read the file" in garbage[5]


@needs_spark
@needs_java
def test_clean_pages_adds_cleaned_text_and_labels(spark):
    from cleaner.spark import clean_pages

    pages = aeb_pages()[:6]
    df = spark.createDataFrame([(p.id, p.html) for p in pages] + [("none", None)], "id string, html string")
    rows = {r["id"]: r for r in clean_pages(df, "html", labels="labels").collect()}
    for p in pages:
        assert rows[p.id]["cleaned"] == cleaner.clean(p.html)
        expected = [x for x in cleaner.label(p.html) if x.label != "blank"]
        assert [(x["label"], x["text"]) for x in rows[p.id]["labels"]] == [(x.label, x.text) for x in expected]
    assert rows["none"]["cleaned"] is None
    without = {r["id"]: r["cleaned"] for r in clean_pages(df, "html", headline=False).collect()}
    assert all(without[p.id] == cleaner.clean(p.html, headline=False) for p in pages)


@needs_spark
@needs_java
def test_example_job_cleans_wet_and_warc_files_into_parquet(tmp_path):
    pages = aeb_pages()[:4]
    folder = tmp_path / "wet"
    folder.mkdir()
    for n in range(2):
        block = b"".join(
            warc_record("conversion", f"{n}-{i}", p.url, p.text.encode(), "text/plain") for i, p in enumerate(pages)
        )
        (folder / f"part-{n}.warc.wet.gz").write_bytes(gzip.compress(block))
    (folder / "crawl.warc").write_bytes(
        response("http://b/plain", f"<p>Prices rose.</p>\n{ARTICLE}".encode(), "text/plain")
        + response("http://b/404", b"<h1>Not found</h1>", "text/html", status="404 Not Found")
    )
    (folder / "corrupt.warc.gz").write_bytes(gzip.compress(b"WARC/1.0\r\n" + b"x" * 500)[:-20])
    out = tmp_path / "clean.parquet"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYSPARK_PYTHON=sys.executable)  # fmt: skip
    job = subprocess.run([sys.executable, str(ROOT / "examples" / "spark_wet_to_parquet.py"), str(folder), str(out),
                          "--master", "local[2]", "--labels"], capture_output=True, text=True, env=env)  # fmt: skip
    assert job.returncode == 0, job.stderr[-2000:]
    import pyarrow.parquet as pq

    table = pq.read_table(out).to_pylist()
    assert len(table) == 11
    by_url = {r["url"]: r for r in table}
    for p in pages:
        assert by_url[p.url]["cleaned"] == cleaner.clean(p.text, mode="text")
        assert by_url[p.url]["labels"]
    plain = by_url["http://b/plain"]
    assert plain["kind"] == "text" and plain["cleaned"] == cleaner.clean(f"<p>Prices rose.</p>\n{ARTICLE}", mode="text")
    assert by_url["http://b/404"]["error"] == "HTTP status 404" and by_url["http://b/404"]["cleaned"] is None
    (corrupt,) = [r for r in table if r["source"].endswith("corrupt.warc.gz:1")]
    assert "cannot read the file" in corrupt["error"]
