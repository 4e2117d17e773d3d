"""Reading event attributes the way detectors, baselines, back-tests and playbooks need them.

Adapters store source details in ``Event.attributes``; keys are compared without case,
underscores or dashes (``forward_to`` = ``ForwardTo``), so a detector reads Exchange's cmdlet
parameter names and our normalised names alike.
"""

from typing import Any

from alerts.models import Event


def key(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(".", "")


def normalised(mapping: Any) -> dict[str, Any]:
    """The mapping with comparable keys; anything that is not a mapping reads as empty."""
    if not isinstance(mapping, dict):
        return {}
    return {key(str(name)): value for name, value in mapping.items()}


def attr(event: Event, *names: str, default: Any = None) -> Any:
    """The first of ``names`` present (and not empty) in the event's attributes.

    The adapters' own snake_case keys are looked up as given; only when none is there are the
    keys compared loosely (once per event: the comparable copy is kept on the instance).
    """
    attributes = event.attributes if isinstance(event.attributes, dict) else {}
    for name in names:
        value = attributes.get(name)
        if value not in (None, "", [], {}):
            return value
    if any(name in attributes for name in names):  # the adapter's key is there, just empty
        return default
    loose = getattr(event, "_loose_attributes", None)
    if loose is None:
        loose = event._loose_attributes = normalised(attributes)
    for name in names:
        value = loose.get(key(name))
        if value not in (None, "", [], {}):
            return value
    return default


def truthy(value: Any) -> bool:
    """Exchange writes booleans as ``"True"``/``"False"`` strings; sources are not consistent."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "$true"}
    return bool(value)


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    return str(value)


def attribute_list(value: Any) -> list[str]:
    """A list of strings from an attribute that a source may give as a list, a string or ``a;b`` text."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.replace(",", ";").split(";") if part.strip()]
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    return [str(value)]
