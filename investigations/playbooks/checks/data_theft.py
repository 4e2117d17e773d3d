"""What the intruder could read or take: bulk mail access, mass downloads, searches and exports.

After a takeover, attackers sync the mailbox (``MailItemsAccessed`` by the thousand, often
throttled), pull SharePoint / OneDrive files with tools such as rclone, and run compliance
searches or mailbox exports that reach every mailbox. Any of these after the anomalous sign-in
is something the user does not do; before it, or without one, it is noted as suspicious.
"""

from alerts.models import Event
from investigations.models import Finding
from investigations.playbooks.context import CheckResult, PlaybookContext, check
from investigations.playbooks.text import plural, when

V = Finding.Verdict
K = Event.Kind
BULK_MAIL_ITEMS = 1000  # mail items read in the window that make a bulk read
MASS_DOWNLOADS = 100  # files downloaded or synced in the window
DOWNLOADS = {"filedownloaded", "filesyncdownloadedfull"}
EXPORTS = {
    "new-compliancesearch",
    "new-compliancesearchaction",
    "new-mailboxexportrequest",
    "searchexportdownloaded",
    "anonymouslinkcreated",
}


@check("data_theft", "Mail and files read or taken in bulk")
def data_theft(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    since = ctx.suspicious_since if ctx.risky_signins else None
    accessed = ctx.of_kind(K.MAIL_ITEMS_ACCESSED)
    items = sum(int(e.fact("item_count") or 1) for e in accessed)
    throttled = any(e.fact("is_throttled") is True for e in accessed)
    others = ctx.of_kind(K.OTHER)
    downloads = [e for e in others if (e.operation or "").lower() in DOWNLOADS]
    exports = [e for e in others if (e.operation or "").lower() in EXPORTS]
    signs = []
    if items >= BULK_MAIL_ITEMS or throttled:
        signs.append(f"read {items:,} mail items" + (" until Exchange throttled it" if throttled else ""))
    if len(downloads) >= MASS_DOWNLOADS:
        signs.append(f"downloaded {plural(len(downloads), 'file')}")
    if exports:
        names = sorted({e.operation for e in exports})
        signs.append(f"ran {', '.join(names)}")
    if not signs:
        result.explanation = (
            f"{items:,} mail items read, {plural(len(downloads), 'file')} downloaded, no search or export: "
            "nothing in bulk."
        )
        return result
    evidence = [*accessed, *downloads, *exports]
    after = [e for e in evidence if since is not None and e.occurred_at >= since]
    result.verdict = V.MALICIOUS if after else V.SUSPICIOUS
    result.weight = 40
    result.events = sorted(after or evidence, key=lambda e: e.occurred_at)[:50]
    result.headline = " and ".join(signs)
    result.explanation = (
        f"This account {', '.join(signs)}"
        + (f", starting {when(after[0].occurred_at)}, after the anomalous sign-in." if after else ".")
        + " Treat what it could read as exposed."
    )
    result.data = {
        "mail_items": items,
        "throttled": throttled,
        "downloads": len(downloads),
        "exports": sorted({e.operation for e in exports}),
        "ips": sorted({e.ip for e in after if e.ip}),
    }
    return result


CHECKS = [data_theft]
