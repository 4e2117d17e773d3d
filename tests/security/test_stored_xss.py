"""Stored XSS: payloads in every attacker-controlled field, through every adapter, detection and the
playbook, into alerts, findings, actions, the audit log and every page that shows them.

The server side is checked on every page (the payloads are escaped, no tag or handler of theirs
reaches the HTML, CSV cells are not formulas); Chromium then opens the pages and checks that
nothing ran: no dialog, no ``window.__xss_*`` marker, no CSP violation, no injected element.
"""

import csv
import io
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from airportal.services import portal_settings_update
from alerts.models import Alert, Event, Identity
from alerts.services import alert_set_status
from investigations.models import Action, Investigation
from investigations.services.actions import action_approve, action_reject
from investigations.services.investigations import investigation_terminate
from tests.pipeline import ingest_judged
from tests.security.xss_corpus import ATTACKER, PAYLOADS, UPN_PAYLOADS, VICTIM, xss_records

SOURCES = ("entra-signins", "o365-audit", "message-trace", "graph-alerts", "events")
MARKER = "__xss_"
REFUSALS = re.compile(r"Null characters are not allowed|no more than \d+ characters")


def xss_world_load(*, analyst, admin) -> dict:
    """Ingest the corpus through every adapter (detection and playbook inline), then decide on it."""
    portal_settings_update(actor=admin, accepted_domains=["contoso.com"])
    for source, records in xss_records(datetime.now(UTC)).items():
        result = ingest_judged(source=source, records=records)
        # Our own schema refuses NUL characters and over-long names with a clear reason; the
        # Microsoft adapters store what they are given, cleaned.
        refused = [item["error"] for item in result.rejected]
        assert all(REFUSALS.search(error) for error in refused) and len(refused) < 4, (source, refused)
    attacker = Identity.objects.get(upn=ATTACKER)
    victim = Identity.objects.get(upn=VICTIM)
    alerts = list(Alert.objects.filter(identity=attacker).order_by("id"))
    alert_set_status(alert=alerts[0], status=Alert.Status.IN_PROGRESS, actor=analyst, comment=PAYLOADS[0] + PAYLOADS[1])
    pending = list(Action.objects.filter(identity=attacker, status=Action.Status.PENDING_APPROVAL).order_by("id"))
    rule_actions = [action for action in pending if action.kind == Action.Kind.REMOVE_INBOX_RULE]
    action_reject(action_id=rule_actions[0].pk, user=analyst, comment=PAYLOADS[2])
    action_approve(action_id=rule_actions[1].pk, user=analyst, comment=PAYLOADS[3])
    closed = Investigation.objects.get(identity=victim)
    with transaction.atomic():
        investigation_terminate(investigation_id=closed.pk, user=analyst, reason=PAYLOADS[4])
    return {
        "attacker": attacker,
        "victim": victim,
        "alerts": list(Alert.objects.order_by("id")),
        "open": Investigation.objects.get(identity=attacker),
        "closed": Investigation.objects.get(pk=closed.pk),
        "rule_targets": [action.target for action in rule_actions],
    }


@pytest.fixture
def xss_world(transactional_db, analyst, admin_user):
    return xss_world_load(analyst=analyst, admin=admin_user)


def pages(world) -> list[str]:
    """Every page that shows the attacker's text (the analyst console, reports, audit, admin)."""
    attacker, opened, closed = world["attacker"], world["open"], world["closed"]
    urls = [
        reverse("dashboard"),
        reverse("alerts:alert_list"),
        reverse("alerts:alert_list") + "?status=",
        reverse("identity_timeline", args=[attacker.upn]) + "?days=30",
        reverse("identity_timeline", args=[world["victim"].upn]) + "?days=30",
        reverse("alerts:search") + "?q=" + "script",
        reverse("alerts:search") + "?q=" + attacker.upn,
        reverse("investigations:investigation_list"),
        reverse("investigations:action_center"),
        reverse("investigations:action_center") + "?tab=history",
        reverse("investigations:report_history"),
        reverse("investigations:report_record", args=[closed.pk]),
        reverse("investigations:report_print", args=[closed.pk]),
        reverse("investigations:report_metrics"),
        reverse("audit_list"),
        reverse("alerts:policy_list"),
        reverse("admin_users"),
    ]
    for upn in UPN_PAYLOADS:
        urls.append(reverse("identity_timeline", args=[upn.lower()]) + "?days=30")
    for investigation in (opened, closed):
        urls += [
            reverse("investigations:investigation_detail", args=[investigation.pk]) + f"?tab={tab}"
            for tab in ("findings", "alerts", "timeline", "actions", "log")
        ]
    urls += [reverse("alerts:alert_detail", args=[alert.pk]) for alert in world["alerts"]]
    return urls


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


