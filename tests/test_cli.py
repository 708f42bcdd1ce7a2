"""The command lines as a new user meets them: every mistake is one line ``error: ...`` on stderr
naming the option or file, a non-zero exit status, and no traceback.

One table, one row per case: the command (``train``, ``evaluate``, ``bench``), its arguments
(``{run}`` is a copy of a small trained run folder, ``{tmp}`` the test's folder), what to do to
the files first, the exit status, and the words stderr must hold. Everything runs in this process
(``main(argv)`` with capsys) except Ctrl-C, which needs a real process to interrupt.
"""
from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch

from snnbp import cli, distributed, evaluate, memory, results, runs, train_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import train_step  # noqa: E402
from test_data import fake_cifar, fake_mnist, write_idx  # noqa: E402
from test_train import write_format_1  # noqa: E402

MAINS = {"train": train_cli.main, "evaluate": evaluate.main, "bench": train_step.main, "results": results.main}
TINY = ["--timesteps", "3", "--subset", "128", "--test-subset", "64", "--batch-size", "64", "--quiet"]


@pytest.fixture(autouse=True)
def keep_the_allocator(monkeypatch):
    """The command line switches on memory.reuse_freed_memory(); not in the test process."""
    monkeypatch.setattr(memory, "reuse_freed_memory", lambda: True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A run folder of two epochs: config.json, metrics.csv, last.pt, last.prev.pt, best.pt."""
    out = tmp_path_factory.mktemp("trained") / "run"
    assert train_cli.main([*TINY, "--epochs", "2", "--out", str(out)]) == 0
    return out


# -- what a case does to the files before the command runs --------------------------------------------
class Evil:
    """Unpickling this runs code: it would create the file ``marker``."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def cut(path: Path, keep: int = 300) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def truncated_last(run: Path, tmp: Path, mp) -> None:
    cut(run / "last.pt")


def both_damaged(run: Path, tmp: Path, mp) -> None:
    cut(run / "last.pt")
    cut(run / "last.prev.pt")


def format_1_without_previous(run: Path, tmp: Path, mp) -> None:
    """A run folder as the format-1 code left it (no last.prev.pt), then last.pt cut short."""
    (run / "last.prev.pt").unlink()
    cut(run / "last.pt")


def config_not_json(run: Path, tmp: Path, mp) -> None:
    (run / "config.json").write_text('{"model": "mlp", "dataset": ')


def metrics_damaged(run: Path, tmp: Path, mp) -> None:
    (run / "metrics.csv").write_text("epoch,lr,train_loss,train_acc,test_acc\n1,0.1,oops,0.5,0.5\n")


def config_from_newer_snnbp(run: Path, tmp: Path, mp) -> None:
    config = json.loads((run / "config.json").read_text())
    config["preset"]["spike_jitter"] = 0.1
    config["versions"]["snnbp"] = "9.0.0"
    (run / "config.json").write_text(json.dumps(config))


def checkpoint_from_newer_snnbp(run: Path, tmp: Path, mp) -> None:
    ckpt = runs.load_checkpoint(run / "last.pt")
    ckpt["format"] = 99
    torch.save(ckpt, run / "last.pt")


def older_format_1(run: Path, tmp: Path, mp) -> None:
    (run / "last.prev.pt").unlink()
    write_format_1(run / "last.pt")


def malicious_last(run: Path, tmp: Path, mp) -> None:
    torch.save({"format": 2, "model": Evil(tmp / "marker")}, run / "last.pt")


def malicious_best(run: Path, tmp: Path, mp) -> None:
    torch.save({"format": 2, "model": Evil(tmp / "marker")}, run / "best.pt")


def foreign_best(run: Path, tmp: Path, mp) -> None:
    torch.save(torch.nn.Linear(2, 2).state_dict(), run / "best.pt")


def other_model_best(run: Path, tmp: Path, mp) -> None:
    ckpt = runs.load_checkpoint(run / "best.pt")
    ckpt["model"] = {"weight": torch.zeros(2, 2)}
    torch.save(ckpt, run / "best.pt")


def cut_best(run: Path, tmp: Path, mp) -> None:
    cut(run / "best.pt")


def no_last(run: Path, tmp: Path, mp) -> None:
    (run / "last.pt").unlink()


def a_file(run: Path, tmp: Path, mp) -> None:
    (tmp / "afile").write_text("not a folder")


def empty_folder(run: Path, tmp: Path, mp) -> None:
    (tmp / "empty").mkdir()


def no_gpu(run: Path, tmp: Path, mp) -> None:
    mp.setattr(torch.cuda, "is_available", lambda: False)


def mnist_cut_short(run: Path, tmp: Path, mp) -> None:
    fake_mnist(tmp / "data")
    cut(tmp / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte", 5000)


def mnist_labels_for_images(run: Path, tmp: Path, mp) -> None:
    fake_mnist(tmp / "data")
    raw = tmp / "data" / "MNIST" / "raw"
    shutil.copy(raw / "train-labels-idx1-ubyte", raw / "train-images-idx3-ubyte")


def mnist_counts_differ(run: Path, tmp: Path, mp) -> None:
    fake_mnist(tmp / "data")
    write_idx(tmp / "data" / "MNIST" / "raw" / "train-labels-idx1-ubyte", np.zeros(19, np.uint8))


def mnist_bad_gzip(run: Path, tmp: Path, mp) -> None:
    fake_mnist(tmp / "data", gz=True)
    path = tmp / "data" / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])


