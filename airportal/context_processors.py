from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from airportal.health import system_health
from airportal.roles import Capability, has_capability

# (label, url name, capability) in the order of the sidebar.
NAVIGATION = [
    ("Dashboard", "dashboard", Capability.VIEW),
    ("Alerts", "alerts:alert_list", Capability.VIEW),
    ("Investigations", "investigations:investigation_list", Capability.VIEW),
    ("Action center", "investigations:action_center", Capability.VIEW),
    ("Reports", "investigations:reports", Capability.READ_REPORTS),
    ("Audit log", "audit_list", Capability.READ_REPORTS),
    ("Policies", "alerts:policy_list", Capability.ADMINISTER),
    ("Connectors", "alerts:connector_settings", Capability.ADMINISTER),
    ("Administration", "admin_home", Capability.ADMINISTER),
]


def navigation(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    items = []
    path = request.path
    for label, name, capability in NAVIGATION:
        if not has_capability(request.user, capability):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:  # the page is not built yet
            continue
        active = path == url if url == "/" else path.startswith(url)
        items.append({"label": label, "url": url, "active": active})
    # /alerts/connectors/ is under /alerts/ too: only the most specific match is the current page.
    matches = [item for item in items if item["active"]]
    for item in matches:
        item["active"] = item is max(matches, key=lambda match: len(match["url"]))
    context = {"navigation": items, "can_search": has_capability(request.user, Capability.VIEW)}
    if has_capability(request.user, Capability.ADMINISTER):
        # Read only by the pages that show it (the dashboard), so other pages pay nothing.
        context["system_health"] = SimpleLazyObject(system_health)
    return context