URL_ATTRIBUTES = ("href", "src", "action", "formaction", "data", "xlink:href", "srcdoc", "hx-get", "hx-post")
# htmx attributes whose value htmx evaluates or parses as structure (a trigger filter ``[…]`` is
# JavaScript, ``js:`` values of hx-vals/hx-headers too); URLs and hx-confirm text are plain data.
HTMX_CODE_ATTRIBUTES = ("hx-vals", "hx-vars", "hx-headers", "hx-trigger", "hx-request", "hx-params", "hx-include")


def injected(html: str) -> list[str]:
    """What in ``html`` did not come from our templates: handlers, foreign tags, script URLs."""
    parser = _Tags()
    parser.feed(html)
    problems = []
    for tag, attrs in parser.tags:
        for name, value in attrs.items():
            value = value or ""
            if name.startswith("on") or name.startswith("hx-on"):
                problems.append(f"<{tag} {name}=…>")
            if name in URL_ATTRIBUTES and re.match(r"\s*(javascript|data|vbscript):", value, re.I):
                problems.append(f"<{tag} {name}={value[:60]!r}>")
            if name.removeprefix("data-") in HTMX_CODE_ATTRIBUTES and MARKER in value:
                problems.append(f"<{tag} {name}={value[:60]!r}>")
        if tag in ("iframe", "object", "embed", "base", "frame", "applet", "math") or (
            tag == "meta" and "http-equiv" in attrs
        ):
            problems.append(f"<{tag}>")
        if tag == "script" and not (
            attrs.get("src", "").startswith("/static/") or attrs.get("type") == "application/json"
        ):
            problems.append(f"<script {attrs}>")
    for text in parser.scripts:
        if MARKER in text and "<" in text.replace("\\u003C", ""):
            problems.append(f"raw markup in a script: {text[:80]!r}")
    return problems


def _pages_escaped(client, world) -> list[str]:
    raw = [text for text in PAYLOADS + UPN_PAYLOADS if "<" in text]
    failures = []
    for url in pages(world):
        response = client.get(url)
        if response.status_code != 200:
            failures.append(f"{url}: {response.status_code}")
            continue
        html = response.content.decode()
        failures += [f"{url}: unescaped {text[:60]!r}" for text in raw if text[:200] in html]
        failures += [f"{url}: {problem}" for problem in injected(html)]
    return failures


def _raw_records_escaped(client, world) -> list[str]:
    failures = []
    events = Event.objects.filter(identity=world["attacker"]).order_by("id")
    # Every payload in every field of two sources, and one record of each kind of the others.
    chosen = {event.pk: event for event in events if event.source in ("events", "entra-signins")}
    for event in events:
        chosen.setdefault((event.source, event.kind), event)
    for event in chosen.values():
        html = client.get(reverse("alerts:event_raw", args=[event.pk])).content.decode()
        failures += [f"event {event.pk} ({event.source}): {problem}" for problem in injected(html)]
        failures += [
            f"event {event.pk}: unescaped {text[:60]!r}" for text in PAYLOADS if "<" in text and text[:200] in html
        ]
    return failures


def _template_syntax_shown(client, world) -> list[str]:
    event = Event.objects.filter(identity=world["attacker"], source="events", subject__startswith="{{7*7}}").get()
    html = client.get(reverse("alerts:event_raw", args=[event.pk])).content.decode()
    return [] if "{{7*7}} {{ window.__xss_" in html else ["template syntax in data was not shown as it is"]


def _csv_cells_not_formulas(client, world) -> list[str]:
    failures = []
    exports = [
        reverse("investigations:action_history_csv"),
        reverse("audit_export"),
        reverse("investigations:investigation_log_csv", args=[world["open"].pk]),
        *[reverse("investigations:report_export", args=[name]) for name in ("alerts", "investigations", "actions")],
    ]
    for url in exports:
        response = client.get(url)
        if response.status_code != 200:
            failures.append(f"{url}: {response.status_code}")
            continue
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        cells = [cell for row in rows[1:] for cell in row]
        if not cells:
            failures.append(f"{url}: empty export")
        failures += [f"{url}: formula cell {cell[:40]!r}" for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")]
    return failures


def test_the_server_escapes_every_payload_on_every_page(xss_world, admin_user):
    assert len(PAYLOADS) >= 50
    for source in SOURCES:
        assert Event.objects.filter(source=source, identity=xss_world["attacker"]).exists(), source
    detectors = set(Alert.objects.filter(identity=xss_world["attacker"]).values_list("detector", flat=True))
    assert {"suspicious_inbox_rule", "external_forwarding", "external_alert", "suspicious_signin"} <= detectors
    # Rule names are action targets: the playbook proposes removing the rules it found, by name.
    assert set(xss_world["rule_targets"]) & set(PAYLOADS)
    assert xss_world["open"].findings.exists()
    assert xss_world["closed"].status == Investigation.Status.TERMINATED
    for upn in UPN_PAYLOADS:
        assert Identity.objects.filter(upn=upn.lower()).exists()

    client = Client()
    client.force_login(admin_user)
    failures = (
        _pages_escaped(client, xss_world)
        + _raw_records_escaped(client, xss_world)
        + _template_syntax_shown(client, xss_world)
        + _csv_cells_not_formulas(client, xss_world)
    )
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:60])


