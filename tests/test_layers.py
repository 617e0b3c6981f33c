"""The package's layers import one way (DESIGN.md, "Data flows one way")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fncssl"

# importer layer -> layers it must never import
FORBIDDEN = {
    "data": ("ssl", "finetune", "models"),
    "evaluation": ("ssl", "finetune"),
    "ssl": ("finetune",),
    "finetune": ("ssl",),
    "models": ("data", "evaluation", "ssl", "finetune"),
    "augment": ("data",),
}


def layer_of(module: str) -> str | None:
    """``fncssl.data.layout`` -> ``data``; None outside the package."""
    parts = module.split(".")
    return parts[1] if parts[0] == "fncssl" and len(parts) > 1 else None


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a source file (relative ones resolved)."""
    package = list(path.relative_to(root.parent).parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
    return found


def violations(root: Path = PACKAGE) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        own = layer_of(".".join(path.relative_to(root.parent).with_suffix("").parts))
        banned = FORBIDDEN.get(own or "", ())
        for line, module in imported_modules(path, root):
            if layer_of(module) in banned:
                out.append(f"{path.relative_to(root.parent)}:{line} imports {module}")
    return sorted(set(out))


def test_no_forbidden_imports():
    assert violations() == []


def test_checker_catches_a_forbidden_import(tmp_path):
    pkg = tmp_path / "fncssl"
    (pkg / "models").mkdir(parents=True)
    (pkg / "ssl").mkdir()
    (pkg / "models" / "x.py").write_text(
        "import torch\nfrom fncssl.data.layout import open_archive\n"
    )
    (pkg / "ssl" / "y.py").write_text("def f():\n    from ..finetune import run\n")
    (pkg / "augment.py").write_text("from fncssl import data\n")
    found = violations(pkg)
    assert found == [
        "fncssl/augment.py:1 imports fncssl.data",
        "fncssl/models/x.py:2 imports fncssl.data.layout",
        "fncssl/models/x.py:2 imports fncssl.data.layout.open_archive",
        "fncssl/ssl/y.py:2 imports fncssl.finetune",
        "fncssl/ssl/y.py:2 imports fncssl.finetune.run",
    ]


@pytest.mark.parametrize("module", ["fncssl.models.tiling", "fncssl.data.default_archive"])
def test_moved_modules_exist(module):
    __import__(module)
