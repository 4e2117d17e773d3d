from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from airportal.health import broker_status, database_status, worker_last_seen
from airportal.roles import Capability, capability_required


@require_GET
@never_cache
def healthz(request):
    """Liveness for load balancers and `make run`: 200 when database and broker answer, else 503."""
    status = {"database": database_status(), "broker": broker_status()}
    healthy = all(value == "ok" for value in status.values())
    last_seen = worker_last_seen() if status["database"] == "ok" else None
    body = {"status": "ok" if healthy else "degraded", **status, "worker_last_seen": last_seen}
    return JsonResponse(body, status=200 if healthy else 503)


@capability_required(Capability.VIEW)
def dashboard(request):
    return render(request, "airportal/dashboard.html", {})
