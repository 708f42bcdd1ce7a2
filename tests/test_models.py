"""Every model: shapes, weight counts from the layer table, ANN twin, time-batched == per-step loop."""
import pytest
import torch
from torch import nn

import snnbp
from snnbp import models
from snnbp.layers import Flatten, Residual, Subsample, TimeBatched, TimeFixedDropout
from snnbp.neurons import LIF

SHAPES = {"digits": (1, 8), "mnist": (1, 28), "svhn": (3, 32), "cifar10": (3, 32)}
PAIRS = [(m, d) for m in models.NAMES for d in ("digits", "mnist", "cifar10") if not (m == "vgg11" and d == "digits")]


def weights_from_table(name, dataset, classes=10):
    """Count weights by walking the layer table by hand (independent of the builder)."""
    channels, size = SHAPES[dataset]
    flat, total = None, 0
    for item in models.TABLES[name].layers:
        if isinstance(item, int):
            item = models.Conv(item)
        if item == "A":
            size //= 2
        elif isinstance(item, models.Conv):
            k, pad = item.kernel, item.padding
            total += channels * item.out * k * k
            channels, size = item.out, size + 2 * pad - k + 1
        elif isinstance(item, models.Block):
            out = item.out
            total += channels * out * 9 + out * out * 9 + (channels * out if item.shortcut == "conv" else 0)
            channels, size = out, (size - 1) // item.stride + 1
        elif isinstance(item, models.FC):
            flat = flat or channels * size * size
            total += flat * item.out
            flat = item.out
        else:
            raise AssertionError(f"unexpected entry {item!r}")
    return total + (flat or channels * size * size) * classes


def n_weights(model):
    return sum(p.numel() for p in model.parameters())


def test_confirmed_tables_have_the_papers_weight_counts():
    assert n_weights(models.build("vgg9", "cifar10")) == 5_938_880
    # LeNet: 1*20*25 + 20*50*25 + 2450*200 + 200*10
    assert n_weights(models.build("lenet", "mnist")) == 500 + 25_000 + 490_000 + 2_000
    # ResNet11: stem 3*64*9; blocks (64->128, 1x1), (128->256 s2, 1x1 s2), (256->512, 1x1), (512->512 s2, none);
    # FC 8192*1024 + 1024*10
    blocks = [(64, 128, True), (128, 256, True), (256, 512, True), (512, 512, False)]
    expected = 3 * 64 * 9 + sum(i * o * 9 + o * o * 9 + (i * o if sc else 0) for i, o, sc in blocks) + 8192 * 1024 + 10240
    assert n_weights(models.build("resnet11", "cifar10")) == expected == 17_936_064


def test_unconfirmed_tables_are_marked():
    assert {n for n, t in models.TABLES.items() if t.confirmed} == {"lenet", "vgg9", "resnet11"}
    assert all("not" in t.source for n, t in models.TABLES.items() if not t.confirmed)


