"""Administration (admin role only): users and roles, API tokens, tenant settings.

Secrets (a new token, a set-password link) are shown once, in the answer to the POST that
made them, with ``Cache-Control: no-store``; they are never stored or shown again.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN, PasswordResetConfirmView
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from airportal.admin_panels import admin_panels
from airportal.errors import DomainError
from airportal.forms import ApiTokenCreateForm, UserInviteForm, UserRoleForm
from airportal.models import ApiToken
from airportal.roles import Capability, Role, capability_required, user_role
from airportal.services import (
    user_change_role,
    user_deactivate,
    user_get_or_create,
    user_invite,
    user_password_link_issue,
    user_reactivate,
    user_set_password,
    user_set_password_link,
)
from airportal.tokens import api_token_create, api_token_revoke


def _shown_once(response):
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@capability_required(Capability.ADMINISTER)
def admin_home(request):
    panels = [(panel.template, panel.context()) for panel in admin_panels()]
    return render(request, "airportal/admin_home.html", {"panels": panels})


def _users_page(request, *, invite_form=None, secret_link=None, status=200):
    users = list(get_user_model().objects.prefetch_related("groups").order_by("username"))
    rows = [{"user": user, "role": user_role(user)} for user in users]
    context = {
        "rows": rows,
        "roles": Role.choices,
        "invite_form": invite_form or UserInviteForm(),
        "secret_link": secret_link,
    }
    response = render(request, "airportal/admin_users.html", context, status=status)
    return _shown_once(response) if secret_link else response


@require_http_methods(["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def admin_users(request):
    """The user list; POST invites a person (a new account and a one-time set-password link)."""
    if request.method == "GET":
        return _users_page(request)
    form = UserInviteForm(request.POST)
    if not form.is_valid():
        return _users_page(request, invite_form=form, status=400)
    try:
        user = user_invite(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            role=Role(form.cleaned_data["role"]),
            actor=request.user,
        )
    except DomainError as error:
        form.add_error("username", error.message)
        return _users_page(request, invite_form=form, status=error.status_code)
    link = request.build_absolute_uri(user_set_password_link(user=user))
    messages.success(request, f"{user.get_username()} invited. Send them the link below.")
    return _users_page(request, secret_link={"user": user, "url": link})


def _user_action(request, pk: int, service, success: str):
    user = get_object_or_404(get_user_model(), pk=pk)
    try:
        service(user=user, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success.format(user=user.get_username()))
    return redirect("admin_users")


@require_POST
@capability_required(Capability.ADMINISTER)
def admin_user_role(request, pk: int):
    form = UserRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("admin_users")
    role = Role(form.cleaned_data["role"])

    def change(*, user, actor):
        user_change_role(user=user, role=role, actor=actor)

    return _user_action(request, pk, change, f"{{user}} is now {role.label.lower()}.")


@require_POST
@capability_required(Capability.ADMINISTER)
def admin_user_deactivate(request, pk: int):
    return _user_action(request, pk, user_deactivate, "{user} is deactivated and signed out.")


@require_POST
@capability_required(Capability.ADMINISTER)
def admin_user_reactivate(request, pk: int):
    return _user_action(request, pk, user_reactivate, "{user} is active again.")


@require_POST
@capability_required(Capability.ADMINISTER)
def admin_user_password_link(request, pk: int):
    user = get_object_or_404(get_user_model(), pk=pk)
    try:
        path = user_password_link_issue(user=user, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("admin_users")
    return _users_page(request, secret_link={"user": user, "url": request.build_absolute_uri(path)})


def _tokens_page(request, *, form=None, created=None, status=200):
    tokens = ApiToken.objects.select_related("user", "created_by").order_by("-created_at", "-id")
    context = {"tokens": tokens, "form": form or ApiTokenCreateForm(), "created": created}
    response = render(request, "airportal/admin_tokens.html", context, status=status)
    return _shown_once(response) if created else response


@require_http_methods(["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def admin_tokens(request):
    """API tokens with their last use; POST creates one and shows its secret once."""
    if request.method == "GET":
        return _tokens_page(request)
    form = ApiTokenCreateForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form=form, status=400)
    user, _ = user_get_or_create(
        username=form.cleaned_data["username"], role=Role(form.cleaned_data["role"]), actor=request.user
    )
    token, raw = api_token_create(user=user, name=form.cleaned_data["name"], created_by=request.user)
    return _tokens_page(request, created={"token": token, "secret": raw})


@require_POST
@capability_required(Capability.ADMINISTER)
def admin_token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk)
    try:
        api_token_revoke(token=token, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Token {token.prefix}… revoked.")
    return redirect("admin_tokens")


class PasswordSetView(PasswordResetConfirmView):
    """The one-time set-password link of an invitation (Django's reset-token check), audited."""

    template_name = "registration/password_set.html"
    success_url = reverse_lazy("login")
    token_generator = default_token_generator

    def form_valid(self, form):
        user_set_password(user=form.user, password=form.cleaned_data["new_password1"])
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, "Password set. Sign in with it.")
        return HttpResponseRedirect(self.success_url)
