"""Sphinx extension: while the book's repository address is a placeholder, every chapter page says
so under its title, with what to do instead of pressing the Colab button.

``_config.yml`` sets the address once (``repository.url``: the launch buttons and every chapter's
install cell use it) and, while no public repository exists at that address, repeats it as
``sphinx.config.snnbp_placeholder_repository``. A page built from a notebook then carries a
visible note (class ``snnbp-colab-note``). ``tests/test_colab_note.py`` fails if the two
addresses, the README's note and the install cells disagree.
"""
from __future__ import annotations

from docutils import nodes

CLASS = "snnbp-colab-note"


def note_paragraphs(url: str) -> list[str]:
    """The note's text (plain sentences; the README says the same)."""
    return [
        f"The Colab button and each chapter's install cell point at {url}, which is a "
        "placeholder: the book has no public repository yet, so the button ends on a "
        "missing page and the install cell cannot download snnbp.",
        "To run a chapter on Colab: download it with the download button at the top of "
        "this page (.ipynb), upload it to Colab (File, Upload notebook), upload your copy of "
        "the snnbp repository as a zip file and install it in a first cell with "
        "!unzip -q snnbp.zip && pip install --quiet --no-deps ./snnbp (the folder that "
        "holds pyproject.toml). To run it on your own computer: in your copy of the "
        "repository, make book, or pip install -e . and open the notebook in Jupyter.",
    ]


def note_node(url: str) -> nodes.admonition:
    box = nodes.admonition(classes=["warning", CLASS])
    box += nodes.title(text="Colab: the repository address is a placeholder")
    for text in note_paragraphs(url):
        box += nodes.paragraph(text=text)
    return box


def add_note(app, doctree, docname: str) -> None:
    url = app.config.snnbp_placeholder_repository
    if not url or not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    titles = [i for i, child in enumerate(section.children) if isinstance(child, nodes.title)]
    section.insert(titles[0] + 1 if titles else 0, note_node(url))


def setup(app):
    app.add_config_value("snnbp_placeholder_repository", "", "html")
    app.connect("doctree-resolved", add_note)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
