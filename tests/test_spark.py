"""cleaner.spark in Spark local mode, and the WET-to-Parquet example job."""

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cleaner
from benchmarks.datasets import aeb_pages

pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")
pytest.importorskip("fastwarc")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]").appName("cleaner-tests")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate()
    )  # fmt: skip
    yield session
    session.stop()


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


def test_example_job_cleans_wet_files_into_parquet(tmp_path):
    pages = aeb_pages()[:4]
    folder = tmp_path / "wet"
    folder.mkdir()
    for n in range(2):
        block = b""
        for i, p in enumerate(pages):
            body = p.text.encode()
            block += (
                (
                    f"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Record-ID: <urn:uuid:{n}-{i}>\r\nWARC-Target-URI: {p.url}\r\n"
                    f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode()
                + body
                + b"\r\n\r\n"
            )
        (folder / f"part-{n}.warc.wet.gz").write_bytes(gzip.compress(block))
    out = tmp_path / "clean.parquet"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    job = subprocess.run([sys.executable, str(ROOT / "examples" / "spark_wet_to_parquet.py"), str(folder), str(out),
                          "--master", "local[2]", "--labels"], capture_output=True, text=True, env=env)  # fmt: skip
    assert job.returncode == 0, job.stderr[-2000:]
    import pyarrow.parquet as pq

    table = pq.read_table(out).to_pylist()
    assert len(table) == 8
    by_url = {r["url"]: r for r in table}
    for p in pages:
        assert by_url[p.url]["cleaned"] == cleaner.clean(p.text, mode="text")
        assert by_url[p.url]["labels"]
