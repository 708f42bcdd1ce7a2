r"""The book's figures, all plotly: a membrane-potential explorer, spike rasters, f-I curves,
surrogate derivatives, training curves, per-layer bars and the figures of an evaluation. Chapters
call these; they never copy plotting code. Every function returns a
:class:`plotly.graph_objects.Figure` and computes nothing a figure does not need: neurons are run
by ``snnbp/_simulation.py``, and showing or saving a figure by ``snnbp/_display.py`` (private
modules: this one is their public face).

Two kinds of interactivity:

* **Kernel-free** (the static HTML book, and Jupyter/Colab too): :func:`show` displays a figure
  as HTML. Sliders switch among results computed *in Python* by :mod:`snnbp` beforehand: a
  figure whose ``layout.meta["snnbp_lookup"]`` holds one entry per combination of slider
  positions (C order, :func:`_lookup_index`) gets a small script (:data:`LOOKUP_JS`) that
  restyles the traces when any slider moves. Nothing is recomputed in the browser, so what you
  see is what the library computes.
* **Live** (a running kernel): :func:`live_membrane_explorer` is a set of ipywidgets sliders that
  re-run the neuron for any value. Only show it when :func:`is_live` is True: a book build
  executes notebooks without a front end, and a widget would be frozen into a dead snapshot.

Re-exported here, so that ``plots.X`` keeps working: :func:`show`, :func:`to_html`,
:func:`is_live`, :func:`save`, :data:`LOOKUP_JS` (written in ``_display.py``) and :func:`simulate`,
:func:`fi_rates` (written in ``_simulation.py``).

Used from chapter 02 (``book/02_lif_neuron``: the membrane explorer) on, in every chapter.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import torch

from . import validate
from ._display import LOOKUP_JS, SHOW_ELSEWHERE, is_live, save, show, to_html  # noqa: F401 (exported here)
from ._simulation import as_current, as_currents, fi_rates, simulate
from .neurons import RESETS
from .recording import INPUT

__all__ = ["show", "to_html", "is_live", "save", "LOOKUP_JS", "simulate", "membrane_trace", "membrane_explorer",
           "live_membrane_explorer", "raster", "rasters", "spike_movie", "fi_rates", "fi_curve", "lines",
           "histogram", "surrogates", "history", "probe", "bars", "rate_explorer", "evaluation", "COLORS"]

#: Colours used throughout the book (colour-blind safe, after Okabe & Ito).
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

# -- small helpers ------------------------------------------------------------------------------

def _figure(subtitle: str = "", **layout):
    """An empty figure in the book's style; ``subtitle`` (a second, smaller line under the title)
    gets a taller top margin."""
    import plotly.graph_objects as go

    fig = go.Figure()
    layout.setdefault("margin", dict(l=60, r=20, t=80 if subtitle else 60, b=50))
    fig.update_layout(template="plotly_white", **layout)
    if subtitle:
        fig.update_layout(title_subtitle_text=subtitle)
    return fig


#: A log axis over at most this many distinct values ticks at each of them (e.g. the T values a
#: figure probed); over more, at 1, 2 and 5 times each power of ten, or at the powers of ten alone
#: where that would be more ticks than this.
LOG_TICKS_AT_VALUES = 12
LOG_TICKS_MAX = 10


def _tick_label(value: float) -> str:
    """A log axis's tick label in full (``20``, ``0.005``, ``1e-5``), never plotly's bare ``2``."""
    if value == int(value) and abs(value) < 1e5:
        return str(int(value))
    text = f"{value:g}"
    return text.replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


def _numbers(values) -> list[float]:
    """The finite positive numbers among ``values`` (nested lists and tensors flattened, ``None``
    skipped): what a log axis can show."""
    if isinstance(values, torch.Tensor):
        values = values.flatten().tolist()
    found = []
    for v in values:
        if isinstance(v, (list, tuple, torch.Tensor)):
            found += _numbers(v)
        elif v is not None and not isinstance(v, (str, bool)):
            try:
                number = float(v)
            except (TypeError, ValueError):
                continue
            if math.isfinite(number) and number > 0:
                found.append(number)
    return found


def _log_ticks(values, *, at_values: bool = False) -> dict:
    """Tick settings for a log axis over ``values``, labelled in full: at each value when
    ``at_values`` and there are at most :data:`LOG_TICKS_AT_VALUES` of them (an axis of probed T:
    4, 8, 16, 25, ...), else at 1, 2 and 5 times the powers of ten between the smallest and the
    largest value (at the powers of ten alone where that would make more than
    :data:`LOG_TICKS_MAX` ticks). ``{}`` (plotly's own ticks) when fewer than two such ticks fall
    in the range."""
    found = sorted(set(_numbers(values)))
    if not found:
        return {}
    if at_values and len(found) <= LOG_TICKS_AT_VALUES:
        ticks = found
    else:
        low, high = math.floor(math.log10(found[0])), math.ceil(math.log10(found[-1]))

        def within(factors):
            ticks = [float(f"{m}e{k}") for k in range(low, high + 1) for m in factors]
            return [t for t in ticks if found[0] * (1 - 1e-9) <= t <= found[-1] * (1 + 1e-9)]

        ticks = within((1, 2, 5))
        if len(ticks) > LOG_TICKS_MAX:
            ticks = within((1,))
        if len(ticks) < 2:
            return {}
    return dict(tickmode="array", tickvals=ticks, ticktext=[_tick_label(t) for t in ticks])


def _slider(label: str, values: Sequence, active: int, y: float, fmt: str = "{}") -> dict:
    """A slider whose steps do nothing by themselves (method ``skip``): :data:`LOOKUP_JS` reacts."""
    return dict(active=active, currentvalue=dict(prefix=f"{label} = "), pad=dict(t=0, b=0), y=y,
                yanchor="top", len=1.0, x=0.0,
                steps=[dict(method="skip", label=fmt.format(v), args=[]) for v in values])


def _round(values, digits: int = 3) -> list:
    """``values`` (a sequence or tensor, nested to any depth) as lists of floats rounded to ``digits``
    decimals: short JSON for the page."""
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    if isinstance(values, (list, tuple)):
        return [_round(v, digits) for v in values]
    return round(float(values), digits)


def _lookup_index(positions: Sequence[int], shape: Sequence[int]) -> int:
    """The entry of ``layout.meta["snnbp_lookup"]`` that sliders at ``positions`` pick: C order over
    ``shape``, the same loop as :data:`LOOKUP_JS` runs in the browser."""
    index = 0
    for position, size in zip(positions, shape):
        index = index * size + position
    return index


def _number(name: str, value, what: str) -> float:
    """``value`` as a finite float (a Python, numpy or one-element torch number), else a clear error."""
    try:
        number = None if isinstance(value, (bool, str, bytes)) else float(value)
    except (TypeError, ValueError, RuntimeError):
        number = None
    if number is None or not math.isfinite(number):
        raise (ValueError if number is not None else TypeError)(
            f"{name} must be a finite number ({what}), got {value!r}")
    return number


def _index(values: Sequence, value) -> int:
    """Position of ``value`` in ``values`` (nearest, for floats)."""
    if isinstance(value, str):
        return list(values).index(value)
    return min(range(len(values)), key=lambda i: abs(float(values[i]) - float(value)))


# -- one neuron ---------------------------------------------------------------------------------

def _trace_entry(trace: dict, threshold: float) -> dict:
    steps = len(trace["h"])
    t = list(range(1, steps + 1))
    spike_times = [t[i] for i in range(steps) if trace["s"][i] > 0]
    return {
        "traces": {
            "0": {"y": _round(trace["h"])},
            "1": {"y": [threshold, threshold]},
            "2": {"x": spike_times, "y": [threshold] * len(spike_times)},
        },
        "spikes": len(spike_times), "t": t,
    }


def _explorer_title(current, leak, threshold, reset, spikes, steps) -> str:
    return (f"I = {current:g}, leak \u03bb = {leak:g}, V<sub>th</sub> = {threshold:g}, reset: {reset}"
            f" \u2192 {spikes} spikes in {steps} steps")


def membrane_trace(current=0.06, *, steps: int = 100, leak: float = 0.99, threshold: float = 1.0,
                   reset: str = "zero", title: str | None = None):
    """One neuron's membrane :math:`H[t]`, the threshold and the spike times, as a figure.

    ``current``: a number (constant input for ``steps`` steps) or one neuron's input per step,
    ``[T]`` (``[T, 1]`` too); several neurons are an error (pick one, ``current[:, 0]``, or use
    :func:`simulate`). The other arguments are checked as in :func:`simulate`.
    """
    import plotly.graph_objects as go

    constant = isinstance(current, (int, float)) and not isinstance(current, bool)
    if not constant:
        current = as_current(current)
        if current.dim() > 0 and current.numel() != current.shape[0]:
            raise ValueError(f"membrane_trace draws one neuron: current must be a number or a tensor [T], got "
                             f"shape {tuple(current.shape)}: pick one neuron, e.g. current[:, 0], or use "
                             f"plots.simulate for many")
        current = current.reshape(-1) if current.dim() > 0 else float(current)
        constant = not isinstance(current, torch.Tensor)
    trace = simulate(current, steps=steps, leak=leak, threshold=threshold, reset=reset)
    steps = len(trace["h"])
    entry = _trace_entry(trace, threshold)
    spikes = entry["spikes"]
    label = title or (f"{spikes} spikes in {steps} steps" + (f" (I = {float(current):g})" if constant else ""))
    fig = _figure(title=label, height=380, xaxis=dict(title="time step t", range=[0.5, steps + 0.5]),
                  yaxis_title="membrane H[t]")
    _add_membrane_traces(fig, go, entry, steps)
    return fig


def _add_membrane_traces(fig, go, entry: dict, steps: int) -> None:
    tr = entry["traces"]
    fig.add_trace(go.Scatter(x=entry["t"], y=tr["0"]["y"], mode="lines", name="membrane H[t]",
                             line=dict(color=COLORS[0], width=2)))
    fig.add_trace(go.Scatter(x=[1, steps], y=tr["1"]["y"], mode="lines", name="threshold V<sub>th</sub>",
                             line=dict(color=COLORS[1], dash="dash")))
    fig.add_trace(go.Scatter(x=tr["2"]["x"], y=tr["2"]["y"], mode="markers", name="spike",
                             marker=dict(symbol="line-ns-open", size=18, color=COLORS[6], line=dict(width=2))))


def membrane_explorer(*, currents: Sequence[float] = (0.0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.06, 0.08,
                                                      0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.2),
                      leaks: Sequence[float] = (1.0, 0.99, 0.97, 0.95, 0.9, 0.8),
                      thresholds: Sequence[float] = (0.5, 1.0, 1.5, 2.0),
                      resets: Sequence[str] = ("zero", "subtract"),
                      steps: int = 100, current: float = 0.06, leak: float = 0.99, threshold: float = 1.0,
                      reset: str = "zero"):
    r"""A LIF neuron under a constant input, with sliders for the input current :math:`I`, the leak
    :math:`\lambda`, the threshold :math:`V_{th}` and the reset rule.

    Every combination is simulated here with :meth:`snnbp.LIF.step` and stored in the figure, so
    the sliders work in a static web page. The figure opens at ``current``, ``leak``,
    ``threshold``, ``reset`` (the nearest grid values): a sensible static default.

    Checked: each grid is a non-empty list; every leak in (0, 1], threshold > 0, reset one of
    ``"zero"``, ``"subtract"``, current finite; ``reset`` one of ``resets``; ``steps`` >= 1.
    """
    import plotly.graph_objects as go

    steps = validate.count("steps", steps)
    currents = validate.sequence("currents", currents, "input currents")
    validate.numbers("currents", currents, dims=(1,), shape="a list of input currents")
    grid = (currents,
            [validate.leak(f"leaks[{i}]", v) for i, v in enumerate(validate.sequence("leaks", leaks, "leaks"))],
            [validate.positive(f"thresholds[{i}]", v)
             for i, v in enumerate(validate.sequence("thresholds", thresholds, "thresholds"))],
            validate.names("resets", resets, RESETS, "reset"))
    for label, values in zip(("leaks", "thresholds", "resets"), grid[1:]):
        if not values:
            raise ValueError(f"{label} is empty: give at least one value for its slider")
    validate.choice("reset", reset, grid[3])
    drive = torch.tensor(grid[0], dtype=torch.float32).expand(steps, -1)
    runs = {(l, th, r): simulate(drive, leak=l, threshold=th, reset=r)          # all currents at once
            for l, th, r in itertools.product(*grid[1:])}
    entries = []
    for (k, i), l, th, r in itertools.product(enumerate(grid[0]), *grid[1:]):
        run = runs[l, th, r]
        entry = _trace_entry({key: run[key][:, k] for key in ("h", "s")}, th)
        entry["title"] = _explorer_title(i, l, th, r, entry["spikes"], steps)
        entries.append(entry)
    active = [_index(grid[0], current), _index(grid[1], leak), _index(grid[2], threshold), _index(grid[3], reset)]
    shape = [len(g) for g in grid]
    default = entries[_lookup_index(active, shape)]
    fig = _figure(title=default["title"], height=720, xaxis_title="time step t",
                  yaxis=dict(title="membrane H[t]", range=[-0.1, max(thresholds) * 1.15]),
                  legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"),
                  margin=dict(l=60, r=20, t=80, b=20))
    fig.update_layout(xaxis=dict(domain=[0, 1], range=[0.5, steps + 0.5]), yaxis_domain=[0.52, 1.0])
    _add_membrane_traces(fig, go, default, steps)
    fig.update_layout(sliders=[
        _slider("input current I", grid[0], active[0], 0.42, "{:g}"),
        _slider("leak \u03bb", grid[1], active[1], 0.30, "{:g}"),
        _slider("threshold V<sub>th</sub>", grid[2], active[2], 0.18, "{:g}"),
        _slider("reset", grid[3], active[3], 0.06),
    ])
    for e in entries:
        e.pop("t"), e.pop("spikes")
    fig.layout.meta = {"snnbp_lookup": {"shape": shape, "entries": entries}}
    return fig


def live_membrane_explorer(*, steps: int = 100):
    """ipywidgets sliders that re-run the neuron for any value (Jupyter, Colab): see :func:`is_live`.

    Each change draws :func:`membrane_trace` of the new settings, as kernel-free HTML; the
    widget's ``result`` is that figure. Checked: ``steps`` an integer >= 1."""
    steps = validate.count("steps", steps)
    import ipywidgets as widgets
    from IPython.display import HTML, display

    def draw(current=0.06, leak=0.99, threshold=1.0, reset="zero"):
        fig = membrane_trace(current, steps=steps, leak=leak, threshold=threshold, reset=reset)
        display(HTML(to_html(fig)))
        return fig

    slider = dict(continuous_update=False, readout_format=".3f")
    return widgets.interactive(
        draw,
        current=widgets.FloatSlider(value=0.06, min=0.0, max=1.5, step=0.005, description="current I", **slider),
        leak=widgets.FloatSlider(value=0.99, min=0.5, max=1.0, step=0.005, description="leak \u03bb", **slider),
        threshold=widgets.FloatSlider(value=1.0, min=0.1, max=2.0, step=0.05, description="V_th", **slider),
        reset=widgets.Dropdown(options=["zero", "subtract"], value="zero", description="reset"))


# -- f-I curves ---------------------------------------------------------------------------------

def fi_curve(currents: torch.Tensor | None = None, *, leaks: Sequence[float] = (1.0, 0.99, 0.95, 0.9),
             threshold: float = 1.0, reset: str = "zero", steps: int = 1000, subtract_if: bool = True):
    r"""The f-I curve: firing rate against constant input current, with the rate model
    :math:`a/T \approx I / V_{th}` (the paper's approximation) for comparison. Checked as
    :func:`fi_rates`; every leak in ``leaks`` in (0, 1], ``subtract_if`` True or False."""
    import plotly.graph_objects as go

    threshold = validate.positive("threshold", threshold)
    steps = validate.count("steps", steps)
    leaks = [validate.leak(f"leaks[{i}]", v) for i, v in enumerate(validate.sequence("leaks", leaks, "leaks"))]
    validate.choice("reset", reset, RESETS)
    subtract_if = validate.flag("subtract_if", subtract_if)
    currents = torch.linspace(0, 1.2 * threshold, 121) if currents is None else as_currents(currents)
    fig = _figure(title=f"f-I curves (V<sub>th</sub> = {threshold:g}, {steps} steps)", height=440,
                  xaxis_title="constant input current I per step", yaxis_title="firing rate (spikes per step)")
    x = currents.tolist()
    fig.add_trace(go.Scatter(x=x, y=(currents / threshold).clamp(max=1).tolist(), mode="lines",
                             name="rate model I / V<sub>th</sub>", line=dict(color="grey", dash="dot", width=3)))
    if subtract_if:
        fig.add_trace(go.Scatter(x=x, y=fi_rates(currents, steps=steps, leak=1.0, threshold=threshold,
                                                reset="subtract").tolist(),
                                 mode="lines", name="IF, subtract reset", line=dict(color=COLORS[5])))
    for k, leak in enumerate(leaks):
        name = f"IF (\u03bb = 1), {reset} reset" if leak == 1.0 else f"LIF \u03bb = {leak:g}, {reset} reset"
        fig.add_trace(go.Scatter(x=x, y=fi_rates(currents, steps=steps, leak=leak, threshold=threshold,
                                                reset=reset).tolist(),
                                 mode="lines", name=name, line=dict(color=COLORS[k % len(COLORS)])))
    return fig


# -- spikes -------------------------------------------------------------------------------------

def _flat(spikes: torch.Tensor, max_neurons: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``[T, ...]`` -> ``([T, N], neuron [N])``: the spikes of the ``max_neurons`` most active neurons
    (all when None), in their order, and each kept neuron's index among all (flattened) neurons."""
    flat = spikes.detach().float().reshape(spikes.shape[0], -1).cpu()
    keep = torch.arange(flat.shape[1])
    if max_neurons is not None and flat.shape[1] > max_neurons:
        keep = flat.abs().sum(0).topk(max_neurons).indices.sort().values
    return flat[:, keep], keep


def _raster_traces(go, flat: torch.Tensor, neuron: torch.Tensor, showlegend: bool):
    """A marker at (t + 1, neuron[n]) for every spike ``flat[t, n]`` of +1 (and of -1, when any)."""
    traces = []
    for sign, name, color in ((1, "spike +1", COLORS[6]), (-1, "spike \u22121", COLORS[1])):
        t, n = torch.nonzero(flat == sign, as_tuple=True)
        if sign == -1 and len(t) == 0:
            continue
        traces.append(go.Scatter(x=(t + 1).tolist(), y=neuron[n].tolist(), mode="markers", name=name,
                                 legendgroup=name, showlegend=showlegend,
                                 marker=dict(symbol="line-ns-open", size=6, color=color, line=dict(width=1.5))))
    return traces


def raster(spikes: torch.Tensor, *, title: str = "spike raster", max_neurons: int | None = 100):
    """A raster of one spike train ``[T, ...]`` (neurons flattened): a mark per spike, time across.

    Negative spikes (signed input coding) are drawn in another colour. At most ``max_neurons``
    rows are drawn: the most active ones (``None``: all), each at its own index among all the
    flattened neurons (neuron :math:`n` of ``spikes[t]`` is ``spikes[t].flatten()[n]``).

    Checked: ``spikes`` a non-empty tensor of at least one dimension (float, int or bool) holding
    only -1, 0 and 1 (membrane potentials or rates would draw nothing: use :func:`lines` or
    :func:`histogram`); ``max_neurons`` None or >= 1.
    """
    import plotly.graph_objects as go

    validate.spike_tensor("spikes", spikes, min_dim=1, shape="a tensor [T, ...] (time first)")
    validate.spike_values("spikes", spikes, "a raster draws spike trains; analog values (membrane potentials, "
                                            "rates, direct input) belong in plots.lines or plots.histogram")
    max_neurons = validate.optional_count("max_neurons", max_neurons)
    flat, neuron = _flat(spikes, max_neurons)
    fig = _figure(title=title, height=360, xaxis_title="time step t", yaxis_title="neuron")
    fig.add_traces(_raster_traces(go, flat, neuron, True))
    fig.update_xaxes(range=[0.5, flat.shape[0] + 0.5])
    return fig


def rasters(spikes: Mapping[str, torch.Tensor], *, sample: int = 0, max_neurons: int | None = 64,
            title: str = "spikes per layer", layers: Sequence[str] | None = None):
    """Rasters of several layers of one sample, stacked: ``spikes`` maps a layer name to
    ``[T, B, ...]`` (e.g. :attr:`snnbp.Recording.spikes`). Each panel's title gives the layer's
    firing rate (spikes per neuron per step) for this sample; a layer holding other values than
    -1, 0 and 1 (the direct encoding's analog ``"input"``) says so in its title, since only its
    ±1 entries are drawn. As in :func:`raster`, a kept neuron is drawn at its own index.

    Checked: ``spikes`` a non-empty dict of non-empty tensors ``[T, B, ...]`` (one tensor is an
    error: use :func:`raster`, or wrap it, ``{"layer": spikes}``); ``sample`` an index into the
    batch of every layer; ``layers`` a list of names in ``spikes``; ``max_neurons`` None or >= 1.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    validate.mapping("spikes", spikes, "{layer name: spikes [T, B, ...]} such as snnbp.record(...).spikes",
                     "for one tensor use plots.raster(spikes[:, 0]), or wrap it, plots.rasters({'layer': spikes})"
                     if isinstance(spikes, torch.Tensor) else "pass the recording's spikes, plots.rasters(rec.spikes)"
                     if hasattr(spikes, "spikes") else "")
    names = list(spikes) if layers is None else validate.names("layers", layers, list(spikes), "layer")
    if not names:
        raise ValueError(f"layers is empty: name at least one of {', '.join(map(repr, spikes))}")
    max_neurons = validate.optional_count("max_neurons", max_neurons)
    for name in names:
        validate.spike_tensor(f"spikes[{name!r}]", spikes[name], min_dim=2, shape="a tensor [T, B, ...]",
                              hint="a recording holds [T, B, ...]; for one sample's [T, ...] use plots.raster")
        validate.index("sample", sample, spikes[name].shape[1], f"the batch of spikes[{name!r}]")
    flats = [_flat(spikes[name][:, sample], None)[0] for name in names]

    def analog(f: torch.Tensor) -> bool:
        return bool(((f != 0) & (f.abs() != 1)).any())

    subtitles = [f"{name}: {f.shape[1]} neurons, " + (
        "analog values, not spikes: \u00b11 drawn" if analog(f) else f"rate {f.abs().mean():.3f}") +
                 (f" ({max_neurons} shown)" if max_neurons and f.shape[1] > max_neurons else "")
                 for name, f in zip(names, flats)]
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, subplot_titles=subtitles,
                        vertical_spacing=0.08)
    for row, (name, flat) in enumerate(zip(names, flats), start=1):
        for trace in _raster_traces(go, *_flat(flat, max_neurons), row == 1):
            fig.add_trace(trace, row=row, col=1)
        fig.update_yaxes(title_text="neuron", row=row, col=1)
    fig.update_xaxes(title_text="time step t", row=len(names), col=1)
    fig.update_layout(template="plotly_white", title=title, height=230 * len(names) + 80,
                      margin=dict(l=60, r=20, t=80, b=50))
    return fig


def spike_movie(spikes: torch.Tensor, *, image: torch.Tensor | None = None, title: str = "input spikes"):
    r"""An image's spikes ``[T, H, W]`` step by step: a slider over :math:`t` shows the spikes at
    step :math:`t` (left) and the running rate estimate :math:`\frac1t\sum_{k\le t} s[k]` (right),
    beside the image itself when given.

    Checked: ``spikes`` a non-empty tensor ``[T, H, W]`` (a batch ``[T, B, C, H, W]`` is an error
    that says how to pick one image); ``image`` None or a tensor ``[H, W]`` of the same size.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    dim = spikes.dim() if isinstance(spikes, torch.Tensor) else None
    hint = {2: "for neurons [T, N] use plots.raster(spikes)",
            4: "for [T, B, H, W] or [T, C, H, W] pick one image or channel, spikes[:, 0]",
            5: "for a batch [T, B, C, H, W] pick one image, spikes[:, 0, 0]"}.get(dim, "")
    validate.spike_tensor("spikes", spikes, dims=(3,), shape="one image's spikes [T, H, W]", hint=hint)
    if image is not None:
        validate.tensor("image", image)
        if tuple(image.shape) != tuple(spikes.shape[1:]):
            squeeze = " (image.squeeze() drops the channel)" if image.dim() == 3 and image.shape[0] == 1 else ""
            raise ValueError(f"image must be [H, W] = {list(spikes.shape[1:])}, the size of spikes [T, H, W]; got "
                             f"shape {tuple(image.shape)}{squeeze}")
    spikes = spikes.detach().float().cpu()
    steps = spikes.shape[0]
    running = spikes.cumsum(0) / torch.arange(1, steps + 1).view(-1, 1, 1)
    panels = ["spikes at step t", "rate so far"] + (["image"] if image is not None else [])
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=panels, horizontal_spacing=0.06)
    vmin = -1.0 if bool((spikes < 0).any()) or (image is not None and bool((image < 0).any())) else 0.0
    heat = dict(zmin=vmin, zmax=1.0, colorscale="RdBu_r" if vmin < 0 else "Greys", showscale=False)

    def frame(t):
        return {"traces": {"0": {"z": spikes[t].flip(0).tolist()}, "1": {"z": _round(running[t].flip(0))}},
                "title": f"{title}: step t = {t + 1} of {steps}"}

    last = steps - 1
    fig.add_trace(go.Heatmap(z=spikes[last].flip(0).tolist(), **heat), row=1, col=1)
    fig.add_trace(go.Heatmap(z=_round(running[last].flip(0)), **heat), row=1, col=2)
    if image is not None:
        fig.add_trace(go.Heatmap(z=image.detach().float().cpu().flip(0).tolist(), **heat), row=1, col=3)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, scaleanchor="x")
    for col in range(2, len(panels) + 1):
        fig.update_yaxes(scaleanchor=f"x{col}", row=1, col=col)
    fig.update_layout(template="plotly_white", title=frame(last)["title"], height=420,
                      margin=dict(l=20, r=20, t=80, b=20),
                      sliders=[_slider("t", list(range(1, steps + 1)), last, -0.02)])
    fig.layout.meta = {"snnbp_lookup": {"shape": [steps], "entries": [frame(t) for t in range(steps)]}}
    return fig


