"""snnbp.wakeup: the probe against a chain whose firing times follow from a formula; wake against
the rates a separate recording measures; fit's init_rate option in a run folder."""
import json

import pytest
import torch

import snnbp
from snnbp import models, wakeup
from snnbp.tables import FC


def chain(layers=3, weight=0.6):
    """A chain of single IF-like neurons (leak 1, threshold 1) on constant (direct) input: each
    neuron gets ``weight`` per input spike, so it fires at every second input spike, and layer k
    first fires at step 2**k (the input, 64 pixels of 1, gives fc1 a current of 0.6 per step)."""
    net = models.custom([FC(1)] * layers, "digits", encoding="direct", leak=1.0, dropout=0.0)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.startswith("classifier"):
                p.fill_(0.5)
            elif "fc1" in name:
                p.fill_(weight / 64)
            else:
                p.fill_(weight)
    return net


def test_probe_finds_the_first_t_at_which_the_top_of_a_chain_fires():
    net = chain(3)
    images, labels = torch.ones(2, 1, 8, 8), torch.tensor([0, 1])
    p = wakeup.probe(net, images, labels, timesteps=(2, 4, 7, 8, 16))
    # layer k fires at steps 2**k, 2 * 2**k, ...: its rate at T is floor(T / 2**k) / T
    for t in p.timesteps:
        for k in (1, 2, 3):
            assert p.rates[t][f"lif{k}"] == pytest.approx((t // 2 ** k) / t)
    assert p.silent(7) == ["lif3"] and p.first_grad(7) == 0.0
    assert p.awake_at == 8 and p.first_grad(8) > 0
    assert "silent: lif3" in p.summary() and "every layer fires" in p.summary()


def test_choose_timesteps_picks_the_first_awake_t_or_says_what_to_change():
    images, labels = torch.ones(2, 1, 8, 8), torch.tensor([0, 1])
    steps, found = wakeup.choose_timesteps(chain(3), images, labels, candidates=(4, 6, 8, 12))
    assert steps == 8 and found.silent(6) == ["lif3"]
    with pytest.raises(wakeup.SilentNetwork, match="up to 7: lif3 never fire.*init_rate=0.05"):
        wakeup.choose_timesteps(chain(3), images, labels, candidates=(4, 7))


def test_probe_leaves_the_network_as_it_was():
    torch.manual_seed(0)
    net = snnbp.build("lenet", "digits", timesteps=5)
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    wakeup.probe(net, torch.rand(3, 1, 8, 8), torch.tensor([1, 2, 3]), timesteps=(3, 6))
    assert net.training and net.timesteps == 5
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


def test_probe_and_wake_refuse_an_ann_and_bad_arguments():
    ann = snnbp.build("mlp", "digits", spiking=False)
    x, y = torch.rand(2, 1, 8, 8), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="spiking network"):
        wakeup.probe(ann, x, y)
    with pytest.raises(ValueError, match="spiking network"):
        wakeup.wake(ann, x)
    net = snnbp.build("mlp", "digits")
    with pytest.raises(ValueError, match="rate must be a firing rate in \\(0, 1\\)"):
        wakeup.wake(net, x, rate=1.5)
    with pytest.raises(ValueError, match="timesteps must list"):
        wakeup.probe(net, x, y, timesteps=())


def test_driven_layers_of_a_residual_block_include_its_conv_shortcut():
    net = snnbp.build("resnet11", "cifar10", timesteps=2)
    driven = {name: len(weights) for name, _, weights in wakeup.driven_layers(net)}
    assert driven["lif1"] == 1 and driven["block1.neuron1"] == 1
    assert driven["block1.neuron2"] == 2            # second conv and the 1x1 conv shortcut
    assert driven["block4.neuron2"] == 1            # subsampling shortcut: no weights
    assert list(driven)[-1] == "lif10"


def test_wake_brings_every_layer_of_a_silent_deep_stack_near_the_target_rate():
    torch.manual_seed(0)
    net = models.custom([16, 16, "A", 32, 32, "A", FC(32)], "digits", like="vgg9", timesteps=6, dropout=0.0)
    images = snnbp.data.digits("train")[0][:32]
    labels = torch.zeros(32, dtype=torch.long)
    assert wakeup.probe(net, images, labels, timesteps=(6,)).silent(6) == ["if2", "lif5"]   # the paper's init
    gains = wakeup.wake(net, images, rate=0.1)
    assert list(gains) == [f"lif{k}" for k in range(1, 6)] and max(gains.values()) > 1
    torch.manual_seed(0)
    net.eval()
    with snnbp.record(net) as rec:                 # measured apart from wake's own hook
        torch.manual_seed(0)
        net(images)
    for k in range(1, 6):
        assert rec.rates()[f"lif{k}"] == pytest.approx(0.1, abs=0.03), k


def test_fit_wakes_a_fresh_run_once_and_records_it(tmp_path):
    torch.manual_seed(0)
    x, y = snnbp.data.digits("train")
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[:64], y[:64]), batch_size=32,
                                         shuffle=True, generator=torch.Generator().manual_seed(0))
    net = snnbp.build("mlp", "digits", timesteps=6, init_rate=0.1, epochs=1)
    snnbp.train.fit(net, loader, loader, out=tmp_path, quiet=True, seed=0)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["preset"]["init_rate"] == 0.1 and list(cfg["wake_gains"]) == ["lif1"]
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    again = snnbp.build("mlp", "digits", timesteps=6, init_rate=0.1, epochs=1)
    snnbp.train.fit(again, loader, loader, out=tmp_path, resume=True, quiet=True)   # epoch 1 done: reload only
    assert all(torch.equal(weights[k], v) for k, v in again.state_dict().items())
    assert "woken to init_rate=0.1" in snnbp.results.kind(snnbp.results.collect(tmp_path)[0])
