"""Figures fit the page: every figure title (plotly and matplotlib, made by snnbp.plots or set in a
chapter) fits its figure at a 1280-pixel-wide window, and a log axis ticks at the values drawn.

What fits was measured once in headless Chromium on the built book (sphinx-book-theme, a window
1280 px wide, its 15-px scrollbar, the left navigation and the right "contents" column shown): a
cell's output column is 676 px wide, and a plotly figure (responsive) is that wide.

Text widths are estimated with DejaVu Sans (shipped with matplotlib, so the estimate is the same
on every machine). Its letters are about as wide as Verdana's, the widest font of plotly's stack
("Open Sans", verdana, arial): measured in Chromium, an Arial title is 13 % narrower than this
estimate, and the titles the issue saw cut off on a laptop are cut here at the same word. A title
that passes here fits wherever the reader has any of the three fonts.

The chapters' titles are read from their code cells: each ``title=`` (and matplotlib's
``set_title``) is evaluated with the chapter's parameters cell (every profile); a name that only the
chapter's run knows (a model's name, a layer's) counts as :data:`UNKNOWN`, as wide as the widest
such name the chapters use. Fast: no chapter is executed.
"""
from __future__ import annotations

import ast
import functools
import math
import re
from pathlib import Path

import nbformat
import pytest
import torch

from snnbp import plots

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))

#: Measured in headless Chromium at a 1280-px window: the width of a cell's output, in px.
FIGURE_WIDTH = 676
#: plotly's defaults (plotly.js 4, template plotly_white), read in Chromium from a drawn figure:
#: title 17 px at x = 0.05 of the figure (left-anchored), subtitle 12 px, subplot titles 16 px.
TITLE_SIZE, SUBTITLE_SIZE, ANNOTATION_SIZE, TITLE_X = 17, 12, 16, 0.05
#: plotly's default margins, where a figure sets none
MARGIN = dict(l=80, r=80)
#: what a chapter-run value (``{name}``, ``{deep}``) counts as: the widest model name the book uses
UNKNOWN = "resnet11"


@functools.lru_cache(maxsize=None)
def text_width(text: str, size: float) -> float:
    """Width in px of ``text`` set in DejaVu Sans at ``size`` px (HTML tags dropped, ``<sub>``'s
    text counted at full size: an over-estimate)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    plain = re.sub(r"<[^>]+>", "", text)
    if not plain:
        return 0.0
    width, _, _ = TextToPath().get_text_width_height_descent(
        plain, FontProperties(family="DejaVu Sans", size=size), ismath=False)
    return width


def _lines(text) -> list[str]:
    return re.split(r"<br\s*/?>", str(text)) if text else []


def _span(left_or_centre: float, width: float, anchor: str) -> tuple[float, float]:
    start = {"left": left_or_centre, "center": left_or_centre - width / 2, "right": left_or_centre - width}[anchor]
    return start, start + width


def _auto_anchor(x: float, anchor: str | None) -> str:
    if anchor in (None, "auto"):
        return "left" if x < 1 / 3 else "right" if x > 2 / 3 else "center"
    return anchor


def plotly_overflow(fig, width: float = FIGURE_WIDTH) -> list[str]:
    """Each title of a plotly figure that does not fit ``width`` px: the title (and every title a
    slider puts there, ``layout.meta.snnbp_lookup``), the subtitle and annotations such as subplot
    titles (each within the figure, and not over its neighbours on the same line)."""
    layout = fig.layout
    title = layout.title
    size = (title.font.size if title.font and title.font.size else TITLE_SIZE)
    x = title.x if title.x is not None else TITLE_X
    anchor = _auto_anchor(x, title.xanchor)
    texts = [title.text] if title.text else []
    lookup = (layout.meta or {}).get("snnbp_lookup") if isinstance(layout.meta, dict) else None
    texts += [e["title"] for e in (lookup or {}).get("entries", []) if e.get("title")]
    problems = []
    for text in dict.fromkeys(texts):
        for line in _lines(text):
            lo, hi = _span(x * width, text_width(line, size), anchor)
            if lo < 0 or hi > width:
                problems.append(f"title {line!r}: {hi - lo:.0f} px from {lo:.0f} px, the figure is {width} px")
    subtitle = title.subtitle.text if title.subtitle else None
    for line in _lines(subtitle):
        sub_size = title.subtitle.font.size or SUBTITLE_SIZE
        lo, hi = _span(x * width, text_width(line, sub_size), anchor)
        if lo < 0 or hi > width:
            problems.append(f"subtitle {line!r}: {hi - lo:.0f} px from {lo:.0f} px, the figure is {width} px")
    margin_l = layout.margin.l if layout.margin.l is not None else MARGIN["l"]
    margin_r = layout.margin.r if layout.margin.r is not None else MARGIN["r"]
    spans = []
    for note in layout.annotations:
        if not note.text or note.xref not in ("paper", None) or note.showarrow not in (False,):
            continue
        note_size = note.font.size if note.font and note.font.size else ANNOTATION_SIZE
        centre = margin_l + note.x * (width - margin_l - margin_r)
        for line in _lines(note.text):
            lo, hi = _span(centre, text_width(line, note_size), note.xanchor or "center")
            spans.append((note.y, lo, hi, line))
            if lo < 0 or hi > width:
                problems.append(f"annotation {line!r}: {lo:.0f} to {hi:.0f} px, the figure is {width} px")
    for a in spans:
        for b in spans:
            if a is not b and a[0] == b[0] and a[1] < b[1] < a[2]:
                problems.append(f"annotations {a[3]!r} and {b[3]!r} overlap")
    return problems


def matplotlib_overflow(figure) -> list[str]:
    """Each axes title of a matplotlib figure that reaches past the figure's edges."""
    figure.canvas.draw()
    box = figure.bbox
    problems = []
    for ax in figure.axes:
        for title in (ax.title, ax._left_title, ax._right_title):
            if title.get_text():
                extent = title.get_window_extent()
                if extent.x0 < box.x0 - 0.5 or extent.x1 > box.x1 + 0.5:
                    problems.append(f"title {title.get_text()!r}: {extent.width:.0f} px in a figure of "
                                    f"{box.width:.0f} px")
    return problems