# -- curves -------------------------------------------------------------------------------------

def lines(x, ys: Mapping[str, Sequence[float]], *, title: str = "", xlabel: str = "", ylabel: str = "",
          log_x: bool = False, log_y: bool = False, dashed: Sequence[str] = (), markers: bool = False,
          height: int = 400, subtitle: str = ""):
    """Several curves over a shared ``x`` (``ys``: legend name -> values); names in ``dashed`` are dashed.

    ``x`` and each curve are lists, tuples, ranges, 1-D tensors or numpy arrays (``None`` in a
    curve leaves a gap). Checked: ``ys`` a non-empty dict; every curve as long as ``x`` (the
    error names the curve); ``dashed`` a list of names in ``ys``; the switches True or False.
    ``subtitle``: a smaller second line under the title (what the title has no room for). A log
    x axis over a few values ticks at each of them (the T values probed), other log axes at 1, 2
    and 5 times the powers of ten, each labelled in full (:func:`_log_ticks`).
    """
    import plotly.graph_objects as go

    x = validate.sequence("x", x, "x values")
    validate.mapping("ys", ys, "{legend name: values}", "wrap one curve, ys={'y': ...}"
                     if not isinstance(ys, Mapping) and hasattr(ys, "__len__") else "")
    dashed = validate.names("dashed", dashed, [str(name) for name in ys], "curve") if dashed else []
    log_x, log_y, markers = (validate.flag(n, v) for n, v in (("log_x", log_x), ("log_y", log_y), ("markers", markers)))
    curves = {}
    for name, y in ys.items():
        curves[name] = validate.sequence(f"ys[{name!r}]", y, "y values")
        validate.same_length(("x", f"ys[{name!r}]"), x, curves[name])
    fig = _figure(title=title, subtitle=subtitle, height=height, xaxis_title=xlabel, yaxis_title=ylabel)
    for k, (name, y) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines+markers" if markers else "lines",
                                 line=dict(color=COLORS[k % len(COLORS)],
                                           dash="dash" if str(name) in dashed else None)))
    if log_x:
        fig.update_xaxes(type="log", **_log_ticks(x, at_values=True))
    if log_y:
        fig.update_yaxes(type="log", **_log_ticks(list(curves.values())))
    return fig


