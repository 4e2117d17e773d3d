"""Sections an app adds to the Administration page, so the kernel shows them without importing the app.

Apps depend on the kernel, never the reverse: ``alerts`` registers its event-storage panel in
its ``AppConfig.ready()``, and ``admin_home`` renders whatever is registered, in order.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AdminPanel:
    template: str  # rendered with ``panel`` = what ``context()`` returns
    context: Callable[[], dict[str, Any]]


_PANELS: dict[str, AdminPanel] = {}


def admin_panel_register(*, key: str, template: str, context: Callable[[], dict[str, Any]]) -> None:
    """Add (or replace, by ``key``: ``ready()`` may run twice in tests) a section of the Administration page."""
    _PANELS[key] = AdminPanel(template=template, context=context)


def admin_panels() -> list[AdminPanel]:
    return list(_PANELS.values())
