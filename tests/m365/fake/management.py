"""The Office 365 Management Activity API: subscriptions, content listing with NextPageUri, blobs."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from tests.m365.fake.server import Request, Response, error, too_many_requests

CONTENT_TYPES = {"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All"}


def _time(value: str) -> datetime:
    for layout in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(value)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def family_of(request: Request) -> str:
    return "audit"


def throttled(fake, request: Request, retry_after: float | None) -> Response:
    """The Management Activity API's throttling answer: 429 with error code AF429, naming the method
    and the publisher whose quota is spent."""
    method = "GetBlob" if "/audit/" in request.path else "ListContent"
    publisher = request.query.get("PublisherIdentifier", "00000000-0000-0000-0000-000000000000")
    return too_many_requests("AF429", f"Too many requests. Method={method}, PublisherId={publisher}", retry_after)


def handle(fake, request: Request, roles: set[str]) -> Response:
    if "ActivityFeed.Read" not in roles:
        return error(
            401,
            "AF10001",
            f"The permission set ({' '.join(sorted(roles))}) sent in the request did not include the expected "
            "permission ActivityFeed.Read.",
        )
    prefix = f"/api/v1.0/{fake.tenant_id}/activity/feed/"
    if not request.path.startswith(prefix):
        return error(
            400, "AF20010", "The tenant ID passed in the URL does not match the tenant ID in the access token."
        )
    operation = request.path.removeprefix(prefix)
    if operation == "subscriptions/list" and request.method == "GET":
        return Response(
            200, [{"contentType": c, "status": "enabled", "webhook": None} for c in sorted(fake.subscriptions)]
        )
    if operation == "subscriptions/start" and request.method == "POST":
        content_type = request.query.get("contentType", "")
        if content_type not in CONTENT_TYPES:
            return error(400, "AF20020", "The specified content type is not valid.")
        fake.subscriptions.add(content_type)
        return Response(200, {"contentType": content_type, "status": "enabled", "webhook": None})
    if operation == "subscriptions/content" and request.method == "GET":
        return _list_content(fake, request)
    if operation.startswith("audit/") and request.method == "GET":
        content_id = operation.removeprefix("audit/")
        blob = next((b for b in fake.blobs if b.content_id == content_id), None)
        if blob is None:
            return error(404, "AF20050", f"The specified content ({content_id}) does not exist.")
        if blob.expired:
            return error(
                400,
                "AF20051",
                f"Content requested with the key {content_id} has already expired. "
                "Content older than 7 days cannot be retrieved.",
            )
        return Response(200, blob.records)
    return error(404, "AF20050", f"The specified content ({operation}) does not exist.")


def _list_content(fake, request: Request) -> Response:
    query = request.query
    content_type = query.get("contentType", "")
    if content_type not in fake.subscriptions:
        return error(400, "AF20022", "No subscription found for the specified content type.")
    now = fake.clock()
    if ("startTime" in query) != ("endTime" in query):
        return error(400, "AF20030", "Start time and end time must both be specified (or both omitted).")
    start = _time(query["startTime"]) if "startTime" in query else now - timedelta(hours=24)
    end = _time(query["endTime"]) if "endTime" in query else now
    if end - start > timedelta(hours=24) or start < now - timedelta(days=7):
        return error(
            400,
            "AF20030",
            "Start time and end time must both be specified (or both omitted) and must be less than or equal to "
            "24 hours apart, with the start time no more than 7 days in the past.",
        )
    listed = sorted(
        (b for b in fake.blobs if b.content_type == content_type and start <= b.created < end), key=lambda b: b.created
    )
    offset = int(query.get("nextPage", 0))
    page = listed[offset : offset + fake.page_size]
    base = f"{fake.url('manage')}/api/v1.0/{fake.tenant_id}/activity/feed"
    body = [
        {
            "contentType": blob.content_type,
            "contentId": blob.content_id,
            "contentUri": f"{base}/audit/{blob.content_id}",
            "contentCreated": _iso(blob.created),
            "contentExpiration": _iso(blob.created + timedelta(days=7)),
        }
        for blob in page
    ]
    headers = {}
    if offset + fake.page_size < len(listed):
        following = {k: v for k, v in query.items() if k not in ("nextPage", "PublisherIdentifier")}
        headers["NextPageUri"] = (
            f"{base}/subscriptions/content?{urlencode({**following, 'nextPage': offset + fake.page_size})}"
        )
    return Response(200, body, headers)
