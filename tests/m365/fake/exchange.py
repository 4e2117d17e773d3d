"""The Exchange Online admin API's InvokeCommand endpoint, for the cmdlets the connector runs.

``Get-InboxRule`` leaves hidden rules out unless ``IncludeHidden`` is set, as Exchange does.
A write named in ``fake.ignored_writes`` answers as if it worked and changes nothing.
"""

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
    if not name.startswith("Get-") and fake.ignores("exchange", name):
        return _values([])
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
    if "GrantSendOnBehalfTo" in params:
        change = params["GrantSendOnBehalfTo"]
        current = mailbox.setdefault("GrantSendOnBehalfTo", [])
        if not isinstance(change, dict):  # a plain value replaces the list
            mailbox["GrantSendOnBehalfTo"] = list(change or [])
        else:
            removed = {str(v).lower() for v in _as_list(change.get("remove") or change.get("Remove"))}
            added = _as_list(change.get("add") or change.get("Add"))
            current[:] = [d for d in current if d.lower() not in removed] + [a for a in added if a not in current]
    return _values([])


def _as_list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


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


# --- inbox rules -------------------------------------------------------------------------------------

RULE_SETTINGS = ("ForwardTo", "ForwardAsAttachmentTo", "RedirectTo", "MoveToFolder", "DeleteMessage",
                 "SoftDeleteMessage", "MarkAsRead", "StopProcessingRules", "SubjectContainsWords",
                 "SubjectOrBodyContainsWords", "BodyContainsWords", "From", "FromAddressContainsWords")  # fmt: skip


def get_inbox_rule(fake, params):
    mailbox = _mailbox(fake, params.get("Mailbox", ""))
    if mailbox is None:
        return _not_found(params.get("Mailbox", ""))
    rules = fake.rules.get(mailbox["UserPrincipalName"].lower(), {}).values()
    shown = [
        {k: v for k, v in rule.items() if k != "hidden"}
        for rule in rules
        if params.get("IncludeHidden") or not rule.get("hidden")
    ]
    return _values(sorted(shown, key=lambda r: r["Priority"]))


def remove_inbox_rule(fake, params):
    identity = str(params.get("Identity", ""))
    for rules in fake.rules.values():
        for key, rule in list(rules.items()):
            if identity in (rule["Identity"], rule["RuleIdentity"]):
                del rules[key]
                return _values([])
    return _not_found(identity)


def new_inbox_rule(fake, params):
    mailbox = _mailbox(fake, params.get("Mailbox", ""))
    if mailbox is None:
        return _not_found(params.get("Mailbox", ""))
    upn = mailbox["UserPrincipalName"]
    if any(r["Name"] == params["Name"] for r in fake.rules.get(upn.lower(), {}).values()):
        return _cmdlet_error(
            "Microsoft.Exchange.Data.Storage.RuleNameAlreadyExistsException",  # what Exchange says, roughly
            f"An Inbox rule with the name {params['Name']} already exists.",
        )
    rule = fake.add_rule(upn, params["Name"], **{k: params[k] for k in RULE_SETTINGS if k in params})
    return _values([{k: v for k, v in rule.items() if k != "hidden"}])


# --- folder permissions ------------------------------------------------------------------------------


def _folder_rows(fake, identity: str, user: str | None) -> list[dict]:
    return [
        row
        for row in fake.folder_permissions
        if row["Identity"].lower() == identity.lower() and (user is None or row["User"].lower() == user.lower())
    ]


def get_mailbox_folder_permission(fake, params):
    identity = str(params.get("Identity", ""))
    if _mailbox(fake, identity.split(":")[0]) is None:
        return _not_found(identity)
    return _values(_folder_rows(fake, identity, params.get("User")))


def remove_mailbox_folder_permission(fake, params):
    rows = _folder_rows(fake, str(params["Identity"]), str(params["User"]))
    if not rows:
        return _cmdlet_error(
            "Microsoft.Exchange.Management.StoreTasks.UserNotFoundInPermissionEntryException",
            f"There is no existing permission entry found for user: {params['User']}.",
        )
    for row in rows:
        fake.folder_permissions.remove(row)
    return _values([])


def add_mailbox_folder_permission(fake, params):
    if _folder_rows(fake, str(params["Identity"]), str(params["User"])):
        return _cmdlet_error(
            "Microsoft.Exchange.Management.StoreTasks.UserAlreadyExistsInPermissionEntryException",
            f"An existing permission entry was found for user: {params['User']}.",
        )
    row = {"Identity": params["Identity"], "FolderName": "Inbox", "User": params["User"],
           "AccessRights": list(params["AccessRights"])}  # fmt: skip
    fake.folder_permissions.append(row)
    return _values([row])


# --- mobile devices ----------------------------------------------------------------------------------


def get_mobile_device(fake, params):
    mailbox = _mailbox(fake, params.get("Mailbox", ""))
    if mailbox is None:
        return _not_found(params.get("Mailbox", ""))
    upn = mailbox["UserPrincipalName"].lower()
    return _values([{k: v for k, v in d.items() if k != "mailbox"} for d in fake.mobile_devices if d["mailbox"] == upn])


def remove_mobile_device(fake, params):
    device = next((d for d in fake.mobile_devices if d["Identity"] == params.get("Identity")), None)
    if device is None:
        return _not_found(params.get("Identity", ""))
    fake.mobile_devices.remove(device)
    return _values([])


CMDLETS = {
    "Get-InboxRule": get_inbox_rule,
    "Remove-InboxRule": remove_inbox_rule,
    "New-InboxRule": new_inbox_rule,
    "Get-MailboxFolderPermission": get_mailbox_folder_permission,
    "Remove-MailboxFolderPermission": remove_mailbox_folder_permission,
    "Add-MailboxFolderPermission": add_mailbox_folder_permission,
    "Get-MobileDevice": get_mobile_device,
    "Remove-MobileDevice": remove_mobile_device,
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
