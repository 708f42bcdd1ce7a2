"""Sphinx extension: serve the installed plotly.js from the book's own ``_static`` folder.

:func:`snnbp.plots.show` draws figures with the page's ``window.Plotly`` when there is one, so
the built book shows its interactive figures offline, and always with the plotly.js version that
matches the Python package that wrote the figures. The file is written at build time (not
committed): 4.6 MB that the plotly package already holds.
"""
from pathlib import Path


def _write_plotlyjs(app):
    from plotly.offline import get_plotlyjs

    folder = Path(app.outdir).parent / "_plotly_static"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "plotly.min.js"
    source = get_plotlyjs()
    if not target.exists() or target.read_text(encoding="utf-8") != source:
        target.write_text(source, encoding="utf-8")
    app.config.html_static_path.append(str(folder))


def setup(app):
    app.connect("builder-inited", _write_plotlyjs)
    app.add_js_file("plotly.min.js", priority=200)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
