"""Clean a folder of Common Crawl WET (or WARC) files into Parquet with Apache Spark.

    pip install 'cleaner[spark,warc]'          # and a Java runtime (Spark's requirement)
    python examples/spark_wet_to_parquet.py INPUT_FOLDER OUTPUT.parquet [--labels]

On one machine this runs Spark in local mode on all cores. On a cluster, submit the same
file and install cleaner on every worker (e.g. a wheel or a packed virtualenv):

    spark-submit --master yarn --archives cleaner-env.tar.gz#env \\
        --conf spark.pyspark.python=./env/bin/python \\
        examples/spark_wet_to_parquet.py s3a://bucket/wet/ s3a://bucket/clean.parquet

Output columns: id (the WARC record id), url, source (file:record number), kind (text for
WET conversions and text/plain responses, html for HTML), cleaned (the article text), with
--labels labels (every line's label, score and text), and error: why a record has no
cleaned text (an image or an HTTP 404 is no page; a record cut short, or a file that cannot
be read further, is reported the same way instead of failing the job).
"""

import argparse

from pyspark.sql import SparkSession
from pyspark.sql.functions import lit

from cleaner.spark import LABEL_SCHEMA, WARC_SCHEMA, clean_pages, warc_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="folder (or glob) of .warc/.wet files, gzipped or not")
    parser.add_argument("output", help="Parquet output path")
    parser.add_argument("--labels", action="store_true", help="add the per-line labels column")
    parser.add_argument("--master", default=None, help="Spark master (default: local[*] unless submitted)")
    args = parser.parse_args()
    builder = SparkSession.builder.appName("cleaner-wet-to-parquet")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    files = spark.sparkContext.binaryFiles(args.input)
    records = spark.createDataFrame(files.flatMap(lambda item: warc_records(item[0], item[1])), WARC_SCHEMA)
    labels = "labels" if args.labels else None
    pages = records.filter("error is null")
    text = clean_pages(pages.filter("kind = 'text'"), "content", mode="text", labels=labels)
    html = clean_pages(pages.filter("kind = 'html'"), "content", mode="html", labels=labels)
    errors = records.filter("error is not null").withColumn("cleaned", lit(None).cast("string"))
    if labels:
        errors = errors.withColumn(labels, lit(None).cast(LABEL_SCHEMA))
    out = text.unionByName(html).unionByName(errors).drop("content")
    out.write.mode("overwrite").parquet(args.output)
    spark.stop()


if __name__ == "__main__":
    main()