def cifar_for_mnist(run: Path, tmp: Path, mp) -> None:
    fake_cifar(tmp / "data")


def cifar_100_labels(run: Path, tmp: Path, mp) -> None:
    batches = fake_cifar(tmp / "data")
    batch = dict(batches["data_batch_1"], labels=[99, 3, 5, 7])
    (tmp / "data" / "cifar-10-batches-py" / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=2))


def cifar_malicious(run: Path, tmp: Path, mp) -> None:
    fake_cifar(tmp / "data")
    (tmp / "data" / "cifar-10-batches-py" / "data_batch_2").write_bytes(pickle.dumps(Evil(tmp / "marker")))


def read_only_folder(run: Path, tmp: Path, mp) -> None:
    """A folder the user may not write to (as root, which ignores permissions: the same refusal, simulated)."""
    folder = tmp / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:
        real_mkdir = os.mkdir

        def mkdir(path, *args, **kwargs):
            if Path(path).parent == folder:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_mkdir(path, *args, **kwargs)

        mp.setattr(os, "mkdir", mkdir)


def disk_full(run: Path, tmp: Path, mp) -> None:
    """The disk fills up while the next checkpoint is saved."""
    real_save = torch.save

    def save(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("epoch") == 3:
            f.write(b"the first bytes")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    mp.setattr(torch, "save", save)


# -- the table -----------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    command: str
    argv: list[str]
    code: int
    words: tuple[str, ...]
    setup: Callable | None = None
    check: Callable[[Path, Path], None] | None = field(default=None, repr=False)


def untouched_marker(run: Path, tmp: Path) -> None:
    assert not (tmp / "marker").exists(), "the crafted file ran code"


def previous_kept(run: Path, tmp: Path) -> None:
    assert runs.load_checkpoint(run / "last.pt")["epoch"] == 2
    assert not [p for p in run.iterdir() if ".tmp" in p.name]


def continued_to_3(run: Path, tmp: Path) -> None:
    assert [r["epoch"] for r in runs.read_metrics(run / "metrics.csv")] == [1, 2, 3]
    assert runs.load_checkpoint(run / "last.pt")["format"] == runs.CHECKPOINT_FORMAT


RESUME = ["--out", "{run}", "--resume", "--quiet"]
MNIST = ["--dataset", "mnist", "--model", "mlp", "--data-root", "{tmp}/data", "--no-download", "--epochs", "1",
         "--out", "{tmp}/out", "--quiet"]
CIFAR = ["--dataset", "cifar10", "--model", "mlp", "--data-root", "{tmp}/data", "--no-download", "--epochs", "1",
         "--out", "{tmp}/out", "--quiet"]
CASES = [
    # the eight cases of the issue
    Case("timesteps 0", "train", ["--timesteps", "0"], 2, ("--timesteps", "integer >= 1", "'0'")),
    Case("batch size 0", "train", ["--batch-size", "0"], 2, ("--batch-size", "integer >= 1")),
    Case("workers -1", "train", ["--workers", "-1"], 2, ("--workers", "integer >= 0", "'-1'")),
    Case("subset -5", "train", ["--subset", "-5"], 2, ("--subset", "integer >= 1", "'-5'")),
    Case("test subset 0", "train", ["--test-subset", "0"], 2, ("--test-subset", "integer >= 1")),
    Case("out is a file", "train", ["--out", "{tmp}/afile", "--epochs", "1"], 2, ("--out", "afile", "is a file"),
         a_file),
    Case("cuda without a GPU", "train", ["--device", "cuda"], 2, ("--device", "no CUDA GPU", "--device cpu"), no_gpu),
    Case("truncated last.pt resumes from last.prev.pt", "train", [*RESUME, "--epochs", "3"], 0,
         ("warning:", "last.pt is damaged", "resuming from", "last.prev.pt (epoch 1)"), truncated_last, continued_to_3),
    Case("MNIST cut short", "train", MNIST, 2,
         ("train-images-idx3-ubyte is damaged", "[20, 28, 28]", "15,696 bytes", "5,000"), mnist_cut_short),
    Case("config.json not JSON", "train", RESUME, 2, ("config.json is damaged", "not valid JSON"), config_not_json),
    # found by trying as a new user would
    Case("both checkpoints damaged: best.pt named", "train", [*RESUME, "--epochs", "3"], 2,
         ("cannot resume", "last.pt is damaged", "last.prev.pt is damaged", "best.pt holds the best epoch"),
         both_damaged),
    Case("format-1 folder, last.pt cut, no last.prev.pt", "train", [*RESUME, "--epochs", "3"], 2,
         ("last.pt is damaged", "there is no", "last.prev.pt", "best.pt"), format_1_without_previous),
    Case("run folder from older snnbp (format 1) resumes", "train", [*RESUME, "--epochs", "3"], 0, (),
         older_format_1, continued_to_3),
    Case("checkpoint from newer snnbp", "train", [*RESUME, "--epochs", "3"], 2,
         ("newer snnbp", "format 99", "upgrade"), checkpoint_from_newer_snnbp),
    Case("config.json from newer snnbp", "train", RESUME, 2, ("does not know", "spike_jitter", "snnbp 9.0.0"),
         config_from_newer_snnbp),
    Case("malicious last.pt is refused", "train", [*RESUME, "--epochs", "3"], 2,
         ("refusing to load", "last.pt", "system", "could run code"), malicious_last, untouched_marker),
    Case("resume an empty folder", "train", ["--out", "{tmp}/empty", "--resume"], 2,
         ("empty is not a run folder", "no config.json"), empty_folder),
    Case("resume without --out", "train", ["--resume"], 2, ("--resume needs --out",)),
    Case("run folder exists, no --resume", "train", ["--out", "{run}", "--epochs", "1", "--quiet"], 2,
         ("already holds a run", "--resume")),
    Case("resume with another model", "train", [*RESUME, "--model", "lenet"], 2,
         ("refusing to resume", "model='mlp'", "model='lenet'")),
    Case("resume with fewer epochs than done", "train", [*RESUME, "--epochs", "1"], 2,
         ("already trained 2 epochs", "--epochs")),
    Case("unknown preset", "train", ["--preset", "fast"], 2, ("--preset", "invalid choice: 'fast'", "'paper'")),
    Case("unknown loss", "train", ["--loss", "l1"], 2, ("--loss", "'l1'", "'mse_sum'")),
    Case("unknown option", "train", ["--epoch", "3", "--lr0"], 2, ("unrecognized arguments",)),
    Case("learning rate 0", "train", ["--lr", "0"], 2, ("--lr", "number > 0")),
    Case("learning rate nan", "train", ["--lr", "nan"], 2, ("--lr", "finite number > 0", "'nan'")),
    Case("epochs not a number", "train", ["--epochs", "ten"], 2, ("--epochs", "expected an integer", "'ten'")),
    Case("negative seed", "train", ["--seed", "-1"], 2, ("--seed", "integer >= 0")),
    Case("subset larger than the data", "train", ["--subset", "5000", "--epochs", "1", "--quiet"], 2,
         ("--subset", "5000", "choose 1 to 1347")),
    Case("empty data folder", "train", MNIST, 2, ("mnist (train) not found", "data", "--data-root", "--no-download")),
    Case("a folder of another dataset", "train", MNIST, 2,
         ("mnist (train) not found", "MNIST/raw", "the folder holds cifar10 (--dataset cifar10?)"), cifar_for_mnist),
    Case("MNIST labels file in place of images", "train", MNIST, 2,
         ("train-images-idx3-ubyte is not an MNIST image file", "[20]", "[N, 28, 28]"), mnist_labels_for_images),
    Case("MNIST image and label counts differ", "train", MNIST, 2,
         ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "20 images but 19 labels"), mnist_counts_differ),
    Case("MNIST gzip cut short", "train", MNIST, 2, ("t10k-images-idx3-ubyte.gz is damaged", "gzip"), mnist_bad_gzip),
    Case("CIFAR-100 batch among CIFAR-10", "train", CIFAR, 2,
         ("data_batch_1 holds labels from 3 to 99", "10 classes", "CIFAR-100"),
         cifar_100_labels),
    Case("malicious CIFAR batch is refused", "train", CIFAR, 2,
         ("refusing to read", "data_batch_2", "system", "could run code"), cifar_malicious, untouched_marker),
    Case("read-only output folder", "train", ["--out", "{tmp}/readonly/run", "--epochs", "1", "--quiet"], 2,
         ("cannot create the run folder", "readonly", "Permission denied", "another --out"), read_only_folder),
    Case("disk full while saving", "train", [*RESUME, "--epochs", "3"], 1,
         ("cannot write", ".pt (No space left on device)", "left as it was"), disk_full, previous_kept),
    # evaluate
    Case("evaluate: timesteps 0", "evaluate", ["{run}", "--timesteps", "0"], 2, ("--timesteps", "integer >= 1")),
    Case("evaluate: empty folder", "evaluate", ["{tmp}/empty"], 2, ("not a run folder", "no config.json"),
         empty_folder),
    Case("evaluate: missing folder", "evaluate", ["{tmp}/nowhere"], 2, ("nowhere is not a run folder",)),
    Case("evaluate: config.json not JSON", "evaluate", ["{run}"], 2, ("config.json is damaged",), config_not_json),
    Case("evaluate: config.json from newer snnbp", "evaluate", ["{run}"], 2, ("spike_jitter", "9.0.0"),
         config_from_newer_snnbp),
    Case("evaluate: best.pt cut short", "evaluate", ["{run}"], 2, ("best.pt is damaged", "--checkpoint last"),
         cut_best),
    Case("evaluate: malicious best.pt", "evaluate", ["{run}"], 2, ("refusing to load", "best.pt", "system"),
         malicious_best, untouched_marker),
    Case("evaluate: not a snnbp checkpoint", "evaluate", ["{run}"], 2, ("best.pt is not a snnbp checkpoint",),
         foreign_best),
    Case("evaluate: checkpoint of another model", "evaluate", ["{run}"], 2, ("best.pt does not fit the mlp",),
         other_model_best),
    Case("evaluate: --checkpoint last missing", "evaluate", ["{run}", "--checkpoint", "last"], 2,
         ("last.pt not found", "--checkpoint best"), no_last),
    Case("evaluate: test subset too large", "evaluate", ["{run}", "--test-subset", "100000", "--quiet"], 2,
         ("--test-subset", "choose 1 to 450")),
    Case("evaluate: cuda without a GPU", "evaluate", ["{run}", "--device", "cuda", "--quiet"], 2,
         ("--device", "no CUDA GPU"), no_gpu),
    # the results table
    Case("results: no such folder", "results", ["{tmp}/nowhere"], 2, ("nowhere is not a folder of run folders",)),
    Case("results: config.json not JSON", "results", ["{tmp}"], 2,
         ("run is a damaged run folder", "config.json", "restore it"), config_not_json),
    Case("results: metrics.csv damaged", "results", ["{tmp}"], 2, ("run is a damaged run folder", "metrics.csv"),
         metrics_damaged),
    Case("results: unknown option", "results", ["--bogus"], 2, ("unrecognized arguments: --bogus",
                                                                  "python -m snnbp.results --help")),
    # the benchmark
    Case("bench: threads 0", "bench", ["--threads", "0"], 2, ("--threads", "integer >= 1")),
    Case("bench: unknown model", "bench", ["--models", "vgg10"], 2, ("--models", "'vgg10'", "vgg9")),
    Case("bench: grid without steps", "bench", ["--grid", "vgg9"], 2, ("--grid", "MODEL:T")),
    Case("bench: env without =", "bench", ["--env", "MALLOC"], 2, ("--env", "KEY=VALUE")),
    Case("bench: cuda without a GPU", "bench", ["--device", "cuda"], 2, ("--device", "no CUDA GPU"), no_gpu),
]


