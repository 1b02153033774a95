"""The package layout: one subpackage per layer, no import circles, no reach back into the CLI.

Module-level imports (those that run when a module is imported, outside ``if TYPE_CHECKING``)
must form no cycle; a module outside ``dmmemu.cli`` never imports the CLI, and a sub-command
module takes its shared helpers from ``dmmemu.cli._common``, never from the package itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dmmemu"
LAYERS = ("trace", "topology", "practices", "engine", "results", "report", "wire", "synthetic",
          "importers", "cli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.AST, *, module_level_only: bool) -> set[str]:
    """Dotted dmmemu modules named by the import statements of ``tree``."""
    found: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("dmmemu"))
            elif isinstance(child, ast.ImportFrom) and (child.module or "").startswith("dmmemu"):
                found.add(child.module)
                found.update(f"{child.module}.{a.name}" for a in child.names)
            nested = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if nested and module_level_only:
                continue
            visit(child, top and not nested)

    visit(tree, True)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def graph(module_level_only: bool) -> dict[str, set[str]]:
    edges = {}
    for name, path in MODULES.items():
        named = imported_modules(ast.parse(path.read_text()), module_level_only=module_level_only)
        edges[name] = {m for m in named if m in MODULES and m != name}
    return edges


def test_every_layer_is_a_subpackage():
    for layer in LAYERS:
        assert (PACKAGE / layer / "__init__.py").is_file(), layer


def test_module_level_imports_have_no_cycle():
    edges = graph(module_level_only=True)
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                walk(nxt, stack + [nxt])
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            walk(name, [name])


def test_nothing_below_the_cli_imports_it():
    for name, targets in graph(module_level_only=False).items():
        if name == "dmmemu.__main__":
            continue
        reaching = {t for t in targets if t == "dmmemu.cli" or t.startswith("dmmemu.cli.")}
        if name.startswith("dmmemu.cli"):
            # Sub-commands share helpers through cli._common, not through the package.
            assert "dmmemu.cli" not in reaching or name == "dmmemu.cli", name
        else:
            assert not reaching, f"{name} imports {sorted(reaching)}"


def test_a_layer_import_does_not_import_the_layers_above(tmp_path):
    """Importing the trace layer loads neither the engines, the results nor the CLI."""
    import subprocess
    import sys

    code = ("import sys, dmmemu.trace.reader; "
            "print(sorted(m for m in sys.modules if m.startswith(('dmmemu.cli', "
            "'dmmemu.results', 'dmmemu.report', 'dmmemu.engine.runner'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]"


def test_imports_are_absolute():
    """Modules name what they import in full, so a module can move between layers safely."""
    relative = [
        f"{name}:{node.lineno}"
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert not relative