def histogram(values, *, title: str = "", xlabel: str = "", bins: int = 40,
              marks: Mapping[str, float] | None = None, height: int = 380):
    """A histogram of ``values`` with vertical lines at ``marks`` (legend name -> x).

    Checked: ``values`` finite numbers (a tensor of any shape, flattened, or a list), not empty;
    ``bins`` an integer >= 1; ``marks`` None or a dict of finite numbers.
    """
    import plotly.graph_objects as go

    values = validate.numbers("values", values).flatten().float().cpu()
    bins = validate.count("bins", bins)
    if marks is not None:
        validate.instance("marks", marks, Mapping, "None or a dict {legend name: x}")
        marks = {name: _number(f"marks[{name!r}]", x, "the x of its line") for name, x in marks.items()}
    fig = _figure(title=title, height=height, xaxis_title=xlabel, yaxis_title="count", bargap=0.05)
    fig.add_trace(go.Histogram(x=values.tolist(), nbinsx=bins, name="values", marker_color=COLORS[0]))
    for k, (name, x) in enumerate((marks or {}).items()):
        fig.add_vline(x=float(x), line=dict(color=COLORS[(k + 1) % len(COLORS)], dash="dash"))
        fig.add_trace(go.Scatter(x=[float(x)], y=[0], mode="markers", name=f"{name} = {float(x):.5g}",
                                 marker=dict(color=COLORS[(k + 1) % len(COLORS)], symbol="triangle-up", size=10)))
    return fig


