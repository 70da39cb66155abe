"""The facts the code cites ship with the code: every reference under ``src/`` and ``heads/`` resolves in a clone.

The rules, applied to every text file under ``src/`` and ``heads/`` (and the root ``README.md``):

1. **No reference outside the repository**: the text ``shared/`` (the old fact files) and ``DESIGN.md`` never
   appear. Their content lives in ``docs/``.
2. **No issue number of this project's tracker**:

   * ``issue 9``, ``issues 10-13``: the word *issue(s)* followed by a number without ``#`` is always this project's
     tracker (that is how it was cited), so it fails;
   * ``#16``: a ``#`` followed by digits is another project's tracker only when that project is named right before
     it: ``LGI issue #16``, ``gtad issues #12 #26``, ``OpenTAD #29``, ``MCG-NJU/MMN #2``, ``owner/repo#2``. The name
     must be in :data:`FOREIGN_TRACKERS` or have the ``owner/repo`` form; the words *issue(s)*, *PR(s)*, *pull*,
     *and*, *or* and other ``#N`` of the same list may stand between name and number. Anything else fails.
   * Not issue numbers: a ``#`` directly after a backtick or quote (a literal token such as ```#1```), and
     colours (``#`` + 3 to 8 hex digits that include a letter, ``"#1f77b4"``; ``#\\d+\\b`` does not match them).
3. **Every cited page exists**: a path ``docs/<...>.md`` is taken from the repository root (``../`` at its start:
   from the citing file's folder).
4. **Every cited section and anchor exists**: ``docs/<page>.md#anchor`` needs ``<a id="anchor">`` or a heading with
   that slug on the page; a ``§N.M`` needs a heading numbered ``N.M`` on the page. A ``§`` belongs to the closest
   ``docs/<page>.md`` before it in the same file (``docs/heads/tan2d-lgi.md §1.5, §1.12 and §2.2``); a ``§`` with
   no page before it fails. Each number carries its own ``§``.

The links between the ``docs/`` pages themselves (``[text](path#anchor)``) must resolve too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("src", "heads")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".cfg", ".ini", ".json", ".rst", ".ipynb"}
SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints", "build", "dist", ".pytest_cache"}

#: Projects whose trackers the code may cite by ``#N`` (lower case). Add a name here to cite a new tracker.
FOREIGN_TRACKERS = {
    "2d-tan", "actionformer", "activitynet", "bmn", "bsn", "bsn.pytorch", "crosstask", "g-tad", "gtad", "jsonargparse", "lgi",
    "lightning", "mmaction2", "mmn", "numpy", "opentad", "pyav", "pytorch", "pytorch-lightning", "timm",
    "torchtext", "torchvision", "tsm", "tsp", "videox", "viga", "vslnet",
}
_BETWEEN = {"issue", "issues", "pr", "prs", "pull", "and", "or"}

FORBIDDEN = [
    (re.compile(r"shared/"), "a path outside the repository (shared/): cite docs/ instead"),
    (re.compile(r"DESIGN\.md"), "the old design file (DESIGN.md): cite docs/design.md instead"),
    (re.compile(r"\bissues?\s+\d", re.IGNORECASE), "this project's issue number: cite docs/decisions.md#<anchor>"),
]
_HASH_NUMBER = re.compile(r"(?<![\w&`'\"])#(\d+)\b")
_TOKEN = re.compile(r"#\d+|[\w.\-]+(?:/[\w.\-]+)*")
_OWNER_REPO = re.compile(r"[\w.\-]+/[\w.\-]+")
_DOCS_PATH = re.compile(r"(?<![\w/.-])((?:\.\./)*docs/[\w./-]*?\.md)(#[\w-]+)?")
_SECTION = re.compile(r"§\s?(\d+(?:\.\d+)*)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$", re.MULTILINE)
_NUMBERED = re.compile(r"(\d+(?:\.\d+)*)\.?(?:\s|$)")
_ANCHOR_ID = re.compile(r"""<a\s+(?:id|name)=["']([\w-]+)["']""")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _is_foreign(line: str, start: int) -> bool:
    """Whether the ``#N`` at ``line[start]`` is qualified by another project's name (rule 2)."""
    for token in reversed(_TOKEN.findall(line[:start])):
        low = token.lower().strip(".")
        if re.fullmatch(r"#\d+", token) or low in _BETWEEN:
            continue
        return low in FOREIGN_TRACKERS or bool(_OWNER_REPO.fullmatch(low))
    return False


def forbidden_references(text: str) -> list[str]:
    """Rules 1 and 2 on one file's text: ``"line N: <problem>: <line>"`` for each violation."""
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        for pattern, why in FORBIDDEN:
            if pattern.search(line):
                problems.append(f"line {number}: {why}: {line.strip()}")
        for match in _HASH_NUMBER.finditer(line):
            if not _is_foreign(line, match.start()):
                problems.append(f"line {number}: '#{match.group(1)}' is not qualified by another project's name "
                                f"(this project's issue number?): {line.strip()}")
    return problems


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def page_targets(page: Path) -> tuple[set[str], set[str]]:
    """The section numbers (``"1.2"``) and the anchors (ids and heading slugs) of a Markdown page."""
    text = page.read_text(encoding="utf-8")
    sections, anchors = set(), set(_ANCHOR_ID.findall(text))
    for heading in _HEADING.findall(text):
        anchors.add(slug(heading))
        numbered = _NUMBERED.match(heading)
        if numbered:
            sections.add(numbered.group(1))
    return sections, anchors


def broken_citations(text: str, source: Path, root: Path) -> list[str]:
    """Rules 3 and 4 on one file's text (``source`` is where it lives, for ``../`` paths)."""
    problems: list[str] = []
    cache: dict[Path, tuple[set[str], set[str]]] = {}
    events = [(m.start(), "page", m) for m in _DOCS_PATH.finditer(text)]
    events += [(m.start(), "section", m) for m in _SECTION.finditer(text)]
    current: tuple[str, Path | None] | None = None
    for position, kind, match in sorted(events, key=lambda e: e[0]):
        line = text.count("\n", 0, position) + 1
        if kind == "page":
            cited = match.group(1)
            page = (source.parent / cited if cited.startswith("../") else root / cited).resolve()
            current = (cited, page if page.is_file() else None)
            if current[1] is None:
                problems.append(f"line {line}: {cited} does not exist")
                continue
            anchor = match.group(2)
            if anchor:
                targets = cache.setdefault(page, page_targets(page))
                if anchor[1:] not in targets[1]:
                    problems.append(f"line {line}: {cited} has no anchor {anchor}")
        else:
            section = match.group(1)
            if current is None:
                problems.append(f"line {line}: §{section} cites no page (no docs/<page>.md before it in the file)")
            elif current[1] is not None:
                targets = cache.setdefault(current[1], page_targets(current[1]))
                if section not in targets[0]:
                    problems.append(f"line {line}: {current[0]} has no section §{section}")
    return problems


def scanned_files(root: Path = ROOT) -> list[Path]:
    files = [root / "README.md"]
    for top in SCANNED:
        for path in sorted((root / top).rglob("*")):
            parts = set(path.relative_to(root).parts)
            if (path.is_file() and path.suffix in TEXT_SUFFIXES and not parts & SKIPPED_DIRS
                    and not any(p.endswith(".egg-info") for p in parts)):
                files.append(path)
    return files


# --- the repository --------------------------------------------------------------------------------------------


def test_the_scan_sees_the_code_and_the_heads():
    files = {p.relative_to(ROOT).as_posix() for p in scanned_files()}
    assert "src/bsp_lightning/heads/module.py" in files
    assert "heads/gtad/README.md" in files
    assert "heads/lgi/src/bsp_lgi/configs/lgi_charades.yaml" in files


def test_no_reference_outside_the_repository_and_no_issue_number():
    problems = [f"{path.relative_to(ROOT)}: {p}" for path in scanned_files()
                for p in forbidden_references(path.read_text(encoding="utf-8", errors="replace"))]
    assert not problems, "\n".join(problems)


def test_every_cited_docs_page_section_and_anchor_exists():
    problems = [f"{path.relative_to(ROOT)}: {p}" for path in scanned_files()
                for p in broken_citations(path.read_text(encoding="utf-8", errors="replace"), path, ROOT)]
    assert not problems, "\n".join(problems)


def test_the_docs_pages_link_to_pages_and_anchors_that_exist():
    problems = []
    pages = sorted((ROOT / "docs").rglob("*.md"))
    assert {"design.md", "decisions.md", "README.md", "gtad-actionness.md", "tan2d-lgi.md"} <= {p.name for p in pages}
    for page in pages:
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+://|mailto:", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (page.parent / file_part).resolve() if file_part else page
            if not linked.exists():
                problems.append(f"{page.relative_to(ROOT)}: {target}: no such file")
            elif anchor and linked.suffix == ".md" and anchor not in page_targets(linked)[1]:
                problems.append(f"{page.relative_to(ROOT)}: {target}: no such anchor")
    assert not problems, "\n".join(problems)


# --- the rules on hand-written cases ---------------------------------------------------------------------------


@pytest.mark.parametrize("line", [
    "facts in ``../shared/heads/tan2d-lgi.md`` section 1.5",
    "The frame contract (shared/DESIGN.md): frame k",
    "a head sees features only (DESIGN.md, \"Heads\")",
    "Partial files (issue 9): the last batch",
    "# the heads of stage 3 (issues 10-13)",
    "Bad input (Issue 12 §5)",
    "as decided in #16",
    "see the issue #16 for why",
    "(bsp-lightning #16)",
])
def test_forbidden_references_are_found(line):
    assert len(forbidden_references(line)) >= 1


@pytest.mark.parametrize("line", [
    "the official setting learns them from scratch (LGI issue #16).",
    "maintainer, gtad issues #12 #26 #48; flow has one frame fewer",
    "the ActivityNet loader (OpenTAD #29)",
    "community practice (MCG-NJU/MMN #2)",
    "see pytorch/vision#1234",
    "TSP issues #8, #9 and #10",
    'colours = ["#9e9e9e", "#1f77b4", "#d62728"]',
    "tokens such as `#1` keep their punctuation",
    "2-core shared CPU, 2 shared cores",
    "html &#39; entity",
])
def test_allowed_references_pass(line):
    assert forbidden_references(line) == []


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "docs" / "heads").mkdir(parents=True)
    (tmp_path / "docs" / "heads" / "page.md").write_text(
        "# Title\n\n## 1. First\n\n### 1.2 Inputs\n\n### 1.12 GloVe\n\n## 2. Second\n")
    (tmp_path / "docs" / "log.md").write_text('# Log\n\n<a id="partial-files"></a>\n### 2026-11-30 · Partial files\n')
    (tmp_path / "src").mkdir()
    return tmp_path


