"""snnbp.plots (and snnbp/_display.py, _simulation.py behind it): each figure carries the values a formula or
a hand count gives; the HTML draws itself without a kernel; save writes pages and PNG images."""
import json

import plotly.graph_objects as go
import pytest
import torch

import snnbp
from snnbp import plots


def _lookup(fig):
    return fig.layout.meta["snnbp_lookup"]


def test_simulate_matches_the_neuron():
    trace = plots.simulate(0.3, steps=10, leak=1.0, threshold=1.0)
    # H = 0.3, 0.6, 0.9, 1.2 -> spike, reset to 0, ...: fires every 4th step
    assert trace["s"].tolist() == [0, 0, 0, 1] * 2 + [0, 0]
    assert trace["h"][:4].tolist() == pytest.approx([0.3, 0.6, 0.9, 1.2])
    batch = plots.simulate(torch.full((10, 3), 0.3), leak=1.0)
    assert torch.equal(batch["s"][:, 1], trace["s"])


def test_membrane_explorer_has_sliders_and_a_lookup_for_every_combination():
    fig = plots.membrane_explorer(currents=(0.0, 0.5), leaks=(1.0, 0.9), thresholds=(1.0,), steps=20,
                                  current=0.5, leak=1.0)
    assert isinstance(fig, go.Figure)
    lookup = _lookup(fig)
    assert lookup["shape"] == [2, 2, 1, 2] and len(lookup["entries"]) == 8
    assert [s.active for s in fig.layout.sliders] == [1, 0, 0, 0]
    assert all(step.method == "skip" for s in fig.layout.sliders for step in s.steps)
    # entry order is C order over (current, leak, threshold, reset); I = 0 never fires
    assert lookup["entries"][0]["traces"]["2"]["x"] == []
    # the static default is the entry the sliders point at
    default = lookup["entries"][(1 * 2 + 0) * 2 + 0]
    assert list(fig.data[0].y) == default["traces"]["0"]["y"]
    # I = 0.5, V_th = 1: H = 0.5, 1.0 (not > 1: the inequality is strict), 1.5 -> spike every 3rd step
    assert list(fig.data[2].x) == default["traces"]["2"]["x"] == [3, 6, 9, 12, 15, 18]


def test_html_is_self_drawing_and_offline_capable():
    html = plots.to_html(plots.membrane_explorer(currents=(0.1, 0.2), leaks=(0.99,), thresholds=(1.0,),
                                                 resets=("zero",), steps=10))
    assert 'Plotly.newPlot(' in html and "snnbp_lookup" in html and "plotly_sliderchange" in html
    assert "if (window.Plotly)" in html           # uses the page's plotly.js (the book ships one)
    assert "https://cdn.plot.ly/plotly-" in html  # else the CDN (Jupyter, Colab)
    start = html.index("var fig = ") + len("var fig = ")
    end = html.index(";\n    Plotly.newPlot")
    fig = json.loads(html[start:end])
    assert len(fig["layout"]["sliders"]) == 4


def test_show_emits_html_not_plotly_mimetype():
    from IPython.core.formatters import DisplayFormatter
    from IPython.display import HTML

    shown = []
    import IPython.display as display_module
    original = display_module.display
    display_module.display = lambda obj: shown.append(obj)
    try:
        plots.show(plots.fi_curve(torch.linspace(0, 1, 5), steps=50))
    finally:
        display_module.display = original
    assert len(shown) == 1 and isinstance(shown[0], HTML)
    data, _ = DisplayFormatter().format(shown[0])
    assert "text/html" in data and "application/vnd.plotly.v1+json" not in data


