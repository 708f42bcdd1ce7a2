"""Mistakes a notebook user makes through the Python API, one row each (issue 22's table; issue 31
added a neuron's settings replaced wholesale, tensors with a dimension of size 0, a step's
membrane and current of two shapes, absurd numbers of time steps, the encoder classes' images,
the meta device, recordings read before any forward call and data helpers' fractions).

Every row is what a user typed, what must happen (``"error"``, ``"warning"`` or ``"ok"``) and the
words the message must contain: the argument's name and a hint. The ``"ok"`` rows are inputs that
must keep working, so that a check that is too strict fails here too. Plots and the snnTorch
bridge have their own table (``test_api_mistakes_plots.py``); the policy is snnbp.validate's.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import snnbp
from snnbp import evaluate, fused_scan, layers, neurons, presets, train
from snnbp.encoding import DirectEncoder
from snnbp.models import custom
from snnbp.neurons import LIFSettings
from snnbp.tables import FC

torch.manual_seed(0)
IMAGES = torch.rand(6, 1, 8, 8)                   # digits-shaped, in [0, 1]
LABELS = torch.tensor([0, 1, 2, 3, 4, 5])
CURRENT = torch.full((5, 2, 3), 0.4)              # [T, B, neurons]


def net(**kw):
    """A small spiking network on 8x8 digits (T = 3)."""
    kw.setdefault("timesteps", 3)
    return custom([FC(16)], "digits", **kw)


def loader(images=IMAGES, labels=LABELS, batch=3):
    return DataLoader(TensorDataset(images, labels), batch_size=batch)


def fit(model=None, train_loader=None, test_loader=None, **kw):
    model = net() if model is None else model
    batch = model.config.batch_size
    kw.setdefault("epochs", 1)
    return train.fit(model, loader(batch=batch) if train_loader is None else train_loader,
                     loader(batch=batch) if test_loader is None else test_loader, quiet=True, **kw)


def run_folder(tmp):
    """A finished one-epoch run in ``tmp`` (made on first use)."""
    out = tmp / "run"
    if not (out / "last.pt").exists():
        fit(out=out, seed=0)
    return out


def nan_images():
    x = IMAGES.clone()
    x[0, 0, 0, 0] = math.nan
    return x


def build_then(attr, value, kind="lif"):
    """Set a neuron attribute after building (the setters must check too)."""
    layer = snnbp.IF() if kind == "if" else snnbp.LIF()
    setattr(layer, attr, value)
    return layer


def then(obj, attr, value):
    """``obj`` after ``obj.attr = value``."""
    setattr(obj, attr, value)
    return obj


def bad_settings():
    """LIFSettings whose threshold was set around its own check (object.__setattr__)."""
    settings = LIFSettings()
    object.__setattr__(settings, "threshold", -1.0)
    return settings


class Returns(snnbp.LIF):
    """A LIF subclass whose dynamics() returns ``value``."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def dynamics(self):
        return self.value


def recording(forward=True, membranes=False):
    """``snnbp.record`` of a small network, with one forward call inside the block or none."""
    model = net()
    with snnbp.record(model, membranes=membranes) as rec:
        if forward:
            model(IMAGES)
    return rec


META = torch.empty(5, 2, 3, device="meta")       # shapes, no data


