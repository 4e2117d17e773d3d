"""The Policies page (admins): list, edit with a back-test, suppressions and version history.

Each view guards the role, reads through ``alerts.selectors.policies``, writes through
``alerts.services`` and answers htmx with a named partial of ``alerts/policy_edit.html``.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from airportal.errors import DomainError
from airportal.htmx import domain_error_response, render_page, toast
from airportal.roles import Capability, capability_required
from airportal.shortcuts import get_or_404
from alerts import backtest
from alerts.backtest.chart import backtest_chart
from alerts.detectors.registry import DETECTORS
from alerts.forms.policies import BacktestForm, PolicyForm, SuppressionForm
from alerts.models import AlertPolicy
from alerts.selectors import policies
from alerts.services import policy_update, suppression_create, suppression_expire

admin_only = capability_required(Capability.ADMINISTER)


@admin_only
@require_GET
def policy_list(request):
    return render(request, "alerts/policy_list.html", {"policies": policies.policy_list()})


@admin_only
@require_POST
def policy_toggle(request, policy_id: int):
    """Enable or disable from the list; answers the updated row."""
    policy = get_or_404(policies.policy_get, policy_id=policy_id)
    version = request.POST.get("version", "")
    try:
        policy = policy_update(
            policy=policy,
            actor=request.user,
            expected_version=int(version) if version.isdigit() else policy.version,
            enabled=not policy.enabled,
            comment="Enabled from the policy list" if not policy.enabled else "Disabled from the policy list",
        )
    except DomainError as error:
        return domain_error_response(error)
    row = policies.policy_list().get(pk=policy.pk)
    response = render(request, "alerts/policy_list.html#policy-row", {"policy": row})
    return toast(response, f"{policy.name} {'enabled' if policy.enabled else 'disabled'}.")


def _edit_context(policy: AlertPolicy, form: PolicyForm, suppression_form: SuppressionForm | None = None) -> dict:
    active, past = policies.policy_suppressions(policy=policy)
    return {
        "policy": policy,
        "detector": DETECTORS[policy.detector],
        "form": form,
        "suppression_form": suppression_form or SuppressionForm(),
        "active_suppressions": active,
        "past_suppressions": past,
        "versions": policies.policy_versions(policy=policy),
    }


@admin_only
@require_http_methods(["GET", "POST"])
def policy_edit(request, policy_id: int):
    policy = get_or_404(policies.policy_get, policy_id=policy_id)
    if request.method == "POST":
        form = PolicyForm(request.POST, policy=policy)
        if form.is_valid():
            data = form.cleaned_data
            try:
                updated = policy_update(
                    policy=policy,
                    actor=request.user,
                    expected_version=data["version"],
                    enabled=data["enabled"],
                    severity=data["severity"],
                    automation_level=data["automation_level"],
                    parameters=form.parameters(),
                    comment=data["comment"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                if updated.version == policy.version:
                    messages.info(request, "Nothing changed.")
                else:
                    messages.success(request, f"Saved {updated.name} as version {updated.version}.")
                return redirect("alerts:policy_edit", policy_id=policy.pk)
        return render(request, "alerts/policy_edit.html", _edit_context(policy, form), status=400)
    return render(request, "alerts/policy_edit.html", _edit_context(policy, PolicyForm(policy=policy)))


@admin_only
@require_POST
def policy_backtest(request, policy_id: int):
    """The back-test partial: alerts per day for the form's parameters against the saved ones."""
    policy = get_or_404(policies.policy_get, policy_id=policy_id)
    form = BacktestForm(request.POST, policy=policy)
    context = {"policy": policy, "backtest_form": form}
    if form.is_valid():
        result = backtest.policy_backtest(policy=policy, parameters=form.parameters(), days=form.cleaned_data["days"])
        context.update(result=result, chart=backtest_chart(result))
    return render(request, "alerts/policy_edit.html#backtest", context)


@admin_only
@require_POST
def suppression_add(request, policy_id: int):
    policy = get_or_404(policies.policy_get, policy_id=policy_id)
    form = SuppressionForm(request.POST)
    if form.is_valid():
        try:
            suppression = suppression_create(policy=policy, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            context = _edit_context(policy, PolicyForm(policy=policy))
            response = render_page(request, "alerts/policy_edit.html", context, partial="suppressions")
            return toast(response, f"Suppressed {suppression} until {suppression.expires_at:%Y-%m-%d %H:%M} UTC.")
    context = _edit_context(policy, PolicyForm(policy=policy), suppression_form=form)
    return render_page(request, "alerts/policy_edit.html", context, partial="suppressions")


@admin_only
@require_POST
def suppression_end(request, policy_id: int, suppression_id: int):
    suppression = get_or_404(policies.suppression_get, policy_id=policy_id, suppression_id=suppression_id)
    try:
        suppression_expire(suppression=suppression, actor=request.user)
    except DomainError as error:
        return domain_error_response(error)
    context = _edit_context(suppression.policy, PolicyForm(policy=suppression.policy))
    response = render_page(request, "alerts/policy_edit.html", context, partial="suppressions")
    return toast(response, f"Ended the suppression of {suppression}.")
