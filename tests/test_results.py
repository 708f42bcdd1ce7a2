"""The reproduction table: run folders beside the paper's numbers, "not run yet" where none."""
from __future__ import annotations

import json

from snnbp import results


def write_run(folder, model, dataset, accs, preset="paper", spiking=True, planned=None, old=False):
    folder.mkdir(parents=True)
    fields = {"name": preset, "timesteps": 20, "lr": 0.002 if model == "lenet" else 0.0085, "batch_size": 64}
    if not old:
        fields["detach_leak"] = True
    (folder / "config.json").write_text(json.dumps({
        "model": model, "dataset": dataset, "spiking": spiking, "timesteps": 20, "epochs": planned or len(accs),
        "train_examples": 4000, "test_examples": 2000, "device": "cpu", "preset": fields}))
    lines = ["epoch,lr,train_loss,train_acc,test_acc,seconds,firing_rate"]
    lines += [f"{i + 1},0.0085,0.5,0.5,{a},60.0,0.03" for i, a in enumerate(accs)]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_table_puts_runs_beside_the_paper_and_marks_the_rest(tmp_path):
    write_run(tmp_path / "mnist-lenet", "lenet", "mnist", [0.91, 0.95, 0.94])
    write_run(tmp_path / "digits-mlp", "mlp", "digits", [0.96])
    (tmp_path / "not-a-run").mkdir()
    rows = results.table(tmp_path)
    lenet = [r for r in rows if r["network"] == "LeNet-style"]
    assert len(lenet) == 1 and lenet[0]["paper"] == 99.59 and abs(lenet[0]["best"] - 95.0) < 1e-9
    assert abs(lenet[0]["final"] - 94.0) < 1e-9 and lenet[0]["notes"] == ""
    assert lenet[0]["confirmed"] == "cited by later papers" and "T=20" in lenet[0]["settings"]
    assert "lr 0.002 (preset 0.0085) with batch 64," in lenet[0]["settings"]   # rate beside batch
    vgg9 = [r for r in rows if r["network"] == "VGG9"][0]
    assert vgg9["final"] is None and vgg9["best"] is None and vgg9["settings"] == "—" and vgg9["confirmed"] == "not confirmed"
    digits = [r for r in rows if r["dataset"].startswith("digits")][0]
    assert digits["paper"] is None and digits["confirmed"] == "not in the paper"
    assert len(rows) == len(results.PAPER) + 1
    text = results.to_markdown(rows)
    assert "| MNIST | LeNet-style | 99.59 | cited by later papers | 94.00 | 95.00 | reduced:" in text
    assert text.count("not run yet") == len(results.PAPER) - 1


def test_kind_names_what_differs_from_the_paper(tmp_path):
    write_run(tmp_path / "mnist-lenet", "lenet", "mnist", [0.91, 0.95])
    write_run(tmp_path / "digits-mlp", "mlp", "digits", [0.96])
    runs = {r["run"]: r for r in results.collect(tmp_path)}
    text = results.kind(runs["mnist-lenet"])
    assert text.startswith("reduced: T=20 (paper 100), 2 of 125 epochs, 4000 of 60000 training images")
    assert "changed: lr=0.002 (preset 0.0085)" in text
    assert results.kind(runs["digits-mlp"]) == "not in the paper" and results.kind(None) == ""
    full = dict(runs["mnist-lenet"], timesteps=100, epochs_run=125, train_examples=60000,
                preset_fields={"name": "paper", "lr": 0.0085})
    assert results.kind(full) == "reproduction"
    modern = dict(full, preset="modern")
    assert results.kind(modern).startswith("not the paper's method (modern preset)")
    capped = dict(full, options={"max_norm": 2.0, "max_step": 0.01})    # paper_deep.py's options
    assert results.kind(capped) == "not the paper's method (options: max_norm=2, max_step=0.01)"
    config = json.loads((tmp_path / "mnist-lenet" / "config.json").read_text())
    (tmp_path / "mnist-lenet" / "config.json").write_text(json.dumps(dict(config, options={"max_norm": 2})))
    read = {r["run"]: r for r in results.collect(tmp_path)}["mnist-lenet"]
    assert results.kind(read).startswith("not the paper's method (options: max_norm=2); reduced: T=20")


