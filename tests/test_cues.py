import re
from pathlib import Path

from cleaner import cues

EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "news-article-with-boilerplate.txt"


def test_bulk_cue_matching_agrees_with_the_per_line_rules():
    lines = [
        *EXAMPLE.read_text(encoding="utf-8").splitlines(),
        "12 Comments", "Lesen Sie auch", "By Jane Doe, Reuters", "Published 3 May 2019", "x" * 130 + " comments",
        "Jane Doe is a reporter covering energy.", "Related to this, the minister spoke.", "",
        "İstanbul: 3 Comments", "Comments", "The plan, in short …", "Weiterlesen »", "x" * 30 + " more.)",
        "Read more about it", "Read more",
    ]  # fmt: skip
    found = cues.cue_lines(lines)
    rules = {"comment": cues.comment_phrase, "related": cues.related_heading, "byline": cues.is_byline,
             "read_more": cues.reads_more}  # fmt: skip
    for cue, says in rules.items():
        assert found[cue].tolist() == [says(t) for t in lines], cue
        assert found[cue].any()  # the sample holds each cue
    # "İ" lower-cases to two characters: the lines after it are still found.
    assert found["comment"][lines.index("Comments")] and found["read_more"][lines.index("Read more")]


def test_scan_forms_can_rewrite_every_rule():
    # The one-scan forms rewrite \s and \W to leave out "\n"; inside a [...] class that
    # rewrite would break the pattern, so the rules keep them outside classes.
    in_class = re.compile(r"\[(?:[^\]\\]|\\.)*\\[sW](?:[^\]\\]|\\.)*\]")
    for _, pattern, _, _ in cues._RULES:
        assert not in_class.search(pattern.pattern), pattern.pattern[:60]
    assert not in_class.search(cues.READ_MORE.pattern)
