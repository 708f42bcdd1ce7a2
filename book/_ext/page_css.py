"""Sphinx extension: the book's own stylesheet, ``_static/snnbp.css`` at the repository root: a
code font size and padding at which the chapters' 88-character code lines fit the content column
at a 1280-pixel-wide window (measured in Chromium; the numbers are in the stylesheet), and the
folded block of notes under a table of runs (:func:`snnbp.results.notes_html`)."""
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "_static"


def _add_static(app):
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", _add_static)
    app.add_css_file("snnbp.css")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
