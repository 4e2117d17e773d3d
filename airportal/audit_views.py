"""The audit log page: filterable, keyset-paginated, exportable as CSV.

Reading it needs ``READ_REPORTS`` (analysts too: who decided what is no secret inside the SOC);
the CSV export needs ``MANAGE_REPORTS`` like every bulk export.
"""

import json

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from airportal.audit import audit_entries
from airportal.exports import Column, csv_response
from airportal.forms import AuditFilterForm
from airportal.htmx import render_page
from airportal.keyset import SortKey, keyset_page
from airportal.roles import Capability, capability_required, has_capability

PAGE_SIZE = 100
AUDIT_COLUMNS = [
    Column("id", lambda e: e.pk),
    Column("occurred_at", lambda e: e.occurred_at),
    Column("actor", lambda e: e.actor_label),
    Column("verb", lambda e: e.verb),
    Column("object_type", lambda e: e.object_type),
    Column("object_id", lambda e: e.object_id),
    Column("object", lambda e: e.object_repr),
    Column("summary", lambda e: e.summary),
    Column("changes", lambda e: json.dumps(e.changes, sort_keys=True, default=str) if e.changes else ""),
    Column("ip", lambda e: e.ip),
]


@require_GET
@capability_required(Capability.READ_REPORTS)
def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    page = keyset_page(
        audit_entries(**form.filters()), keys=[SortKey("id")], cursor=request.GET.get("cursor"), limit=PAGE_SIZE
    )
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "can_export": has_capability(request.user, Capability.MANAGE_REPORTS),
    }
    return render_page(request, "airportal/audit_list.html", context, partial="audit-table")


@require_GET
@capability_required(Capability.MANAGE_REPORTS)
def audit_export(request):
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return HttpResponse(f"Invalid filters: {form.errors.as_text()}", status=400, content_type="text/plain")
    rows = audit_entries(**form.filters()).order_by("-id").iterator(chunk_size=2000)
    return csv_response(filename="airportal-audit-log.csv", rows=rows, columns=AUDIT_COLUMNS)
