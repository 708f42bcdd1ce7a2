r"""Assignment 3, *a deep SNN with time-fixed dropout*: dropout with one mask for all time steps
(paper-spec section 5), a deep fully connected SNN for scikit-learn's 8x8 digits, per-layer
firing rates, a training loop with the paper's summed squared error, and a short report.

The checks build their own copy of the network (:func:`reference_network`) so each question is
graded on its own: a wrong ``make_network`` does not cost the points of ``train``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..data import digits
from ..encoding import PoissonEncoder
from ..layers import Flatten, OutputIntegrator, TimeBatched, TimeFixedDropout
from ..neurons import LIF
from ._core import Assignment, Question, clone, expect, expect_close, expect_shape

#: what a trained network must reach on the digits test split (chance: 0.10; ours: about 0.95)
MIN_ACCURACY = 0.80


def reference_network(hidden=(128, 128, 64), dropout: float = 0.2, timesteps: int = 10) -> nn.Sequential:
    """The deep SNN of question 2: Poisson input, ``Linear -> LIF -> TimeFixedDropout`` per hidden
    layer (He initialisation, no bias), a linear read-out into a leaky integrator."""
    layers: list[nn.Module] = [PoissonEncoder(timesteps), Flatten()]
    width = 64
    for size in hidden:
        linear = nn.Linear(width, size, bias=False)
        nn.init.normal_(linear.weight, 0.0, math.sqrt(2.0 / width))
        layers += [TimeBatched(linear), LIF(leak=0.99, threshold=1.0), TimeFixedDropout(dropout)]
        width = size
    readout = nn.Linear(width, 10, bias=False)
    nn.init.normal_(readout.weight, 0.0, math.sqrt(2.0 / width))
    return nn.Sequential(*layers, TimeBatched(readout), OutputIntegrator(0.99))


@torch.no_grad()
def measured_rates(model: nn.Module, images: torch.Tensor) -> list[float]:
    """Spikes per neuron per time step of every LIF layer, one eval-mode forward pass."""
    spikes: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda m, args, out: spikes.append(out.detach()))
             for m in model.modules() if isinstance(m, LIF)]
    try:
        model.eval()
        model(images)
    finally:
        for hook in hooks:
            hook.remove()
    return [float(s.abs().float().mean()) for s in spikes]


@torch.no_grad()
def measured_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` whose largest output is the label (eval mode)."""
    model.eval()
    return float((model(images).argmax(1) == labels).float().mean())


# -- question 1 ---------------------------------------------------------------------------------

def check_time_fixed_dropout(time_fixed_dropout) -> None:
    """One Bernoulli mask ``[1, B, ...]`` scaled by ``1/(1-p)``, reused at every step."""
    p, x = 0.3, torch.ones(20, 8, 50)
    out = time_fixed_dropout(clone(x), p, generator=torch.Generator().manual_seed(0))
    expect_shape(f"time_fixed_dropout(x [20, 8, 50], p={p})", out, (20, 8, 50))
    expect(bool((out == out[:1]).all()), "the mask changes from one time step to the next: draw ONE mask of "
           "shape [1, B, ...] and reuse it for all T steps.")
    values = set(torch.unique(out).tolist())
    kept = 1 / (1 - p)
    expect(len(values) <= 2 and all(math.isclose(v, 0.0) or math.isclose(v, kept, rel_tol=1e-5) for v in values),
           f"with x = 1 every output must be 0 or 1/(1-p) = {kept:.4g}; got the values {sorted(values)[:5]}.")
    dropped = float((out[0] == 0).float().mean())
    expect(abs(dropped - p) < 5 * math.sqrt(p * (1 - p) / 400),
           f"{dropped:.3f} of the units were dropped, expected about p = {p}.")
    x = torch.rand(6, 4, 3, 5, generator=torch.Generator().manual_seed(1)) + 0.1
    out = time_fixed_dropout(clone(x), 0.5, generator=torch.Generator().manual_seed(2))
    ratio = expect_shape("time_fixed_dropout(x [6, 4, 3, 5], p=0.5)", out, tuple(x.shape)) / x
    expect_close("out[t] / x[t] (the mask) at every step t", ratio, ratio[:1].expand_as(ratio), atol=1e-5)
    expect_close("time_fixed_dropout(x, p=0)", time_fixed_dropout(clone(x), 0.0), x)
    one, two = (time_fixed_dropout(clone(x), 0.5, generator=torch.Generator().manual_seed(3)) for _ in range(2))
    expect(torch.equal(one, two), "two calls with generators seeded alike must drop the same units: draw the "
           "mask with generator=generator.")


