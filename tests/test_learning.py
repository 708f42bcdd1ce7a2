"""Learning is real: the paper's neuron and derivative train a spiking MLP on real handwritten digits."""
import torch

import snnbp
from snnbp import data


def test_spiking_mlp_learns_digits_with_the_paper_rule():
    torch.manual_seed(0)
    x_train, y_train = data.digits("train")
    x_test, y_test = data.digits("test")
    model = snnbp.build("mlp", "digits", preset="paper", timesteps=20)
    assert model.config.surrogate == "paper" and model.config.leak_correction
    assert model.features.lif1.surrogate.name == "paper"
    cfg = model.config
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    for epoch in range(8):
        model.train()
        for idx in torch.randperm(len(y_train)).split(cfg.batch_size):
            out = model(x_train[idx])
            loss = ((out - torch.nn.functional.one_hot(y_train[idx], 10)) ** 2).sum()   # MSE summed
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    assert accuracy >= 0.90, f"test accuracy {accuracy:.3f}"
