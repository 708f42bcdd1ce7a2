r"""Assignment 3, *a deep SNN with time-fixed dropout*: dropout with one mask for all time steps
(book/method.md, 'Dropout'), a deep fully connected SNN for scikit-learn's 8x8 digits, per-layer
firing rates, a training loop with the paper's summed squared error, and a short report.

The checks build their own copy of the network (:func:`reference_network`) so each question is
graded on its own: a wrong ``make_network`` does not cost the points of ``train``. Networks travel
between the checks and the student's code as data (widths, dropout, time steps and weights): a
student's network comes back as its weights and its outputs for the checks' images and random
numbers, and the checks rebuild the reference with those weights, confirm it computes the same
outputs, and measure it themselves (accuracy, rates, gradients).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..data import digits
from ..encoding import PoissonEncoder
from ..exercises.ch06_deep_vgg import dropout_problem
from ..layers import Flatten, OutputIntegrator, TimeBatched, TimeFixedDropout
from ..neurons import LIF
from ..verdicts import clone, describe, expect, expect_close, expect_shape, generator, seeded
from ._core import Assignment, Question, draw_float, draw_int, draw_seed

#: what the student's trained network (question 5) must reach on the digits test split (chance: 0.10)
MIN_ACCURACY = 0.80
#: what question 4's ``train`` must reach from a random start in :data:`TRAIN_EPOCHS` epochs: correct
#: loops reach 0.65-0.90 (the start matters), one that averages the loss stays near chance
TRAIN_ACCURACY = 0.50
TRAIN_EPOCHS = 5
#: the least cosine similarity between a layer's weights after ``train`` and before (correct: about 0.9)
MIN_SIMILARITY = 0.5
#: question 5: Poisson draws the grader averages the test accuracy over, and how far the reported
#: accuracy (one draw, in the student's kernel) may lie from that mean
ACCURACY_DRAWS = 3
ACCURACY_TOLERANCE = 0.06


def he_weights(hidden, gen: torch.Generator | None = None) -> list[torch.Tensor]:
    """He-normal weights ``N(0, sqrt(2 / fan_in))`` of the linear layers ``64 -> *hidden -> 10``."""
    widths = [64, *hidden, 10]
    return [torch.randn(out, fan_in, generator=gen) * math.sqrt(2.0 / fan_in)
            for fan_in, out in zip(widths, widths[1:])]


def reference_network(hidden=(128, 128, 64), dropout: float = 0.2, timesteps: int = 10,
                      weights: list[torch.Tensor] | None = None) -> nn.Sequential:
    """The deep SNN of question 2: Poisson input, ``Linear -> LIF -> TimeFixedDropout`` per hidden
    layer (no bias), a linear read-out into a leaky integrator; ``weights`` (one per linear layer)
    default to :func:`he_weights`."""
    weights = he_weights(hidden) if weights is None else weights
    linears = []
    for weight in weights:
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        linear.weight = nn.Parameter(weight.detach().clone().float())
        linears.append(TimeBatched(linear))
    layers: list[nn.Module] = [PoissonEncoder(timesteps), Flatten()]
    for linear in linears[:-1]:
        layers += [linear, LIF(leak=0.99, threshold=1.0), TimeFixedDropout(dropout)]
    return nn.Sequential(*layers, linears[-1], OutputIntegrator(0.99))


def linear_weights(model: nn.Module) -> list[torch.Tensor]:
    """The weights of every ``nn.Linear`` of ``model``, in the order of ``model.modules()``."""
    return [m.weight.detach() for m in model.modules() if isinstance(m, nn.Linear)]


def rebuild(spec: dict) -> nn.Sequential:
    """:func:`reference_network` from a description ``{"hidden", "dropout", "timesteps", "weights"}``."""
    return reference_network(tuple(spec["hidden"]), spec["dropout"], spec["timesteps"], spec["weights"])


def draw_network(gen: torch.Generator, hidden, dropout: float, timesteps: int) -> dict:
    """A description for :func:`rebuild` with fresh He-normal weights drawn from ``gen``."""
    return {"hidden": list(hidden), "dropout": dropout, "timesteps": timesteps, "weights": he_weights(hidden, gen)}


@torch.no_grad()
def outputs(model: nn.Module, images: torch.Tensor, seeds) -> dict:
    """``model``'s outputs for ``images`` in training mode (dropout on) and in evaluation mode, each
    with the global RNG seeded by one of ``seeds`` (the Poisson input and the dropout masks)."""
    result = {}
    for mode, seed in zip(("train", "eval"), seeds):
        model.train(mode == "train")
        with seeded(seed):
            result[mode] = model(clone(images))
    return result


def network_data(model) -> dict:
    """What the checks need to know about a student's network: its linear weights (and whether they
    have a bias), its dropout probabilities, time steps and module types."""
    expect(isinstance(model, nn.Module), f"the network must be a torch.nn.Module, got {describe(model)}.")
    modules = list(model.modules())
    return {"weights": linear_weights(model),
            "bias": [m.bias is not None for m in modules if isinstance(m, nn.Linear)],
            "lif": sum(isinstance(m, LIF) for m in modules),
            "dropout": [float(m.p) for m in modules if isinstance(m, TimeFixedDropout)],
            "timesteps": [int(m.steps) for m in modules if isinstance(m, PoissonEncoder)]}


def expect_same_network(what: str, got: dict, spec: dict, images: torch.Tensor, seeds) -> nn.Sequential:
    """The student's network (``got``: :func:`network_data` and :func:`outputs`) must compute what the
    reference with its weights computes; returns that reference."""
    widths = [64, *spec["hidden"], 10]
    shapes = [tuple(w.shape) if isinstance(w, torch.Tensor) else None for w in got["weights"]]
    expect(shapes == [(out, fan_in) for fan_in, out in zip(widths, widths[1:])],
           f"the linear layers of {what} must map {' -> '.join(map(str, widths))}; found weights of shapes {shapes}.")
    expect(not any(got["bias"]), f"the linear layers of {what} must have no bias (bias=False).")
    reference = rebuild(dict(spec, weights=got["weights"]))
    expected = outputs(reference, images, seeds)
    for mode in ("train", "eval"):
        mine, theirs = expected[mode], expect_shape(f"the output of {what} for images [{len(images)}, 1, 8, 8]",
                                                    got[mode], tuple(expected[mode].shape))
        gap = float((theirs.double() - mine.double()).norm())
        expect(gap <= 1e-2 * float(mine.double().norm()) + 1e-4,
               f"in {mode} mode {what} computes other outputs than PoissonEncoder({spec['timesteps']}), Flatten(), "
               f"then per hidden layer Linear, LIF(), TimeFixedDropout({spec['dropout']}), then Linear and "
               f"OutputIntegrator() with the same weights and random numbers (relative difference "
               f"{gap / max(float(mine.double().norm()), 1e-12):.3g}).")
    return reference


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

def make_time_fixed_dropout(gen: torch.Generator) -> dict:
    """A random ``p``, an all-ones input (every output is 0 or 1/(1-p)), a random input, seeds."""
    return {"p": draw_float(gen, 0.2, 0.4, 2), "ones": torch.ones(20, 8, 50),
            "x": torch.rand(6, 4, 3, 5, generator=gen) + 0.1, "seeds": [draw_seed(gen) for _ in range(3)]}


def answer_time_fixed_dropout(request: dict, time_fixed_dropout) -> dict:
    p, x, (first, second, same) = request["p"], request["x"], request["seeds"]
    return {"ones": time_fixed_dropout(clone(request["ones"]), p, generator=generator(first)),
            "half": time_fixed_dropout(clone(x), 0.5, generator=generator(second)),
            "zero": time_fixed_dropout(clone(x), 0.0),
            "same": [time_fixed_dropout(clone(x), 0.5, generator=generator(same)) for _ in range(2)]}


def judge_time_fixed_dropout(request: dict, reply) -> None:
    """One Bernoulli mask ``[1, B, ...]`` scaled by ``1/(1-p)``, reused at every step (chapter 6's check,
    :func:`snnbp.exercises.ch06_deep_vgg.dropout_problem`), on any input, with ``p = 0``, reproducible."""
    p, x = request["p"], request["x"]
    problem = dropout_problem(request["ones"], p, reply["ones"])
    expect(problem is None, f"time_fixed_dropout(x = ones [20, 8, 50], p={p}): {problem}.")
    ratio = expect_shape("time_fixed_dropout(x [6, 4, 3, 5], p=0.5)", reply["half"], tuple(x.shape)) / x
    expect_close("out[t] / x[t] (the mask) at every step t", ratio, ratio[:1].expand_as(ratio), atol=1e-5)
    expect_close("time_fixed_dropout(x, p=0)", reply["zero"], x)
    one, two = reply["same"]
    expect(isinstance(one, torch.Tensor) and isinstance(two, torch.Tensor) and torch.equal(one, two),
           "two calls with generators seeded alike must drop the same units: draw the mask with generator=generator.")


# -- question 2 ---------------------------------------------------------------------------------

def _images(gen: torch.Generator, split: str, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = digits(split)
    pick = torch.randperm(len(labels), generator=gen)[:count]
    return images[pick], labels[pick]


def make_make_network(gen: torch.Generator) -> dict:
    """Random widths, dropout and time steps; training images; seeds for the Poisson input and dropout."""
    images, labels = _images(gen, "train", 64)
    return {"hidden": [draw_int(gen, 16, 40) for _ in range(3)], "dropout": draw_float(gen, 0.1, 0.4, 2),
            "timesteps": draw_int(gen, 5, 10), "images": images, "labels": labels,
            "seeds": [draw_seed(gen), draw_seed(gen)]}


def answer_make_network(request: dict, make_network) -> dict:
    net = make_network(tuple(request["hidden"]), dropout=request["dropout"], timesteps=request["timesteps"])
    return dict(network_data(net), **outputs(net, request["images"], request["seeds"]))


def judge_make_network(request: dict, reply) -> None:
    """A deep SNN with the requested widths, one LIF and one time-fixed dropout per hidden layer, He
    initialisation, whose outputs are those of the reference with the same weights."""
    hidden, p = tuple(request["hidden"]), request["dropout"]
    expect(reply["lif"] == len(hidden), f"make_network({hidden}) must have {len(hidden)} snnbp.LIF layers, one per "
           f"hidden layer; found {reply['lif']}.")
    expect(len(reply["dropout"]) == len(hidden) and all(d == p for d in reply["dropout"]),
           f"make_network({hidden}, dropout={p}) must have {len(hidden)} TimeFixedDropout({p}) layers; found "
           f"{reply['dropout']}.")
    reference = expect_same_network(f"make_network({hidden}, dropout={p}, timesteps={request['timesteps']})",
                                    reply, request, request["images"], request["seeds"])
    for k, weight in enumerate(linear_weights(reference)):
        ratio = float(weight.std()) / math.sqrt(2.0 / weight.shape[1])
        expect(0.6 < ratio < 1.6, f"the weights of linear layer {k + 1} have std {float(weight.std()):.3g}; He "
               f"initialisation gives sqrt(2 / fan_in) = {math.sqrt(2.0 / weight.shape[1]):.3g}.")
    reference.train()
    with seeded(request["seeds"][0]):
        out = reference(request["images"])
    ((out - nn.functional.one_hot(request["labels"], 10).float()) ** 2).sum().backward()
    grad = next(m for m in reference.modules() if isinstance(m, nn.Linear)).weight.grad
    expect(grad is not None and float(grad.abs().sum()) > 0,
           "no gradient reaches the first layer's weights: are the deep layers silent? Initialise every weight "
           "from N(0, sqrt(2 / fan_in)) and do not detach the spikes.")


# -- question 3 ---------------------------------------------------------------------------------

def make_firing_rates(gen: torch.Generator) -> dict:
    """A reference network with random widths and weights, test images and a seed for the input."""
    hidden = [draw_int(gen, 24, 48) for _ in range(3)]
    return {"network": draw_network(gen, hidden, 0.5, draw_int(gen, 8, 12)),
            "images": _images(gen, "test", 100)[0], "seed": draw_seed(gen)}


def answer_firing_rates(request: dict, firing_rates):
    net = rebuild(request["network"]).train()
    with seeded(request["seed"]):
        return firing_rates(net, clone(request["images"]))


def judge_firing_rates(request: dict, reply) -> None:
    """Per-LIF-layer rates of one eval-mode pass equal :func:`measured_rates`."""
    net = rebuild(request["network"])                 # outside: building it draws from the global RNG
    with seeded(request["seed"]):
        expected = measured_rates(net, request["images"])
    expect(isinstance(reply, list) and len(reply) == len(expected),
           f"firing_rates must return a list with one rate per LIF layer ({len(expected)} here), "
           f"got {describe(reply)}.")
    expect_close("the firing rates (one eval-mode forward pass, no dropout)", torch.tensor([float(r) for r in reply]),
                 torch.tensor(expected), rtol=0.0, atol=2e-3)


# -- question 4 ---------------------------------------------------------------------------------

def make_train(gen: torch.Generator) -> dict:
    """A fresh reference network (random He weights), the training split, the hyperparameters, seeds."""
    images, labels = digits("train")
    return {"network": draw_network(gen, (128, 64, 32), 0.1, 10), "images": images, "labels": labels,
            "epochs": TRAIN_EPOCHS, "lr": 0.0085, "batch_size": 32, "seed": draw_seed(gen), "test_seed": draw_seed(gen)}


def answer_train(request: dict, train) -> dict:
    net = rebuild(request["network"])
    with seeded(request["seed"]):
        losses = train(net, clone(request["images"]), clone(request["labels"]), epochs=request["epochs"],
                       lr=request["lr"], batch_size=request["batch_size"])
    return {"losses": losses, "weights": linear_weights(net)}


def judge_train(request: dict, reply) -> None:
    """``train`` takes the network it was given to :data:`TRAIN_ACCURACY` in :data:`TRAIN_EPOCHS` epochs
    (measured here, on the weights it returns, which must have grown from the ones it was given)."""
    epochs, losses, start = request["epochs"], reply["losses"], request["network"]["weights"]
    expect(isinstance(losses, list) and len(losses) == epochs,
           f"train(..., epochs={epochs}) must return a list of {epochs} losses, one per epoch; got {describe(losses)}.")
    losses = [float(v) for v in losses]
    expect(all(math.isfinite(v) for v in losses), f"the losses must be finite numbers, got {losses}.")
    expect(losses[-1] < losses[0], f"the loss did not go down over {epochs} epochs: {losses}.")
    weights = reply["weights"]
    expect(len(weights) == len(start) and all(isinstance(w, torch.Tensor) and w.shape == s.shape
                                              for w, s in zip(weights, start)),
           "train must train the network it is given, in place (its layers changed shape or number).")
    for k, (w, s) in enumerate(zip(weights, start)):
        similarity = float(torch.nn.functional.cosine_similarity(w.double().flatten(), s.double().flatten(), dim=0))
        expect(similarity > MIN_SIMILARITY, f"the weights of layer {k + 1} after training are unrelated to the "
               f"ones the network started from (cosine similarity {similarity:.2f}): train the model you are given.")
    net = rebuild(dict(request["network"], weights=weights))
    x_test, y_test = digits("test")
    with seeded(request["test_seed"]):
        accuracy = measured_accuracy(net, x_test, y_test)
    expect(accuracy >= TRAIN_ACCURACY, f"after train(net, epochs={epochs}, lr={request['lr']}) our network reaches "
           f"{accuracy:.1%} test accuracy; a correct loop reaches 65-90 % (required: {TRAIN_ACCURACY:.0%}). "
           "Is the loss SUMMED over the batch and the classes, and the data shuffled every epoch?")


# -- question 5 ---------------------------------------------------------------------------------

def make_report(gen: torch.Generator) -> dict:
    """Test images and seeds to compare ``trained_model`` with the reference, and for the measurements."""
    return {"images": _images(gen, "test", 32)[0], "seeds": [draw_seed(gen), draw_seed(gen)],
            "test_seeds": [draw_seed(gen) for _ in range(ACCURACY_DRAWS + 1)]}


def answer_report(request: dict, trained_model, report) -> dict:
    return dict(network_data(trained_model), **outputs(trained_model, request["images"], request["seeds"]),
                report=report)


def judge_report(request: dict, reply) -> None:
    """The reported accuracy and rates are those of ``trained_model``, re-measured here on the test split
    with the reference network rebuilt from its weights."""
    weights, dropout, steps = reply["weights"], reply["dropout"], reply["timesteps"]
    expect(reply["lif"] >= 3 and len(weights) >= 4 and dropout,
           "trained_model must be a deep SNN (at least 3 LIF layers) with time-fixed dropout.")
    expect(len(set(dropout)) == 1 and 0 <= dropout[0] < 1 and len(steps) == 1 and 1 <= steps[0] <= 1000,
           f"trained_model must be built like make_network's network: one PoissonEncoder and one dropout "
           f"probability; found time steps {steps} and dropout {dropout}.")
    hidden = [w.shape[0] if isinstance(w, torch.Tensor) else 0 for w in weights[:-1]]
    spec = {"hidden": hidden, "dropout": dropout[0], "timesteps": steps[0]}
    net = expect_same_network("trained_model", reply, spec, request["images"], request["seeds"])
    x_test, y_test = digits("test")
    # the accuracy of a spiking network depends on its Poisson input: the student's number came from
    # one draw, ours is the mean of several (two single draws differed by 0.031 in a CI run)
    measured = []
    for seed in request["test_seeds"][:ACCURACY_DRAWS]:
        with seeded(seed):
            measured.append(measured_accuracy(net, x_test, y_test))
    accuracy = sum(measured) / len(measured)
    expect(accuracy >= MIN_ACCURACY, f"trained_model reaches {accuracy:.1%} on the test split; required: "
           f"{MIN_ACCURACY:.0%}. Train it longer (6 epochs at lr=0.0085 reach about 90 %).")
    report = reply["report"]
    expect(isinstance(report, dict) and {"test_accuracy", "rates"} <= set(report),
           "report must be a dict with the keys 'test_accuracy' and 'rates'.")
    expect(abs(float(report["test_accuracy"]) - accuracy) <= ACCURACY_TOLERANCE,
           f"report['test_accuracy'] = {float(report['test_accuracy']):.3f}, but trained_model measures "
           f"{accuracy:.3f} on the test split.")
    with seeded(request["test_seeds"][-1]):
        rates = measured_rates(net, x_test)
    got = report["rates"]
    expect(isinstance(got, list) and len(got) == len(rates),
           f"report['rates'] must hold one rate per LIF layer ({len(rates)}), got {describe(got)}.")
    expect_close("report['rates'] (test split, eval mode)", torch.tensor([float(r) for r in got]),
                 torch.tensor(rates), rtol=0.0, atol=0.01)


ASSIGNMENT = Assignment("deep_dropout", "A deep SNN with time-fixed dropout", (
    Question(key="q1", title="time-fixed dropout", points=2, names=("time_fixed_dropout",),
             make=make_time_fixed_dropout, answer=answer_time_fixed_dropout, judge=judge_time_fixed_dropout,
             hint="mask = (torch.rand(x[:1].shape, generator=generator) >= p) / (1 - p); return x * mask "
             "(the [1, B, ...] mask broadcasts over the T steps)."),
    Question(key="q2", title="a deep spiking network", points=2, names=("make_network",),
             make=make_make_network, answer=answer_make_network, judge=judge_make_network,
             hint="PoissonEncoder(timesteps), Flatten(), then per hidden width: TimeBatched(nn.Linear(n, width, "
             "bias=False)), LIF(), TimeFixedDropout(dropout); finally TimeBatched(nn.Linear(n, 10)) and "
             "OutputIntegrator()."),
    Question(key="q3", title="per-layer firing rates", points=2, names=("firing_rates",),
             make=make_firing_rates, answer=answer_firing_rates, judge=judge_firing_rates,
             hint="model.eval(); inside torch.no_grad() register a forward hook on every snnbp.LIF module that "
             "stores its output, call model(images) once, remove the hooks, and average each output."),
    Question(key="q4", title="a training loop", points=2, names=("train",),
             make=make_train, answer=answer_train, judge=judge_train,
             hint="per epoch: model.train(); a fresh torch.randperm; for each batch: out = model(x); loss = "
             "((out - one_hot(y, 10)) ** 2).sum(); optimizer.zero_grad(); loss.backward(); optimizer.step()."),
    Question(key="q5", title="the report", points=2, names=("trained_model", "report"),
             make=make_report, answer=answer_report, judge=judge_report,
             hint="report = {'test_accuracy': accuracy of trained_model on the test split, 'rates': "
             "firing_rates(trained_model, test images)}."),
))
