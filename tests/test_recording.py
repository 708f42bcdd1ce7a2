"""Recording spikes and membranes per layer."""
import torch

import snnbp


def test_record_captures_input_and_every_neuron_layer():
    torch.manual_seed(0)
    model = snnbp.build("lenet", "digits", timesteps=6)
    x = torch.rand(3, 1, 8, 8)
    with snnbp.record(model, membranes=True) as rec:
        model(x)
    assert rec.names == ["input", "lif1", "if1", "lif2", "if2", "lif3"]
    assert rec.spikes["input"].shape == (6, 3, 1, 8, 8)
    assert rec.spikes["lif1"].shape == (6, 3, 20, 8, 8)
    assert rec.membranes["lif1"].shape == rec.spikes["lif1"].shape
    assert "input" not in rec.membranes
    rates = rec.rates()
    assert all(0 <= r <= 1 for r in rates.values())
    assert abs(rates["lif1"] - rec.spikes["lif1"].mean().item()) < 1e-6


def test_record_accumulates_rates_and_cleans_up():
    torch.manual_seed(1)
    model = snnbp.build("mlp", "digits", timesteps=4)
    with snnbp.record(model, membranes=True) as rec:
        model(torch.rand(2, 1, 8, 8))
        model(torch.rand(5, 1, 8, 8))
    assert rec.neuron_steps["lif1"] == 4 * 7 * 128
    assert rec.spikes["lif1"].shape == (4, 5, 128)          # the last call
    model(torch.rand(9, 1, 8, 8))                            # hooks are gone
    assert rec.spikes["lif1"].shape == (4, 5, 128)
    assert model.features.lif1.record is False and model.features.lif1.membrane is not None


def test_record_names_residual_neurons():
    model = snnbp.build("resnet7", "digits", timesteps=2)
    with snnbp.record(model) as rec:
        model(torch.rand(1, 1, 8, 8))
    assert "block1.neuron1" in rec.names and "block2.neuron2" in rec.names


def test_layer_name_shortens_module_and_parameter_names():
    from snnbp.recording import INPUT, layer_name

    assert INPUT == "input"
    table = {"features.lif1": "lif1", "features.conv3.module.weight": "conv3", "features.conv3.module": "conv3",
             "features.block2.neuron1": "block2.neuron1", "features.block1.shortcut.module.weight": "block1.shortcut",
             "classifier.module.weight": "classifier", "classifier.module": "classifier", "readout": "readout"}
    assert {name: layer_name(name) for name in table} == table


def test_a_recording_is_freed_as_soon_as_it_is_dropped_without_the_garbage_collector():
    # A recording of a T = 100 VGG9 step holds over a GB of spikes: if it sat in a reference cycle,
    # each training step's would live on until Python's cycle collector ran (a training script
    # grew to 24 GB and was killed). Oracle: reference counting alone frees it.
    import gc
    import weakref

    net = snnbp.build("lenet", "mnist", timesteps=4)
    gc.collect()
    gc.disable()
    try:
        with snnbp.record(net, membranes=True) as rec:
            net(torch.rand(2, 1, 28, 28))
        kept = [weakref.ref(rec.spikes["lif1"]), weakref.ref(rec.membranes["lif1"]), weakref.ref(rec)]
        del rec
        assert [ref() is None for ref in kept] == [True, True, True]
    finally:
        gc.enable()
