"""The Exchange Online admin API's InvokeCommand endpoint, for the cmdlets the connector runs."""

from tests.m365.fake.server import Request, Response, error

SYSTEM_ANCHOR = "UPN:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@"


def _cmdlet_error(exception: str, message: str, status: int = 400) -> Response:
    return Response(
        status,
        {
            "error": {
                "code": "InternalServerError" if status >= 500 else "BadRequest",
                "message": "Error executing cmdlet",
                "details": [{"code": "Client", "target": "", "message": f"Ex6F9304|{exception}|{message}"}],
            }
        },
    )


def _not_found(identity: str) -> Response:
    return _cmdlet_error(
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        f"The operation couldn't be performed because object '{identity}' couldn't be found on "
        "'EXHV-1.PROD.OUTLOOK.COM'.",
    )


def _values(rows: list[dict]) -> Response:
    return Response(
        200,
        {
            "@odata.context": "https://outlook.office365.com/adminapi/beta/$metadata#Collection(Exchange.GenericHashTable)",
            "value": rows,
        },  # fmt: skip
    )


def handle(fake, request: Request, roles: set[str]) -> Response:
    if request.path != f"/adminapi/beta/{fake.tenant_id}/InvokeCommand" or request.method != "POST":
        return error(404, "NotFound", "The requested resource does not exist.")
    if "Exchange.ManageAsApp" not in roles:
        return error(401, "Unauthorized", "The role assigned to application isn't supported in this scenario.")
    if not fake.exchange_role_assigned:
        return error(403, "Forbidden", "The user is not authorized to run this cmdlet: no Exchange management role.")
    if not request.headers.get("x-anchormailbox", "").startswith("UPN:"):
        return error(400, "BadRequest", "The X-AnchorMailbox header is required.")
    cmdlet = request.json()["CmdletInput"]
    name, params = cmdlet["CmdletName"], cmdlet.get("Parameters") or {}
    handler = CMDLETS.get(name)
    if handler is None:
        return _cmdlet_error(
            "System.Management.Automation.CommandNotFoundException", f"The term '{name}' is not recognized."
        )
    return handler(fake, params)


def _mailbox(fake, identity):
    return fake.mailboxes.get(str(identity).lower())


def get_mailbox(fake, params):
    if "Identity" not in params:
        return _values(list(fake.mailboxes.values())[: int(params.get("ResultSize", 1000))])
    mailbox = _mailbox(fake, params["Identity"])
    return _values([mailbox]) if mailbox else _not_found(params["Identity"])


def set_mailbox(fake, params):
    mailbox = _mailbox(fake, params.get("Identity", ""))
    if mailbox is None:
        return _not_found(params.get("Identity", ""))
    for key in ("ForwardingSmtpAddress", "ForwardingAddress", "DeliverToMailboxAndForward"):
        if key in params:
            mailbox[key] = params[key]
    return _values([])


def _permission_rows(rows, identity, key, who):
    return [
        r for r in rows if r["Identity"].lower() == identity.lower() and (who is None or r[key].lower() == who.lower())
    ]


def get_mailbox_permission(fake, params):
    if _mailbox(fake, params["Identity"]) is None:
        return _not_found(params["Identity"])
    return _values(_permission_rows(fake.mailbox_permissions, params["Identity"], "User", params.get("User")))


def remove_mailbox_permission(fake, params):
    rows = _permission_rows(fake.mailbox_permissions, params["Identity"], "User", params["User"])
    rights = set(params.get("AccessRights") or [])
    matching = [r for r in rows if rights & set(r["AccessRights"])]
    if not matching:
        return _cmdlet_error(
            "Microsoft.Exchange.Management.RecipientTasks.InvalidOperationException",
            f"Can't remove the access control entry on the object '{params['Identity']}' for account "
            f"'{params['User']}' because the ACE doesn't exist on the object.",
        )
    for row in matching:
        fake.mailbox_permissions.remove(row)
    return _values([])


def add_mailbox_permission(fake, params):
    if _mailbox(fake, params["Identity"]) is None:
        return _not_found(params["Identity"])
    row = {"Identity": params["Identity"], "User": params["User"], "AccessRights": list(params["AccessRights"]),
           "InheritanceType": params.get("InheritanceType", "All"), "IsInherited": False, "Deny": False}  # fmt: skip
    fake.mailbox_permissions.append(row)
    return _values([row])


def get_recipient_permission(fake, params):
    if _mailbox(fake, params["Identity"]) is None:
        return _not_found(params["Identity"])
    return _values(_permission_rows(fake.recipient_permissions, params["Identity"], "Trustee", params.get("Trustee")))


def remove_recipient_permission(fake, params):
    rows = _permission_rows(fake.recipient_permissions, params["Identity"], "Trustee", params["Trustee"])
    if not rows:
        return _cmdlet_error(
            "Microsoft.Exchange.Management.RecipientTasks.InvalidOperationException",
            f"The ACE for trustee '{params['Trustee']}' doesn't exist on '{params['Identity']}'.",
        )
    for row in rows:
        fake.recipient_permissions.remove(row)
    return _values([])


def add_recipient_permission(fake, params):
    row = {"Identity": params["Identity"], "Trustee": params["Trustee"], "AccessRights": list(params["AccessRights"]),
           "AccessControlType": "Allow", "IsInherited": False}  # fmt: skip
    fake.recipient_permissions.append(row)
    return _values([row])


def get_transport_rule(fake, params):
    rule = fake.transport_rules.get(params["Identity"])
    return _values([rule]) if rule else _not_found(params["Identity"])


def new_transport_rule(fake, params):
    if params["Name"] in fake.transport_rules:
        return _cmdlet_error(
            "Microsoft.Exchange.Management.Tasks.ManagementObjectAlreadyExistsException",
            f"A transport rule with the name '{params['Name']}' already exists.",
        )
    fake.transport_rules[params["Name"]] = {"Identity": params["Name"], "State": "Enabled", "Mode": "Enforce", **params}
    return _values([fake.transport_rules[params["Name"]]])


def remove_transport_rule(fake, params):
    if fake.transport_rules.pop(params["Identity"], None) is None:
        return _not_found(params["Identity"])
    return _values([])


CMDLETS = {
    "Get-Mailbox": get_mailbox,
    "Set-Mailbox": set_mailbox,
    "Get-MailboxPermission": get_mailbox_permission,
    "Remove-MailboxPermission": remove_mailbox_permission,
    "Add-MailboxPermission": add_mailbox_permission,
    "Get-RecipientPermission": get_recipient_permission,
    "Remove-RecipientPermission": remove_recipient_permission,
    "Add-RecipientPermission": add_recipient_permission,
    "Get-TransportRule": get_transport_rule,
    "New-TransportRule": new_transport_rule,
    "Remove-TransportRule": remove_transport_rule,
}
