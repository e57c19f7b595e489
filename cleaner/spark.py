"""Apache Spark: clean a DataFrame of pages where one machine is not enough. Example::

    from cleaner.spark import clean_pages
    pages = spark.read.parquet("pages.parquet")          # columns: url, html
    clean_pages(pages, "html", labels="line_labels").write.parquet("clean.parquet")

Built on Spark's Arrow-backed pandas UDFs (iterator form), so each Python worker loads the
model once and cleans pages in Arrow batches. Needs ``pip install 'cleaner[spark]'`` and a
Java runtime; ``examples/spark_wet_to_parquet.py`` is a runnable job (local or cluster).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

LABEL_SCHEMA = "array<struct<label:string,score:double,text:string>>"


@lru_cache(maxsize=8)
def _cleaner(**settings):
    """A Cleaner for these keyword settings (``model``, ``keep``, ...), built once per process."""
    from cleaner.api import Cleaner

    return Cleaner(**settings)


def clean_pages(df: DataFrame, column: str, *, output: str = "cleaned", labels: str | None = None,
                mode: str = "auto", keep: Iterable[str] = ("body",), threshold: float | None = None,
                model: str | None = None, html_model: str | None = None, headline: bool = True) -> DataFrame:  # fmt: skip
    """Add the cleaned text of ``column`` (text or HTML) as column ``output``, and with
    ``labels`` a column of that name holding every non-blank line's label, score and text.
    A null page gives a null result; a page that fails to clean gives null, never a failed job.
    ``headline=False`` leaves each article's headline out of ``output``.
    """
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    # Spark reads the UDFs' type hints to pick the iterator form; give it the real types
    # (this module's annotations are strings, so it imports without pandas).
    hints = {"batches": Iterator[pd.Series], "return": Iterator[pd.Series]}
    settings = dict(model=model, html_model=html_model, keep=tuple(keep), threshold=threshold, headline=headline)
    _cleaner(**settings)  # check the model and settings on the driver, with a clear error

    def clean_udf(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        cleaner = _cleaner(**settings)  # once per Python worker (cached across tasks)

        def one(page):
            if page is None:
                return None
            try:
                return cleaner.clean(page, mode=mode)
            except Exception:  # a bad page gives null, not a failed job
                return None

        for batch in batches:
            yield batch.map(one)

    clean_udf.__annotations__ = hints
    out = df.withColumn(output, pandas_udf(clean_udf, "string")(df[column]))
    if labels is None:
        return out

    def labels_udf(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        cleaner = _cleaner(**settings)

        def one(page):
            if page is None:
                return None
            try:
                return [
                    {"label": x.label, "score": float(x.score), "text": x.text}
                    for x in cleaner.label(page, mode=mode)
                    if x.label != "blank"
                ]
            except Exception:  # a bad page gives null, not a failed job
                return None

        for batch in batches:
            yield batch.map(one)

    labels_udf.__annotations__ = hints
    return out.withColumn(labels, pandas_udf(labels_udf, LABEL_SCHEMA)(df[column]))


def warc_records(path: str, data: bytes) -> list[tuple[str, str | None, str, str]]:
    """(file, url, kind, content) of the response (HTML) and conversion (WET text) records of
    one WARC/WET file's bytes; used with ``sparkContext.binaryFiles``."""
    import io

    from fastwarc.warc import ArchiveIterator, WarcRecordType

    from cleaner.decode import decode

    out = []
    wanted = WarcRecordType.response | WarcRecordType.conversion
    for rec in ArchiveIterator(io.BytesIO(data), record_types=wanted, parse_http=True):
        kind = "text" if rec.record_type == WarcRecordType.conversion else "html"
        out.append((path, rec.headers.get("WARC-Target-URI"), kind, decode(rec.reader.read())))
    return out
