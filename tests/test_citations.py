"""The book cites only what a reader has: the repository and the book itself.

The method's reference is the book's own page ``book/method.md`` ("The method, precisely"). No
chapter, and no file of the library, may point a reader to a document outside the repository (a
"paper-spec", a "spec section", a path under a ``shared/`` folder). Every ``{ref}`` target a page
uses must be a label defined in the book, and every ``{doc}`` target a page of it, so a broken
cross-reference fails here, cheaply, before the (slow) book build does.
"""
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
PAGES = sorted(BOOK.glob("*.ipynb")) + sorted(BOOK.glob("*.md"))

#: what points outside the repository: the spec document, its sections, the shared folder
OUTSIDE = re.compile(r"paper[-_ ]spec|\bspec(?:ification)?\.?,? sections?\b|\bthe spec\b|shared/", re.IGNORECASE)
LABEL = re.compile(r"^\(([^()\s]+)\)=[ \t]*$|^:name:[ \t]*(\S+)[ \t]*$", re.MULTILINE)
REF = re.compile(r"\{ref\}`(?:[^`<]*<([^`>]+)>|([^`<>]+))`")
DOC = re.compile(r"\{doc\}`(?:[^`<]*<([^`>]+)>|([^`<>]+))`")


def _cells(path: Path) -> list[tuple[str, str]]:
    """(where, text) for each cell of a notebook (every kind of cell), or the whole of a text file."""
    name = path.relative_to(ROOT).as_posix()
    if path.suffix != ".ipynb":
        return [(name, path.read_text(encoding="utf-8"))]
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for number, cell in enumerate(nb["cells"]):
        source = cell.get("source", "")
        out.append((f"{name} cell {number} ({cell['cell_type']})",
                    source if isinstance(source, str) else "".join(source)))
    return out


def _markdown(path: Path) -> list[tuple[str, str]]:
    """(where, text) of the parts MyST reads as markdown: markdown cells, or the whole page."""
    if path.suffix != ".ipynb":
        return _cells(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(where, text) for (where, text), cell in zip(_cells(path), nb["cells"])
            if cell["cell_type"] == "markdown"]


def _outside_citations(files) -> list[str]:
    found = []
    for path in files:
        for where, text in _cells(path):
            for number, line in enumerate(text.splitlines(), 1):
                match = OUTSIDE.search(line)
                if match:
                    found.append(f"{where}, line {number}: {match.group(0)!r} in {line.strip()[:100]!r}")
    return found


def test_there_are_pages_to_check():
    assert (BOOK / "method.md").exists(), "book/method.md (The method, precisely) is missing"
    assert len(PAGES) > 10


def test_chapters_cite_no_document_outside_the_book():
    """A chapter points to 'The method, precisely' (book/method.md), never to a spec a reader lacks."""
    found = _outside_citations(PAGES)
    assert not found, ("these pages cite a document that is not in the repository or the book; point "
                       "them to a section of book/method.md, e.g. {ref}`method-derivative`:\n" + "\n".join(found))


def test_library_cites_no_document_outside_the_repository():
    """The same for every text file of the library (docstrings, comments, messages)."""
    files = [p for p in sorted((ROOT / "snnbp").rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".md", ".txt", ".json")]
    assert files
    found = _outside_citations(files)
    assert not found, ("these library files cite a document that is not in the repository; cite the "
                       "book's page 'The method, precisely' (book/method.md) by its section instead:\n"
                       + "\n".join(found))


def _labels() -> dict[str, str]:
    labels = {}
    for path in PAGES:
        for where, text in _markdown(path):
            for match in LABEL.finditer(text):
                label = match.group(1) or match.group(2)
                assert label not in labels, f"label {label!r} is defined twice: {labels[label]} and {where}"
                labels[label] = where
    return labels


def test_every_ref_target_is_a_label_of_the_book():
    labels = _labels()
    sections = {"method-lif", "method-pooling", "method-encoding", "method-derivative", "method-output",
                "method-loss", "method-dropout", "method-init", "method-optimiser", "method-networks",
                "method-settings", "method-results"}
    assert sections <= {k for k, where in labels.items() if where == "book/method.md"}, \
        f"book/method.md lacks {sorted(sections - set(labels))}"
    missing = []
    for path in PAGES:
        for where, text in _markdown(path):
            for match in REF.finditer(text):
                target = (match.group(1) or match.group(2)).strip()
                if target not in labels:
                    missing.append(f"{where}: {{ref}}`{target}`")
    assert not missing, "no (label)= for these references:\n" + "\n".join(missing)


def test_every_doc_target_is_a_page_of_the_book():
    missing = []
    for path in PAGES:
        for where, text in _markdown(path):
            for match in DOC.finditer(text):
                target = (match.group(1) or match.group(2)).strip()
                page = (path.parent / target)
                if not any(page.with_name(page.name + suffix).exists() for suffix in (".ipynb", ".md")):
                    missing.append(f"{where}: {{doc}}`{target}`")
    assert not missing, "no such page for these references:\n" + "\n".join(missing)


def test_toc_lists_the_method_page_in_the_back_matter():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    back = next((part for part in toc["parts"] if part["caption"] == "Back matter"), None)
    assert back is not None, "_toc.yml has no 'Back matter' part"
    assert "book/method" in [chapter["file"] for chapter in back["chapters"]]


@pytest.mark.parametrize("text, cites", [
    ("(paper-spec section 3)", True), ("see ../shared/paper-spec.md", True), ("spec section 5", True),
    ("the spec does not state it", True), ("{ref}`method-dropout`", False), ("inspect.getsource", False),
    ("the shared memory", False),
])
def test_the_pattern_catches_outside_citations(text, cites):
    assert bool(OUTSIDE.search(text)) is cites
