"""The demo app is fenced off: installed, but no production module imports it."""

from pathlib import Path

from django.conf import settings

from tests.m365.test_imports import imported_modules

ROOT = Path(settings.BASE_DIR)
PRODUCTION = ("airportal", "alerts", "investigations", "m365")


def demo_imports(root: Path) -> set[str]:
    return {
        f"{path.relative_to(root)}: {name}"
        for package in PRODUCTION
        for path in (root / package).rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] == "demo"
    }


def test_no_production_module_imports_the_demo_app():
    assert (ROOT / "demo" / "apps.py").exists()
    assert not demo_imports(ROOT), sorted(demo_imports(ROOT))


def test_the_fence_sees_an_import_of_the_demo_app(tmp_path):
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "leak.py").write_text("def f():\n    from demo.services import simulated_tenant_sync\n")
    assert demo_imports(tmp_path) == {"alerts/leak.py: demo.services"}
