"""How the console's views answer htmx: the whole page, or one named partial of the same template."""

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from airportal.errors import DomainError


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request that swaps part of the page (not a boosted link, not a history restore)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(request: HttpRequest, template: str, context: dict, *, partial: str, status: int = 200):
    """``template`` for a normal request, ``template#partial`` for an htmx swap."""
    name = f"{template}#{partial}" if wants_partial(request) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def trigger(response: HttpResponse, events: dict) -> HttpResponse:
    """Add client events (``HX-Trigger``), merged with any already set on ``response``."""
    existing = json.loads(response.headers.get("HX-Trigger", "{}") or "{}")
    existing.update(events)
    response.headers["HX-Trigger"] = json.dumps(existing)
    return response


def toast(response: HttpResponse, message: str, level: str = "success") -> HttpResponse:
    return trigger(response, {"toast": {"level": level, "message": message}})


def domain_error_response(error: DomainError) -> HttpResponse:
    """A refused request as JSON ``{"detail"}`` (app.js shows it as an error toast)."""
    return HttpResponse(
        json.dumps({"detail": error.message}), status=error.status_code, content_type="application/json"
    )
