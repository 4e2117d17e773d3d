"""``m365`` is shared by both apps, so it imports neither: only the kernel (``airportal``)."""

import ast
from pathlib import Path

import m365

PACKAGE = Path(m365.__file__).parent
FORBIDDEN = ("alerts", "investigations", "demo")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_m365_imports_neither_app():
    offending = {
        f"{path.relative_to(PACKAGE.parent)}: {name}"
        for path in PACKAGE.rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert not offending, sorted(offending)


def test_the_check_finds_an_import_of_an_app(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("import os\nfrom alerts.feeds import cycle\n\ndef f():\n    import investigations.models\n")
    assert imported_modules(module) == {"os", "alerts.feeds", "investigations.models"}