def _if_spike_count(current, threshold, steps, reset):
    """Spikes of an IF neuron (no leak) at a constant ``current`` over ``steps`` steps, by arithmetic:
    it fires when H > V_th (strictly). Reset to zero: H = n I after n steps since the last spike, so it
    fires every n = floor(V_th / I) + 1 steps. Reset by subtraction: after t steps it has fired
    c(t) = #{k >= 1 : k V_th < t I} = ceil(t I / V_th) - 1 times (one spike per step at most, I <= V_th)."""
    from fractions import Fraction

    i, v = Fraction(current), Fraction(threshold)
    if i <= 0:
        return 0
    if reset == "zero":
        return steps // (v // i + 1)
    assert i <= v
    return -(-steps * i // v) - 1


def test_fi_rates_if_and_lif():
    currents = torch.tensor([0.0, 0.005, 0.25, 0.5])
    if_rate = plots.fi_rates(currents, steps=400, leak=1.0, reset="subtract")
    assert if_rate.tolist() == pytest.approx([0.0, 0.005, 0.25, 0.5], abs=0.003)
    lif_rate = plots.fi_rates(currents, steps=400, leak=0.99)
    assert lif_rate[1] == 0                           # below the rheobase (1 - 0.99) * 1
    assert (lif_rate <= if_rate + 1e-6).all()         # the leak bends the curve below I / V_th


# dyadic currents: float32 sums of them are exact, so the arithmetic above is what the neuron does
DYADIC = [0.0, 0.0625, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.25]


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_fi_rates_of_an_if_neuron_are_the_spike_arithmetic(reset):
    steps, threshold = 97, 1.0
    currents = DYADIC if reset == "zero" else DYADIC[:-1]   # subtraction: at most one spike per step
    rates = plots.fi_rates(torch.tensor(currents), steps=steps, leak=1.0, threshold=threshold, reset=reset)
    counts = [_if_spike_count(i, threshold, steps, reset) for i in currents]
    assert [round(r * steps) for r in rates.tolist()] == counts                # spikes, exactly
    assert rates.tolist() == pytest.approx([c / steps for c in counts], abs=1e-7)
    # e.g. I = 0.25, V_th = 1, reset to zero: H = 0.25, 0.5, 0.75, 1.0 (not > 1), 1.25: a spike every 5th step
    assert _if_spike_count(0.25, 1.0, 97, "zero") == 19


def test_fi_curve_carries_the_rates():
    currents = [0.0, 0.125, 0.375, 0.75, 1.0]
    steps, threshold = 50, 0.75
    fig = plots.fi_curve(torch.tensor(currents), leaks=(1.0, 0.9), threshold=threshold, steps=steps)
    assert all(list(trace.x) == pytest.approx(currents) for trace in fig.data)
    assert list(fig.data[0].y) == pytest.approx([min(i / threshold, 1.0) for i in currents])       # rate model
    assert list(fig.data[1].y) == pytest.approx([_if_spike_count(i, threshold, steps, "subtract") / steps
                                                 if i <= threshold else 1.0 for i in currents])
    assert list(fig.data[2].y) == pytest.approx([_if_spike_count(i, threshold, steps, "zero") / steps for i in currents])
    # LIF (leak 0.9): rheobase (1 - 0.9) * 0.75 = 0.075 < 0.125; silent at 0, below the IF curve elsewhere
    lif = list(fig.data[3].y)
    assert lif[0] == 0 and all(0 < r <= f for r, f in zip(lif[1:], list(fig.data[2].y)[1:]))
    assert [t.name for t in fig.data[2:]] == ["IF (\u03bb = 1), zero reset", "LIF \u03bb = 0.9, zero reset"]


def test_rasters_from_a_recording():
    model = snnbp.build("mlp", "digits", timesteps=8)
    with snnbp.record(model) as rec:
        model(snnbp.data.digits("test")[0][:2])
    fig = plots.rasters(rec.spikes, max_neurons=20)
    assert isinstance(fig, go.Figure)
    titles = [a.text for a in fig.layout.annotations]
    for name, s in rec.spikes.items():                          # one titled panel per layer, its rate by hand
        flat = s[:, 0].reshape(8, -1)
        rate = float(flat.abs().sum()) / flat.numel()
        assert any(t.startswith(f"{name}: {flat.shape[1]} neurons, rate {rate:.3f}") for t in titles), (name, titles)
    signed = torch.tensor([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    fig = plots.raster(signed)
    assert [(t.name, sorted(zip(t.x, t.y))) for t in fig.data] == [("spike +1", [(1, 0), (2, 1)]),
                                                                   ("spike \u22121", [(1, 1), (2, 2)])]


def _spike_positions(nested, sign):
    """(t, neuron) of every entry equal to ``sign`` in a nested list [T][N], t counted from 1."""
    return sorted((t + 1, n) for t, row in enumerate(nested) for n, v in enumerate(row) if v == sign)


def test_raster_marks_exactly_the_spikes():
    spikes = torch.zeros(6, 2, 3)                    # [T, 2, 3]: neurons flattened to 6, n = 3 * row + column
    for t, a, b in [(0, 0, 0), (1, 1, 2), (3, 0, 1), (3, 1, 2), (5, 0, 0)]:
        spikes[t, a, b] = 1
    spikes[2, 1, 0] = -1
    fig = plots.raster(spikes, max_neurons=None)
    flat = spikes.reshape(6, 6).tolist()
    assert [t.name for t in fig.data] == ["spike +1", "spike \u22121"]
    assert sorted(zip(fig.data[0].x, fig.data[0].y)) == _spike_positions(flat, 1) == [
        (1, 0), (2, 5), (4, 1), (4, 5), (6, 0)]
    assert sorted(zip(fig.data[1].x, fig.data[1].y)) == [(3, 3)]
    assert tuple(fig.layout.xaxis.range) == (0.5, 6.5)
    # max_neurons keeps the most active neurons, each at its own index: neurons 0 and 5 (two spikes each;
    # 1 and 3 have one) stay at 0 and 5, and the -1 spike of neuron 3 is not drawn
    kept = plots.raster(spikes, max_neurons=2)
    assert [t.name for t in kept.data] == ["spike +1"]
    assert sorted(zip(kept.data[0].x, kept.data[0].y)) == [(1, 0), (2, 5), (4, 5), (6, 0)]
    # the same in a panel of rasters: sample 1 of a batch, neurons 0 and 5 of [T, 2, 3] flattened
    batch = torch.stack([torch.zeros_like(spikes), spikes], dim=1)          # [T, B = 2, 2, 3]
    panel = plots.rasters({"layer": batch}, sample=1, max_neurons=2)
    assert sorted(zip(panel.data[0].x, panel.data[0].y)) == [(1, 0), (2, 5), (4, 5), (6, 0)]
    assert panel.layout.annotations[0].text.endswith(" (2 shown)")          # the 2 most active


def test_rasters_draw_each_layers_spikes_of_the_sample():
    torch.manual_seed(0)
    spikes = {"a": (torch.rand(5, 3, 4) < 0.4).float(), "b": (torch.rand(5, 3, 2, 2) < 0.3).float()}
    fig = plots.rasters(spikes, sample=1, max_neurons=None)
    for axis, (name, s) in zip(("x", "x2"), spikes.items()):
        flat = s[:, 1].reshape(5, -1).tolist()
        drawn = [tr for tr in fig.data if tr.xaxis == axis]
        assert len(drawn) == 1 and sorted(zip(drawn[0].x, drawn[0].y)) == _spike_positions(flat, 1)
        rate = sum(map(sum, flat)) / (5 * len(flat[0]))
        assert f"{name}: {len(flat[0])} neurons, rate {rate:.3f}" in [a.text for a in fig.layout.annotations]


def test_spike_movie_has_one_entry_per_step():
    spikes = snnbp.poisson_encode(torch.rand(8, 8), steps=6)
    image = torch.rand(8, 8)
    fig = plots.spike_movie(spikes, image=image)
    lookup = _lookup(fig)
    assert lookup["shape"] == [6] and len(lookup["entries"]) == 6
    assert fig.layout.sliders[0].active == 5
    assert [list(r) for r in fig.data[2].z] == [row for row in reversed(image.tolist())]   # the image, row 0 on top
    # entry t: the spikes at step t + 1 and the running rate of steps 1..t + 1, rows flipped (row 0 at the top)
    for t in (0, 3, 5):
        frame = lookup["entries"][t]["traces"]
        assert frame["0"]["z"] == [row for row in reversed(spikes[t].tolist())]
        running = [[sum(spikes[k][i][j].item() for k in range(t + 1)) / (t + 1) for j in range(8)] for i in range(8)]
        assert frame["1"]["z"] == [pytest.approx(row, abs=5e-4) for row in reversed(running)]
    assert [list(r) for r in fig.data[0].z] == lookup["entries"][5]["traces"]["0"]["z"]


def test_curves_switches():
    assert [t.name for t in plots.surrogates().data[1:]] == list(snnbp.surrogate.NAMES)    # None: every surrogate
    fig = plots.lines([1, 2, 3], {"a": [1, 2, 3], "b": torch.tensor([3.0, 2, 1])}, log_y=True, dashed=["b"])
    assert fig.data[1].line.dash == "dash" and fig.layout.yaxis.type == "log"


def test_curves_carry_the_values_given():
    values = torch.tensor([0.5, 0.25, 2.0, -1.0])
    fig = plots.histogram(values, marks={"lower bound": 0.1, "upper bound": 0.9})
    assert list(fig.data[0].x) == [0.5, 0.25, 2.0, -1.0]
    assert [(list(t.x), t.name) for t in fig.data[1:]] == [([0.1], "lower bound = 0.1"), ([0.9], "upper bound = 0.9")]
    assert sorted(shape.x0 for shape in fig.layout.shapes) == [0.1, 0.9]

    rows = [dict(epoch=e, train_loss=1.0 / e, train_acc=a, test_acc=b) for e, a, b in ((1, 0.6, 0.5), (2, 0.7, 0.6),
                                                                                        (3, 0.8, 0.7))]
    fig = plots.history(rows)
    assert [(t.name, list(t.x)) for t in fig.data] == [("train loss", [1, 2, 3]), ("train acc", [1, 2, 3]),
                                                       ("test acc", [1, 2, 3])]
    assert list(fig.data[0].y) == [1.0, 0.5, 1 / 3]
    assert list(fig.data[1].y) == [0.6, 0.7, 0.8] and list(fig.data[2].y) == [0.5, 0.6, 0.7]
    assert (fig.data[0].xaxis, fig.data[1].xaxis, fig.data[2].xaxis) == ("x", "x2", "x2")   # loss left, accuracy right
    no_test = plots.history([dict(epoch=1, train_loss=0.3, train_acc=0.9)])
    assert [t.name for t in no_test.data] == ["train loss", "train acc"]

    fig = plots.lines([1, 2, 3], {"a": [1, 2, 3], "b": torch.tensor([3.0, 2, 1])})
    assert [(t.name, list(t.x), list(t.y)) for t in fig.data] == [("a", [1, 2, 3], [1, 2, 3]),
                                                                  ("b", [1, 2, 3], [3.0, 2.0, 1.0])]


def test_surrogates_plot_the_published_formulas():
    """Each curve against the formula of the paper (book/method.md: ds/dV = s / V_th) or of the library
    it comes from (snnTorch's fast sigmoid, slope 25; SpikingJelly's arc tangent, alpha 2)."""
    import math

    threshold = 0.5
    fig = plots.surrogates(["paper", "straight_through", "fast_sigmoid", "atan", "sigmoid"], threshold=threshold)
    v = list(fig.data[0].x)
    assert len(v) == 401 and v[0] == pytest.approx(-0.5) and v[-1] == pytest.approx(1.5) and v[200] == pytest.approx(0.5)
    spike = [1.0 if x > threshold else 0.0 for x in v]
    formulas = {
        "paper": [s / threshold for s in spike],
        "straight_through": spike,
        "fast_sigmoid": [1 / (1 + 25 * abs(x - threshold)) ** 2 for x in v],
        "atan": [1 / (1 + (math.pi * (x - threshold)) ** 2) for x in v],
        "sigmoid": [25 * math.exp(-25 * (x - threshold)) / (1 + math.exp(-25 * (x - threshold))) ** 2 for x in v],
    }
    assert list(fig.data[0].y) == spike
    for trace in fig.data[1:]:
        assert list(trace.y) == pytest.approx(formulas[trace.name], abs=1e-5), trace.name
    assert [t.name for t in fig.data[1:]] == list(formulas)


def test_probe_draws_the_probes_rates_and_gradients():
    from snnbp.wakeup import Probe

    probe = Probe(timesteps=[4, 16, 64],
                  rates={4: {"input": 0.3, "lif1": 0.2, "lif2": 0.0}, 16: {"input": 0.3, "lif1": 0.25, "lif2": 0.01},
                         64: {"input": 0.3, "lif1": 0.3, "lif2": 0.05}},
                  grads={4: {"conv1": 0.0, "classifier": 1.5}, 16: {"conv1": 0.002, "classifier": 2.0},
                         64: {"conv1": 0.04, "classifier": 2.5}})
    fig = plots.probe(probe, floor=1e-4)
    drawn = {(t.name, t.xaxis): (list(t.x), list(t.y)) for t in fig.data}
    assert drawn == {("lif1", "x"): ([4, 16, 64], [0.2, 0.25, 0.3]),          # "input" is not drawn
                     ("lif2", "x"): ([4, 16, 64], [1e-4, 0.01, 0.05]),        # silent: drawn at the floor
                     ("conv1", "x2"): ([4, 16, 64], [1e-4, 0.002, 0.04]),
                     ("classifier", "x2"): ([4, 16, 64], [1.5, 2.0, 2.5])}


def test_is_live_can_be_forced(monkeypatch):
    monkeypatch.setenv("SNNBP_LIVE", "1")
    assert plots.is_live()
    monkeypatch.setenv("SNNBP_LIVE", "0")
    assert not plots.is_live()


def test_live_explorer_draws_the_membrane_of_its_sliders():
    """The widget opens at I = 0.06, leak 0.99, V_th = 1: before the first spike H[t] = I (1 - 0.99^t) / 0.01,
    which first exceeds 1 at t = 19 (ln(5/6) / ln(0.99) = 18.1); reset to zero, it fires every 19 steps."""
    pytest.importorskip("ipywidgets")
    widget = plots.live_membrane_explorer(steps=40)
    assert {c.description for c in widget.children[:4]} == {"current I", "leak \u03bb", "V_th", "reset"}
    fig = widget.result                                          # what the sliders drew, a plotly figure
    assert isinstance(fig, go.Figure)
    h = [0.06 * (1 - 0.99 ** t) / 0.01 for t in range(1, 20)]                 # drawn to 3 decimals
    assert list(fig.data[0].y)[:19] == pytest.approx(h, abs=5e-4) and h[17] < 1 < h[18]
    assert list(fig.data[2].x) == [19, 38]
    widget.children[2].value = 2.0                               # V_th = 2: H never exceeds it before t = 40
    assert list(widget.result.data[2].x) == [] and list(widget.result.data[1].y) == [2.0, 2.0]


def test_bars_groups_series_and_rejects_mismatched_lengths():
    fig = plots.bars(["conv1", "fc2"], {"SNN": [1.0, 2.0], "ANN": torch.tensor([3.0, 4.0])}, log_y=True, text=True)
    assert [t.name for t in fig.data] == ["SNN", "ANN"] and list(fig.data[1].y) == [3.0, 4.0]
    assert fig.layout.barmode == "group" and fig.layout.yaxis.type == "log"
    with pytest.raises(ValueError, match="2 categories"):
        plots.bars(["a", "b"], {"x": [1.0]})


def test_rate_explorer_has_one_entry_per_combination_and_opens_at_active():
    params = {"gain": [0.5, 1.0, 2.0], "threshold": [0.5, 1.0]}
    rates = {(g, th): [g / th, g / th / 2] for g in params["gain"] for th in params["threshold"]}
    fig = plots.rate_explorer(["lif1", "lif2"], params, rates, active={"gain": 2.0, "threshold": 1.0})
    lookup = _lookup(fig)
    assert lookup["shape"] == [3, 2] and len(lookup["entries"]) == 6
    assert [s.active for s in fig.layout.sliders] == [2, 1]
    assert all(step.method == "skip" for s in fig.layout.sliders for step in s.steps)
    # C order over (gain, threshold); the static default is the entry the sliders point at
    assert lookup["entries"][2 * 2 + 1]["traces"]["0"]["y"] == list(fig.data[0].y) == [2.0, 1.0]
    assert lookup["entries"][0]["traces"]["0"]["y"] == [1.0, 0.5]
    assert "snnbp_lookup" in plots.to_html(fig)
    with pytest.raises(KeyError):
        plots.rate_explorer(["lif1"], {"gain": [1.0, 2.0]}, {(1.0,): [0.1]})


def _js_lookup_indices(shape):
    """The entry LOOKUP_JS picks for every combination of slider positions (C order), run in node when
    there is one, else its index line translated to Python."""
    import itertools
    import re
    import shutil
    import subprocess

    combos = list(itertools.product(*[range(n) for n in shape]))
    node = shutil.which("node")
    if node is None:
        line = re.search(r"index = (index \* lookup\.shape\[i\] \+ \(gd\.layout\.sliders\[i\]\.active \|\| 0\));",
                          plots.LOOKUP_JS).group(1)
        expr = line.replace("lookup.shape[i]", "shape[i]").replace("gd.layout.sliders[i].active || 0", "active[i] or 0")
        picked = []
        for active in combos:
            index = 0
            for i in range(len(shape)):
                index = eval(expr, {}, {"index": index, "shape": shape, "active": active, "i": i})  # noqa: S307
            picked.append(index)
        return combos, picked
    script = plots.LOOKUP_JS + """
var shape = %s, combos = %s, picked = [], handler = null;
var gd = {layout: {meta: {snnbp_lookup: {shape: shape, entries: []}}, sliders: shape.map(function () { return {}; })},
          on: function (event, fn) { handler = fn; }};
var total = shape.reduce(function (a, b) { return a * b; }, 1);
for (var k = 0; k < total; k++) { gd.layout.meta.snnbp_lookup.entries.push({traces: {}, title: k}); }
var Plotly = {restyle: function () {}, relayout: function (gd, change) { picked.push(change["title.text"]); }};
snnbpLookup(gd);
combos.forEach(function (c) { c.forEach(function (p, i) { gd.layout.sliders[i].active = p; }); handler(); });
console.log(JSON.stringify(picked));
""" % (json.dumps(list(shape)), json.dumps([list(c) for c in combos]))
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60, check=True)
    return combos, json.loads(out.stdout)


@pytest.mark.parametrize("shape", [[3], [2, 3], [4, 1, 3, 2]])
def test_python_lookup_index_is_the_one_the_page_uses(shape):
    combos, picked = _js_lookup_indices(shape)
    assert picked == [plots._lookup_index(c, shape) for c in combos] == list(range(len(combos)))


def test_round_handles_nested_values():
    assert plots._round(torch.tensor([[0.12345, 1.0]]), 2) == [[0.12, 1.0]]
    assert plots._round([0.33333, 2], 3) == [0.333, 2.0]


def test_show_in_a_kernel_displays_html_without_a_warning(tmp_path):
    """A notebook executed by a kernel (as the book build does with nbclient) gets the figure and
    no warning; the same call in a plain script warns with what to do instead (issue 22)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    code = ("import warnings, torch\nwarnings.simplefilter('always')\nfrom snnbp import plots\n"
            "plots.show(plots.raster(torch.tensor([[1.0, 0.0], [0.0, 1.0]])))")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                            ).execute()
    outputs = nb.cells[0].outputs
    assert any("snnbp-figure" in o.get("data", {}).get("text/html", "") for o in outputs), outputs
    assert not [o for o in outputs if o.get("name") == "stderr" or o.output_type == "error"], outputs
    with pytest.warns(UserWarning, match="kaleido"):
        import IPython.display
        original, IPython.display.display = IPython.display.display, lambda obj: None
        try:
            plots.show(plots.raster(torch.tensor([[1.0, 0.0]])))
        finally:
            IPython.display.display = original


def test_figure_checks_keep_the_book_calls_working():
    """What the chapters pass (lists with None gaps, dict keys, records of a direct-input net)."""
    fig = plots.lines(list(range(1, 4)), {"a": [0.5, None, 0.7], "b": torch.tensor([1.0, 2, 3])}, dashed=["b"])
    assert fig.data[0].line.dash is None and fig.data[1].line.dash == "dash"
    model = snnbp.build("mlp", "digits", timesteps=4, preset="modern")
    with snnbp.record(model) as rec:
        model(snnbp.data.digits("test")[0][:1])
    fig = plots.rasters(rec.spikes, max_neurons=8)
    assert "analog values" in fig.layout.annotations[0].text and "rate" in fig.layout.annotations[1].text
    with pytest.raises(ValueError, match=r"ys\['b'\]"):
        plots.lines([1, 2, 3], {"a": [1, 2, 3], "b": [1, 2]})


RESULT = {"model": "mlp", "accuracy_vs_timesteps": [0.25, 0.5, 0.75],
          "firing_rates": {"input": 0.2, "lif1": 0.05},
          "layers": [{"name": "fc1", "synaptic_ops": 1200.0, "ann_macs": 8192},
                     {"name": "classifier", "synaptic_ops": 30.0, "ann_macs": 1280}]}


def test_evaluation_figures_carry_the_result():
    figs = plots.evaluation(RESULT)
    assert list(figs) == ["accuracy_vs_timesteps", "firing_rates", "operations"]
    acc = figs["accuracy_vs_timesteps"].data[0]
    assert list(acc.x) == [1, 2, 3] and list(acc.y) == [25.0, 50.0, 75.0]        # percent after t = 1..T steps
    rates = figs["firing_rates"].data[0]
    assert list(rates.x) == ["input", "lif1"] and list(rates.y) == [0.2, 0.05]
    ops = {t.name: (list(t.x), list(t.y)) for t in figs["operations"].data}
    assert ops == {"SNN accumulates": (["fc1", "classifier"], [1200.0, 30.0]),
                   "ANN MACs": (["fc1", "classifier"], [8192.0, 1280.0])}
    assert figs["operations"].layout.yaxis.type == "log"
    ann = plots.evaluation(dict(RESULT, firing_rates={}))                      # the ANN twin records no spikes
    assert list(ann) == ["accuracy_vs_timesteps", "operations"]
    with pytest.raises(ValueError, match="'layers'"):
        plots.evaluation({"accuracy_vs_timesteps": [0.5], "firing_rates": {}})


def _png_size(path):
    """(width, height) from a PNG's IHDR chunk (bytes 16..24, big-endian), after the 8-byte signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_save_writes_a_page_and_a_png_of_the_layouts_size(tmp_path):
    fig = plots.lines([1, 2, 3], {"a": [1.0, None, 3.0], "b": [2.0, 2.0, 2.0]}, dashed=["b"], log_y=True,
                      title="V<sub>th</sub> curves", height=320)
    assert _png_size(plots.save(fig, tmp_path / "lines.png")) == (700, 320)   # 700 px wide unless set
    fig.update_layout(width=500)
    assert _png_size(plots.save(fig, str(tmp_path / "narrow.PNG"))) == (500, 320)
    bars = plots.bars(["a", "b"], {"x": [1.0, 2.0], "y": [3.0, 0.5]}, text=True)
    assert _png_size(plots.save(bars, tmp_path / "bars.png")) == (700, 400)
    page = plots.save(plots.rate_explorer(["lif1"], {"gain": [1.0, 2.0]}, {(1.0,): [0.1], (2.0,): [0.2]}),
                      tmp_path / "rates.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "snnbp_lookup" in page and "Plotly.newPlot(" in page
    for other in (plots.histogram([0.1, 0.2]), plots.rasters({"a": torch.ones(3, 1, 2), "b": torch.ones(3, 1, 4)})):
        with pytest.raises(ValueError, match=r"\.html"):
            plots.save(other, tmp_path / "other.png")
    with pytest.raises(ValueError, match="'.png'"):
        plots.save(fig, tmp_path / "figure.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.png", "lines.png", "narrow.PNG", "rates.html"]
