"""snnbp.memory: keeping freed memory, checked by counting page faults (not by timing)."""
import platform
import subprocess
import sys

import pytest

from snnbp import memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def _huge_pages_always() -> bool:
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return "[always]" in f.read()
    except OSError:
        return False

# Training steps of a convolution on a time-batched input ([T*B, C, H, W], tensors of 42 MB); print
# the fewest page faults of one step among steps 6-10. With freed memory kept, the heap grows over
# the first few steps (how many depends on the machine and on when glibc trims: CI once still saw
# 20,480 faults in the third step, a run here 10,240 in the sixth) and then serves every request from
# pages it already has; without it, every step takes fresh pages.
PROGRAM = """
import resource, sys, torch
import snnbp.memory
if sys.argv[1] == "keep":
    assert snnbp.memory.reuse_freed_memory()
torch.manual_seed(0)
conv = torch.nn.Conv2d(3, 32, 3, padding=1)
x = torch.rand(320, 3, 32, 32)
def step():
    conv(x).relu().sum().backward()
for _ in range(5):
    step()
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(min(faults))
"""


def _fewest_step_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason="the setting exists only with glibc")
@pytest.mark.skipif(_huge_pages_always(), reason="with 2 MiB pages everywhere, fault counts say little")
def test_freed_memory_is_reused_without_page_faults():
    default, kept = _fewest_step_faults("default"), _fewest_step_faults("keep")
    assert default > 30_000            # fresh 4 KiB pages for every large tensor, every step (seen: 51,205)
    assert kept < default / 10         # seen: 0 once the heap has grown


@pytest.mark.skipif(not GLIBC, reason="the setting exists only with glibc")
def test_reuse_freed_memory_is_idempotent():
    # in a child process: the setting lasts for the life of the process, and this one runs more tests
    program = "import snnbp.memory as r; print(r.reuse_freed_memory(), r.reuse_freed_memory())"
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_fit_switches_it_on_only_when_asked(tmp_path, monkeypatch):
    import json

    import snnbp
    from snnbp import data, train

    calls = []
    monkeypatch.setattr(memory, "reuse_freed_memory", lambda: calls.append(1) or True)
    net = snnbp.build("mlp", "digits", timesteps=2)
    loaders = data.loaders("digits", 64, subset=(64, 32))
    train.fit(net, *loaders, epochs=1, device="cpu", quiet=True, out=tmp_path / "off")
    assert calls == [] and json.loads((tmp_path / "off" / "config.json").read_text())["reuse_freed_memory"] is None
    train.fit(net, *loaders, epochs=1, device="cpu", quiet=True, out=tmp_path / "on", reuse_memory=True)
    assert calls == [1] and json.loads((tmp_path / "on" / "config.json").read_text())["reuse_freed_memory"] is True


def test_elsewhere_it_says_no(monkeypatch):
    monkeypatch.setattr(memory, "_applied", False)
    monkeypatch.setattr(memory, "_glibc", lambda: None)
    assert memory.reuse_freed_memory() is False