# -- the chapters' titles, read from their code cells -------------------------------------------------

def _parse(source: str):
    """A code cell as Python (IPython's ``%`` and ``!`` lines dropped)."""
    kept = [line if not line.lstrip().startswith(("%", "!")) else line[:len(line) - len(line.lstrip())] + "pass"
            for line in source.splitlines()]
    return ast.parse("\n".join(kept))


def _namespaces(nb) -> list[dict]:
    """One namespace per profile of the chapter's parameters cell (``size``, ``PROFILE``, ...)."""
    params = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    base = {"DEVICE": "cuda", "PROFILE": "quick", **KNOWN}
    if not params:
        return [base]
    ns = {}
    exec(compile(_parse(params[0].source), "parameters", "exec"), ns)      # noqa: S102 - the chapter's own cell
    sizes = ns.get("SIZES")
    if not isinstance(sizes, dict):
        return [{**ns, **base}]
    return [{**ns, **base, "PROFILE": profile, "size": size} for profile, size in sizes.items()]


def _benchmark_stand_ins() -> dict:
    """Chapter 10 names a committed benchmark in a subtitle: its file's stem and its machine
    (device, threads, date); the widest of the committed ones stand in for them."""
    import json

    stems, machines = ["benchmark"], ["cpu, 16 threads, date not recorded"]
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        stems.append(path.stem)
        data = json.loads(path.read_text())
        m = data.get("machine", {}) if isinstance(data, dict) else {}
        machines.append(f"{m.get('device', '?')}, {m.get('threads', '?')} threads, "
                        f"{m.get('date', 'date not recorded')}")
    return {"path": type("Path", (), {"stem": max(stems, key=len)})(), "where": max(machines, key=len)}


#: Values a chapter computes while it runs, by name: the widest the committed data give them.
KNOWN = _benchmark_stand_ins()


class _Unknown(Exception):
    pass


def _evaluate(node, ns: dict) -> str:
    """The text of a title expression: literals as written, f-string fields from ``ns`` where they can
    be computed, else :data:`UNKNOWN`; concatenations joined."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
                continue
            try:
                got = eval(compile(ast.Expression(value.value), "title", "eval"), dict(ns))  # noqa: S307
                spec = _evaluate(value.format_spec, ns) if value.format_spec else ""
                parts.append(format(got, spec))
            except Exception:   # noqa: BLE001 - a value only the chapter's run knows
                parts.append(UNKNOWN)
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _evaluate(node.left, ns) + _evaluate(node.right, ns)
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict":
        text = next((k.value for k in node.keywords if k.arg == "text"), None)
        if text is not None:
            return _evaluate(text, ns)
    raise _Unknown(ast.unparse(node))


def _function(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _figsize(tree) -> tuple[float, float]:
    """The ``figsize=`` of the cell's ``plt.subplots`` / ``plt.figure`` (matplotlib's default else)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _function(node) in ("subplots", "figure"):
            for k in node.keywords:
                if k.arg == "figsize":
                    return tuple(ast.literal_eval(k.value))
    return (6.4, 4.8)