# -- question 2 ---------------------------------------------------------------------------------

def check_make_network(make_network) -> None:
    """A deep SNN with the requested widths, one LIF and one time-fixed dropout per hidden layer."""
    hidden, p, steps = (32, 24, 16), 0.25, 8
    net = make_network(hidden, dropout=p, timesteps=steps)
    expect(isinstance(net, nn.Module), f"make_network must return a torch.nn.Module, got {type(net).__name__}.")
    lifs = [m for m in net.modules() if isinstance(m, LIF)]
    drops = [m for m in net.modules() if isinstance(m, TimeFixedDropout)]
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    expect(len(lifs) == len(hidden), f"make_network({hidden}) must have {len(hidden)} snnbp.LIF layers, one per "
           f"hidden layer; found {len(lifs)}.")
    expect(len(drops) == len(hidden) and all(d.p == p for d in drops),
           f"make_network({hidden}, dropout={p}) must have {len(hidden)} TimeFixedDropout({p}) layers; found "
           f"{[d.p for d in drops]}.")
    widths = [m.out_features for m in linears]
    expect(widths == [*hidden, 10] and linears[0].in_features == 64,
           f"the linear layers must map 64 -> {' -> '.join(map(str, [*hidden, 10]))}; found out_features {widths}.")
    seen: list[int] = []
    hook = lifs[0].register_forward_hook(lambda m, args, out: seen.append(out.shape[0]))
    images, labels = digits("train")
    torch.manual_seed(0)
    net.train()
    out = net(images[:64])
    hook.remove()
    expect_shape("the output for images [64, 1, 8, 8]", out, (64, 10))
    expect(seen == [steps], f"with timesteps={steps} the first LIF layer must see {steps} time steps, saw {seen}.")
    ((out - nn.functional.one_hot(labels[:64], 10).float()) ** 2).sum().backward()
    grad = linears[0].weight.grad
    expect(grad is not None and grad.abs().sum() > 0,
           "no gradient reaches the first layer's weights: are the deep layers silent? Initialise every weight "
           "from N(0, sqrt(2 / fan_in)) and do not detach the spikes.")


# -- question 3 ---------------------------------------------------------------------------------

def check_firing_rates(firing_rates) -> None:
    """Per-LIF-layer rates of one eval-mode pass equal :func:`measured_rates`."""
    torch.manual_seed(4)
    net = reference_network((48, 32, 24), dropout=0.5, timesteps=12)
    images = digits("test")[0][:100]
    torch.manual_seed(5)
    expected = measured_rates(net, images)
    net.train()
    torch.manual_seed(5)
    got = firing_rates(net, clone(images))
    expect(isinstance(got, (list, tuple)) and len(got) == len(expected),
           f"firing_rates must return a list with one rate per LIF layer ({len(expected)} here), got {got!r:.80}.")
    expect_close("the firing rates (one eval-mode forward pass, no dropout)", torch.tensor([float(r) for r in got]),
                 torch.tensor(expected), rtol=0.0, atol=2e-3)


# -- question 4 ---------------------------------------------------------------------------------

