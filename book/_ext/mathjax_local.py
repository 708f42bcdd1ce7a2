"""Sphinx extension: serve MathJax 3 from the book's own ``_static`` folder, so formulas render
offline.

``make mathjax`` (a prerequisite of ``make book`` and ``make test``) installs the ``mathjax``
package from npm into the virtual environment, under ``$VENV/share/snnbp-mathjax/mathjax``. This
extension adds that folder to ``html_static_path``; ``_config.yml`` points ``mathjax_path`` at
``mathjax/tex-mml-chtml.js`` inside ``_static``. Without the files the build warns (and so fails
under ``--warningiserror``) instead of silently sending readers to a CDN.
"""
import os
import sys
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)
ENTRY = "tex-mml-chtml.js"


def _folder():
    """The folder that holds ``mathjax/tex-mml-chtml.js``, or None."""
    candidates = [os.environ.get("SNNBP_MATHJAX"), Path(sys.prefix) / "share" / "snnbp-mathjax"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "mathjax" / ENTRY).is_file():
            return Path(candidate).resolve()
    return None


def _add_static(app, config):
    folder = _folder()
    if folder is None:
        logger.warning("MathJax 3 is not installed in %s/share/snnbp-mathjax: run `make mathjax` "
                       "(npm install mathjax@3); without it the formulas do not render", sys.prefix)
        return
    config.html_static_path.append(str(folder))
    if not str(config.mathjax_path).startswith("mathjax/"):
        logger.warning("mathjax_path is %r, not the local copy mathjax/%s", config.mathjax_path, ENTRY)


def setup(app):
    app.connect("config-inited", _add_static)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
