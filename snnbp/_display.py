r"""Showing and saving the figures of :mod:`snnbp.plots`: the plumbing between a plotly figure
and a notebook, a static web page or a file. The figures themselves are in :mod:`snnbp.plots`,
the public home of every name here (``plots.show``, ``plots.to_html``, ...): this module is private.

* **Kernel-free HTML** (the static book, Jupyter, Colab, VS Code). :func:`to_html` turns a
  figure into an HTML fragment that draws itself; :func:`show` displays it. A figure whose
  ``layout.meta["snnbp_lookup"]`` holds one entry per combination of slider positions gets a
  small script (:data:`LOOKUP_JS`) that restyles the traces when any slider moves. Nothing is
  recomputed in the browser: the entries were computed in Python by :mod:`snnbp` beforehand.
  plotly.js comes from the page when it is there (the book loads a local copy, so it works
  offline), else from plotly's CDN.
* **Live or not.** :func:`is_live` tells a notebook with a front end (where ipywidgets respond)
  from a headless execution (a book build), which would freeze a widget into a dead snapshot.
* **Files.** :func:`save` writes ``.html`` (the fragment above in a page) or ``.png``. A PNG is
  drawn with matplotlib from the figure's data, so that no browser engine (plotly's kaleido) is
  needed; it covers the figures made of lines and bars (:func:`snnbp.plots.lines`,
  :func:`snnbp.plots.bars` and the figures built on them). This is the one place in snnbp where
  matplotlib draws.

Used from chapter 02 (``book/02_lif_neuron``) on, in every chapter, through :mod:`snnbp.plots`.
"""
from __future__ import annotations

import json
import os
import re
import sys
import uuid
import warnings
from pathlib import Path

from . import validate

__all__ = ["LOOKUP_JS", "SHOW_ELSEWHERE", "to_html", "show", "is_live", "save", "SAVE_FORMATS"]

#: Wires a figure's sliders to ``layout.meta.snnbp_lookup``: the active index of every slider, in
#: order, picks one precomputed entry ``{"traces": {index: {property: value}}, "title": text}``.
LOOKUP_JS = """
function snnbpLookup(gd) {
  var lookup = gd.layout.meta && gd.layout.meta.snnbp_lookup;
  if (!lookup) { return; }
  function update() {
    var index = 0;
    for (var i = 0; i < lookup.shape.length; i++) {
      index = index * lookup.shape[i] + (gd.layout.sliders[i].active || 0);
    }
    var entry = lookup.entries[index];
    for (var trace in entry.traces) {
      var change = {};
      for (var prop in entry.traces[trace]) { change[prop] = [entry.traces[trace][prop]]; }
      Plotly.restyle(gd, change, [parseInt(trace, 10)]);
    }
    if (entry.title !== undefined) { Plotly.relayout(gd, {"title.text": entry.title}); }
  }
  gd.on("plotly_sliderchange", update);
}
"""

