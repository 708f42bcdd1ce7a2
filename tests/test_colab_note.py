"""The Colab path is honest while the repository address is a placeholder.

``_config.yml`` holds the address once (``repository.url``); while it is a placeholder it is
repeated as ``sphinx.config.snnbp_placeholder_repository``, the README says so and every chapter
page carries a note under its title (``book/_ext/colab_note.py``). These tests fail when the
address changes in one place and not in the others.
"""
import importlib.util
import re
from pathlib import Path

import nbformat
import yaml
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
URL = CONFIG["repository"]["url"]
PLACEHOLDER = CONFIG["sphinx"]["config"].get("snnbp_placeholder_repository", "")
README = (ROOT / "README.md").read_text(encoding="utf-8")
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _extension():
    spec = importlib.util.spec_from_file_location("colab_note", ROOT / "book" / "_ext" / "colab_note.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_placeholder_is_the_configured_address_or_empty():
    assert PLACEHOLDER in ("", URL), (
        f"repository.url is {URL} but snnbp_placeholder_repository is {PLACEHOLDER}: if the new "
        "address is real, set snnbp_placeholder_repository to \"\" and drop the README's note; "
        "if not, repeat it there")
    assert "colab_note" in CONFIG["sphinx"]["local_extensions"]


def test_readme_says_what_the_config_says():
    says_placeholder = "The address is a placeholder" in README
    assert says_placeholder == bool(PLACEHOLDER), (
        "the README's placeholder note and _config.yml's snnbp_placeholder_repository disagree")
    if PLACEHOLDER:
        assert PLACEHOLDER in README
    addresses = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", README))
    assert addresses <= {URL}, f"the README names {addresses - {URL}}, _config.yml {URL}"


def test_every_install_cell_uses_the_address_and_skips_an_installed_snnbp():
    for path in NOTEBOOKS:
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert f"git+{URL}@" in first.source, path.name
        assert 'find_spec("snnbp") is None' in first.source, (
            f"{path.name}: the install cell must leave an snnbp installed from a local copy alone")
        if PLACEHOLDER:
            assert "placeholder" in first.source.lower(), f"{path.name}: say the address is a placeholder"


def _page(title="Chapter"):
    document = new_document("<test>", get_default_settings(Parser))
    section = nodes.section(ids=["chapter"])
    section += nodes.title(text=title)
    section += nodes.paragraph(text="First paragraph.")
    document += section
    return document


class _App:
    def __init__(self, placeholder, source):
        self.config = type("Config", (), {"snnbp_placeholder_repository": placeholder})()
        self.env = type("Env", (), {"doc2path": staticmethod(lambda name: f"/book/{name}{source}")})()


def test_the_note_goes_under_the_title_of_every_notebook_page_only():
    note = _extension()
    page = _page()
    note.add_note(_App("https://github.com/x/y", ".ipynb"), page, "book/02_lif_neuron")
    section = next(iter(page.findall(nodes.section)))
    assert isinstance(section[0], nodes.title)
    assert note.CLASS in section[1]["classes"]
    text = section[1].astext()
    assert "https://github.com/x/y" in text and "placeholder" in text and "pip install" in text
    for placeholder, source in (("", ".ipynb"), ("https://github.com/x/y", ".md")):
        other = _page()
        note.add_note(_App(placeholder, source), other, "book/method")
        assert not list(other.findall(
            lambda n: isinstance(n, nodes.Element) and note.CLASS in n["classes"])), (placeholder, source)


def test_the_page_note_and_the_readme_give_the_same_instructions():
    note = _extension()
    text = " ".join(note.note_paragraphs(URL))
    command = "unzip -q snnbp.zip && pip install --quiet --no-deps ./snnbp"
    assert command in text and command in README