def chapter_titles(path: Path):
    """``(where, function, title, subtitle, call, figsize, namespaces)`` for every call in a
    chapter's code cells that sets a title (``title=``, matplotlib's ``set_title``) or a subtitle,
    once per distinct text the chapter's profiles give it. ``function`` is the call's name
    (``lines``, ``update_layout``, ``set``, ...); ``dict(title=...)``, an axis's title, is left out."""
    nb = nbformat.read(path, as_version=4)
    namespaces = _namespaces(nb)
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "title" not in cell.source:
            continue
        tree = _parse(cell.source)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = _function(call)
            keywords = {k.arg: k.value for k in call.keywords if k.arg in ("title", "subtitle")}
            if name == "set_title" and call.args:
                keywords["title"] = call.args[0]
            if not keywords or name == "dict":
                continue
            texts = set()
            for ns in namespaces:
                try:
                    texts.add(tuple(_evaluate(keywords[k], ns) if k in keywords else ""
                                    for k in ("title", "subtitle")))
                except _Unknown:        # a title computed elsewhere (a variable): not read here
                    pass
            for title, subtitle in sorted(texts):
                yield f"{path.name} cell {number}", name, title, subtitle, call, _figsize(tree), namespaces


def _rows(epochs: int = 2) -> list[dict]:
    return [{"epoch": e, "train_loss": 1 / e, "train_acc": 0.5, "test_acc": 0.5} for e in range(1, epochs + 1)]


def _probe(steps=(8, 16)):
    from snnbp.wakeup import Probe

    return Probe(timesteps=list(steps), rates={t: {"input": 0.1, "lif1": 0.1, "lif8": 0.0} for t in steps},
                 grads={t: {"conv1": 1.0, "classifier": 2.0} for t in steps})


def _rate_explorer(title: str, call: ast.Call | None, namespaces: list[dict]):
    """The chapter's sliders (its ``params``, evaluated where the parameters cell allows) over one layer:
    every slider position's title is checked."""
    import itertools

    params = {"gain / threshold": [0.25, 1.5]}
    if call is not None and len(call.args) > 1:
        for ns in namespaces:
            try:
                params = eval(compile(ast.Expression(call.args[1]), "params", "eval"), dict(ns))  # noqa: S307
                break
            except Exception:   # noqa: BLE001
                pass
    rates = {combo: [0.1234] for combo in itertools.product(*params.values())}
    return plots.rate_explorer(["lif1"], params, rates, title=title)


def _subtitled(make):
    return lambda title, subtitle, *_: make(title, **({"subtitle": subtitle} if subtitle else {}))


#: A figure of each plots function around a chapter's title, with small stand-in data.
BUILDERS = {
    "lines": _subtitled(lambda t, **kw: plots.lines([1, 2], {"a": [1, 2]}, title=t, **kw)),
    "probe": _subtitled(lambda t, **kw: plots.probe(_probe(), title=t, **kw)),
    "bars": lambda t, *_: plots.bars(["a"], {"v": [1.0]}, title=t),
    "histogram": lambda t, *_: plots.histogram([1.0, 2.0], title=t),
    "raster": lambda t, *_: plots.raster(torch.zeros(5, 3), title=t),
    "rasters": lambda t, *_: plots.rasters({"lif1": torch.zeros(5, 1, 3)}, title=t),
    "history": lambda t, *_: plots.history(_rows(), title=t),
    "spike_movie": lambda t, *_: plots.spike_movie(torch.zeros(100, 2, 2), title=t),   # T up to 3 digits
    "rate_explorer": lambda t, _, call, namespaces: _rate_explorer(t, call, namespaces),
}


def _chapter_cases():
    return [pytest.param(name, title, subtitle, call, figsize, namespaces, id=f"{where}: {title[:40]}")
            for path in NOTEBOOKS
            for where, name, title, subtitle, call, figsize, namespaces in chapter_titles(path)]


