"""What several alerts pages need: the selectors' ``NotFound`` answered as a 404 page."""

from collections.abc import Callable
from typing import TypeVar

from django.http import Http404

from airportal.errors import NotFound

T = TypeVar("T")


def get_or_404(read: Callable[..., T], **kwargs) -> T:
    """The row ``read(**kwargs)`` fetches, or a 404 that carries the selector's message."""
    try:
        return read(**kwargs)
    except NotFound as error:
        raise Http404(error.message) from None
