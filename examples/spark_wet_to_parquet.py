"""Clean a folder of Common Crawl WET (or WARC) files into Parquet with Apache Spark.

    pip install 'cleaner[spark,warc]'          # and a Java runtime (Spark's requirement)
    python examples/spark_wet_to_parquet.py INPUT_FOLDER OUTPUT.parquet [--labels]

On one machine this runs Spark in local mode on all cores. On a cluster, submit the same
file and install cleaner on every worker (e.g. a wheel or a packed virtualenv):

    spark-submit --master yarn --archives cleaner-env.tar.gz#env \\
        --conf spark.pyspark.python=./env/bin/python \\
        examples/spark_wet_to_parquet.py s3a://bucket/wet/ s3a://bucket/clean.parquet

Output columns: file, url, kind (text for WET conversions, html for WARC responses),
cleaned (the article text) and, with --labels, labels (every line's label, score and text).
"""

import argparse

from pyspark.sql import SparkSession

from cleaner.spark import clean_pages, warc_records


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
    records = files.flatMap(lambda item: warc_records(item[0], item[1]))
    pages = spark.createDataFrame(records, "file string, url string, kind string, content string")
    text = clean_pages(pages.filter("kind = 'text'"), "content", mode="text", labels="labels" if args.labels else None)
    html = clean_pages(pages.filter("kind = 'html'"), "content", mode="html", labels="labels" if args.labels else None)
    text.unionByName(html).drop("content").write.mode("overwrite").parquet(args.output)
    spark.stop()


if __name__ == "__main__":
    main()