def check_train(train) -> None:
    """``train`` improves a fresh reference network to :data:`MIN_ACCURACY` in 4 epochs."""
    torch.manual_seed(6)
    net = reference_network((128, 64, 32), dropout=0.1, timesteps=10)
    (x_train, y_train), (x_test, y_test) = digits("train"), digits("test")
    epochs = 4
    losses = train(net, x_train, y_train, epochs=epochs, lr=0.0085, batch_size=32)
    expect(isinstance(losses, (list, tuple)) and len(losses) == epochs,
           f"train(..., epochs={epochs}) must return a list of {epochs} losses, one per epoch; got {losses!r:.80}.")
    losses = [float(v) for v in losses]
    expect(all(math.isfinite(v) for v in losses), f"the losses must be finite numbers, got {losses}.")
    expect(losses[-1] < losses[0], f"the loss did not go down over {epochs} epochs: {losses}.")
    accuracy = measured_accuracy(net, x_test, y_test)
    expect(accuracy >= MIN_ACCURACY, f"after train(net, epochs={epochs}, lr=0.0085) our network reaches "
           f"{accuracy:.1%} test accuracy; a correct loop reaches about 90 % (required: {MIN_ACCURACY:.0%}). "
           "Is the loss SUMMED over the batch and the classes, and the data shuffled every epoch?")


# -- question 5 ---------------------------------------------------------------------------------

def check_report(trained_model, report) -> None:
    """The reported accuracy and rates are those of ``trained_model``, re-measured on the test split."""
    expect(isinstance(trained_model, nn.Module), "trained_model must be the network you trained.")
    lifs = [m for m in trained_model.modules() if isinstance(m, LIF)]
    expect(len(lifs) >= 3 and any(isinstance(m, TimeFixedDropout) for m in trained_model.modules()),
           "trained_model must be a deep SNN (at least 3 LIF layers) with time-fixed dropout.")
    expect(isinstance(report, dict) and {"test_accuracy", "rates"} <= set(report),
           "report must be a dict with the keys 'test_accuracy' and 'rates'.")
    x_test, y_test = digits("test")
    torch.manual_seed(7)
    accuracy = measured_accuracy(trained_model, x_test, y_test)
    expect(accuracy >= MIN_ACCURACY, f"trained_model reaches {accuracy:.1%} on the test split; required: "
           f"{MIN_ACCURACY:.0%}. Train it longer (6 epochs at lr=0.0085 reach about 90 %).")
    expect(abs(float(report["test_accuracy"]) - accuracy) <= 0.03,
           f"report['test_accuracy'] = {float(report['test_accuracy']):.3f}, but trained_model measures "
           f"{accuracy:.3f} on the test split.")
    torch.manual_seed(8)
    rates = measured_rates(trained_model, x_test)
    got = report["rates"]
    expect(isinstance(got, (list, tuple)) and len(got) == len(rates),
           f"report['rates'] must hold one rate per LIF layer ({len(rates)}), got {got!r:.80}.")
    expect_close("report['rates'] (test split, eval mode)", torch.tensor([float(r) for r in got]),
                 torch.tensor(rates), rtol=0.0, atol=0.01)


ASSIGNMENT = Assignment("deep_dropout", "A deep SNN with time-fixed dropout", (
    Question("q1", "time-fixed dropout", 2, ("time_fixed_dropout",), check_time_fixed_dropout,
             "mask = (torch.rand(x[:1].shape, generator=generator) >= p) / (1 - p); return x * mask "
             "(the [1, B, ...] mask broadcasts over the T steps)."),
    Question("q2", "a deep spiking network", 2, ("make_network",), check_make_network,
             "PoissonEncoder(timesteps), Flatten(), then per hidden width: TimeBatched(nn.Linear(n, width, "
             "bias=False)), LIF(), TimeFixedDropout(dropout); finally TimeBatched(nn.Linear(n, 10)) and "
             "OutputIntegrator()."),
    Question("q3", "per-layer firing rates", 2, ("firing_rates",), check_firing_rates,
             "model.eval(); inside torch.no_grad() register a forward hook on every snnbp.LIF module that "
             "stores its output, call model(images) once, remove the hooks, and average each output."),
    Question("q4", "a training loop", 2, ("train",), check_train,
             "per epoch: model.train(); a fresh torch.randperm; for each batch: out = model(x); loss = "
             "((out - one_hot(y, 10)) ** 2).sum(); optimizer.zero_grad(); loss.backward(); optimizer.step()."),
    Question("q5", "the report", 2, ("trained_model", "report"), check_report,
             "report = {'test_accuracy': accuracy of trained_model on the test split, 'rates': "
             "firing_rates(trained_model, test images)}."),
))
