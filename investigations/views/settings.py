"""Tenant settings (admin): accepted domains, four-eyes action kinds, SLAs, event retention, look-back.

Here rather than in the kernel because the choices come from the apps (the action kinds).
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from airportal.roles import Capability, capability_required
from airportal.services import portal_settings_get, portal_settings_update
from investigations.forms.settings import PortalSettingsForm
from investigations.models import Action


@require_http_methods(["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def admin_settings(request):
    """Accepted domains, four-eyes action kinds, SLAs, event retention and the investigation look-back."""
    current = portal_settings_get()
    fields = (
        "accepted_domains",
        "four_eyes_action_kinds",
        "action_sla_minutes",
        "alert_sla_minutes",
        "event_retention_days",
        "investigation_lookback_days",
    )
    if request.method == "GET":
        initial = {field: getattr(current, field) for field in fields}
        initial["accepted_domains"] = "\n".join(current.accepted_domains)
        form = PortalSettingsForm(initial=initial, action_kinds=Action.Kind.choices)
        return render(request, "investigations/settings.html", {"form": form, "settings": current})
    form = PortalSettingsForm(request.POST, action_kinds=Action.Kind.choices)
    if not form.is_valid():
        return render(request, "investigations/settings.html", {"form": form, "settings": current}, status=400)
    changes = {
        field: form.cleaned_data[field] for field in fields if form.cleaned_data[field] != getattr(current, field)
    }
    if changes:
        portal_settings_update(actor=request.user, **changes)
        messages.success(request, "Settings saved.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect("admin_settings")
