"""Apache Spark: clean a DataFrame of pages where one machine is not enough. Example::

    from cleaner.spark import clean_pages
    pages = spark.read.parquet("pages.parquet")          # columns: url, html
    clean_pages(pages, "html", labels="line_labels").write.parquet("clean.parquet")

Built on Spark's Arrow-backed pandas UDFs (iterator form), so each Python worker loads the
model once and cleans pages in Arrow batches. Needs ``pip install 'cleaner[spark]'`` and a
Java runtime; ``examples/spark_wet_to_parquet.py`` is a runnable job (local or cluster).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from functools import lru_cache

try:
    import pandas as pd
    import pyarrow  # noqa: F401  (Spark's pandas UDFs need it)
    from pyspark.sql import DataFrame
    from pyspark.sql.functions import pandas_udf
except ImportError as exc:
    raise ImportError(
        f"cleaner.spark needs pyspark, pandas and pyarrow ({(exc.name or '?').split('.')[0]} is missing): "
        "pip install 'cleaner[spark]'"
    ) from exc

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
    ``headline=False`` leaves each article's headline out of ``output``. ``mode`` is "auto"
    (HTML detected), "text" or "html"; a bad mode or setting raises ValueError here, on the
    driver, before any task runs.
    """
    # Spark reads the UDFs' type hints to pick the iterator form; give it the real types
    # (this module's annotations are strings).
    hints = {"batches": Iterator[pd.Series], "return": Iterator[pd.Series]}
    settings = dict(model=model, html_model=html_model, keep=tuple(keep), threshold=threshold, mode=mode,
                    headline=headline)  # fmt: skip
    _cleaner(**settings)  # check the models and settings (mode too) on the driver, with a clear error

    def clean_udf(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        cleaner = _cleaner(**settings)  # once per Python worker (cached across tasks)

        def one(page):
            if page is None:
                return None
            try:
                return cleaner.clean(page)
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
                    for x in cleaner.label(page)
                    if x.label != "blank"
                ]
            except Exception:  # a bad page gives null, not a failed job
                return None

        for batch in batches:
            yield batch.map(one)

    labels_udf.__annotations__ = hints
    return out.withColumn(labels, pandas_udf(labels_udf, LABEL_SCHEMA)(df[column]))


# The rows of warc_records: one per response or conversion record, and one per file that
# cannot be read further; kind is "text" or "html" (how to clean content), null with an error.
WARC_SCHEMA = "id string, url string, source string, kind string, content string, error string"


def warc_records(
    path: str, data: bytes
) -> Iterator[tuple[str | None, str | None, str, str | None, str | None, str | None]]:
    """Rows (id, url, source, kind, content, error) of one WARC/WET file's bytes, as
    ``cleaner batch`` reads them (the same function, :func:`cleaner.batch.warc_documents`):
    a page's decoded text with ``kind`` "html" or "text" (text/plain and WET conversions are
    text), or an ``error`` saying why there is none: an image or an HTTP 404 is no page, a
    record cut short or a damaged file is reported, never a failed task. Use with
    ``sparkContext.binaryFiles`` and :data:`WARC_SCHEMA`; see examples/spark_wet_to_parquet.py.
    """
    from cleaner.batch import page_text, warc_documents

    for doc in warc_documents(io.BytesIO(data), path):
        doc_id = None if doc.id is None else str(doc.id)
        if doc.error is not None:
            yield (doc_id, doc.url, doc.source, None, None, doc.error)
        else:
            text, kind = page_text(doc)
            yield (doc_id, doc.url, doc.source, kind, text, None)