_TEMPLATE = """<div class="snnbp-figure">
<div id="{div_id}" style="width:100%;height:{height}px;"></div>
<script type="text/javascript">
(function() {{
  {lookup_js}
  function draw() {{
    var fig = {fig_json};
    Plotly.newPlot("{div_id}", fig.data, fig.layout, {config}).then(snnbpLookup);
  }}
  if (window.Plotly) {{ draw(); return; }}
  var amd = window.define;   // plotly.js must not register as an AMD module (classic Notebook)
  window.define = undefined;
  var script = document.createElement("script");
  script.src = "{cdn}";
  script.onload = function() {{ window.define = amd; draw(); }};
  document.head.appendChild(script);
}})();
</script>
</div>"""

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body>
{fragment}
</body></html>
"""

#: What :func:`show` says where no notebook would display the figure.
SHOW_ELSEWHERE = ("plots.show displays figures in a notebook (Jupyter, Colab, VS Code, the book); here (a plain "
                  "Python script or a terminal) nothing is displayed. Save the figure instead: "
                  "plots.save(fig, 'figure.html') writes a page that draws itself (open it in a browser; the same "
                  "as open('figure.html', 'w').write(plots.to_html(fig)) in a page), and plots.save(fig, "
                  "'figure.png') an image of a figure of lines or bars; any other PNG needs the kaleido package "
                  "(pip install kaleido), then fig.write_image('figure.png')")

#: The files :func:`save` writes, by suffix.
SAVE_FORMATS = (".html", ".png")


def _check_figure(fig) -> None:
    from plotly.basedatatypes import BaseFigure

    hint = ("call it to get a figure, e.g. plots.show(plots.raster(spikes))" if callable(fig) and
            not hasattr(fig, "savefig") else "a matplotlib figure shows with plt.show()" if hasattr(fig, "savefig")
            else "pass what a plots function returns")
    validate.instance("fig", fig, BaseFigure, "a plotly figure (what every snnbp.plots function returns)", hint)


def to_html(fig) -> str:
    """The figure as an HTML fragment that draws itself without a kernel (see the module docstring).

    Outside a notebook, :func:`save` writes it into a page (``plots.save(fig, "figure.html")``)
    that fetches plotly.js from plotly's CDN. (``fig.write_html("figure.html")`` writes a page
    too, but its sliders do nothing: the lookup script is snnbp's.)
    """
    import plotly.io as pio
    from plotly.offline import get_plotlyjs_version

    _check_figure(fig)
    height = int(fig.layout.height or 450)
    return _TEMPLATE.format(
        div_id=f"snnbp-{uuid.uuid4().hex[:12]}", height=height, lookup_js=LOOKUP_JS.strip(),
        fig_json=pio.to_json(fig, validate=False), config=json.dumps({"responsive": True, "displaylogo": False}),
        cdn=f"https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js")


def _in_notebook() -> bool:
    """Whether an IPython kernel runs this code, so that ``display`` reaches a front end: Jupyter,
    Colab, VS Code, and a book build or papermill executing the notebook (nbclient starts a kernel
    too). Not a plain Python script, and not IPython in a terminal (it cannot draw HTML)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def show(fig) -> None:
    """Display a plotly figure as kernel-free HTML (works in the static book, Jupyter and Colab).

    ``fig`` must be a plotly figure (a ``TypeError`` says so for anything else, e.g. a plots
    function not called). Outside a notebook (a plain Python script, IPython in a terminal)
    nothing can draw HTML: ``show`` then warns (``UserWarning``, once per calling line) with what
    to do instead (:func:`save`), and the script goes on. The figure is handed to IPython's
    ``display`` either way.
    """
    from IPython.display import HTML, display

    html = HTML(to_html(fig))
    if not _in_notebook():
        warnings.warn(SHOW_ELSEWHERE, UserWarning, stacklevel=2)
    display(html)


def is_live() -> bool:
    """True in a notebook with a live front end (Colab, Jupyter Lab/Notebook, VS Code).

    False while a book build or papermill executes the notebook headless. ``SNNBP_LIVE=0/1``
    overrides the guess.
    """
    forced = os.environ.get("SNNBP_LIVE")
    if forced is not None:
        return forced.strip().lower() not in ("", "0", "false", "no")
    return "google.colab" in sys.modules or "JPY_SESSION_NAME" in os.environ or "VSCODE_PID" in os.environ


# -- files --------------------------------------------------------------------------------------