def call(main: Callable, argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:                  # argparse exits on a bad argument
        return stop.code


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_case(case: Case, tmp_path, trained, monkeypatch, capsys):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    monkeypatch.chdir(tmp_path)
    if case.setup:
        case.setup(run, tmp_path, monkeypatch)
    argv = [a.format(run=run, tmp=tmp_path) for a in case.argv]
    code = call(MAINS[case.command], argv)
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == case.code, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == (1 if code else 0) and len(err.splitlines()) <= 2, err
    for word in case.words:
        assert word in err, f"{word!r} not in {err!r}"
    if case.check:
        case.check(run, tmp_path)


def test_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(distributed.DeviceUnavailable):
        train_cli.main(["--device", "cuda", "--debug"])


def test_a_lost_ctrl_c_stops_the_next_loop(capsys):
    def work():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            pass                                  # lost, as Python loses it inside a __del__
        for _ in cli.progress(range(3), quiet=True):
            raise AssertionError("the loop should stop before its first item")
        return 0

    before = signal.getsignal(signal.SIGINT)      # SIG_IGN when the suite runs as a background job
    assert cli.run_command(work, interrupted=lambda: "kept") == 130
    assert capsys.readouterr().err == "interrupted: kept\n"
    assert signal.getsignal(signal.SIGINT) is before
    assert list(cli.progress(range(3), quiet=True)) == [0, 1, 2]


def test_ctrl_c_during_an_epoch_then_resume(tmp_path, capsys):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "snnbp.train", "--timesteps", "3", "--subset", "256", "--test-subset", "32",
               "--batch-size", "8", "--epochs", "1000", "--out", str(out), "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not (out / "last.pt").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert (out / "last.pt").exists(), proc.stderr.read() if proc.poll() is not None else "no epoch in 120 s"
        time.sleep(0.3)                          # well inside a later epoch
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("interrupted:") and f"--out {out} --resume" in err
    done = runs.read_metrics(out / "metrics.csv")[-1]["epoch"]
    assert runs.load_checkpoint(out / "last.pt")["epoch"] == done
    assert train_cli.main(["--out", str(out), "--resume", "--epochs", str(done + 1), "--quiet"]) == 0
    assert [r["epoch"] for r in runs.read_metrics(out / "metrics.csv")] == list(range(1, done + 2))


def test_no_module_both_checks_values_and_handles_signals_or_exit_codes():
    """Issue 30: the checks (snnbp.validate) and the command lines' machinery (snnbp.cli) live apart,
    and the library's core imports the checks only (read from the source, not from the modules)."""
    import ast
    from pathlib import Path

    package = Path(cli.__file__).parent
    handles = {}
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        # what handles signals or decides exit statuses: the signal module, or a definition of the
        # exit-status policy (a module's own `sys.exit(main())` entry point passes main's status on)
        policy = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                  and node.name in {"exit_code", "run_command", "ctrl_c_deferred", "ctrl_c_pending"}}
        if "signal" in imported or policy:
            handles[path.relative_to(package).as_posix()] = policy
    assert set(handles) == {"cli.py"}, handles
    core = ["neurons", "fused_scan", "surrogate", "models", "layers", "tables", "encoding", "presets", "data",
            "recording", "learnable", "validate"]
    for name in core:
        tree = ast.parse((package / f"{name}.py").read_text())
        relative = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1
                    for alias in node.names} | {node.module for node in ast.walk(tree)
                                                if isinstance(node, ast.ImportFrom) and node.level == 1}
        assert "cli" not in relative, f"snnbp/{name}.py imports the command-line machinery"
