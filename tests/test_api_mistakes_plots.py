"""Mistakes a notebook reader makes with snnbp.plots (and snnbp._display behind it) and snnbp.snntorch_twin
(issue 22): each gets a clear error or warning that names the argument and the fix; the "ok" rows must
keep working, so that an over-strict check shows too. Rows: ``(name, call, expect, kind, words)``, see
conftest's ``mistake``."""
from __future__ import annotations

import functools
import importlib.util
from unittest import mock

import numpy as np
import pytest
import torch

import snnbp
from snnbp import _display, plots, snntorch_twin

SPIKES = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])   # [T = 4, N = 3]
LAYERS = {"lif1": torch.bernoulli(torch.full((4, 2, 5), 0.3))}                              # [T, B = 2, 5]
ROWS_OK = [dict(epoch=1, train_loss=0.9), dict(epoch=2, train_loss=0.5)]


@functools.lru_cache(maxsize=None)
def _net(preset: str = "paper", spiking: bool = True):
    """A tiny network on 8x8 digits (built once per kind)."""
    torch.manual_seed(0)
    return snnbp.build("mlp", "digits", timesteps=4, preset=preset, spiking=spiking).eval()


def _images(batch: int = 2) -> torch.Tensor:
    return torch.rand(batch, 1, 8, 8, generator=torch.Generator().manual_seed(1))


def _encoded(net, batch: int = 2) -> torch.Tensor:
    torch.manual_seed(2)
    return net.encode(_images(batch))


def _compare_double():
    net = snnbp.build("mlp", "digits", timesteps=4).eval().double()
    result = snntorch_twin.compare(net, _encoded(net))
    assert result.mismatched == 0 and result.spikes > 0, str(result)


def _compare_int_spikes():
    net = _net()
    assert snntorch_twin.compare(net, _encoded(net).to(torch.int8)).mismatched == 0


def _compare_direct_input():
    net = _net("modern")        # direct encoding: analog input at every step (reset by subtraction, so
    assert snntorch_twin.compare(net, _encoded(net)).spikes > 0    # snnTorch may differ: see bridge's docstring)


def _recording():
    net = _net()
    with snnbp.record(net) as rec:
        net(_images(1))
    return rec


def _show_in_notebook():
    """What a kernel (Jupyter, Colab, a book build) sees: the HTML, and no warning."""
    shown = []
    with mock.patch.object(_display, "_in_notebook", return_value=True), \
            mock.patch("IPython.display.display", side_effect=shown.append):
        plots.show(plots.raster(SPIKES))
    assert len(shown) == 1 and "Plotly.newPlot" in shown[0].data


def _show_in_script():
    with mock.patch("IPython.display.display"):
        plots.show(plots.raster(SPIKES))


