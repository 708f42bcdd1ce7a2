"""Every exercise checker accepts its reference, rejects a typical mistake with a hint, and
reports an untouched stub as "not attempted yet" instead of crashing."""
import pytest

from snnbp import exercises


@pytest.mark.parametrize("name", exercises.names())
def test_reference_passes(name, capsys):
    result = exercises.check(name, exercises.get(name).reference)
    assert result.passed and result.attempted and bool(result)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("name", exercises.names())
def test_mistake_fails_with_hint(name, capsys):
    exercise = exercises.get(name)
    assert exercise.mistake is not None, f"{name} needs a typical mistake to test against"
    result = exercises.check(name, exercise.mistake)
    assert not result.passed and result.attempted
    assert result.hint == exercise.hint and len(result.hint) > 20
    out = capsys.readouterr().out
    assert "Hint:" in out and "for the input" in out


@pytest.mark.parametrize("name", exercises.names())
def test_stub_is_not_attempted(name, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    result = exercises.check(name, stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


def test_error_in_student_code_is_reported():
    result = exercises.check("lif_step", lambda v, current, leak, threshold: 1 / 0, quiet=True)
    assert not result.passed and result.attempted and "ZeroDivisionError" in result.message


def test_unknown_exercise_lists_choices():
    with pytest.raises(ValueError, match="lif_step"):
        exercises.check("no_such_exercise", print)


def test_registry_rejects_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        exercises.register("lif_step", reference=print, cases=list, hint="")


def test_every_chapter_has_exercises():
    expected = {"spike_count", "firing_rate", "lif_step", "lif_rheobase", "poisson_encode", "rate_std",
                "leak_correction", "fast_sigmoid_grad", "mse_sum_loss", "accuracy"}
    assert expected <= set(exercises.names())


def test_part_two_chapters_have_exercises():
    expected = {"he_std", "time_fixed_dropout", "first_spike_step", "residual_lif_step", "conv_output_size",
                "subsample_shortcut", "linear_synaptic_ops", "conv_macs", "energy_ratio", "time_batched",
                "epoch_seconds", "snntorch_zero_step", "snntorch_subtract_step", "multistep_lr", "lif_scan",
                "poisson_input_acs", "input_spike_bytes"}
    assert expected <= set(exercises.names())


@pytest.mark.parametrize("mechanism", ["zero", "subtract"])
def test_snntorch_step_references_match_snntorch(mechanism):
    snntorch = pytest.importorskip("snntorch")
    import torch

    step = exercises.get(f"snntorch_{mechanism}_step").reference
    torch.manual_seed(0)
    current = torch.rand(40, 7) * 0.6
    neuron = snntorch.Leaky(beta=0.9, threshold=1.0, reset_mechanism=mechanism)
    mem_theirs, mem_ours = neuron.reset_mem(), torch.zeros(7)
    for t in range(40):
        spk_theirs, mem_theirs = neuron(current[t], mem_theirs)
        spk_ours, mem_ours = step(mem_ours, current[t], 0.9, 1.0)
        assert torch.equal(spk_theirs, spk_ours) and torch.allclose(mem_theirs, mem_ours)


# -- references checked against PyTorch and the library, not against themselves ---------------------

def test_multistep_lr_reference_matches_pytorchs_scheduler():
    import math

    import torch
    from torch.optim.lr_scheduler import MultiStepLR

    reference = exercises.get("multistep_lr").reference
    for lr, milestones, gamma in ((0.0033, (70, 100, 125), 0.2), (0.0085, (75,), 0.2), (0.1, (3, 3, 5), 0.5)):
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
        schedule = MultiStepLR(optimizer, list(milestones), gamma)
        for epoch in range(1, 151):                     # one scheduler step per (1-based) epoch
            assert math.isclose(optimizer.param_groups[0]["lr"], reference(epoch, lr, milestones, gamma),
                                rel_tol=1e-9), (lr, milestones, epoch)
            optimizer.step()
            schedule.step()


def test_conv_output_size_reference_matches_a_convolution():
    import torch

    reference = exercises.get("conv_output_size").reference
    for size, kernel, stride, padding in [(32, 3, 1, 1), (16, 3, 2, 1), (7, 3, 2, 1), (28, 5, 1, 2), (8, 1, 2, 0),
                                          (5, 3, 2, 1), (9, 4, 3, 0), (11, 7, 2, 3)]:
        conv = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
        assert conv(torch.zeros(1, 1, size, size)).shape[-1] == reference(size, kernel, stride, padding)


def test_he_std_reference_matches_pytorchs_kaiming_normal():
    import torch

    reference = exercises.get("he_std").reference
    generator = torch.Generator().manual_seed(0)
    for shape in ((64, 3, 3, 3), (128, 64, 3, 3), (20, 1, 5, 5), (10, 200), (300, 40)):
        weight = torch.nn.init.kaiming_normal_(torch.empty(shape), mode="fan_in", nonlinearity="relu",
                                               generator=generator)
        assert abs(float(weight.std()) / reference(shape) - 1) < 0.1, shape


def test_lif_rheobase_reference_matches_a_simulated_lif_neuron():
    import torch

    from snnbp.neurons import LIF

    reference = exercises.get("lif_rheobase").reference
    for leak, threshold in ((0.99, 1.0), (0.9, 1.0), (0.95, 0.5), (0.8, 1.3)):
        rheobase = reference(leak, threshold)
        currents = torch.tensor([0.98, 1.02]) * rheobase            # just below and just above
        spikes = LIF(leak, threshold)(currents.expand(3000, 1, 2).contiguous())
        assert spikes[:, 0, 0].sum() == 0 and spikes[:, 0, 1].sum() > 0, (leak, threshold)


# -- predict / measure / derive exercises: the measured reference accepts the derived answer ----------
# (the chapter's solution), and rejects the typical mistake (test_mistake_fails_with_hint above)

def _resnet11_sizes(size):
    def out(s, kernel, stride, padding):
        return (s + 2 * padding - kernel) // stride + 1
    stem = out(size, 3, 1, 1)
    pool = stem // 2
    block1 = out(pool, 3, 1, 1)
    block2 = out(block1, 3, 2, 1)
    return [stem, pool, block1, block2, block2, out(block2, 3, 2, 1)]


def _derived():
    import math

    import torch

    return {
        "expected_silent": lambda probability, steps: float(((1 - probability) ** steps).sum()),
        "mean_first_spike": lambda p: 1 / p,
        "fast_sigmoid_half_width": lambda slope: (math.sqrt(2) - 1) / slope,
        "mse_sum_grad": lambda output, labels: 2 * (output - torch.nn.functional.one_hot(labels, output.shape[1])),
        "readout_weights": lambda steps, leak: leak ** torch.arange(steps, 0, -1, dtype=torch.float64) / steps,
        "he_current_std": lambda rate, fan_in, gain: gain * math.sqrt(2 * rate),
        "resnet11_sizes": _resnet11_sizes,
        "shortcut_output_spikes": lambda spikes, leak: spikes.sum(0) // 2,
        "exact_gradient_shrink": lambda steps, leak: 0.0 if leak == 1 else
        1 - leak * (1 - leak ** steps) / ((1 - leak) * steps),
        "acs_per_mac": lambda rate, timesteps, size, kernel: rate * timesteps * (
            1 - (kernel // 2) * (kernel // 2 + 1) / (size * kernel)) ** 2,
        "poisson_input_acs": lambda images, timesteps, out_features, rate_scale: timesteps * out_features
        * float((images.abs() * rate_scale).clamp(max=1).sum(1).mean()),
        "input_spike_bytes": lambda timesteps, batch, channels, size: 4 * timesteps * batch * channels * size * size,
    }


@pytest.mark.parametrize("name", sorted(_derived()))
def test_derived_answer_passes_the_measured_checker(name):
    result = exercises.check(name, _derived()[name], quiet=True)
    assert result.passed, result.message


@pytest.mark.parametrize("name", sorted(_derived()))
def test_a_wrong_prediction_is_told_its_gap(name):
    result = exercises.check(name, exercises.get(name).mistake, quiet=True)
    assert result.status == "wrong"
    assert "off from" in result.message or "difference" in result.message


def test_predict_checkers_leave_the_global_rng_alone():
    import torch

    state = torch.random.get_rng_state()
    for name in _derived():
        exercises.check(name, _derived()[name], quiet=True)
    assert torch.equal(state, torch.random.get_rng_state())


def test_input_spike_bytes_reference_matches_a_networks_encoded_input():
    """The oracle outside the checker: the input a built network actually feeds its first layer."""
    import torch

    import snnbp

    reference = exercises.get("input_spike_bytes").reference
    for model, dataset, steps, batch in (("lenet", "mnist", 20, 4), ("vgg9", "cifar10", 8, 2)):
        net = snnbp.build(model, dataset, timesteps=steps)
        info = snnbp.data.info(dataset)
        spikes = net.encode(torch.rand(batch, info.channels, info.size, info.size))
        assert spikes.numel() * spikes.element_size() == reference(steps, batch, info.channels, info.size)
