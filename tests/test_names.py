"""One home per name: every public name of snnbp is exported (listed in ``__all__``) by the one
module that defines it. Two exceptions, both facades by design: the package ``snnbp`` itself (its
small top-level API, listed in the README) and a subpackage (``snnbp.grade``, ``snnbp.assignments``,
``snnbp.exercises``) exporting what its own modules define.

A private module (a name starting with ``_``) may have one public face that exports its names.

The oracle is Python's own bookkeeping: a function's or class's ``__module__`` names where it was
defined; any other value (a constant, a table) is found by identity in the other modules."""
from __future__ import annotations

import importlib
import pkgutil

import snnbp


def _modules() -> dict[str, object]:
    found = {}
    for info in pkgutil.walk_packages(snnbp.__path__, "snnbp."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        found[info.name] = importlib.import_module(info.name)
    return found


def _home(value) -> str | None:
    """Where a function or class was defined (``None`` for any other value)."""
    return getattr(value, "__module__", None) if callable(value) else None


def _facade(exporter: str, home: str) -> bool:
    """A package exporting from its own modules (or the top-level package: the API)."""
    return exporter == "snnbp" or (hasattr(importlib.import_module(exporter), "__path__")
                                   and home.startswith(exporter + "."))


def test_every_exported_function_and_class_is_exported_by_the_module_that_defines_it():
    """... or by the one public module that is the face of a private one (``snnbp/_display.py``
    and ``_simulation.py`` behind ``snnbp.plots``; a subpackage's ``_core``)."""
    modules = _modules()
    wrong, faces = [], {}
    for name, module in modules.items():
        for exported in getattr(module, "__all__", []):
            value = getattr(module, exported)
            if isinstance(value, type(snnbp)):                        # a submodule listed by a package
                continue
            home = _home(value)
            if home is None or home == name or _facade(name, home):
                continue
            if home.rsplit(".", 1)[-1].startswith("_"):
                faces.setdefault((home, exported), []).append(name)
            else:
                wrong.append(f"{name}.{exported} (defined in {home})")
    assert not wrong, "exported from a module that does not define it: " + ", ".join(sorted(wrong))
    twice = {k: v for k, v in faces.items() if len(v) > 1}
    assert not twice, f"a private module's name exported by two public modules: {twice}"


def test_no_constant_is_exported_by_two_modules():
    """Tables, registries and constants: the same object in the ``__all__`` of two modules (other
    than a facade) is a second home."""
    modules = _modules()
    exporters: dict[int, list[str]] = {}
    for name, module in modules.items():
        if name == "snnbp":
            continue
        for exported in getattr(module, "__all__", []):
            value = getattr(module, exported)
            if callable(value) or isinstance(value, (type(snnbp), bool, int, float, str, type(None))):
                continue
            exporters.setdefault(id(value), []).append(f"{name}.{exported}")
    twice = []
    for where in exporters.values():
        homes = {w.rsplit(".", 1)[0] for w in where}
        packages = {h for h in homes if hasattr(modules[h], "__path__")}
        rest = homes - {p for p in packages if any(h.startswith(p + ".") for h in homes)}
        if len(rest) > 1:
            twice.append(" and ".join(sorted(where)))
    assert not twice, "exported twice: " + "; ".join(sorted(twice))


def test_the_top_level_api_is_small_and_listed_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    api = [n for n in snnbp.__all__ if not isinstance(getattr(snnbp, n), type(snnbp)) and n != "__version__"]
    assert len(api) <= 12, api
    missing = [n for n in api if f"`snnbp.{n}`" not in readme]
    assert not missing, f"top-level names the README's API list does not give: {missing}"


def test_snnbp_record_is_the_function_and_snnbp_recording_its_module():
    """``snnbp.record`` once named both a module and the function it held; now each name is one thing."""
    import types

    import snnbp.recording
    assert isinstance(snnbp.recording, types.ModuleType) and callable(snnbp.record)
    assert snnbp.record is snnbp.recording.record and not isinstance(snnbp.record, types.ModuleType)
    assert importlib.util.find_spec("snnbp.record") is None


def test_the_neuron_registry_is_complete_after_any_import():
    """``snnbp.neurons.NEURONS`` once held only "lif" until something imported snnbp.learnable."""
    import subprocess
    import sys
    code = "import snnbp.neurons as n; print(sorted(n.NEURONS))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['learnable_leak', 'learnable_threshold', 'lif']"