def surrogates(names: Sequence[str] | None = None, *, threshold: float = 1.0, span: float = 1.0):
    r"""The backward rule :math:`\partial s/\partial V` of each surrogate in :mod:`snnbp.surrogate`
    against the membrane :math:`V`, with the forward step :math:`s = 1[V > V_{th}]` for reference.

    ``names``: a list of names in :data:`snnbp.surrogate.NAMES` (None: all of them); checked, as
    are ``threshold`` > 0 and ``span`` > 0."""
    from . import surrogate as sg

    names = None if names is None else validate.names("names", names, sg.NAMES, "surrogate")
    threshold, span = validate.positive("threshold", threshold), validate.positive("span", span)
    v = torch.linspace(threshold - span, threshold + span, 401)
    s = (v > threshold).float()
    ys = {"forward: spike s = 1[V > V_th]": s}
    for name in names or sg.NAMES:
        ys[f"{name}"] = sg.get(name).grad(v, s, threshold)
    fig = lines(v, ys, title=f"surrogate derivatives \u2202s/\u2202V (V<sub>th</sub> = {threshold:g})",
                xlabel="membrane V", ylabel="\u2202s/\u2202V", dashed=["forward: spike s = 1[V > V_th]"])
    fig.data[0].line.color = "grey"
    return fig


