"""Reports: the landing page, investigation history and records, metrics, CSV exports.

Analysts read (``READ_REPORTS``); bulk CSV exports need ``MANAGE_REPORTS`` (managers, admins),
because a CSV leaves the portal's access control with every row in it.
"""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from airportal.exports import csv_response
from airportal.htmx import render_page
from airportal.roles import Capability, capability_required, has_capability
from investigations.reports.charts import metrics_figures
from investigations.reports.exports import DATASETS
from investigations.reports.filters import InvestigationFilterForm, ReportFilterForm
from investigations.reports.history import investigation_history, investigation_record
from investigations.reports.metrics import SPEEDS, metrics_compute


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@require_GET
@capability_required(Capability.READ_REPORTS)
def reports(request):
    context = {
        "can_export": has_capability(request.user, Capability.MANAGE_REPORTS),
        "exports": [(key, dataset.label, dataset.form(auto_id=f"id_{key}_%s")) for key, dataset in DATASETS.items()],
    }
    return render(request, "investigations/report_landing.html", context)


@require_GET
@capability_required(Capability.READ_REPORTS)
def report_history(request):
    form = InvestigationFilterForm(request.GET)
    page = investigation_history(filters=form.filters(), cursor=request.GET.get("cursor"))
    context = {
        "form": form,
        "page": page,
        "query": _query_without(request, "cursor"),
        "can_export": has_capability(request.user, Capability.MANAGE_REPORTS),
    }
    return render_page(request, "investigations/report_history.html", context, partial="history-table")


@require_GET
@capability_required(Capability.READ_REPORTS)
def report_record(request, pk: int):
    return render(request, "investigations/report_record.html", {"record": investigation_record(pk=pk)})


@require_GET
@capability_required(Capability.READ_REPORTS)
def report_print(request, pk: int):
    return render(request, "investigations/report_print.html", {"record": investigation_record(pk=pk)})


def _change(current: float | None, previous: float | None) -> dict | None:
    """The median's move against the previous period; slower is worse."""
    if current is None or not previous:
        return None
    delta = (current - previous) / previous
    return {"percent": abs(round(delta * 100)), "slower": delta > 0}


@require_GET
@capability_required(Capability.READ_REPORTS)
def report_metrics(request):
    form = ReportFilterForm(request.GET)
    metrics = metrics_compute(filters=form.filters())
    speeds = metrics.speeds
    speed_rows = [
        {
            "key": key,
            "label": label,
            "current": speeds.current[key],
            "previous": speeds.previous[key],
            "change": _change(speeds.current[key].p50, speeds.previous[key].p50),
        }
        for key, label in SPEEDS.items()
    ]
    context = {
        "form": form,
        "metrics": metrics,
        "speed_rows": speed_rows,
        "figures": metrics_figures(metrics),
        "query": request.GET.urlencode(),
        "can_export": has_capability(request.user, Capability.MANAGE_REPORTS),
    }
    return render(request, "investigations/report_metrics.html", context)


@require_GET
@capability_required(Capability.MANAGE_REPORTS)
def report_export(request, dataset: str):
    """``/reports/export/<dataset>.csv?<filters>``: every row matching the filters, streamed."""
    spec = DATASETS.get(dataset)
    if spec is None:
        raise Http404("No such export.")
    form = spec.form(request.GET)
    if form.is_bound and not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in form.errors.items())
        return HttpResponse(f"Invalid filters: {errors}", status=400, content_type="text/plain; charset=utf-8")
    filters = form.filters()
    filename = f"airportal-{dataset}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    return csv_response(filename=filename, rows=spec.rows(filters), columns=spec.columns)
