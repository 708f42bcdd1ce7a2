"""snnbp.plots: each function returns a figure; the HTML draws itself without a kernel."""
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


def test_fi_rates_if_and_lif():
    currents = torch.tensor([0.0, 0.005, 0.25, 0.5])
    if_rate = plots.fi_rates(currents, steps=400, leak=1.0, reset="subtract")
    assert if_rate.tolist() == pytest.approx([0.0, 0.005, 0.25, 0.5], abs=0.003)
    lif_rate = plots.fi_rates(currents, steps=400, leak=0.99)
    assert lif_rate[1] == 0                           # below the rheobase (1 - 0.99) * 1
    assert (lif_rate <= if_rate + 1e-6).all()         # the leak bends the curve below I / V_th
    fig = plots.fi_curve(currents, steps=100)
    assert len(fig.data) == 2 + 4


def test_rasters_from_a_recording():
    model = snnbp.build("mlp", "digits", timesteps=8)
    with snnbp.record(model) as rec:
        model(snnbp.data.digits("test")[0][:2])
    fig = plots.rasters(rec.spikes, max_neurons=20)
    assert isinstance(fig, go.Figure)
    assert len(fig.layout.annotations) == len(rec.spikes)      # one titled panel per layer
    assert "input" in fig.layout.annotations[0].text
    signed = torch.tensor([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    fig = plots.raster(signed)
    assert {trace.name for trace in fig.data} == {"spike +1", "spike \u22121"}
    assert sorted(fig.data[0].x) == [1, 2]


def test_spike_movie_has_one_entry_per_step():
    spikes = snnbp.poisson_encode(torch.rand(8, 8), steps=6)
    fig = plots.spike_movie(spikes, image=torch.rand(8, 8))
    lookup = _lookup(fig)
    assert lookup["shape"] == [6] and len(lookup["entries"]) == 6
    assert fig.layout.sliders[0].active == 5 and len(fig.data) == 3


def test_curves():
    fig = plots.histogram(torch.rand(100), marks={"lower bound": 0.1, "upper bound": 0.9})
    assert len(fig.data) == 3 and len(fig.layout.shapes) == 2
    assert len(plots.surrogates().data) == 1 + len(snnbp.surrogate.NAMES)
    rows = [dict(epoch=e, train_loss=1.0 / e, train_acc=0.5, test_acc=0.6) for e in (1, 2, 3)]
    assert len(plots.history(rows).data) == 3
    fig = plots.lines([1, 2, 3], {"a": [1, 2, 3], "b": torch.tensor([3.0, 2, 1])}, log_y=True, dashed=["b"])
    assert fig.data[1].line.dash == "dash" and fig.layout.yaxis.type == "log"


def test_is_live_can_be_forced(monkeypatch):
    monkeypatch.setenv("SNNBP_LIVE", "1")
    assert plots.is_live()
    monkeypatch.setenv("SNNBP_LIVE", "0")
    assert not plots.is_live()


def test_live_explorer_builds_a_widget():
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    widget = plots.live_membrane_explorer(steps=20)
    assert {c.description for c in widget.children[:4]} == {"current I", "leak \u03bb", "V_th", "reset"}


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