def history(rows: Sequence[Mapping], *, title: str = "training"):
    """Loss and accuracy per epoch from training rows (``epoch``, ``train_loss``, ``train_acc``,
    ``test_acc``; accuracies as fractions or percentages, shown as they come).

    Checked: ``rows`` a non-empty list of dicts (what :func:`snnbp.train.fit` returns, or
    :func:`snnbp.runs.read_metrics`), each with ``epoch`` and ``train_loss``; an accuracy is
    drawn when every row has it.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = validate.rows("rows", rows, ("epoch", "train_loss"),
                         "history takes the rows of one run, as snnbp.train.fit returns them"
                         + ("; for several runs, call it once per run" if isinstance(rows, Mapping) else
                            "; a pandas DataFrame: rows.to_dict('records')" if hasattr(rows, "to_dict") else ""))
    epochs = [r["epoch"] for r in rows]
    fig = make_subplots(rows=1, cols=2, subplot_titles=["training loss", "accuracy"])
    fig.add_trace(go.Scatter(x=epochs, y=[r["train_loss"] for r in rows], name="train loss",
                             mode="lines+markers", line=dict(color=COLORS[0])), row=1, col=1)
    for k, key in enumerate(("train_acc", "test_acc")):
        if all(key in r and r[key] is not None for r in rows):
            fig.add_trace(go.Scatter(x=epochs, y=[r[key] for r in rows], name=key.replace("_", " "),
                                     mode="lines+markers", line=dict(color=COLORS[k + 1])), row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(template="plotly_white", title=title, height=380, margin=dict(l=60, r=20, t=80, b=50))
    return fig


# -- Part II: bars and per-layer rates ------------------------------------------------------------

def probe(result, *, title: str = "firing rate per layer against T", floor: float = 1e-5,
          subtitle: str | None = None):
    """A :class:`snnbp.wakeup.Probe` drawn: left, each layer's firing rate against the number of time
    steps T (log scale; a silent layer is drawn at ``floor``); right, each weight layer's gradient
    norm against T (zero drawn at ``floor``). The T axes tick at the probed T. ``subtitle`` (a
    second line under the title) says by default where silent layers are drawn. Checked:
    ``result`` is a ``Probe`` that measured at least one T; ``floor`` > 0."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from .wakeup import Probe

    validate.instance("result", result, Probe, "a snnbp.wakeup.Probe", "draw one probe at a time, plots.probe("
                      "probes[name])" if isinstance(result, Mapping) else "what snnbp.wakeup.probe(...) returns")
    floor = validate.positive("floor", floor)
    steps = list(result.timesteps)
    if not steps or any(t not in result.rates or t not in result.grads for t in steps):
        raise ValueError(f"result holds no measurement for some T of result.timesteps = {steps}: "
                         f"draw what snnbp.wakeup.probe returned")
    fig = make_subplots(rows=1, cols=2, subplot_titles=["spikes per neuron per step",
                                                        "weight-gradient norm"])
    layers = [k for k in result.rates[steps[0]] if k != INPUT]
    for k, name in enumerate(layers):
        fig.add_trace(go.Scatter(x=steps, y=[max(result.rates[t][name], floor) for t in steps], name=name,
                                 mode="lines+markers", legendgroup="rates",
                                 line=dict(color=COLORS[k % len(COLORS)])), row=1, col=1)
    for k, name in enumerate(result.grads[steps[0]]):
        fig.add_trace(go.Scatter(x=steps, y=[max(result.grads[t][name], floor) for t in steps], name=name,
                                 mode="lines+markers", legendgroup="grads", line=dict(
                                     color=COLORS[k % len(COLORS)], dash="dot")), row=1, col=2)
    fig.update_xaxes(title_text="time steps T", type="log", **_log_ticks(steps, at_values=True))
    for col, panel in ((1, "rates"), (2, "grads")):
        fig.update_yaxes(type="log", row=1, col=col, **_log_ticks([trace.y for trace in fig.data
                                                                   if trace.legendgroup == panel]))
    if subtitle is None:
        subtitle = f"log scales; a silent layer, or a zero gradient, is drawn at {_tick_label(floor)}"
    fig.update_layout(template="plotly_white", title=dict(text=title, subtitle=dict(text=subtitle)), height=440,
                      margin=dict(l=60, r=20, t=110 if subtitle else 80, b=50))
    return fig