@pytest.mark.parametrize("text", [
    "``docs/heads/page.md`` §1.2",
    "``docs/heads/page.md`` §1.2, §1.12 (2D-TAN) and §2 (LGI)",
    "`docs/heads/page.md` §1)",
    "``docs/heads/page.md``\n§1.2, §2",
    "(docs/log.md#partial-files)",
    "docs/log.md#2026-11-30--partial-files",
    "see ../docs/log.md#partial-files",
])
def test_citations_that_resolve(repo, text):
    assert broken_citations(text, repo / "src" / "module.py", repo) == []


@pytest.mark.parametrize("text, problem", [
    ("``docs/heads/missing.md`` §1", "does not exist"),
    ("``docs/heads/page.md`` §1.3", "no section §1.3"),
    ("``docs/heads/page.md`` §3", "no section §3"),
    ("``docs/heads/page.md`` §1.2 and ``docs/log.md`` §1.2", "docs/log.md has no section §1.2"),
    ("docs/log.md#partial-file", "no anchor #partial-file"),
    ("a section without a page: §1.2", "cites no page"),
])
def test_citations_that_do_not_resolve(repo, text, problem):
    problems = broken_citations(text, repo / "src" / "module.py", repo)
    assert len(problems) == 1 and problem in problems[0], problems


def test_slug_follows_github():
    assert slug("2026-11-30 · Partial files") == "2026-11-30--partial-files"
    assert slug("1.2 Input features") == "12-input-features"
