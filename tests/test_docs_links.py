"""The README and docs/*.md stand alone: every link and every file they name is in the repository.

- A Markdown link (inline, image, reference definition) or an HTML href/src that is not a URL or an
  anchor points, relative to its page, to a file or directory that exists inside the repository.
- No path mentioned anywhere in the pages climbs out of the repository (`../shared/…`), and one
  that climbs within it names a file that exists.
- A document named in the text by its upper-case name (`docs/METRICS.md`, `CONTRACT.md`) and a path
  written in code under one of the repository's top-level directories (`app/core/definitions.py`)
  exist, read from the repository's root as the pages write them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

_INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
_HTML = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.I)
# A path climbing out of the page's directory, anywhere in the text.
_CLIMB = re.compile(r"(?<![\w.])\.\./[^\s`)\]>\"']*")
# Documents named by their upper-case file name, optionally under directories.
_DOC_NAME = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[A-Z][A-Z0-9_]*\.md)\b")
_CODE = re.compile(r"`([^`\n]+)`")
_TOP_DIRS = ("app/", "docs/", "tests/", "migrations/", "benchmarks/", "scripts/", ".ci/")
# Placeholders and wildcards in a path written in code: a pattern, not one file.
_PATTERN_CHARS = re.compile(r"[*<>{}…?\[\]]")


def links(text: str) -> list[str]:
    """The link targets of a page that are not URLs or anchors, without their #fragment or ?query."""
    found = [*_INLINE.findall(text), *_DEFINITION.findall(text), *_HTML.findall(text)]
    return [re.split(r"[#?]", t, maxsplit=1)[0] for t in found if not _EXTERNAL.match(t)]


def named_paths(text: str) -> list[str]:
    """Repository paths a page names as text: upper-case documents and paths in code spans."""
    out = [m for m in _DOC_NAME.findall(text) if not m.startswith("../")]
    for span in _CODE.findall(text):
        for word in re.split(r"[\s,;:()]+", span):
            word = word.rstrip(".")
            if word.startswith(_TOP_DIRS) and not _PATTERN_CHARS.search(word):
                out.append(word.split("#", 1)[0])
    return out


def inside(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


def problems(page: Path, text: str) -> list[str]:
    where = page.relative_to(ROOT)
    out: list[str] = []
    for target in links(text):
        resolved = page.parent / target
        if target.startswith("/") or not inside(resolved):
            out.append(f"{where}: link {target!r} leaves the repository")
        elif not resolved.exists():
            out.append(f"{where}: link {target!r} points to nothing")
    for climb in _CLIMB.findall(text):
        resolved = page.parent / climb
        if not inside(resolved):
            out.append(f"{where}: {climb!r} leaves the repository")
        elif not resolved.exists():
            out.append(f"{where}: names {climb!r}, which is not in the repository")
    for name in named_paths(text):
        if not (ROOT / name).exists() and not (page.parent / name).exists():
            out.append(f"{where}: names {name!r}, which is not in the repository")
    return out


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_link_and_named_file_is_in_the_repository(page: Path) -> None:
    assert problems(page, page.read_text(encoding="utf-8")) == []


def test_the_api_is_described_in_the_repository_and_linked_from_the_readme() -> None:
    assert (ROOT / "docs" / "API.md").is_file()
    assert "docs/API.md" in links((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_check_finds_each_kind_of_escape() -> None:
    page = ROOT / "docs" / "X.md"
    text = "\n".join(
        [
            "See [the contract](../../shared/CONTRACT.md), [metrics](METRICS.md#rates) and "
            "[home](https://example.org/x.md); ![logo](img/none.png).",
            '<a href="./GONE.md">gone</a> [anchor](#here)',
            "[ref]: ../README.md",
            "[abs]: /etc/passwd",
            "The contract: `../shared/CONTRACT.md`; rules in docs/NATIONAL_INDEX.md.",
            "Code in `app/core/definitions.py`, `app/nothing.py`, `app/reference/data/agencies-<code>.json`.",
        ]
    )
    assert problems(page, text) == [
        "docs/X.md: link '../../shared/CONTRACT.md' leaves the repository",
        "docs/X.md: link 'img/none.png' points to nothing",
        "docs/X.md: link '/etc/passwd' leaves the repository",
        "docs/X.md: link './GONE.md' points to nothing",
        "docs/X.md: '../../shared/CONTRACT.md' leaves the repository",
        "docs/X.md: names '../shared/CONTRACT.md', which is not in the repository",
        "docs/X.md: names 'docs/NATIONAL_INDEX.md', which is not in the repository",
        "docs/X.md: names 'app/nothing.py', which is not in the repository",
    ]
