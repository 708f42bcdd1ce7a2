"""The book: chapters are committed clean, point Colab at the configured repository, and build.

The slow tests build the whole book once (executing every chapter in the quick profile) with
Sphinx warnings as errors, check that the membrane-explorer page holds the kernel-free figure,
and open the pages in headless Chromium with the network cut off: every formula must be typeset
by the MathJax shipped with the book (no raw TeX left as visible text, no TeX error).
"""
import html.parser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def _toc_files(node):
    if isinstance(node, dict):
        if "file" in node:
            yield node["file"]
        for value in node.values():
            yield from _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from _toc_files(item)


def test_there_are_chapters():
    names = {p.stem for p in NOTEBOOKS}
    assert {"01_preface", "02_lif_neuron", "03_spike_encoding", "04_derivative", "05_spike_bptt"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_outputs_or_widget_state(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata, "widget state is committed: clear it"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: a code cell has outputs; commit notebooks without outputs")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_structure(path):
    """Colab install cell first (only on Colab, the configured repository), then a parameters cell."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = code[0].source
    url, branch = CONFIG["repository"]["url"], CONFIG["repository"]["branch"]
    assert '"google.colab" in sys.modules' in first
    assert f"git+{url}@{branch}" in first, f"{path.name}: the install cell must use {url}@{branch} (_config.yml)"
    assert "--no-deps" in first                          # never reinstall Colab's torch / matplotlib
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "SNNBP_PROFILE" in params[0].source


def test_toc_lists_every_chapter():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = set(_toc_files(toc))
    for path in NOTEBOOKS:
        assert f"book/{path.stem}" in listed, f"{path.name} is not in _toc.yml"


#: The code column at a 1280-px window, in characters. Measured in headless Chromium on the built
#: book (window 1280 px wide, its 15-px scrollbar, sphinx-book-theme with _static/snnbp.css): a
#: code cell's <pre> is 672 px wide, one folded in a "click to show" block 654 px; 10 px of padding
#: a side and 7.12 px a character (11.84 px DejaVu Sans Mono) leave room for 91 and 89 characters.
#: The narrower, 89, less one for rounding. tests/test_layout.py holds the stylesheet to these numbers.
CODE_COLUMN = 88


def test_code_lines_fit_the_page():
    """Every chapter: no code line over :data:`CODE_COLUMN` characters (what fits at 1280 px)."""
    long = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for number, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                long += [f"{path.name} cell {number}: {len(line)} chars" for line in cell.source.splitlines()
                         if len(line) > CODE_COLUMN]
    assert not long, "\n".join(long)


def test_install_and_parameters_cells_are_collapsed_on_the_web_page():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        for cell in (code[0], *params):
            assert "hide-cell" in cell.metadata.get("tags", []), f"{path.name}: tag the cell hide-cell"


def test_mathjax_is_served_from_the_book():
    """No CDN: _config.yml points MathJax at the copy book/_ext/mathjax_local.py ships in _static."""
    sphinx = CONFIG["sphinx"]
    assert sphinx["config"]["mathjax_path"].startswith("mathjax/")
    assert "mathjax_local" in sphinx["local_extensions"]
    assert (ROOT / "book" / "_ext" / "mathjax_local.py").exists()


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """Build the whole book once (warnings as errors); returns the html folder."""
    build = tmp_path_factory.mktemp("book") / "build"
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or "jupyter-book"
    env = dict(os.environ, SNNBP_PROFILE="quick", SNNBP_LIVE="0")
    proc = subprocess.run([jb, "build", str(ROOT), "--path-output", str(build), "--warningiserror", "--nitpick",
                           "--keep-going"], capture_output=True, text=True, env=env, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return build / "_build" / "html"


@pytest.mark.slow
def test_book_builds_and_explorer_is_interactive(built_book):
    """The explorer page must hold a self-drawing figure; no chapter shows a traceback."""
    html_dir = built_book
    page = (html_dir / "book" / "02_lif_neuron.html").read_text(encoding="utf-8")
    assert "snnbp_lookup" in page and "plotly_sliderchange" in page and page.count('"method":"skip"') >= 4
    assert "input current I" in page
    assert (html_dir / "_static" / "plotly.min.js").exists() and "_static/plotly.min.js" in page
    assert "colab.research.google.com" in page
    with_figures = {"01_preface", "03_spike_encoding", "04_derivative", "05_spike_bptt", "06_deep_vgg",
                    "07_residual", "07b_deep_cifar", "09_efficiency", "10_cost"}
    for path in NOTEBOOKS:
        text = (html_dir / "book" / f"{path.stem}.html").read_text(encoding="utf-8")
        assert "Traceback" not in text, path.stem
        assert not re.search(r"\berror\b.*NotImplementedError", text), path.stem
        if path.stem in with_figures:
            assert "snnbp-figure" in text, f"{path.stem} shows no interactive figure"


@pytest.mark.slow
def test_every_chapter_page_says_the_colab_address_is_a_placeholder(built_book):
    """While _config.yml names a placeholder repository, each built chapter page shows the note
    (book/_ext/colab_note.py) with that address, under the page's title and before any code."""
    url = CONFIG["sphinx"]["config"].get("snnbp_placeholder_repository")
    if not url:
        pytest.skip("the book has a public repository address: no placeholder note")
    assert url == CONFIG["repository"]["url"]
    for path in NOTEBOOKS:
        text = (built_book / "book" / f"{path.stem}.html").read_text(encoding="utf-8")
        note = text.find("snnbp-colab-note")
        assert note > 0, f"{path.stem}: no Colab placeholder note on the page"
        assert url in text[note:note + 3000], f"{path.stem}: the note does not name {url}"
        first_code = text.find('class="cell docutils container"')
        assert first_code < 0 or note < first_code, f"{path.stem}: the note comes after code"


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


class _VisibleText(html.parser.HTMLParser):
    """Text a reader sees: skips scripts, styles, code blocks and MathJax's own output."""

    SKIP = {"script", "style", "pre", "code", "mjx-container", "textarea", "noscript", "svg"}

    def __init__(self):
        super().__init__()
        self.depth, self.parts, self.typeset, self.errors = 0, [], 0, 0

    def handle_starttag(self, tag, attrs):
        if tag == "mjx-container":
            self.typeset += 1
        if tag == "mjx-merror":
            self.errors += 1
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def rendered_dom(browser, page, profile):
    """The page's DOM after its scripts ran, in headless Chromium with every host unreachable."""
    cmd = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
           "--virtual-time-budget=20000", "--dump-dom", page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and "<html" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_formulas_render_offline_in_a_browser(built_book, tmp_path):
    """Every page with math: typeset by the book's own MathJax with no network, no raw TeX left."""
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium here (apt-get install -y chromium; .ci/run installs it as root)")
    pages = [built_book / "book" / "intro.html"] + [built_book / "book" / f"{p.stem}.html" for p in NOTEBOOKS]
    for page in pages:
        source = page.read_text(encoding="utf-8")
        assert "cdn.jsdelivr" not in source and "_static/mathjax/tex-mml-chtml.js" in source, page.name
        math = source.count('class="math notranslate nohighlight"')
        parser = _VisibleText()
        parser.feed(rendered_dom(browser, page, tmp_path / "profile"))
        text = "".join(parser.parts)
        for raw in ("\\(", "\\)", "\\[", "\\]", "$$"):
            assert raw not in text, f"{page.name}: raw TeX {raw!r} is visible: ...{text[text.find(raw) - 80:][:200]}"
        assert parser.typeset >= math, f"{page.name}: {parser.typeset} formulas typeset of {math}"
        assert parser.errors == 0, f"{page.name}: {parser.errors} TeX errors"