def test_cli_prints_the_table(tmp_path, capsys):
    write_run(tmp_path / "a", "vgg9", "cifar10", [0.5])
    assert results.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| CIFAR-10 | VGG9 | 90.45 | not confirmed | 50.00 | 50.00 |" in out


def test_notes_name_failed_stopped_and_old_gradient_runs(tmp_path):
    write_run(tmp_path / "failed", "lenet", "mnist", [0.0975], planned=2, old=True)
    (tmp_path / "failed" / results.NOTE_FILE).write_text("failed: one class for every image\n")
    write_run(tmp_path / "stopped", "lenet", "mnist", [0.9], planned=5)
    runs = {r["run"]: r for r in results.collect(tmp_path)}
    failed = results.notes(runs["failed"])
    assert failed.startswith("failed: one class") and "stopped after 1 of 2" in failed
    assert results.OLD_GRADIENT in failed and "old output-layer gradient" in results.kind(runs["failed"])
    assert results.notes(runs["stopped"]) == "stopped after 1 of 5 planned epochs"
    assert "old output-layer gradient" not in results.kind(runs["stopped"])
    full = dict(runs["failed"], timesteps=100, epochs_run=125, train_examples=60000,
                preset_fields={"name": "paper", "lr": 0.0085})
    assert results.kind(full) == "changed: old output-layer gradient"     # never "reproduction"


def test_cli_finds_the_repositorys_results_from_another_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)                               # no results/ here
    assert results.main([]) == 0
    out = capsys.readouterr().out
    assert "mnist-lenet-paper-T20-full-seed1" in out          # a committed run folder


def test_the_books_tables_keep_what_a_reader_compares(tmp_path):
    """The book's tables: run, T, epochs, final, best and the kind in brief (the paper's network and
    number first in chapter 8's); the full kind, settings and notes go into a folded block."""
    write_run(tmp_path / "mnist-lenet", "lenet", "mnist", [0.91, 0.95, 0.94], old=True)
    (tmp_path / "mnist-lenet" / results.NOTE_FILE).write_text("lr lowered <by hand>\n")
    write_run(tmp_path / "digits-mlp", "mlp", "digits", [0.96])
    runs = results.collect(tmp_path)
    rows = {r["run"]: r for r in results.run_rows(runs)}
    assert list(rows["mnist-lenet"]) == list(results.BOOK_COLUMNS)
    assert rows["mnist-lenet"]["T"] == 20 and rows["mnist-lenet"]["epochs"] == 3
    assert abs(rows["mnist-lenet"]["final (%)"] - 94.0) < 1e-9 and abs(rows["mnist-lenet"]["best (%)"] - 95.0) < 1e-9
    assert rows["mnist-lenet"]["kind"] == "reduced; changed: lr=0.002; old gradient"
    book = results.book_rows(results.table(runs=runs))
    lenet = next(r for r in book if r["run"] == "mnist-lenet")
    assert list(lenet) == ["network", "paper (%)", *results.BOOK_COLUMNS] and lenet["paper (%)"] == "99.59"
    vgg9 = next(r for r in book if r["network"] == "VGG9, CIFAR-10")
    assert vgg9["final (%)"] == "not run yet" and vgg9["paper (%)"] == "90.45 (not confirmed)" and vgg9["T"] == "—"
    folded = results.notes_html(results.table(runs=runs))
    assert folded.startswith('<details class="snnbp-notes">') and "(2 runs)" in folded   # rows without a run: none
    assert "lr=0.002 (preset 0.0085)" in folded and "lr lowered &lt;by hand&gt;" in folded
    assert results.notes_html(runs).count("<dt>") == 2


def test_brief_kind():
    assert results.brief("reproduction") == "reproduction" and results.brief("") == ""
    text = ("not the paper's method (modern preset); reduced: T=10 (paper 100), 4 of 125 epochs; changed: "
            "loss=cross_entropy (preset mse_sum), milestones=[] (preset (75,))")
    assert results.brief(text) == "not the paper's method (modern preset); reduced"
    assert results.brief("not in the paper; not the paper's initialisation (woken to init_rate=0.05); "
                         "changed: lr=0.00033 (preset 0.0033)") == "not in the paper; woken (init_rate=0.05); " \
                                                                   "changed: lr=0.00033"