def bars(categories: Sequence[str], values: Mapping[str, Sequence[float]], *, title: str = "", xlabel: str = "",
         ylabel: str = "", log_y: bool = False, height: int = 400, text: bool = False):
    """Grouped bars: one group per category (e.g. a layer), one bar per series in ``values``
    (legend name -> one value per category). ``text=True`` writes each value on its bar.

    Checked: ``categories`` a non-empty list of distinct names (plotly would draw two bars of
    one name on the same spot); ``values`` a non-empty dict whose every series has one number
    per category (the error names the series); the switches True or False.
    """
    import plotly.graph_objects as go

    categories = [str(c) for c in validate.sequence("categories", categories, "category names")]
    if not categories:
        raise ValueError("categories is empty: give one name per group of bars")
    twice = sorted({c for c in categories if categories.count(c) > 1})
    if twice:
        raise ValueError(f"categories must be distinct; {', '.join(map(repr, twice))} appears more than once "
                         f"(plotly would draw those bars on one spot): make the names unique")
    validate.mapping("values", values, "{series name: one value per category}",
                     "wrap one series, values={'value': ...}" if not isinstance(values, Mapping) else "")
    log_y, text = validate.flag("log_y", log_y), validate.flag("text", text)
    series = {}
    for name, ys in values.items():
        ys = validate.sequence(f"values[{name!r}]", ys, "numbers")
        if len(ys) != len(categories):
            raise ValueError(f"values[{name!r}] (series {name!r}) has {len(ys)} values for {len(categories)} "
                             f"categories: give one value per category")
        series[name] = [_number(f"values[{name!r}][{i}]", v, "a number per category") for i, v in enumerate(ys)]
    fig = _figure(title=title, height=height, xaxis_title=xlabel, yaxis_title=ylabel, barmode="group")
    for k, (name, ys) in enumerate(series.items()):
        fig.add_trace(go.Bar(x=categories, y=ys, name=name, marker_color=COLORS[k % len(COLORS)],
                             text=[f"{v:.3g}" for v in ys] if text else None,
                             textposition="outside" if text else None))
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def rate_explorer(layers: Sequence[str], params: Mapping[str, Sequence], rates: Mapping[tuple, Sequence[float]], *,
                  active: Mapping[str, object] | None = None, title: str = "firing rate per layer",
                  ymax: float | None = None, height: int = 600):
    r"""Per-layer firing rates (bars) with one slider per parameter, kernel-free.

    ``params``: parameter name -> the values it takes (e.g. ``{"init gain": [0.5, 1, 2]}``);
    ``rates``: one entry per combination, keyed by the tuple of values in ``params``' order, each
    a rate per layer in ``layers``' order (measured beforehand with :func:`snnbp.record`). The
    sliders switch among these precomputed results, so they work on a static web page;
    ``active`` picks the combination shown first (default: each parameter's first value).
    """
    import plotly.graph_objects as go

    names = list(params)
    grid = [list(params[n]) for n in names]
    layers = [str(name) for name in layers]
    entries = []
    for combo in itertools.product(*grid):
        if combo not in rates:
            raise KeyError(f"rates has no entry for {dict(zip(names, combo))}")
        ys = [float(v) for v in rates[combo]]
        if len(ys) != len(layers):
            raise ValueError(f"{dict(zip(names, combo))}: {len(ys)} rates for {len(layers)} layers")
        label = ", ".join(f"{n} = {v:g}" if isinstance(v, (int, float)) else f"{n} = {v}" for n, v in zip(names, combo))
        deepest = ys[-1]
        entries.append({"traces": {"0": {"y": _round(ys, 4), "text": [f"{v:.3f}" for v in ys]}},
                        "title": f"{title}: {label} → last layer {deepest:.4f}"})
    active = active or {}
    positions = [_index(g, active.get(n, g[0])) for n, g in zip(names, grid)]
    shape = [len(g) for g in grid]
    default = entries[_lookup_index(positions, shape)]
    top = ymax if ymax is not None else max(max(float(v) for v in r) for r in rates.values()) * 1.15 or 1.0
    n_sliders = len(names)
    plot_bottom = 0.15 * n_sliders + 0.1
    fig = _figure(title=dict(text=default["title"], font=dict(size=14), x=0.02, xanchor="left"), height=height,
                  margin=dict(l=60, r=20, t=70, b=20),
                  yaxis=dict(title="spikes per neuron per step", range=[0, top], domain=[plot_bottom, 1.0]),
                  xaxis=dict(title=None))
    fig.add_trace(go.Bar(x=layers, y=default["traces"]["0"]["y"], text=default["traces"]["0"]["text"],
                         textposition="outside", marker_color=COLORS[0], name="rate", showlegend=False))
    fig.update_layout(sliders=[_slider(n, g, p, plot_bottom - 0.08 - 0.15 * k,
                                       "{:g}" if not isinstance(g[0], str) else "{}")
                               for k, (n, g, p) in enumerate(zip(names, grid, positions))])
    fig.layout.meta = {"snnbp_lookup": {"shape": shape, "entries": entries}}
    return fig