# --- In the browser -------------------------------------------------------------------------------

DOM_PROBLEMS = """() => {
  const problems = [];
  const urlAttributes = ['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'srcdoc'];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (['iframe', 'object', 'embed', 'base', 'frame'].includes(tag)) problems.push('<' + tag + '>');
    if (tag === 'meta' && el.hasAttribute('http-equiv')) problems.push('<meta http-equiv>');
    if (tag === 'script' && !(el.getAttribute('src') || '').startsWith('/static/')
        && el.getAttribute('type') !== 'application/json') problems.push('<script> ' + el.outerHTML.slice(0, 80));
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on') || name.startsWith('hx-on') || name.startsWith('data-hx-on')) {
        problems.push('<' + tag + ' ' + name + '>');
      }
      if (urlAttributes.includes(name) && /^\\s*(javascript|vbscript|data:text)/i.test(attr.value)) {
        problems.push('<' + tag + ' ' + name + '=' + attr.value.slice(0, 60) + '>');
      }
    }
  }
  const markers = Object.keys(window).filter(key => key.startsWith('__xss_'));
  return problems.concat(markers.map(key => 'marker set: ' + key));
}"""


class XssWatch:
    """Dialogs, markers, injected elements and CSP violations of every page opened."""

    def __init__(self, page):
        self.page = page
        self.dialogs: list[str] = []
        page.page.on("dialog", self._dialog)
        self.seen: list[str] = []

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open(self, path: str, then=None):
        response = self.page.goto(path)
        assert response.status == 200, f"{path}: {response.status}"
        self.page.page.wait_for_load_state("networkidle")
        if then is not None:
            then(self.page.page)
            self.page.page.wait_for_load_state("networkidle")
        self.check(path)

    def check(self, where: str):
        problems = self.page.page.evaluate(DOM_PROBLEMS)
        assert not problems, f"{where}: {problems[:10]}"
        assert not self.dialogs, f"{where}: dialogs {self.dialogs}"
        self.page.assert_clean()
        self.seen.append(where)


def expand_events(page, limit: int = 12):
    """Open the first events of a timeline: each loads its raw record (htmx)."""
    summaries = page.locator("details.ev > summary")
    for index in range(min(limit, summaries.count())):
        summaries.nth(index).click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".raw-json").count() >= min(limit, summaries.count())


def hover_charts(page):
    """Hover each drawn chart's points so plotly renders its hover labels (city names, titles)."""
    page.wait_for_function(
        "document.querySelectorAll('[data-plotly]').length === document.querySelectorAll('.js-plotly-plot').length"
    )
    charts = page.locator(".js-plotly-plot")
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        if box is None:  # not displayed (e.g. a collapsed panel)
            continue
        for fx in (0.25, 0.5, 0.75):
            for fy in (0.35, 0.65):
                page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


@pytest.mark.e2e
@pytest.mark.slow
def test_no_payload_runs_in_the_browser(page, xss_world, admin_user):
    world = xss_world
    watch = XssWatch(page)
    page.sign_in(admin_user.username)
    watch.check("dashboard")
    watch.open(reverse("alerts:alert_list") + "?status=")
    one_per_detector = {alert.detector: alert for alert in world["alerts"] if alert.identity_id == world["attacker"].pk}
    for alert in one_per_detector.values():
        watch.open(reverse("alerts:alert_detail", args=[alert.pk]))
    timeline = reverse("identity_timeline", args=[world["attacker"].upn]) + "?days=30"
    watch.open(timeline, then=lambda p: (hover_charts(p), expand_events(p)))
    watch.open(reverse("identity_timeline", args=[UPN_PAYLOADS[1].lower()]) + "?days=30")
    watch.open(reverse("alerts:search") + "?q=script", then=expand_events)
    for tab in ("findings", "alerts", "timeline", "actions", "log"):
        watch.open(reverse("investigations:investigation_detail", args=[world["open"].pk]) + f"?tab={tab}")
    watch.open(reverse("investigations:action_center"))
    watch.open(reverse("investigations:action_center") + "?tab=history")
    watch.open(reverse("investigations:report_history"))
    watch.open(reverse("investigations:report_record", args=[world["closed"].pk]))
    watch.open(reverse("investigations:report_print", args=[world["closed"].pk]))
    watch.open(reverse("investigations:report_metrics"), then=hover_charts)
    watch.open(reverse("audit_list"))
    watch.open(reverse("alerts:policy_list"))
    page.screenshot("security-xss-timeline")
    assert len(watch.seen) >= 20