def _save_png(tmp="figure.png"):
    """plots.save of a figure of lines, into a temporary folder."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = plots.save(plots.lines([1, 2], {"a": [0.5, 0.7]}), Path(folder) / tmp)
        assert path.stat().st_size > 1000


EVALUATION = {"accuracy_vs_timesteps": [0.5, 0.75], "firing_rates": {},
              "layers": [{"name": "fc1", "synaptic_ops": 0.0, "ann_macs": 100}]}


def _analog_input_layer():
    fig = plots.rasters({"input": torch.rand(4, 1, 6), **{k: v[:, :1] for k, v in LAYERS.items()}})
    assert "analog values" in fig.layout.annotations[0].text


ROWS = [
    # -- plots: curves ------------------------------------------------------------------------------
    ("lines: a curve shorter than x", lambda: plots.lines([1, 2, 3], {"acc": [0.1, 0.2]}), "error", ValueError,
     ("ys['acc']", "same length", "3", "2")),
    ("lines: ys a list, not a dict", lambda: plots.lines([1, 2], [3, 4]), "error", TypeError, ("ys", "dict")),
    ("lines: a 2-D curve", lambda: plots.lines([1, 2], {"a": torch.ones(2, 3)}), "error", ValueError,
     ("ys['a']", "one-dimensional", "[:, 0]")),
    ("lines: dashed one string", lambda: plots.lines([1, 2], {"a": [1, 2]}, dashed="a"), "error", TypeError,
     ("dashed", "['a']")),
    ("lines: dashed names no curve", lambda: plots.lines([1, 2], {"a": [1, 2]}, dashed=["b"]), "error", ValueError,
     ("dashed", "'b'", "'a'")),
    ("lines: log_y a string", lambda: plots.lines([1, 2], {"a": [1, 2]}, log_y="yes"), "error", TypeError,
     ("log_y", "True or False")),
    ("bars: series of another length", lambda: plots.bars(["a", "b"], {"x": [1.0]}), "error", ValueError,
     ("values['x']", "1 values", "2 categories")),
    ("bars: a category twice", lambda: plots.bars(["lif1", "lif1"], {"x": [1, 2]}), "error", ValueError,
     ("categories", "'lif1'", "unique")),
    ("bars: None for a value", lambda: plots.bars(["a"], {"x": [None]}), "error", TypeError,
     ("values['x'][0]", "number")),
    ("histogram: empty tensor", lambda: plots.histogram(torch.tensor([])), "error", ValueError, ("values", "empty")),
    ("histogram: NaN values", lambda: plots.histogram(torch.tensor([1.0, float("nan")])), "error", ValueError,
     ("values", "NaN", "isfinite")),
    ("histogram: bins=0", lambda: plots.histogram(torch.rand(5), bins=0), "error", ValueError, ("bins", ">= 1")),
    ("histogram: bins=2.5", lambda: plots.histogram(torch.rand(5), bins=2.5), "error", TypeError,
     ("bins", "integer")),
    ("history: no rows", lambda: plots.history([]), "error", ValueError, ("rows", "empty")),
    ("history: a row lacks train_loss", lambda: plots.history([{"epoch": 1}]), "error", ValueError,
     ("rows[0]", "'train_loss'", "fit")),
    ("history: a dict of runs", lambda: plots.history({"run": ROWS_OK}), "error", TypeError,
     ("rows", "once per run")),
    ("surrogates: unknown name", lambda: plots.surrogates(["nope"]), "error", ValueError,
     ("names", "'nope'", "'paper'", "'atan'")),
    ("surrogates: one string", lambda: plots.surrogates("paper"), "error", TypeError, ("names", "['paper']")),
    # -- plots: one neuron ---------------------------------------------------------------------------
    ("simulate: leak 1.5", lambda: plots.simulate(0.1, leak=1.5), "error", ValueError, ("leak", "(0, 1]")),
    ("simulate: threshold 0", lambda: plots.simulate(0.1, threshold=0), "error", ValueError, ("threshold", "> 0")),
    ("simulate: steps 0", lambda: plots.simulate(0.1, steps=0), "error", ValueError, ("steps", ">= 1")),
    ("simulate: steps 10.0", lambda: plots.simulate(0.1, steps=10.0), "error", TypeError, ("steps", "integer")),
    ("simulate: unknown reset", lambda: plots.simulate(0.1, reset="hard"), "error", ValueError,
     ("reset", "'zero'", "'subtract'")),
    ("simulate: NaN current", lambda: plots.simulate(float("nan")), "error", ValueError, ("current", "finite")),
    ("membrane_trace: several neurons", lambda: plots.membrane_trace(torch.full((10, 3), 0.3)), "error", ValueError,
     ("current", "one neuron", "current[:, 0]")),
    ("membrane_trace: steps -5", lambda: plots.membrane_trace(0.1, steps=-5), "error", ValueError, ("steps",)),
    ("fi_rates: a 2-D tensor", lambda: plots.fi_rates(torch.ones(2, 2)), "error", ValueError, ("currents", "[N]")),
    ("fi_rates: empty", lambda: plots.fi_rates([]), "error", ValueError, ("currents", "empty")),
    # -- plots: spikes --------------------------------------------------------------------------------
    ("raster: a list", lambda: plots.raster([[0, 1], [1, 0]]), "error", TypeError, ("spikes", "torch.as_tensor")),
    ("raster: empty tensor", lambda: plots.raster(torch.zeros(0, 3)), "error", ValueError, ("spikes", "empty")),
    ("raster: a number", lambda: plots.raster(torch.tensor(1.0)), "error", ValueError, ("spikes", "[T, ...]")),
    ("raster: max_neurons=-3", lambda: plots.raster(SPIKES, max_neurons=-3), "error", ValueError,
     ("max_neurons", "-3", ">= 1")),
    ("raster: max_neurons=0", lambda: plots.raster(SPIKES, max_neurons=0), "error", ValueError,
     ("max_neurons", "got 0")),
    ("raster: membrane values", lambda: plots.raster(torch.rand(5, 3) + 0.1), "error", ValueError,
     ("spikes", "plots.lines")),
    ("rasters: one tensor", lambda: plots.rasters(torch.ones(4, 2, 3)), "error", TypeError,
     ("spikes", "dict", "plots.raster")),
    ("rasters: sample past the batch", lambda: plots.rasters(LAYERS, sample=99), "error", ValueError,
     ("sample", "99", "0..1")),
    ("rasters: sample 0.5", lambda: plots.rasters(LAYERS, sample=0.5), "error", TypeError, ("sample", "integer")),
    ("rasters: a layer without batch", lambda: plots.rasters({"lif1": torch.ones(4)}), "error", ValueError,
     ("spikes['lif1']", "[T, B, ...]")),
    ("rasters: unknown layer", lambda: plots.rasters(LAYERS, layers=["lif9"]), "error", ValueError,
     ("layers", "'lif9'", "'lif1'")),
    ("rasters: layers one string", lambda: plots.rasters(LAYERS, layers="lif1"), "error", TypeError,
     ("layers", "['lif1']")),
    ("rasters: empty dict", lambda: plots.rasters({}), "error", ValueError, ("spikes", "empty")),
    ("rasters: the recording, not its spikes", lambda: plots.rasters(_recording()), "error", TypeError,
     ("spikes", "dict", "rec.spikes")),
    ("spike_movie: a batch", lambda: plots.spike_movie(torch.ones(4, 2, 1, 8, 8)), "error", ValueError,
     ("spikes", "[T, H, W]", "spikes[:, 0, 0]")),
    ("spike_movie: [T, 1, H, W]", lambda: plots.spike_movie(torch.ones(4, 1, 8, 8)), "error", ValueError,
     ("spikes", "[T, H, W]", "spikes[:, 0]")),
    ("spike_movie: neurons [T, N]", lambda: plots.spike_movie(SPIKES), "error", ValueError,
     ("spikes", "plots.raster")),
    ("spike_movie: image with channel", lambda: plots.spike_movie(torch.ones(4, 8, 8), image=torch.rand(1, 8, 8)),
     "error", ValueError, ("image", "[8, 8]", "squeeze")),
    ("probe: not a Probe", lambda: plots.probe([1, 2]), "error", TypeError, ("result", "Probe")),
    ("probe: a dict of probes", lambda: plots.probe({"vgg9": None}), "error", TypeError,
     ("result", "Probe", "probes[name]")),
    ("show: the function, not its figure", lambda: plots.show(plots.raster), "error", TypeError,
     ("fig", "plotly figure", "call it")),
    ("show: in a plain script", _show_in_script, "warning", UserWarning,
     ("notebook", "plots.save(fig, 'figure.html')", "plots.to_html(fig)", "kaleido", "write_image")),
    ("save: a PDF", lambda: plots.save(plots.lines([1], {"a": [1]}), "figure.pdf"), "error", ValueError,
     ("suffix", "'.pdf'", "'.html'", "'.png'")),
    ("save: the function, not its figure", lambda: plots.save(plots.lines, "figure.png"), "error", TypeError,
     ("fig", "plotly figure", "call it")),
    ("save: figure and path swapped", lambda: plots.save("figure.png", plots.lines([1], {"a": [1]})), "error",
     TypeError, ("fig", "plotly figure")),
    ("save: a histogram as PNG", lambda: plots.save(plots.histogram([0.1, 0.2]), "figure.png"), "error", ValueError,
     ("histogram", ".html", "kaleido")),
    ("evaluation: the json's path, not its dict", lambda: plots.evaluation("evaluation.json"), "error", TypeError,
     ("result", "dict", "analyse")),
    ("evaluation: a result without layers", lambda: plots.evaluation({"accuracy_vs_timesteps": [0.5],
                                                                      "firing_rates": {}}), "error", ValueError,
     ("result", "'layers'", "snnbp.evaluate.analyse")),
    # -- bridge -----------------------------------------------------------------------------------------
    ("bridge: compare given images", lambda: snntorch_twin.compare(_net(), _images()), "error", ValueError,
     ("spikes", "[T, B, C, H, W]", "net.encode(images)")),
    ("bridge: compare given images repeated over T",
     lambda: snntorch_twin.compare(_net(), _images().expand(4, -1, -1, -1, -1)), "error", ValueError,
     ("spikes", "-1/0/1", "net.encode(images)")),
    ("bridge: compare, spikes of another size", lambda: snntorch_twin.compare(_net(), torch.zeros(4, 2, 3, 32, 32)),
     "error", ValueError, ("spikes", "[T, B, 1, 8, 8]", "net.encode(images)")),
    ("bridge: compare an ANN twin", lambda: snntorch_twin.compare(_net(spiking=False), _encoded(_net())), "error",
     ValueError, ("net", "ANN twin", "spiking=True")),
    ("bridge: compare an nn.Sequential", lambda: snntorch_twin.compare(torch.nn.Sequential(torch.nn.Linear(2, 2)),
                                                                 _encoded(_net())), "error", TypeError,
     ("net", "Sequential", "snnbp.build")),
    ("bridge: twin is the net", lambda: snntorch_twin.compare(_net(), _encoded(_net()), twin=_net()), "error", TypeError,
     ("twin", "to_snntorch(net)")),
    ("bridge: twin of another net",
     lambda: snntorch_twin.compare(_net(), _encoded(_net()), twin=snntorch_twin.to_snntorch(snnbp.build("mlp", "digits"))),
     "error", ValueError, ("twin", "another network", "to_snntorch(net)")),
    ("bridge: gradients='yes'", lambda: snntorch_twin.compare(_net(), _encoded(_net()), gradients="yes"), "error",
     TypeError, ("gradients", "True or False")),
    ("bridge: to_snntorch of an ANN twin", lambda: snntorch_twin.to_snntorch(_net(spiking=False)), "error", ValueError,
     ("ANN twin", "spiking=True")),
    ("bridge: leaky_run leak 2", lambda: snntorch_twin.leaky_run(torch.rand(5, 3), 2.0), "error", ValueError,
     ("leak", "(0, 1]")),
    ("bridge: leaky_run threshold -1", lambda: snntorch_twin.leaky_run(torch.rand(5, 3), 0.9, -1.0), "error", ValueError,
     ("threshold", "> 0")),
    ("bridge: leaky_run unknown reset", lambda: snntorch_twin.leaky_run(torch.rand(5, 3), 0.9, 1.0, "hard"), "error",
     ValueError, ("reset", "'subtract'")),
    ("bridge: leaky_run a list", lambda: snntorch_twin.leaky_run([[0.1]], 0.9), "error", TypeError,
     ("current", "torch.as_tensor")),
    ("bridge: leaky_run empty", lambda: snntorch_twin.leaky_run(torch.zeros(0, 3), 0.9), "error", ValueError,
     ("current", "empty")),
    # -- must keep working -------------------------------------------------------------------------------
    ("ok: raster of [T, 1]", lambda: plots.raster(torch.tensor([[1.0], [0.0], [1.0]])), "ok", None, ()),
    ("ok: raster of float64 spikes", lambda: plots.raster(SPIKES.double()), "ok", None, ()),
    ("ok: raster of int 0/1 spikes", lambda: plots.raster(SPIKES.long()), "ok", None, ()),
    ("ok: raster of bool spikes", lambda: plots.raster(SPIKES.bool(), max_neurons=None), "ok", None, ()),
    ("ok: raster of signed spikes", lambda: plots.raster(torch.tensor([[1.0, -1.0], [0.0, 1.0]])), "ok", None, ()),
    ("ok: rasters, one layer, batch 1", lambda: plots.rasters({"lif1": LAYERS["lif1"][:, :1]}), "ok", None, ()),
    ("ok: rasters, last sample", lambda: plots.rasters(LAYERS, sample=-1, max_neurons=None), "ok", None, ()),
    ("ok: rasters, analog input layer", _analog_input_layer, "ok", None, ()),
    ("ok: spike_movie of int spikes", lambda: plots.spike_movie(torch.ones(3, 4, 4, dtype=torch.int64),
                                                                image=torch.rand(4, 4)), "ok", None, ()),
    ("ok: lines, numpy x and a tensor", lambda: plots.lines(np.arange(3), {"a": torch.tensor([1.0, 2, 3]),
                                                                           "b": np.ones(3)}), "ok", None, ()),
    ("ok: lines, range x and a gap", lambda: plots.lines(range(1, 4), {"a": [0.5, None, 0.7]}, dashed=["a"]),
     "ok", None, ()),
    ("ok: histogram of a list", lambda: plots.histogram([0.1, 0.2, 0.2], bins=3, marks={"x": np.float32(0.1)}),
     "ok", None, ()),
    ("ok: histogram of int tensor", lambda: plots.histogram(torch.tensor([1, 2, 2, 3])), "ok", None, ()),
    ("ok: bars of numpy and tensor values", lambda: plots.bars([1, 2], {"a": np.array([1, 2], dtype=np.float32),
                                                                       "b": torch.tensor([0.5, 2.0])}),
     "ok", None, ()),
    ("ok: history without accuracies", lambda: plots.history(ROWS_OK), "ok", None, ()),
    ("ok: simulate an IF neuron, int current", lambda: plots.simulate(1, steps=5, leak=1), "ok", None, ()),
    ("ok: membrane_trace of a tensor [T]", lambda: plots.membrane_trace(torch.full((12,), 0.3)), "ok", None, ()),
    ("ok: fi_rates of a list", lambda: plots.fi_rates([0.0, 0.5], steps=20), "ok", None, ()),
    ("ok: surrogates, one name", lambda: plots.surrogates(["paper"]), "ok", None, ()),
    ("ok: show in a notebook", _show_in_notebook, "ok", None, ()),
    ("ok: save a PNG of lines", _save_png, "ok", None, ()),
    ("ok: save with an upper-case suffix", lambda: _save_png("FIGURE.PNG"), "ok", None, ()),
    ("ok: evaluation of the ANN twin (no rates)", lambda: plots.evaluation(EVALUATION), "ok", None, ()),
    ("bridge ok: compare on a net moved with .double()", _compare_double, "ok", None, ()),
    ("bridge ok: compare int8 spikes", _compare_int_spikes, "ok", None, ()),
    ("bridge ok: compare direct (analog) input", _compare_direct_input, "ok", None, ()),
    ("bridge ok: compare batch 1, another T", lambda: snntorch_twin.compare(_net(), _encoded(_net(), 1)[:2]), "ok", None,
     ()),
    ("bridge ok: leaky_run of int currents", lambda: snntorch_twin.leaky_run(torch.ones(4, 2, dtype=torch.int64), 1.0),
     "ok", None, ()),
]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_api_mistake(row, mistake):
    if row[0].startswith("bridge") and importlib.util.find_spec("snntorch") is None:
        pytest.skip("snnTorch not installed")
    mistake(*row)


def test_the_table_is_large_and_mixed():
    kinds = [r[2] for r in ROWS]
    assert len(ROWS) >= 30 and kinds.count("ok") >= 8 and "warning" in kinds
    assert all(r[4] for r in ROWS if r[2] != "ok"), "every error or warning row checks words of its message"
