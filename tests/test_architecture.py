"""The layers of docs/architecture.md: each app imports only the apps below it.

``airportal`` (the kernel) imports no app; ``m365`` only the kernel; ``alerts`` the kernel and
``m365``; ``investigations`` those and ``alerts``; ``demo`` (the demo tenant and the simulated
Microsoft 365 tenant) sits on top and nothing imports it, so production code never depends on
it. Apps that must reach up do it through seams (signals, hooks, registries, dotted paths in
settings), which this check does not see because they are not imports.
"""

import ast
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
LAYERS = ("airportal", "m365", "alerts", "investigations", "demo")


def imported_modules(path: Path) -> set[str]:
    """Every absolute module an ``import`` or ``from … import`` names, at any depth (functions included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def upward_imports(root: Path, app: str) -> set[str]:
    above = set(LAYERS[LAYERS.index(app) + 1 :])
    return {
        f"{path.relative_to(root)}: {name}"
        for path in (root / app).rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in above
    }


@pytest.mark.parametrize("app", LAYERS)
def test_an_app_imports_only_the_layers_below_it(app):
    assert (ROOT / app / "apps.py").exists()
    assert not upward_imports(ROOT, app), sorted(upward_imports(ROOT, app))


def test_the_check_sees_an_upward_import_even_inside_a_function(tmp_path):
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "leak.py").write_text(
        "import os\nfrom airportal.errors import NotFound\n\n"
        "def f():\n    from demo.services import simulated_tenant_sync\n"
    )
    assert upward_imports(tmp_path, "alerts") == {"alerts/leak.py: demo.services"}
    assert upward_imports(tmp_path, "investigations") == set()
