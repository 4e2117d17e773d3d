"""Search across events: an IP, an address, a subject, a rule name or a UPN."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from airportal.errors import DomainError
from airportal.htmx import render_page, wants_partial
from airportal.roles import Capability, capability_required
from alerts.forms.search import SearchForm
from alerts.selectors.search import search_events, search_identity_counts, search_resolve
from alerts.selectors.timeline import evidence_event_ids

PAGE_SIZE = 50


@require_GET
@capability_required(Capability.VIEW)
def search(request):
    """Events matching an IP, address, subject, rule name or UPN, and how many per identity."""
    form = SearchForm(request.GET or None)
    context = {"form": form, "q": "", "error": "", "page": None}
    if form.is_valid() and form.cleaned_data["q"]:
        context["q"] = form.cleaned_data["q"]
        try:
            parsed = search_resolve(context["q"])
        except DomainError as error:
            context["error"] = error.message
        else:
            page = search_events(search=parsed, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
            context.update(search=parsed, page=page, evidence_ids=evidence_event_ids([e.id for e in page]))
            if wants_partial(request) and request.htmx.target == "search-more":
                return render(request, "alerts/search.html#event-rows", context)
            identities, total, capped = search_identity_counts(search=parsed)
            context.update(identities=identities, total=total, capped=capped)
    return render_page(request, "alerts/search.html", context, partial="results")
