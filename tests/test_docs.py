"""README.md is a short front door and docs/ holds the rest (issue 22, items 1, 2 and 4).

Checked here: README.md's size; that every relative Markdown link in README.md and docs/*.md
names an existing file and, with ``#anchor``, a heading of it (GitHub's slugs); that the quick
start keeps its two commands byte for byte; and that no command uses Kedro's deprecated
``--pipeline`` option (rule: see :func:`test_no_deprecated_pipeline_option`).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_CHARS = 10_000
# Other tooling (.ci/run, the main job's checks) relies on these two lines exactly.
QUICK_START = (
    "bash scripts/setup.sh && .venv/bin/kedro run --pipeline=hscnn",
    "bash scripts/setup.sh --test && .venv/bin/python -m pytest",
)
EXPECTED_PAGES = {
    "corpora.md",
    "hscnn.md",
    "altxml.md",
    "baselines.md",
    "losses.md",
    "models.md",
    "tracking.md",
    "configuration.md",
    "development.md",
    "results.md",
    "pipelines.md",
}

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`+[^`\n]*`+")
# [text](target) or [text](target "title"); images too. Autolinks and bare URLs are not links
# to files here.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
# The deprecated option with a value: --pipeline=x, --pipeline x, -p x (not --pipelines).
DEPRECATED = re.compile(r"(?<![\w-])(?:--pipeline(?:=|[ \t]+)(?=[\w<$])|-p[ \t]+(?=[\w<$]))")


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _blank_code(text: str) -> str:
    """``text`` with fenced blocks and inline code blanked out (newlines kept, so offsets and
    line numbers stay): links and headings live in the prose only."""

    def blank(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    return INLINE_CODE.sub(blank, FENCE.sub(blank, text))


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text lower-cased, every character that is
    not a letter, digit, ``_``, ``-`` or space removed, spaces turned into ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links keep their text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    text = text.strip().lower()
    kept = "".join(ch for ch in text if ch in "-_ " or unicodedata.category(ch)[0] in ("L", "N"))
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, repeated slugs numbered as GitHub does."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for match in HEADING.finditer(_blank_code(path.read_text(encoding="utf-8"))):
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def relative_links(path: Path) -> list[tuple[int, str]]:
    """(1-based line, target) of each link that is not a URL, in prose (not code)."""
    text = _blank_code(path.read_text(encoding="utf-8"))
    found = []
    for match in LINK.finditer(text):
        target = match.group(1)
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, mailto:, ...
            continue
        found.append((text.count("\n", 0, match.start()) + 1, target))
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """One message per link of ``path`` whose file or heading does not exist."""
    problems = []
    for line, target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        where = f"{path.relative_to(root)}: line {line}: link {target!r}"
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.is_file():
            problems.append(f"{where}: expected an existing file, {linked} is none")
        elif anchor and anchor not in anchors(linked):
            problems.append(
                f"{where}: expected a heading of {linked.relative_to(root)} with anchor "
                f"#{anchor}; its anchors are {sorted(anchors(linked))}"
            )
    return problems


def quick_start_block(text: str) -> str:
    """The first fenced block under the '## Quick start' heading of README.md."""
    section = re.search(r"^## Quick start[ \t]*\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert section, "README.md: expected a '## Quick start' section"
    block = re.search(r"^```[^\n]*\n(.*?)^```", section.group(1), re.MULTILINE | re.DOTALL)
    assert block, "README.md '## Quick start': expected a fenced code block"
    return block.group(1)


# --------------------------------------------------------------------------- helpers' tests


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Quick start", "quick-start"),
        ("HSCNN (METHODS §1)", "hscnn-methods-1"),
        ("Linear baselines (METHODS §2.3, §3.1)", "linear-baselines-methods-23-31"),
        ("Starting from data/", "starting-from-data"),
        ("The `kedro serve` server", "the-kedro-serve-server"),
        ("N_φ sweep", "n_φ-sweep"),
        ("A [linked](x.md) heading", "a-linked-heading"),
    ],
)
def test_github_slug(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_link_checker_finds_a_broken_file_and_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    other = tmp_path / "other.md"
    other.write_text("# Title\n\n## A part\n\n## A part\n", encoding="utf-8")
    page.write_text(
        "# Page\n\n[ok](other.md#a-part) [ok2](other.md#a-part-1) [self](#page)\n"
        "[web](https://example.org/x.md) `[code](missing.md)`\n"
        "```\n[fenced](missing.md)\n```\n"
        "[gone](missing.md) and [bad anchor](other.md#nope)\n",
        encoding="utf-8",
    )
    links = relative_links(page)
    assert [target for _, target in links] == [
        "other.md#a-part",
        "other.md#a-part-1",
        "#page",
        "missing.md",
        "other.md#nope",
    ]
    assert [line for line, _ in links] == [3, 3, 3, 8, 8]
    problems = broken_links(page, root=tmp_path)
    assert len(problems) == 2
    assert "missing.md" in problems[0] and "expected an existing file" in problems[0]
    assert "#nope" in problems[1] and "a-part-1" in problems[1]


def test_deprecated_option_pattern() -> None:
    for bad in ("kedro run --pipeline=hscnn", "kedro run --pipeline hscnn", "kedro run -p x"):
        assert DEPRECATED.search(bad), bad
    for good in (
        "kedro run --pipelines=hscnn",
        "kedro run --pipelines=a,b",
        "the older `--pipeline` option",
        "--pipeline-name",
        "kedro run --pipelines=<name>",
    ):
        assert not DEPRECATED.search(good), good


# --------------------------------------------------------------------------- the documents


def test_readme_is_a_short_front_door() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text) <= MAX_README_CHARS, (
        f"README.md: {len(text):,} characters, expected at most {MAX_README_CHARS:,}; "
        "move details to a page in docs/"
    )


def test_docs_has_one_page_per_topic() -> None:
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages >= EXPECTED_PAGES, f"docs/: missing pages {sorted(EXPECTED_PAGES - pages)}"
    readme_targets = {target.partition("#")[0] for _, target in relative_links(README)}
    unlinked = {f"docs/{name}" for name in pages} - readme_targets
    assert not unlinked, f"README.md: expected a link to each docs page, missing {sorted(unlinked)}"


def test_every_relative_link_resolves() -> None:
    problems = [problem for page in _pages() for problem in broken_links(page)]
    assert not problems, "\n".join(problems)


def test_quick_start_keeps_its_two_commands() -> None:
    block = quick_start_block(README.read_text(encoding="utf-8"))
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert commands == list(QUICK_START), (
        f"README.md '## Quick start': expected exactly the commands {QUICK_START}, got {commands}"
    )


def test_no_deprecated_pipeline_option() -> None:
    """Kedro 1.7 deprecates ``kedro run --pipeline``. Rule: ``--pipeline``/``-p`` with a value
    may appear only in the quick start's first command (kept as it is, other tooling runs it) and
    in ``kedro run-seeds`` commands, whose own option is ``--pipeline`` (it passes
    ``--pipelines`` on). A run-seeds command is recognised on its line: ``run-seeds`` comes
    before the option with no ``kedro run `` in between."""
    problems = []
    for page in _pages():
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
            if page == README and line == QUICK_START[0]:
                continue
            for match in DEPRECATED.finditer(line):
                before = line[: match.start()]
                seeds = before.rfind("run-seeds")
                if seeds >= 0 and "kedro run " not in before[seeds:]:
                    continue
                problems.append(
                    f"{page.relative_to(ROOT)}: line {number}: {match.group(0).strip()!r} "
                    f"is deprecated, expected --pipelines=<name>: {line.strip()}"
                )
    assert not problems, "\n".join(problems)


def test_readme_says_how_to_get_the_data() -> None:
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Getting the data\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert section, "README.md: expected a '## Getting the data' section"
    body = section.group(1)
    for needed in (
        "data/01_raw/<corpus>/",
        "LONGTAIL_MLTC_MIRROR",
        "../shared/datasets",
        "allow_download=false",
        "never download",
    ):
        assert needed in body, f"README.md '## Getting the data': expected {needed!r}"