def save(fig, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` and return the path; the suffix picks the format.

    * ``.html``: a page that draws itself (:func:`to_html`; its sliders work), plotly.js from
      plotly's CDN.
    * ``.png``: an image of the figure as it first appears, drawn with matplotlib, ``width`` x
      ``height`` pixels of the figure's layout (700 x 450 when unset). For one panel of lines,
      markers and bars (:func:`snnbp.plots.lines`, :func:`snnbp.plots.bars` and what is built on
      them); any other figure is a ``ValueError`` that says to save it as ``.html``.

    Checked: ``fig`` a plotly figure; the suffix one of :data:`SAVE_FORMATS`.
    """
    _check_figure(fig)
    validate.instance("path", path, (str, os.PathLike), "a file name such as 'figure.html' or 'figure.png'")
    path = Path(path)
    validate.choice(f"format (the suffix of {str(path)!r})", path.suffix.lower(), SAVE_FORMATS)
    if path.suffix.lower() == ".html":
        title = _plain(fig.layout.title.text) or "snnbp figure"
        path.write_text(_PAGE.format(title=title, fragment=to_html(fig)), encoding="utf-8")
    else:
        _png(fig, path)
    return path


def _plain(text) -> str:
    """A plotly label without its HTML (``V<sub>th</sub>`` -> ``Vth``)."""
    return re.sub(r"<[^>]+>", "", str(text)) if text else ""


_DASHES = {None: "-", "solid": "-", "dash": "--", "dot": ":", "dashdot": "-."}
_SYMBOLS = {"line-ns-open": "|", "triangle-up": "^", "square": "s", "diamond": "D"}


def _png(fig, path: Path) -> None:
    """Draw ``fig``'s traces with matplotlib (no pyplot, so no global backend) and write a PNG."""
    from matplotlib.figure import Figure

    other = sorted({t.type for t in fig.data} - {"scatter", "bar"})
    panels = sorted(({t.xaxis or "x" for t in fig.data} | {t.yaxis or "y" for t in fig.data}) - {"x", "y"})
    if other or panels:
        what = f"{', '.join(other)} traces" if other else f"several panels ({', '.join(panels)})"
        raise ValueError(f"save writes PNG images of one panel of lines and bars; this figure has {what}: "
                         f"save it as .html (a page that draws itself), or install kaleido and call "
                         f"fig.write_image")
    width, height = int(fig.layout.width or 700), int(fig.layout.height or 450)
    image = Figure(figsize=(width / 100, height / 100), dpi=100)
    ax = image.subplots()
    bars = [t for t in fig.data if t.type == "bar"]
    for trace in fig.data:
        if trace.type == "scatter":
            _draw_scatter(ax, trace)
    if bars:
        _draw_bars(ax, bars)
    _dress(ax, fig.layout)
    if sum(1 for t in fig.data if t.name and t.showlegend is not False) > 1:
        ax.legend()
    image.tight_layout()
    image.savefig(path, dpi=100, format="png")


def _draw_scatter(ax, trace) -> None:
    """One ``go.Scatter``: its line (dash, colour) and/or its markers; ``None`` leaves a gap."""
    mode = trace.mode or "lines+markers"
    x = list(trace.x) if trace.x is not None else list(range(len(trace.y)))
    y = [float("nan") if v is None else v for v in trace.y]
    symbol = _SYMBOLS.get(trace.marker.symbol, "o") if "markers" in mode else None
    ax.plot(x, y, linestyle=_DASHES.get(trace.line.dash, "-") if "lines" in mode else "none",
            marker=symbol, color=trace.line.color or trace.marker.color, label=_plain(trace.name) or None)


def _draw_bars(ax, bars: list) -> None:
    """``go.Bar`` traces grouped side by side over their (shared) categories, in trace order."""
    categories = list(dict.fromkeys(str(c) for trace in bars for c in trace.x))
    width = 0.8 / len(bars)
    for k, trace in enumerate(bars):
        x = [categories.index(str(c)) - 0.4 + width * (k + 0.5) for c in trace.x]
        drawn = ax.bar(x, list(trace.y), width, color=trace.marker.color, label=_plain(trace.name) or None)
        if trace.text is not None:
            ax.bar_label(drawn, labels=list(trace.text), fontsize=7)
    ax.set_xticks(range(len(categories)), categories, rotation=45 if len(categories) > 4 else 0)


def _dress(ax, layout) -> None:
    """Title (and subtitle), axis titles, ranges, log axes and set ticks of a plotly layout on a
    matplotlib axes."""
    subtitle = _plain(layout.title.subtitle.text) if layout.title.subtitle else ""
    ax.set_title(_plain(layout.title.text) + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
    for axis, spec in (("x", layout.xaxis), ("y", layout.yaxis)):
        getattr(ax, f"set_{axis}label")(_plain(spec.title.text))
        log = spec.type == "log"
        if log:
            getattr(ax, f"set_{axis}scale")("log")
        if spec.range is not None:                      # plotly gives a log axis's range in powers of 10
            getattr(ax, f"set_{axis}lim")(*(10 ** r if log else r for r in spec.range))
        if spec.tickvals is not None:                   # e.g. a log axis ticked at the T values probed
            ticks = list(spec.tickvals)
            labels = list(spec.ticktext) if spec.ticktext is not None else [f"{v:g}" for v in ticks]
            getattr(ax, f"set_{axis}ticks")(ticks, labels)
            if log:
                from matplotlib.ticker import NullFormatter

                getattr(ax, f"{axis}axis").set_minor_formatter(NullFormatter())
    ax.grid(alpha=0.3)