@pytest.mark.parametrize("name, title, subtitle, call, figsize, namespaces", _chapter_cases())
def test_chapter_titles_fit_their_figures(name, title, subtitle, call, figsize, namespaces):
    if name in ("set", "set_title"):                          # matplotlib: ax.set(title=...), ax.set_title
        from matplotlib.figure import Figure

        figure = Figure(figsize=figsize, layout="constrained")
        figure.subplots().set_title(title)
        assert not matplotlib_overflow(figure), matplotlib_overflow(figure)
        return
    if name in BUILDERS:
        fig = BUILDERS[name](title, subtitle, call, namespaces)
    else:                                                      # a figure of the chapter's own (go.Figure)
        import plotly.graph_objects as go

        fig = go.Figure(layout=dict(template="plotly_white", title=dict(text=title, subtitle=dict(text=subtitle))))
    assert not plotly_overflow(fig), plotly_overflow(fig)


def test_the_chapters_titles_are_read():
    """The reader above finds the titles the issue saw cut off (so a too-long one cannot hide)."""
    found = {(where.split()[0], title) for path in NOTEBOOKS for where, _, title, *_ in chapter_titles(path)}
    assert ("07b_deep_cifar.ipynb", "the least active layer's rate against T") in found
    assert any(where == "07b_deep_cifar.ipynb" and title.endswith(", the paper's initialisation")
               for where, title in found)
    assert ("08_reproduction.ipynb", "LeNet on all of MNIST, on a 2-core CPU") in found        # matplotlib
    assert len(found) > 40


def test_a_title_too_wide_is_caught():
    """The checks see a title that does not fit (and pass one that does): plotly, matplotlib, a
    subtitle, a subplot title and a slider's title."""
    from matplotlib.figure import Figure

    long = "the least active layer's rate against T: the paper's initialisation (solid) and woken (dashed)"
    assert plotly_overflow(plots.lines([1, 2], {"a": [1, 2]}, title=long))
    assert not plotly_overflow(plots.lines([1, 2], {"a": [1, 2]}, title=long[:60]))
    assert plotly_overflow(plots.lines([1, 2], {"a": [1, 2]}, title="short", subtitle=long + long[:40]))
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    figure.subplots().set_title(long)
    assert matplotlib_overflow(figure)
    figure.axes[0].set_title(long[:40])
    assert not matplotlib_overflow(figure)
    subplot = plots.history(_rows())
    subplot.layout.annotations[0].text = long
    assert plotly_overflow(subplot)
    assert plotly_overflow(plots.rate_explorer(["lif1"], {"gain": [1.0]}, {(1.0,): [0.1]}, title=long))


def _library_figures():
    """A figure of every plots function, with the longest names and numbers the book gives them."""
    spikes = {"input": torch.rand(16, 1, 3, 32, 32).round(), "block4.neuron2, before training":
              torch.zeros(16, 1, 512, 4, 4), "block4.neuron2, trained": torch.zeros(16, 1, 512, 4, 4)}
    evaluation = {"model": "resnet11", "accuracy_vs_timesteps": [0.1] * 8, "firing_rates": {"lif1": 0.1},
                  "layers": [{"name": "conv1", "synaptic_ops": 10.0, "ann_macs": 20.0}]}
    figures = {
        "membrane_trace": plots.membrane_trace(0.06),
        "membrane_explorer": plots.membrane_explorer(),
        "fi_curve": plots.fi_curve(torch.linspace(0, 1, 5), steps=1000),
        "raster": plots.raster(torch.zeros(20, 8)),
        "rasters": plots.rasters(spikes, max_neurons=48),
        "rasters, analog input": plots.rasters({"input": torch.rand(8, 1, 3072)}, max_neurons=48),
        "spike_movie": plots.spike_movie(torch.zeros(100, 4, 4), image=torch.zeros(4, 4)),
        "lines": plots.lines([1, 2], {"a": [1, 2]}),
        "histogram": plots.histogram([1.0, 2.0], marks={"1 + ln \u03bb": 0.99}),
        "surrogates": plots.surrogates(),
        "history": plots.history(_rows()),
        "probe": plots.probe(_probe()),
        "bars": plots.bars(["a"], {"v": [1.0]}),
        "rate_explorer": plots.rate_explorer(["lif1", "lif2"], {"init gain": [0.5, 1.25], "T": [10, 100]},
                                             {(g, t): [0.1234, 0.0001] for g in (0.5, 1.25) for t in (10, 100)}),
    }
    figures.update({f"evaluation {k}": v for k, v in plots.evaluation(evaluation).items()})
    return figures


