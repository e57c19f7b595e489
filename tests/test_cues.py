from pathlib import Path

from cleaner import cues

EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "news-article-with-boilerplate.txt"


def test_bulk_cue_matching_agrees_with_the_per_line_rules():
    lines = [
        *EXAMPLE.read_text(encoding="utf-8").splitlines(),
        "12 Comments", "Lesen Sie auch", "By Jane Doe, Reuters", "Published 3 May 2019", "x" * 130 + " comments",
        "Jane Doe is a reporter covering energy.", "Related to this, the minister spoke.", "",
    ]  # fmt: skip
    found = cues.cue_lines(lines, [line.lower() for line in lines])
    assert found["comment"] == [i for i, t in enumerate(lines) if cues.comment_phrase(t)]
    assert found["related"] == [i for i, t in enumerate(lines) if cues.related_heading(t)]
    assert found["byline"] == [i for i, t in enumerate(lines) if cues.is_byline(t)]
    assert found["comment"] and found["related"] and found["byline"]  # the sample holds each cue
