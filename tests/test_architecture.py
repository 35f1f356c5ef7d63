"""The folders show the pipeline: the import graph of kit has no cycle, and lower layers never import higher ones.

Layers, lowest first: errors, version, stats -> inputs, machine -> costs -> sim -> results, uncertainty -> run, live_migration,
consolidation, failures, lifecycle -> sweep, papers -> studies -> ui (the front ends: plots, export, progress bars, panels) -> cli. A module
may import its own layer and the layers below it; no layer below the front ends imports them. Imports inside
functions count too (they are how the CLI keeps start-up light, and they must respect the layers all the same).
"""
import ast
import functools
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parent.parent / "kit"

#: layer rank of each module or sub-package of kit (the package root re-exports the public API, at the top)
LAYERS = {"errors": 0, "version": 0, "stats": 0, "inputs": 1, "machine": 1, "costs": 2, "sim": 3, "results": 4, "uncertainty": 4, "run": 5,
          "live_migration": 5, "consolidation": 5, "failures": 5, "lifecycle": 5, "sweep": 6, "papers": 6, "studies": 7, "ui": 8, "cli": 9, "__init__": 10}


def _module_name(path: Path) -> str:
    rel = path.relative_to(KIT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every kit module ``path`` imports (absolute names), at module level or inside functions."""
    tree = ast.parse(path.read_text())
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name == "kit" or a.name.startswith("kit.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not (mod == "kit" or mod.startswith("kit.")):
                continue
            if node.module is None or mod == "kit":  # "from . import x" / "from kit import x": x may be a module
                for a in node.names:
                    cand = f"{mod}.{a.name}"
                    out.add(cand if (KIT.parent / (cand.replace(".", "/") + ".py")).exists()
                            or (KIT.parent / cand.replace(".", "/")).is_dir() else mod)
            else:
                out.add(mod)
    out.discard(here)
    return out


@functools.cache
def _graph() -> dict[str, set[str]]:
    """Module -> the kit modules it imports, parsed once for every test here."""
    return {_module_name(p): _imports(p) for p in KIT.rglob("*.py") if "_data" not in p.parts}


def _layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return LAYERS[top]


def test_every_module_has_a_layer():
    missing = {m for m in _graph() if (m.split(".")[1] if "." in m else "__init__") not in LAYERS}
    assert not missing, f"give these a layer in LAYERS: {sorted(missing)}"


def test_lower_layers_never_import_higher_ones():
    bad = []
    for mod, deps in _graph().items():
        for dep in deps:
            if dep == "kit" and mod != "kit":
                if _layer(mod) < LAYERS["__init__"]:
                    bad.append(f"{mod} imports the package root")
                continue
            if _layer(dep) > _layer(mod):
                bad.append(f"{mod} (layer {_layer(mod)}) imports {dep} (layer {_layer(dep)})")
    assert not bad, "\n".join(sorted(bad))


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    # the package root and sub-package roots only re-export; a cycle through them is still a cycle
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if state.get(dep) is None:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_simulation_never_imports_figures_or_widgets():
    """The engine knows nothing of the front ends: importing the runs and the sweeps loads no plotting or widget
    library."""
    import subprocess
    import sys
    probe = ("import sys, kit.run, kit.sweep; "
             "bad = [m for m in ('plotly', 'ipywidgets', 'IPython') if m in sys.modules]; print(bad)")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_the_readme_layout_names_every_subpackage_and_module():
    readme = (KIT.parent / "README.md").read_text()
    layout = readme[readme.index("## Layout"):readme.index("## The model in one paragraph")]
    for path in sorted(KIT.rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py") or "_data" in path.parts:
            continue
        name = path.stem
        assert f"`{name}`" in layout or f"kit/{name}.py" in layout, f"README layout does not name {path.relative_to(KIT)}"
    for sub in (p for p in KIT.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        assert f"kit/{sub.name}/" in layout, f"README layout does not name kit/{sub.name}/"