@pytest.mark.parametrize("name, fig", list(_library_figures().items()), ids=list(_library_figures()))
def test_library_titles_fit_their_figures(name, fig):
    assert not plotly_overflow(fig), plotly_overflow(fig)


# -- log axes tick at the values drawn ------------------------------------------------------------------

def _ticks(axis) -> list[str]:
    return list(axis.ticktext) if axis.ticktext is not None else []


def test_a_log_axis_of_probed_T_ticks_at_each_T():
    """Not plotly's minor digits ('4 5 6 7 8 9 10 2 3'): the T values drawn, in full."""
    steps = [4, 8, 16, 25, 50, 70]
    fig = plots.lines(steps, {"rate": [1e-5, 1e-4, 0.002, 0.01, 0.03, 0.2]}, log_x=True, log_y=True)
    assert list(fig.layout.xaxis.tickvals) == steps and _ticks(fig.layout.xaxis) == ["4", "8", "16", "25", "50", "70"]
    assert _ticks(fig.layout.yaxis) == ["1e-5", "0.0001", "0.001", "0.01", "0.1"]     # 1, 2, 5: 13 ticks, too many
    probe = plots.probe(_probe((4, 8, 16, 25, 50)))
    for axis in (probe.layout.xaxis, probe.layout.xaxis2):
        assert list(axis.tickvals) == [4, 8, 16, 25, 50] and axis.type == "log"
    many = plots.lines(list(range(1, 301)), {"a": list(range(1, 301))}, log_x=True)     # SGD steps 1..300
    assert _ticks(many.layout.xaxis) == ["1", "2", "5", "10", "20", "50", "100", "200"]
    few = plots.lines([1, 2, 3], {"a": [0.02, 0.05, 0.3]}, log_y=True)
    assert _ticks(few.layout.yaxis) == ["0.02", "0.05", "0.1", "0.2"]


# -- code cells: the stylesheet keeps the measured column -------------------------------------------

#: Measured in headless Chromium at a 1280-px window (see _static/snnbp.css): the width of a code
#: cell's <pre>, and of one folded in a "click to show" block, in px; the theme's root font size;
#: and a DejaVu Sans Mono character's width per px of font size (7.12 px at 11.84 px).
PRE_WIDTH, FOLDED_PRE_WIDTH, ROOT_FONT, MONO_ADVANCE = 672, 654, 16, 7.12125 / 11.84


def test_the_stylesheet_fits_the_code_column():
    """The code font and padding of _static/snnbp.css leave room for tests/test_book.py's limit in the
    narrowest code cell at 1280 px; a change to either that breaks the limit fails here."""
    from test_book import CODE_COLUMN

    css = (ROOT / "_static" / "snnbp.css").read_text()
    rule = re.search(r"div\.highlight pre\s*\{([^}]*)\}", css).group(1)
    size = float(re.search(r"font-size:\s*([\d.]+)em", rule).group(1)) * ROOT_FONT
    pad = {side: float(re.search(rf"padding-{side}:\s*([\d.]+)px", rule).group(1)) for side in ("left", "right")}
    fits = math.floor((FOLDED_PRE_WIDTH - pad["left"] - pad["right"]) / (MONO_ADVANCE * size))
    assert fits >= CODE_COLUMN, f"{fits} characters fit a folded code cell at 1280 px, the chapters use {CODE_COLUMN}"
    assert size >= 11.5, f"code at {size:.1f} px is too small to read"


# -- exercise marks: words where the emoji font is missing -------------------------------------------

def test_exercise_verdicts_say_their_status_in_plain_words():
    """The marks (pencil, tick, cross) are emoji, drawn as empty boxes where no emoji font is
    installed (seen in headless Chromium here); the words after them are ASCII."""
    from snnbp import exercises

    def not_attempted(output, labels):
        raise NotImplementedError

    todo = str(exercises.check("mse_sum_grad", not_attempted))
    wrong = str(exercises.check("mse_sum_grad", lambda output, labels: output))
    right = str(exercises.check("mse_sum_grad", lambda output, labels: 2 * (output - torch.nn.functional.one_hot(
        labels, output.shape[1]).to(output.dtype))))
    for text, label in ((todo, "[to do]"), (wrong, "[wrong]"), (right, "[passed]")):
        mark, rest = text.split(" ", 1)
        assert rest.lstrip().startswith(label + " mse_sum_grad:"), text
        assert label.isascii()
