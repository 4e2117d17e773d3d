"""View shortcuts every app shares: a selector's ``NotFound`` answered as a 404 page."""

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


def form_errors_text(form) -> str:
    """A bound form's errors as one sentence (for a toast or an inline refusal)."""
    return " ".join(error for errors in form.errors.values() for error in errors)
