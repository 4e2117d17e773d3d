"""Health for load balancers and `make run`."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from airportal.health import system_health


@require_GET
@never_cache
def healthz(request):
    """Health for load balancers and `make run`: 200 when database, broker and a worker answer, else 503."""
    body = system_health()
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)
