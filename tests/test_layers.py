"""Packages import only downward: each module may import its own layer or a lower one.

Every import in every module counts, including imports inside functions (lic imports
heavy modules lazily), so a lazy import cannot hide an upward dependency. The layers are
drawn in docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lic"

LAYERS: dict[str, int] = {
    "lic.errors": 0,
    "lic.limits": 0,
    "lic.hardware": 0,
    "lic.extras": 0,
    "lic.deferred_signals": 0,
    "lic.format": 1,
    "lic.entropy": 2,
    "lic.kernels": 2,
    "lic.models": 3,
    "lic.codec": 4,
    "lic.io": 5,
    "lic.api": 6,
    "lic.video_api": 6,
    "lic.pillow_plugin": 6,
    "lic.train": 6,
    "lic.eval": 6,
    "lic.distributed": 6,
    "lic": 6,  # the package itself re-exports the API (lic/__init__.py)
    "lic.cli": 7,
    "lic.__main__": 7,
}


def layer_of(module: str) -> int:
    """The layer of ``module``: that of its longest prefix in :data:`LAYERS`."""
    parts = module.split(".")
    for end in range(len(parts), 1, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            return LAYERS[prefix]
    if module == "lic":
        return LAYERS["lic"]
    raise KeyError(f"{module} has no layer: add its package to LAYERS (and to docs/architecture.md)")


def module_name(path: Path, root: Path = ROOT) -> str:
    """``lic/codec/image.py`` -> ``lic.codec.image``; a package's ``__init__.py`` -> the package."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """``(line, module)`` of every ``lic`` import in the file, at any depth (``from lic.x import y``
    counts ``lic.x.y`` when that is a module, else ``lic.x``)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found += [(node.lineno, _submodule_or_package(f"{module}.{alias.name}", root)) for alias in node.names]
    return [(line, module) for line, module in found if module == "lic" or module.startswith("lic.")]


def _submodule_or_package(name: str, root: Path) -> str:
    """``name`` when it is a module or package under ``root``'s parent, else its package."""
    path = root.parent.joinpath(*name.split("."))
    return name if path.with_suffix(".py").exists() or path.is_dir() else name.rpartition(".")[0]


def upward_imports(root: Path = ROOT) -> list[str]:
    """Every import of a higher layer, as ``file:line: importer (layer) imports module (layer)``."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        importer = module_name(path, root)
        own = layer_of(importer)
        for line, module in imported_modules(path, root):
            if layer_of(module) > own:
                problems.append(f"{path.relative_to(root.parent)}:{line}: {importer} (layer {own}) imports "
                                f"{module} (layer {layer_of(module)})")
    return problems


def test_every_module_has_a_layer() -> None:
    for path in ROOT.rglob("*.py"):
        layer_of(module_name(path))


def test_packages_import_only_downward() -> None:
    problems = upward_imports()
    assert not problems, "imports of a higher layer:\n" + "\n".join(problems)


def test_the_check_sees_an_upward_import_inside_a_function(tmp_path: Path) -> None:
    package = tmp_path / "lic"
    (package / "codec").mkdir(parents=True)
    (package / "codec" / "bad.py").write_text("def f():\n    from lic.io.imageio import read_image\n")
    (package / "codec" / "good.py").write_text("from lic.models.rate import rate_bpp\nfrom . import bad\n")
    (package / "format").mkdir()
    (package / "format" / "header.py").write_text("from ..codec import good\n")  # relative, upward
    assert upward_imports(package) == [
        "lic/codec/bad.py:2: lic.codec.bad (layer 4) imports lic.io.imageio (layer 5)",
        "lic/format/header.py:1: lic.format.header (layer 1) imports lic.codec.good (layer 4)",
    ]


def test_a_module_outside_every_layer_is_an_error() -> None:
    with pytest.raises(KeyError, match="has no layer"):
        layer_of("lic.plugins.extra")