@pytest.mark.parametrize("name, dataset", PAIRS)
def test_shapes_counts_and_ann_twin(name, dataset):
    torch.manual_seed(0)
    snn = models.build(name, dataset, timesteps=2)
    ann = models.build(name, dataset, spiking=False)
    c, s = SHAPES[dataset]
    x = torch.rand(2, c, s, s)
    assert snn(x).shape == (2, 10) and ann(x).shape == (2, 10)
    assert n_weights(snn) == n_weights(ann) == weights_from_table(name, dataset)
    assert [p.shape for p in snn.parameters()] == [p.shape for p in ann.parameters()]
    assert all(not isinstance(m, LIF) for m in ann.modules())
    assert all(m.bias is None for m in snn.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def test_init_follows_the_preset():
    torch.manual_seed(0)
    vgg, res = models.build("vgg9", "cifar10"), models.build("resnet11", "cifar10")
    w_vgg = vgg.features.conv6.module.weight       # fan_in 256*9
    w_res = res.features.block3.conv2.module.weight  # fan_in 512*9
    assert w_vgg.std().item() == pytest.approx((2 / (256 * 9)) ** 0.5, rel=0.02)
    assert w_res.std().item() == pytest.approx((1 / (512 * 9)) ** 0.5, rel=0.02)


def naive_step(module, x, state):
    """Run ``module`` on ONE time step ``x`` [B, ...], keeping neuron membranes in ``state``."""
    if isinstance(module, nn.Sequential):
        for child in module:
            x = naive_step(child, x, state)
        return x
    if isinstance(module, TimeBatched):
        return module.module(x)
    if isinstance(module, LIF):
        v = state.get(id(module), torch.zeros_like(x))
        state[id(module)], s, _ = module.step(v, x)
        return s
    if isinstance(module, Residual):
        h = naive_step(module.conv1, x, state)
        h = naive_step(module.neuron1, h, state)
        current = naive_step(module.conv2, h, state) + naive_step(module.shortcut, x, state)
        return naive_step(module.neuron2, current, state)
    if isinstance(module, Flatten):
        return x.flatten(1)
    if isinstance(module, (Subsample, nn.Identity, TimeFixedDropout, models.NoShortcut)):   # dropout: identity in eval()
        return module(x)
    raise AssertionError(f"unexpected module {module}")


@pytest.mark.parametrize("name, dataset", [("mlp", "digits"), ("lenet", "mnist"), ("vgg9", "digits"),
                                           ("resnet11", "digits"), ("resnet7", "digits")])
def test_time_batched_forward_equals_naive_per_step_loop(name, dataset):
    torch.manual_seed(1)
    model = models.build(name, dataset, timesteps=12).eval()
    c, s = SHAPES[dataset]
    spikes = model.encode(torch.rand(3, c, s, s))
    with torch.no_grad():
        batched = model.readout(model.classifier(model.features(spikes)))
        state, v_out = {}, 0
        for t in range(spikes.shape[0]):
            current = model.classifier.module(naive_step(model.features, spikes[t], state))
            v_out = model.config.leak * (v_out + current)           # V_out <- lam (V_out + W s)
        naive = v_out / spikes.shape[0]
    assert torch.allclose(batched, naive, atol=1e-5)


def test_residual_shortcut_enters_the_membrane_of_the_second_neuron():
    model = models.build("resnet11", "digits", timesteps=4).eval()
    block = model.features.block4
    assert isinstance(block.shortcut, Subsample)
    seen = {}
    block.neuron2.register_forward_pre_hook(lambda m, args: seen.setdefault("current", args[0]))
    x = (torch.rand(4, 2, 512, 2, 2) < 0.5).float()
    block(x)
    expected = block.conv2(block.dropout(block.neuron1(block.conv1(x)))) + x[..., ::2, ::2]
    assert torch.allclose(seen["current"], expected)


def test_dropout_is_placed_after_hidden_lif_layers_and_shares_its_mask_over_time():
    model = models.build("vgg9", "cifar10", timesteps=5)
    drops = [m for m in model.modules() if isinstance(m, TimeFixedDropout)]
    assert len(drops) == 8 and all(d.p == 0.2 for d in drops)
    assert not any(isinstance(m, TimeFixedDropout) for m in models.build("lenet", "mnist").modules())
    assert models.build("vgg9", "cifar10", dropout=0.5).features.drop1.p == 0.5


def test_timesteps_can_change_after_building():
    model = models.build("mlp", "digits", timesteps=3)
    model.timesteps = 7
    with snnbp.record(model) as rec:
        model(torch.rand(2, 1, 8, 8))
    assert rec.spikes["input"].shape[0] == 7
    with pytest.raises(ValueError, match="timesteps"):
        model.timesteps = 0
    with pytest.raises(ValueError, match="ANN twin"):
        models.build("mlp", "digits", spiking=False).timesteps = 3


@pytest.mark.parametrize("call, error, match", [
    (lambda: models.build("alexnet", "mnist"), ValueError, "unknown model 'alexnet'.*'vgg9'"),
    (lambda: models.build("lenet", "imagenet"), ValueError, "unknown dataset 'imagenet'.*'mnist'"),
    (lambda: models.build("lenet", "mnist", preset="best"), ValueError, "preset"),
    (lambda: models.build("lenet", "mnist", timesteps=0), ValueError, "timesteps"),
    (lambda: models.build("lenet", "mnist", dropout=1.0), ValueError, "dropout"),
    (lambda: models.build("vgg11", "digits"), ValueError, "below 1x1"),
    (lambda: models.build("lenet", "mnist", surrogate="relu"), ValueError, "surrogate"),
])
def test_bad_build_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("x, error, match", [
    (torch.rand(1, 28, 28), ValueError, r"\[B, C, H, W\] = \[B, 1, 28, 28\]"),
    (torch.rand(2, 3, 28, 28), ValueError, "3 channels.*expects 1"),
    (torch.rand(2, 1, 32, 32), ValueError, r"size \(32, 32\).*\(28, 28\)"),
    (torch.full((2, 1, 28, 28), float("nan")), ValueError, "NaN"),
    ([[0.0]], TypeError, "torch.Tensor"),
])
def test_bad_model_input(x, error, match):
    model = models.build("lenet", "mnist", timesteps=2)
    with pytest.raises(error, match=match):
        model(x)


def test_plain_twin_has_no_shortcuts_and_fewer_weights():
    residual = models.build("resnet11", "cifar10")
    plain = models.build("resnet11", "cifar10", shortcuts=False)
    assert all(isinstance(m.shortcut, models.NoShortcut) for m in plain.modules() if isinstance(m, Residual))
    shortcut_weights = 64 * 128 + 128 * 256 + 256 * 512           # the three 1x1 convolutions
    assert n_weights(residual) - n_weights(plain) == shortcut_weights
    x = torch.rand(1, 3, 32, 32)
    assert plain(x).shape == (1, 10)


def test_plain_twin_keeps_the_weights():
    net = models.build("resnet7", "digits", timesteps=3)
    twin = models.plain_twin(net)
    assert isinstance(twin.features.block1.shortcut, models.NoShortcut)
    assert isinstance(net.features.block1.shortcut, TimeBatched)                  # the original is untouched
    assert torch.equal(twin.features.block2.conv2.module.weight, net.features.block2.conv2.module.weight)


def test_custom_table_with_fc_residual_blocks():
    torch.manual_seed(2)
    net = models.custom([("fc", 32), ("fcblock", 32), ("fcblock", 32)], "digits", like="vgg9", timesteps=5)
    assert net.config.dropout == 0.2 and net.name == "custom"
    assert n_weights(net) == 64 * 32 + 4 * 32 * 32 + 32 * 10
    assert net(torch.rand(2, 1, 8, 8)).shape == (2, 10)
    blocks = [m for m in net.modules() if isinstance(m, Residual)]
    assert len(blocks) == 2 and all(isinstance(b.shortcut, nn.Identity) for b in blocks)
    plain = models.custom([("fc", 32), ("fcblock", 32)], "digits", shortcuts=False)
    assert isinstance(plain.features.block1.shortcut, models.NoShortcut)


def test_custom_time_batched_equals_naive_loop():
    torch.manual_seed(3)
    model = models.custom([("fc", 24), ("fcblock", 24), ("fcblock", 24, "none")], "digits", timesteps=9).eval()
    spikes = model.encode(torch.rand(3, 1, 8, 8))
    with torch.no_grad():
        batched = model.readout(model.classifier(model.features(spikes)))
        state, v_out = {}, 0
        for t in range(spikes.shape[0]):
            v_out = model.config.leak * (v_out + model.classifier.module(naive_step(model.features, spikes[t], state)))
    assert torch.allclose(batched, v_out / spikes.shape[0], atol=1e-5)


def test_init_gain_scales_the_weights():
    torch.manual_seed(4)
    w = models.custom([("fc", 400)], "digits", init_gain=0.5).features.fc1.module.weight
    assert w.std().item() == pytest.approx(0.5 * (2 / 64) ** 0.5, rel=0.05)


def test_old_and_named_table_spellings_build_the_same_network():
    old = [("conv", 8, 5, 2), "A", ("block", 8, 2, "subsample"), ("fc", 16), ("fcblock", 16, "none")]
    new = [models.Conv(8, kernel=5, padding=2), models.Pool(), models.Block(8, stride=2, shortcut="subsample"),
           models.FC(16), models.FCBlock(16, "none")]
    assert [models.entry(item) for item in old] == new
    assert models.entry(("conv", 8, 3, 0, 2)) == models.Conv(8, kernel=3, stride=2, padding=0)
    assert models.entry(64) == models.Conv(64) and models.entry("A") == models.Pool()
    torch.manual_seed(0)
    a = models.custom(old, "digits", like="vgg9")
    torch.manual_seed(0)
    b = models.custom(new, "digits", like="vgg9")
    assert str(a) == str(b)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert [n for n, _ in a.features.named_children()] == [
        "conv1", "lif1", "drop1", "pool1", "if1", "block1", "drop3", "flatten", "fc4", "lif4", "drop4", "block2", "drop6"]


def test_build_is_custom_with_the_models_table():
    torch.manual_seed(0)
    a = models.build("resnet7", "digits", timesteps=3)
    torch.manual_seed(0)
    b = models.custom(models.TABLES["resnet7"], "digits", like="resnet7", timesteps=3)
    assert a.name == "resnet7" and b.name == "custom" and str(a) == str(b)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("layers, error, match", [
    ([], TypeError, "non-empty"),
    ([("pool",)], ValueError, "unknown layer-table entry"),
    ([("fc", 8), ("block", 8, 1, "conv")], ValueError, "cannot follow"),
    ([("block", 8, 1, "skip")], ValueError, "unknown shortcut 'skip'.*'subsample'"),
    ([("fc", 8), ("fcblock", 16, "identity")], ValueError, "equal input and output"),
])
def test_bad_custom_tables(layers, error, match):
    with pytest.raises(error, match=match):
        models.custom(layers, "digits")


def test_image_size_builds_for_scaled_up_images():
    net = snnbp.build("vgg9", "digits", image_size=16, timesteps=2)
    assert net(torch.rand(2, 1, 16, 16)).shape == (2, 10)
    # 16 -> 8 -> 4 -> 2 after three poolings: FC(1024) sees 256 * 2 * 2 inputs
    assert net.features.fc8.module.in_features == 256 * 2 * 2
    with pytest.raises(ValueError, match="expects \\(16, 16\\)"):
        net(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="image_size must be >= 1"):
        snnbp.build("vgg9", "digits", image_size=0)