# -- an evaluation (snnbp.evaluate) ----------------------------------------------------------------

#: What :func:`evaluation` reads from an evaluation dict.
EVALUATION_KEYS = ("accuracy_vs_timesteps", "firing_rates", "layers")


def evaluation(result: Mapping) -> dict:
    r"""The figures of an evaluation: what :func:`snnbp.evaluate.analyse` returns, or a run folder's
    ``evaluation.json`` read back. Keys are the figures' names (``python -m snnbp.evaluate``
    writes each as ``<name>.png`` into the run folder):

    * ``"accuracy_vs_timesteps"``: test accuracy in percent, :math:`100 \cdot` ``acc[t - 1]``,
      after :math:`t = 1..T` inference steps;
    * ``"firing_rates"``: spikes per neuron per step of each recorded layer (absent for the ANN
      twin, which records none);
    * ``"operations"``: per weight layer and image, the SNN's accumulates and the ANN twin's
      multiply-accumulates (log scale).

    Checked: ``result`` a dict holding :data:`EVALUATION_KEYS`.
    """
    validate.mapping("result", result, "of an evaluation, as snnbp.evaluate.analyse returns it")
    missing = [key for key in EVALUATION_KEYS if key not in result]
    if missing:
        raise ValueError(f"result lacks {', '.join(map(repr, missing))}: pass what snnbp.evaluate.analyse returns "
                         f"(or a run's evaluation.json, json.loads(path.read_text()))")
    acc = validate.sequence("result['accuracy_vs_timesteps']", result["accuracy_vs_timesteps"], "accuracies")
    figures = {"accuracy_vs_timesteps": lines(
        list(range(1, len(acc) + 1)), {"accuracy": [100 * a for a in acc]}, markers=len(acc) < 40,
        title=f"{result.get('model', '')} accuracy vs time".strip(), xlabel="inference time steps t",
        ylabel="test accuracy (%)", height=320)}
    rates = result["firing_rates"]
    if rates:
        figures["firing_rates"] = bars(list(rates), {"firing rate": list(rates.values())}, height=320,
                                       title="firing rate per layer", ylabel="spikes / neuron / step")
    layers = result["layers"]
    figures["operations"] = bars([r["name"] for r in layers],
                                 {"SNN accumulates": [r["synaptic_ops"] for r in layers],
                                  "ANN MACs": [r["ann_macs"] for r in layers]},
                                 log_y=True, title="operations per weight layer", ylabel="operations per image",
                                 height=320)
    return figures
