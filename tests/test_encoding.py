"""Poisson rate coding: rates, signs, reproducibility, errors; the direct (analog) option."""
import math

import pytest
import torch

from snnbp import PoissonEncoder, encoding, poisson_encode


def test_shape_and_dtype():
    spikes = poisson_encode(torch.rand(4, 1, 8, 8), steps=7)
    assert spikes.shape == (7, 4, 1, 8, 8) and spikes.dtype == torch.float32


@pytest.mark.parametrize("value, scale", [(0.3, 1.0), (0.8, 0.5), (0.05, 1.0)])
def test_rate_matches_probability_within_statistical_tolerance(value, scale):
    steps, n = 400, 500
    spikes = poisson_encode(torch.full((n,), value), steps, rate_scale=scale, generator=torch.Generator().manual_seed(0))
    p = value * scale
    sigma = math.sqrt(p * (1 - p) / (steps * n))
    assert abs(spikes.mean().item() - p) < 5 * sigma


def test_rate_saturates_at_one():
    assert poisson_encode(torch.full((10,), 3.0), 50).eq(1).all()


def test_signed_spikes_carry_the_sign_of_the_pixel():
    x = torch.tensor([-0.7, 0.0, 0.7])
    spikes = poisson_encode(x, 300, generator=torch.Generator().manual_seed(1))
    assert set(spikes[:, 0].unique().tolist()) == {-1.0, 0.0}
    assert spikes[:, 1].eq(0).all()
    assert set(spikes[:, 2].unique().tolist()) == {0.0, 1.0}
    unsigned = poisson_encode(x, 300, signed=False, generator=torch.Generator().manual_seed(1))
    assert set(unsigned.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(unsigned, spikes.abs())          # same draws, sign dropped


def test_generator_makes_it_reproducible():
    x = torch.rand(3, 5)
    a = poisson_encode(x, 20, generator=torch.Generator().manual_seed(42))
    b = poisson_encode(x, 20, generator=torch.Generator().manual_seed(42))
    c = poisson_encode(x, 20, generator=torch.Generator().manual_seed(43))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_module_form_matches_function():
    torch.manual_seed(3)
    x = torch.rand(2, 6)
    enc = PoissonEncoder(9, rate_scale=0.5)
    torch.manual_seed(4)
    a = enc(x)
    torch.manual_seed(4)
    b = poisson_encode(x, 9, rate_scale=0.5)
    assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(steps=0), ValueError, "steps"),
    (dict(steps=2.5), TypeError, "steps"),
    (dict(steps=5, rate_scale=0.0), ValueError, "rate_scale"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        poisson_encode(torch.rand(3), **kwargs)


def test_nan_and_non_tensor_inputs_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        poisson_encode(torch.tensor([0.1, float("nan")]), 4)
    with pytest.raises(TypeError, match="x"):
        poisson_encode([0.1, 0.2], 4)


def test_direct_encoder_repeats_the_image_and_make_picks_by_name():
    x = torch.rand(3, 1, 4, 4)
    out = encoding.make("direct", 5)(x)
    assert out.shape == (5, 3, 1, 4, 4) and torch.equal(out[4], x) and torch.equal(out[0], x)
    assert isinstance(encoding.make("poisson", 5, rate_scale=0.5), encoding.PoissonEncoder)
    with pytest.raises(ValueError, match="encoding.*'poisson', 'direct'"):
        encoding.make("rate", 5)
