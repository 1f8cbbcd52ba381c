"""The layers import one way: the core knows no files, no model and no command line."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "subsync"
HEAVY = ("torch", "transformers", "ffmpeg", "typer", "click", "rich", "matplotlib", "pysrt")


def test_the_core_imports_with_heavy_and_io_modules_blocked():
    """Import every core module (and the replay listener) with torch, transformers,
    ffmpeg-python and typer made unimportable: none of them may be needed."""
    blocked = ", ".join(repr(name) for name in HEAVY)
    code = f"""
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ({blocked}):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import subsync.core
for module in pkgutil.iter_modules(subsync.core.__path__):
    importlib.import_module("subsync.core." + module.name)
import subsync.replay
bad = [m for m in sys.modules if m.split(".")[0] in ({blocked})]
assert not bad, bad
above = [m for m in sys.modules if m.startswith("subsync.") and not m.startswith("subsync.core")
         and m not in ("subsync.errors", "subsync.replay")]
assert not above, above
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _imports(path: Path) -> set[str]:
    """The subsync modules a source file imports (relative imports resolved)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            name = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("subsync")}


def _graph() -> dict[str, set[str]]:
    modules = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_no_import_circle():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for other in graph[name]:
            if state.get(other) == 1:
                raise AssertionError("import circle: " + " -> ".join([*trail, name, other]))
            if other not in state:
                visit(other, [*trail, name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_lower_layers_never_import_upper_ones():
    layers = {
        "subsync.core": 0,
        "subsync.errors": 0,
        "subsync.fileio": 0,
        "subsync.languages": 0,
        "subsync.home": 0,
        "subsync.fingerprint": 0,
        "subsync.subtitles": 1,
        "subsync.cache": 1,
        "subsync.media": 1,
        "subsync.whisper": 1,
        "subsync.replay": 1,
        "subsync.analysis": 2,
        "subsync.api": 2,
        "subsync.batch": 2,
        "subsync.exits": 2,
        "subsync.watchstate": 2,
        "subsync.watch": 3,
        "subsync.render": 3,
        "subsync.plot": 3,
        "subsync.cluster": 3,
        "subsync.cli": 4,
        "subsync.__main__": 4,
    }

    def layer(module: str) -> int:
        return max(
            (level for prefix, level in layers.items() if module == prefix or module.startswith(prefix + ".")),
            default=-1,
        )

    for name, imported in _graph().items():
        for other in imported:
            if name == "subsync" or other == "subsync":
                continue
            assert layer(other) <= layer(name), f"{name} (layer {layer(name)}) imports {other} (layer {layer(other)})"
