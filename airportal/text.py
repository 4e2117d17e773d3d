"""Plain-words formatting shared by alert titles (detectors) and pages (template filters)."""


def short_list(names, shown: int = 3) -> str:
    """``a, b, c and 2 more``: the first ``shown`` names of a list, and how many are left out."""
    names = [str(name) for name in names or ()]
    text = ", ".join(names[:shown])
    return f"{text} and {len(names) - shown} more" if len(names) > shown else text