E, W, OK = "error", "warning", "ok"
ROWS = [
    # -- LIF / IF: settings --------------------------------------------------------------------
    ("LIF leak 0", lambda: snnbp.LIF(leak=0), E, ValueError, ("leak", "(0, 1]")),
    ("LIF leak above 1", lambda: snnbp.LIF(leak=1.5), E, ValueError, ("leak",)),
    ("LIF leak NaN", lambda: snnbp.LIF(leak=math.nan), E, ValueError, ("leak",)),
    ("LIF leak as string", lambda: snnbp.LIF(leak="0.9"), E, TypeError, ("leak", "number")),
    ("LIF threshold 0", lambda: snnbp.LIF(threshold=0), E, ValueError, ("threshold", "> 0")),
    ("LIF threshold inf", lambda: snnbp.LIF(threshold=math.inf), E, ValueError, ("threshold", "finite")),
    ("LIF threshold negative", lambda: snnbp.LIF(threshold=-1.0), E, ValueError, ("threshold",)),
    ("LIF unknown reset", lambda: snnbp.LIF(reset="soft"), E, ValueError, ("reset", "subtract")),
    ("LIF unknown surrogate", lambda: snnbp.LIF(surrogate="relu"), E, ValueError, ("surrogate", "atan")),
    ("LIF unknown backend", lambda: snnbp.LIF(backend="cuda"), E, ValueError, ("backend", "fused")),
    ("LIF leak_correction None", lambda: snnbp.LIF(leak_correction=None), E, TypeError,
     ("leak_correction", "True or False")),
    ("LIF detach_leak 'no'", lambda: snnbp.LIF(detach_leak="no"), E, TypeError, ("detach_leak", "string")),
    ("LIF record 1", lambda: snnbp.LIF(record=1), E, TypeError, ("record", "True or False")),
    ("LIF setter threshold 0", lambda: build_then("threshold", 0.0), E, ValueError, ("threshold",)),
    ("LIF setter leak_correction 'False'", lambda: build_then("leak_correction", "False"), E, TypeError,
     ("leak_correction",)),
    ("LIF setter surrogate unknown", lambda: build_then("surrogate", "tanh"), E, ValueError, ("surrogate",)),
    ("IF threshold 0", lambda: snnbp.IF(threshold=0), E, ValueError, ("threshold",)),
    ("LIFSettings reset", lambda: snnbp.neurons.LIFSettings(reset="hard"), E, ValueError, ("reset",)),
    ("LIF numpy bool flag", lambda: snnbp.LIF(leak_correction=__import__("numpy").bool_(False)), OK),
    ("LIF leak 1 (an IF neuron)", lambda: snnbp.LIF(leak=1), OK),
    # -- LIF / IF: the settings object replaced wholesale ----------------------------------------------
    ("LIF settings replaced by a dict", lambda: build_then("settings", {"leak": 0.9}), E, TypeError,
     ("settings", "LIFSettings", "LIFSettings(**")),
    ("LIF settings replaced by a number", lambda: build_then("settings", 0.9), E, TypeError,
     ("settings", "LIFSettings", "leak, threshold")),
    ("LIF settings replaced by None", lambda: build_then("settings", None), E, TypeError, ("settings", "LIFSettings")),
    ("IF settings replaced by a string", lambda: build_then("settings", "paper", kind="if"), E, TypeError,
     ("settings", "LIFSettings")),
    ("LIF settings with a value set around its check", lambda: build_then("settings", bad_settings()), E,
     ValueError, ("threshold", "> 0")),
    ("LIF settings field assigned in place", lambda: then(snnbp.LIF().settings, "threshold", 2.0), E, TypeError,
     ("frozen", "threshold", "replace(")),
    ("LIF dynamics replaced by 3", lambda: build_then("dynamics", 3), E, TypeError, ("dynamics", "method", "settings")),
    ("LIF dynamics replaced by settings", lambda: build_then("dynamics", LIFSettings()), E, TypeError,
     ("dynamics", "neuron.settings =")),
    ("LIF forward replaced by a number", lambda: build_then("forward", 0), E, TypeError, ("forward", "method")),
    ("LIF dynamics() returning a number", lambda: Returns(0.9)(CURRENT), E, TypeError,
     ("dynamics()", "LIFSettings")),
    ("LIF dynamics() returning a dict", lambda: Returns({"leak": 0.9})(CURRENT), E, TypeError,
     ("dynamics()", "LIFSettings(**")),
    ("LIF backend set to 'cuda'", lambda: build_then("backend", "cuda"), E, ValueError, ("backend", "'reference'")),
    ("LIF record set to 'yes'", lambda: build_then("record", "yes"), E, TypeError, ("record", "True or False")),
    ("LIF check_input set to None", lambda: build_then("check_input", None), E, TypeError, ("check_input",)),
    ("lif_step settings a number", lambda: neurons.lif_step(torch.zeros(3), torch.ones(3), 0.9), E, TypeError,
     ("p", "LIFSettings")),
    ("lif_reference settings a name", lambda: neurons.lif_reference(CURRENT, "paper"), E, TypeError,
     ("p", "LIFSettings")),
    ("lif_scan settings a name", lambda: fused_scan.lif_scan(CURRENT, "paper"), E, TypeError,
     ("settings", "LIFSettings", "leak")),
    ("LIF settings replaced by LIFSettings", lambda: build_then("settings", LIFSettings(leak=0.5, threshold=0.8))(
        CURRENT), OK),
    ("LIF settings replaced by .replace()", lambda: (lambda n: then(n, "settings", n.settings.replace(threshold=0.3)))(
        snnbp.LIF())(CURRENT), OK),
    ("IF settings replaced by LIFSettings", lambda: build_then("settings", LIFSettings(leak=1.0), kind="if")(CURRENT),
     OK),
    ("LIF dynamics replaced by a callable", lambda: build_then("dynamics", lambda: LIFSettings(threshold=0.3))(
        CURRENT), OK),
    ("LIF subclass dynamics() returning settings", lambda: Returns(LIFSettings(leak=0.8))(CURRENT), OK),
    ("LIF backend set to 'reference'", lambda: build_then("backend", "reference")(CURRENT), OK),
    ("LIF record set to True", lambda: build_then("record", True)(CURRENT), OK),
    ("LIF an attribute of the user's own", lambda: build_then("note", "mine")(CURRENT), OK),
    # -- LIF / IF: currents --------------------------------------------------------------------
    ("LIF NaN current", lambda: snnbp.LIF()(torch.tensor([[0.5], [math.nan]])), E, ValueError,
     ("current", "NaN")),
    ("LIF inf current", lambda: snnbp.LIF()(torch.tensor([[math.inf]])), E, ValueError,
     ("current", "infinite")),
    ("LIF current without time axis", lambda: snnbp.LIF()(torch.ones(3)), E, ValueError, ("current", "[T, B")),
    ("LIF current as list", lambda: snnbp.LIF()([[0.5]]), E, TypeError, ("current", "Tensor")),
    ("LIF float64 current", lambda: snnbp.LIF()(CURRENT.double()), OK),
    ("LIF integer current", lambda: snnbp.LIF()(torch.ones(4, 1, 2, dtype=torch.int64)), OK),
    ("LIF batch size 1", lambda: snnbp.LIF()(CURRENT[:, :1]), OK),
    ("LIF one time step", lambda: snnbp.LIF()(CURRENT[:1]), OK),
    ("LIF one neuron", lambda: snnbp.LIF()(CURRENT[..., :1]), OK),
    ("LIF reference backend float64", lambda: snnbp.LIF(backend="reference")(CURRENT.double()), OK),
    ("IF on a current", lambda: snnbp.IF()(CURRENT), OK),
    # -- tensors with a dimension of size 0 -------------------------------------------------------------
    ("LIF empty batch", lambda: snnbp.LIF()(torch.zeros(5, 0, 3)), E, ValueError, ("current", "empty", "B >= 1")),
    ("LIF zero time steps", lambda: snnbp.LIF()(torch.zeros(0, 2, 3)), E, ValueError, ("current", "empty", "T >= 1")),
    ("LIF zero neurons", lambda: snnbp.LIF()(torch.zeros(5, 2, 0)), E, ValueError, ("current", "empty", "neuron")),
    ("LIF reference backend zero time steps", lambda: snnbp.LIF(backend="reference")(torch.zeros(0, 2, 3)), E,
     ValueError, ("current", "empty")),
    ("IF empty batch", lambda: snnbp.IF()(torch.zeros(4, 0, 2, 2)), E, ValueError, ("current", "empty")),
    ("LIF in a network (unchecked values) empty", lambda: then(snnbp.LIF(), "check_input", False)(
        torch.zeros(0, 2, 3)), E, ValueError, ("current", "empty")),
    ("LIF step on empty tensors", lambda: snnbp.LIF().step(torch.zeros(0), torch.zeros(0)), E, ValueError,
     ("current", "empty")),
    ("lif_scan zero time steps", lambda: fused_scan.lif_scan(torch.zeros(0, 3), LIFSettings()), E, ValueError,
     ("current", "empty", "T >= 1")),
    ("lif_reference zero time steps", lambda: neurons.lif_reference(torch.zeros(0, 3), LIFSettings()), E, ValueError,
     ("current", "empty")),
    ("OutputIntegrator zero time steps", lambda: layers.OutputIntegrator()(torch.zeros(0, 2, 10)), E, ValueError,
     ("current", "time steps", ">= 1")),
    # -- one step: the membrane and the current ---------------------------------------------------------
    ("LIF step v and current of different sizes", lambda: snnbp.LIF().step(torch.zeros(3), torch.ones(4)), E,
     ValueError, ("v", "current", "same shape", "zeros_like")),
    ("LIF step v broadcast over a batch", lambda: snnbp.LIF().step(torch.zeros(3), torch.ones(2, 3)), E,
     ValueError, ("v", "current", "same shape")),
    ("lif_step current broadcast over v", lambda: neurons.lif_step(torch.zeros(2, 3), torch.ones(3), LIFSettings()),
     E, ValueError, ("v", "current", "(2, 3)")),
    ("LIF step v a float", lambda: snnbp.LIF().step(0.0, torch.tensor(0.3)), E, TypeError, ("v", "Tensor")),
    ("LIF step current a list", lambda: snnbp.LIF().step(torch.zeros(2), [0.3, 0.4]), E, TypeError,
     ("current", "Tensor")),
    ("LIF step 0-d tensors (chapter 2)", lambda: snnbp.LIF().step(torch.zeros(()), torch.tensor(0.3)), OK),
    ("LIF step same shapes", lambda: snnbp.LIF().step(torch.zeros(2, 3), torch.rand(2, 3)), OK),
    ("lif_step float64 current on a float32 v", lambda: neurons.lif_step(torch.zeros(3), torch.rand(3).double(),
                                                                          LIFSettings()), OK),
    # -- a device that holds no data ----------------------------------------------------------------------
    ("LIF meta current", lambda: snnbp.LIF()(META), E, ValueError, ("current", "meta", "'cpu'")),
    ("LIF (unchecked values) meta current", lambda: then(snnbp.LIF(), "check_input", False)(META), E, ValueError,
     ("current", "meta")),
    ("LIF step meta tensors", lambda: snnbp.LIF().step(META[0], META[0]), E, ValueError, ("meta",)),
    ("lif_scan meta current", lambda: fused_scan.lif_scan(META, LIFSettings()), E, ValueError, ("current", "meta")),
    ("encode meta images", lambda: snnbp.poisson_encode(IMAGES.to("meta"), 3), E, ValueError, ("x", "meta")),
    ("PoissonEncoder meta images", lambda: snnbp.PoissonEncoder(3)(IMAGES.to("meta")), E, ValueError, ("x", "meta")),
    ("net meta images", lambda: net()(IMAGES.to("meta")), E, ValueError, ("x", "meta")),
    ("net moved to meta", lambda: net().to("meta")(IMAGES), E, ValueError, ("meta", "to_empty")),
    # -- poisson_encode --------------------------------------------------------------------------
    ("encode uint8 pixels", lambda: snnbp.poisson_encode((IMAGES * 255).to(torch.uint8), 4), E, ValueError,
     ("x", "255", "[-1, 1]")),
    ("encode int pixels 0..255", lambda: snnbp.poisson_encode((IMAGES * 255).long(), 4), E, ValueError,
     ("x", "divide by 255")),
    ("encode float pixels 0..255", lambda: snnbp.poisson_encode(IMAGES * 255, 4), W, UserWarning,
     ("x", "[-1, 1]", "divide by 255")),
    ("encode slightly above 1", lambda: snnbp.poisson_encode(IMAGES * 1.5, 4), W, UserWarning, ("[-1, 1]",)),
    ("encode NaN", lambda: snnbp.poisson_encode(nan_images(), 4), E, ValueError, ("x", "NaN")),
    ("encode steps 0", lambda: snnbp.poisson_encode(IMAGES, 0), E, ValueError, ("steps", ">= 1")),
    ("encode steps float", lambda: snnbp.poisson_encode(IMAGES, 2.5), E, TypeError, ("steps", "integer")),
    ("encode rate_scale 0", lambda: snnbp.poisson_encode(IMAGES, 2, rate_scale=0), E, ValueError, ("rate_scale",)),
    ("encode signed 'False'", lambda: snnbp.poisson_encode(IMAGES, 2, signed="False"), E, TypeError,
     ("signed", "True or False")),
    ("encode generator 42", lambda: snnbp.poisson_encode(IMAGES, 2, generator=42), E, TypeError,
     ("generator", "manual_seed(42)")),
    ("encode numpy array", lambda: snnbp.poisson_encode(IMAGES.numpy(), 2), E, TypeError,
     ("x", "torch.as_tensor")),
    ("encode bool images", lambda: snnbp.poisson_encode(IMAGES > 0.5, 2), OK),
    ("encode int 0/1 images", lambda: snnbp.poisson_encode((IMAGES > 0.5).long(), 2), OK),
    ("encode [-1, 1] images", lambda: snnbp.poisson_encode(IMAGES * 2 - 1, 2), OK),
    ("encode float64 images", lambda: snnbp.poisson_encode(IMAGES.double(), 2), OK),
    ("encode one pixel", lambda: snnbp.poisson_encode(torch.rand(1), 2), OK),
    ("encode a 0-d image", lambda: snnbp.poisson_encode(torch.tensor(0.5), 2), OK),
    ("encode empty batch", lambda: snnbp.poisson_encode(IMAGES[:0], 2), E, ValueError, ("x", "empty", "one image")),
    ("encode images of width 0", lambda: snnbp.poisson_encode(torch.rand(2, 0), 2), E, ValueError, ("x", "empty")),
    ("PoissonEncoder empty batch", lambda: snnbp.PoissonEncoder(3)(IMAGES[:0]), E, ValueError, ("x", "empty")),
    ("DirectEncoder empty batch", lambda: DirectEncoder(3)(IMAGES[:0]), E, ValueError, ("x", "empty")),
    # -- the number of time steps ---------------------------------------------------------------------
    ("encode 10**9 steps", lambda: snnbp.poisson_encode(IMAGES, 10**9), E, ValueError,
     ("steps=1000000000", "GiB", "fewer time steps", "timesteps")),
    ("encode 10**9 steps is a MemoryError too", lambda: snnbp.poisson_encode(IMAGES, 10**9), E, MemoryError,
     ("steps",)),
    ("PoissonEncoder 10**9 steps", lambda: snnbp.PoissonEncoder(10**9)(IMAGES), E, ValueError, ("steps", "GiB")),
    ("DirectEncoder 10**9 steps", lambda: DirectEncoder(10**9)(IMAGES), E, ValueError, ("steps", "GiB")),
    ("PoissonEncoder steps set to 10**9 later", lambda: then(snnbp.PoissonEncoder(3), "steps", 10**9)(IMAGES), E,
     ValueError, ("steps=1000000000", "GiB")),
    ("net timesteps set to 10**9 later", lambda: then(net(), "timesteps", 10**9)(IMAGES), E, MemoryError,
     ("timesteps=1000000000", "GiB")),
    ("encode 20,000 steps", lambda: snnbp.poisson_encode(IMAGES[:1], 20_000), W, UserWarning,
     ("steps=20000", "fewer time steps")),
    ("encode steps negative", lambda: snnbp.poisson_encode(IMAGES, -3), E, ValueError, ("steps", ">= 1")),
    ("encode steps True", lambda: snnbp.poisson_encode(IMAGES, True), E, TypeError, ("steps", "integer")),
    ("encode steps 4.0", lambda: snnbp.poisson_encode(IMAGES, 4.0), E, TypeError, ("steps", "integer")),
    ("PoissonEncoder steps 0", lambda: snnbp.PoissonEncoder(0), E, ValueError, ("steps", ">= 1")),
    ("PoissonEncoder steps set to 0 later", lambda: then(snnbp.PoissonEncoder(3), "steps", 0)(IMAGES), E,
     ValueError, ("steps", ">= 1")),
    ("DirectEncoder steps set to 2.5 later", lambda: then(DirectEncoder(3), "steps", 2.5)(IMAGES), E, TypeError,
     ("steps", "integer")),
    ("net timesteps set to 0", lambda: then(net(), "timesteps", 0), E, ValueError, ("timesteps", ">= 1")),
    ("encode 1,000 steps", lambda: snnbp.poisson_encode(IMAGES[:1], 1000), OK),
    ("encode 10,000 steps (the last without a warning)", lambda: snnbp.poisson_encode(IMAGES[:1], 10_000), OK),
    ("net timesteps set to 100", lambda: then(net(), "timesteps", 100)(IMAGES), OK),
    # -- the encoder classes check their images as poisson_encode does -------------------------------------
    ("PoissonEncoder NaN image", lambda: snnbp.PoissonEncoder(3)(nan_images()), E, ValueError, ("x", "NaN")),
    ("PoissonEncoder inf image", lambda: snnbp.PoissonEncoder(3)(torch.tensor([0.5, math.inf])), E, ValueError,
     ("x", "infinite")),
    ("DirectEncoder NaN image", lambda: DirectEncoder(3)(nan_images()), E, ValueError, ("x", "NaN")),
    ("PoissonEncoder uint8 pixels", lambda: snnbp.PoissonEncoder(3)((IMAGES * 255).to(torch.uint8)), E, ValueError,
     ("x", "255")),
    ("PoissonEncoder float pixels 0..255", lambda: snnbp.PoissonEncoder(3)(IMAGES * 255), W, UserWarning,
     ("x", "[-1, 1]")),
    ("PoissonEncoder a list", lambda: snnbp.PoissonEncoder(3)(IMAGES.tolist()), E, TypeError, ("x", "Tensor")),
    ("PoissonEncoder generator 42", lambda: then(snnbp.PoissonEncoder(3), "generator", 42)(IMAGES), E, TypeError,
     ("generator", "manual_seed(42)")),
    ("encoding.make NaN image", lambda: snnbp.encoding.make("poisson", 3)(nan_images()), E, ValueError, ("NaN",)),
    ("PoissonEncoder images in [0, 1]", lambda: snnbp.PoissonEncoder(3)(IMAGES), OK),
    ("PoissonEncoder bool images", lambda: snnbp.PoissonEncoder(3)(IMAGES > 0.5), OK),
    ("PoissonEncoder seeded generator", lambda: then(snnbp.PoissonEncoder(3), "generator",
                                                     torch.Generator().manual_seed(0))(IMAGES), OK),
    ("DirectEncoder images in [-1, 1]", lambda: DirectEncoder(3)(IMAGES * 2 - 1), OK),
    ("PoissonEncoder signed 'no'", lambda: snnbp.PoissonEncoder(3, signed="no"), E, TypeError, ("signed",)),
    # -- build / custom / presets ---------------------------------------------------------------
    ("build unknown model", lambda: snnbp.build("vgg16", "mnist"), E, ValueError, ("model", "vgg9")),
    ("build unknown dataset", lambda: snnbp.build("lenet", "fashion"), E, ValueError, ("dataset", "mnist")),
    ("build unknown preset", lambda: snnbp.build("lenet", "mnist", preset="fast"), E, ValueError,
     ("preset", "modern")),
    ("build spiking 'no'", lambda: snnbp.build("lenet", "mnist", spiking="no"), E, TypeError,
     ("spiking", "True or False")),
    ("build shortcuts 0", lambda: snnbp.build("resnet11", "cifar10", shortcuts=0), E, TypeError, ("shortcuts",)),
    ("build detach_leak 'no'", lambda: snnbp.build("lenet", "mnist", detach_leak="no"), E, TypeError,
     ("detach_leak",)),
    ("build leak_correction 'yes'", lambda: snnbp.build("lenet", "mnist", leak_correction="yes"), E, TypeError,
     ("leak_correction",)),
    ("build threshold inf", lambda: snnbp.build("lenet", "mnist", threshold=math.inf), E, ValueError,
     ("threshold", "finite")),
    ("build lr 0", lambda: snnbp.build("lenet", "mnist", lr=0), E, ValueError, ("lr", "> 0")),
    ("build lr negative", lambda: snnbp.build("lenet", "mnist", lr=-0.1), E, ValueError, ("lr",)),
    ("build timesteps 0", lambda: snnbp.build("lenet", "mnist", timesteps=0), E, ValueError, ("timesteps",)),
    ("build dropout 1", lambda: snnbp.build("vgg9", "cifar10", dropout=1.0), E, ValueError, ("dropout", "[0, 1)")),
    ("build unknown field", lambda: snnbp.build("lenet", "mnist", learning_rate=0.1), E, TypeError,
     ("learning_rate", "valid")),
    ("build unknown loss", lambda: snnbp.build("lenet", "mnist", loss="l1"), E, ValueError,
     ("loss", "cross_entropy")),
    ("build unknown optimizer", lambda: snnbp.build("lenet", "mnist", optimizer="rmsprop"), E, ValueError,
     ("optimizer", "adam")),
    ("build batch_size 0", lambda: snnbp.build("lenet", "mnist", batch_size=0), E, ValueError, ("batch_size",)),
    ("build init_rate 1", lambda: snnbp.build("lenet", "mnist", init_rate=1.0), E, ValueError, ("init_rate",)),
    ("build momentum negative", lambda: snnbp.build("lenet", "mnist", momentum=-0.9), E, ValueError,
     ("momentum",)),
    ("build surrogate with parameters", lambda: snnbp.build("lenet", "mnist",
                                                            surrogate=snnbp.surrogate.ATan(alpha=5.0)),
     E, TypeError, ("surrogate", "by name")),
    ("build surrogate instance Paper()",
     lambda: _assert(snnbp.build("lenet", "mnist", surrogate=snnbp.surrogate.Paper()).config,
                     surrogate="paper", leak_correction=True), OK),
    ("build image_size 0", lambda: snnbp.build("vgg9", "digits", image_size=0), E, ValueError, ("image_size",)),
    ("custom empty table", lambda: custom([], "digits"), E, TypeError, ("layers", "non-empty")),
    ("presets.get unknown", lambda: presets.get("paper", "lenet", "imagenet"), E, ValueError, ("dataset",)),
    ("build modern preset", lambda: snnbp.build("lenet", "mnist", preset="modern"), OK),
    # -- a network's forward pass ---------------------------------------------------------------
    ("net uint8 images", lambda: net()((IMAGES * 255).to(torch.uint8)), E, ValueError, ("x", "255")),
    ("net float 0..255 images", lambda: net()(IMAGES * 255), W, UserWarning, ("x", "[-1, 1]")),
    ("net NaN image", lambda: net()(nan_images()), E, ValueError, ("x", "NaN")),
    ("net image without batch axis", lambda: net()(IMAGES[0]), E, ValueError, ("x", "unsqueeze(0)")),
    ("net wrong channels", lambda: net()(torch.rand(2, 3, 8, 8)), E, ValueError, ("channels", "expects 1")),
    ("net wrong size", lambda: net()(torch.rand(2, 1, 28, 28)), E, ValueError, ("size", "(8, 8)")),
    ("net list input", lambda: net()(IMAGES.tolist()), E, TypeError, ("x", "Tensor")),
    ("net huge timesteps", lambda: custom([FC(16)], "digits", timesteps=10**9)(IMAGES), E, MemoryError,
     ("timesteps=1000000000", "fewer time steps")),
    ("net float64 batch", lambda: net()(IMAGES.double()), OK),
    ("net float16 batch", lambda: net()(IMAGES.half()), OK),
    ("net int 0/1 images", lambda: net()((IMAGES > 0.5).long()), OK),
    ("net batch size 1", lambda: net()(IMAGES[:1]), OK),
    ("net empty batch", lambda: net()(IMAGES[:0]), E, ValueError, ("x", "empty")),
    ("ANN twin empty batch", lambda: net(spiking=False)(IMAGES[:0]), E, ValueError, ("x", "empty")),
    ("net moved with .double()", lambda: _assert_dtype(net().double()(IMAGES), torch.float64), OK),
    ("ANN twin forward", lambda: net(spiking=False)(IMAGES), OK),
    # -- fit ---------------------------------------------------------------------------------------
    ("fit empty train loader", lambda: fit(train_loader=loader(IMAGES[:0], LABELS[:0])), E, ValueError,
     ("train_loader", "empty")),
    ("fit empty test loader", lambda: fit(test_loader=loader(IMAGES[:0], LABELS[:0])), E, ValueError,
     ("test_loader", "empty")),
    ("fit labels 10..15", lambda: fit(train_loader=loader(labels=LABELS + 10)), E, ValueError,
     ("labels", "[0, 9]", "10")),
    ("fit negative labels", lambda: fit(train_loader=loader(labels=LABELS - 3)), E, ValueError,
     ("labels", "-3")),
    ("fit one-hot labels", lambda: fit(train_loader=loader(labels=torch.eye(10)[LABELS])), E, ValueError,
     ("one-hot", "argmax")),
    ("fit float labels", lambda: fit(train_loader=loader(labels=LABELS.float())), E, TypeError,
     ("labels", ".long()")),
    ("fit a tensor as loader", lambda: fit(train_loader=IMAGES), E, TypeError, ("train_loader", "DataLoader")),
    ("fit batches without labels", lambda: fit(train_loader=[IMAGES]), E, TypeError, ("pair", "labels")),
    ("fit images and labels of different counts",
     lambda: fit(train_loader=[(IMAGES, LABELS[:4])]), E, ValueError, ("4 labels for 6 images",)),
    ("fit epochs 0", lambda: fit(epochs=0), E, ValueError, ("epochs",)),
    ("fit resume 'no'", lambda: train.fit(net(), loader(), loader(), epochs=1, resume="no"), E, TypeError,
     ("resume",)),
    ("fit not a model", lambda: train.fit("lenet", loader(), loader()), E, TypeError, ("model", "nn.Module")),
    ("fit loader batch differs from config", lambda: fit(train_loader=loader(batch=2)), W, UserWarning,
     ("batch_size", "loader")),
    ("fit over an existing run", lambda: fit(out=run_folder(TMP())), E, FileExistsError,
     ("already holds a run", "resume")),
    ("fit resume with another T", lambda: fit(net(timesteps=5), out=run_folder(TMP()), resume=True, epochs=2),
     E, ValueError, ("timesteps 3 -> 5",)),
    ("fit resume with another lr", lambda: fit(net(lr=0.5), out=run_folder(TMP()), resume=True, epochs=2),
     E, ValueError, ("lr",)),
    ("fit resume with another preset", lambda: fit(net(preset="modern"), out=run_folder(TMP()), resume=True,
                                                   epochs=2), E, ValueError, ("other settings",)),
    ("fit batch size 1", lambda: fit(net(batch_size=1)), OK),
    ("fit a list of batches", lambda: fit(train_loader=[(IMAGES, LABELS)], test_loader=[(IMAGES, LABELS)]), OK),
    ("fit the ANN twin", lambda: fit(net(spiking=False)), OK),
    ("fit resume with the same settings", lambda: fit(out=run_folder(TMP()), resume=True, epochs=2), OK),
    # -- evaluate ------------------------------------------------------------------------------------
    ("evaluate_accuracy labels 10..15", lambda: evaluate.evaluate_accuracy(net(), loader(labels=LABELS + 10)),
     E, ValueError, ("labels", "[0, 9]")),
    ("evaluate_accuracy empty loader", lambda: evaluate.evaluate_accuracy(net(), loader(IMAGES[:0], LABELS[:0])),
     E, ValueError, ("loader", "empty")),
    ("evaluate_accuracy generator without batches", lambda: evaluate.evaluate_accuracy(net(), iter([])),
     E, ValueError, ("no examples",)),
    ("firing_rates empty loader", lambda: evaluate.firing_rates(net(), []), E, ValueError, ("loader", "empty")),
    ("analyse a plain Sequential", lambda: evaluate.analyse(torch.nn.Sequential(torch.nn.Flatten()), loader()),
     E, TypeError, ("analyse", "snnbp network")),
    ("analyse labels 10..15", lambda: evaluate.analyse(net(), loader(labels=LABELS + 10)), E, ValueError,
     ("labels",)),
    ("evaluate_accuracy batch of one", lambda: evaluate.evaluate_accuracy(net(), loader(batch=1)), OK),
    ("analyse the ANN twin", lambda: evaluate.analyse(net(spiking=False), loader()), OK),
    # -- record --------------------------------------------------------------------------------------
    ("record a model name", lambda: snnbp.record("vgg9").__enter__(), E, TypeError, ("model", "snnbp.build")),
    ("record an ANN twin", lambda: snnbp.record(net(spiking=False)), E, ValueError, ("no spiking layers",)),
    ("record a plain torch model", lambda: snnbp.record(torch.nn.Linear(2, 2)), E, ValueError,
     ("no spiking layers",)),
    ("record membranes 'yes'", lambda: snnbp.record(net(), membranes="yes"), E, TypeError, ("membranes",)),
    ("record a network", lambda: _record(net()), OK),
    ("recording without a forward: rates()", lambda: recording(forward=False).rates(), E, ValueError,
     ("nothing was recorded", "forward call")),
    ("recording without a forward: names", lambda: recording(forward=False).names, E, ValueError,
     ("nothing was recorded",)),
    ("recording without a forward: spikes['lif1']", lambda: recording(forward=False).spikes["lif1"], E, ValueError,
     ("nothing was recorded", "spikes['lif1']")),
    ("recording without a forward: counts['lif1']", lambda: recording(forward=False).counts["lif1"], E, KeyError,
     ("nothing was recorded",)),
    ("recording without a forward: membranes['lif1']",
     lambda: recording(forward=False, membranes=True).membranes["lif1"], E, ValueError, ("nothing was recorded",)),
    ("recording an unknown layer", lambda: recording().spikes["lif9"], E, KeyError,
     ("lif9", "recorded layers", "'lif1'")),
    ("recording membranes that were not kept", lambda: recording().membranes["lif1"], E, KeyError,
     ("membranes=True",)),
    ("recording after a forward", lambda: _assert(recording(), names=["input", "lif1"]), OK),
    ("recording rates after a forward", lambda: recording().rates()["lif1"], OK),
    ("recording membranes kept", lambda: recording(membranes=True).membranes["lif1"], OK),
    ("recording .get of an unknown layer", lambda: _assert_none(recording().spikes.get("lif9")), OK),
    ("recording 'in' before a forward", lambda: _assert_none(None if "lif1" not in recording(False).spikes else 1),
     OK),
    # -- data helpers' fractions ----------------------------------------------------------------------
    ("digits test_fraction 0", lambda: snnbp.data.digits(test_fraction=0), E, ValueError,
     ("test_fraction", "(0, 1)")),
    ("digits test_fraction 1", lambda: snnbp.data.digits(test_fraction=1.0), E, ValueError,
     ("test_fraction", "(0, 1)")),
    ("digits test_fraction 1.5", lambda: snnbp.data.digits(test_fraction=1.5), E, ValueError, ("test_fraction",)),
    ("digits test_fraction negative", lambda: snnbp.data.digits(test_fraction=-0.2), E, ValueError,
     ("test_fraction",)),
    ("digits test_fraction NaN", lambda: snnbp.data.digits(test_fraction=math.nan), E, ValueError,
     ("test_fraction", "nan")),
    ("digits test_fraction 100 (a count)", lambda: snnbp.data.digits(test_fraction=100), E, ValueError,
     ("test_fraction", "(0, 1)")),
    ("digits test_fraction '0.2'", lambda: snnbp.data.digits(test_fraction="0.2"), E, TypeError,
     ("test_fraction", "fraction")),
    ("digits test_fraction True", lambda: snnbp.data.digits(test_fraction=True), E, TypeError, ("test_fraction",)),
    ("digits test_fraction 0.001 (no test image per class)", lambda: snnbp.data.digits(test_fraction=0.001), E,
     ValueError, ("test_fraction", "10 classes", "0.006")),
    ("digits test_fraction 0.999", lambda: snnbp.data.digits("test", test_fraction=0.999), E, ValueError,
     ("test_fraction", "0.994")),
    ("loaders subset 0.1 (a fraction)", lambda: snnbp.data.loaders("digits", 8, subset=0.1), E, ValueError,
     ("subset", "not a fraction", "choose 1 to")),
    ("digits test_fraction 0.5", lambda: snnbp.data.digits(test_fraction=0.5), OK),
    ("digits test_fraction 0.006 and 0.994", lambda: [snnbp.data.digits(s, test_fraction=f) for s in ("train", "test")
                                                      for f in (0.006, 0.994)], OK),
    ("digits numpy test_fraction", lambda: snnbp.data.digits(test_fraction=__import__("numpy").float64(0.3)), OK),
]


def _assert(config, **want):
    for k, v in want.items():
        assert getattr(config, k) == v, (k, getattr(config, k))


def _assert_none(value):
    assert value is None, value


def _assert_dtype(t, dtype):
    assert t.dtype == dtype, t.dtype


def _record(model):
    with snnbp.record(model) as rec:
        model(IMAGES)
    assert rec.names[0] == "input" and rec.counts


class TMP:
    """The test's temporary folder (set by the fixture below), shared by the rows of one test."""

    path = None

    def __new__(cls):
        return cls.path


@pytest.fixture(autouse=True)
def _tmp(tmp_path):
    TMP.path = tmp_path
    yield
    TMP.path = None


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_api_mistake(row, mistake):
    mistake(*row)


def test_the_table_covers_every_kind_of_answer():
    kinds = [r[2] for r in ROWS]
    assert len(ROWS) >= 80 and kinds.count(OK) >= 15 and kinds.count(W) >= 3
