from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fixtures" / "examples" / "news-article-with-boilerplate.txt"


@pytest.fixture(scope="session")
def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def example_labels() -> list[str]:
    return EXAMPLE.with_suffix(".labels").read_text(encoding="utf-8").split("\n")
