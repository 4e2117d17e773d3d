from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from airportal.errors import DomainError


def exception_handler(exc, context):
    """Domain errors become 4xx answers ``{"detail": message}``; the rest is DRF's default."""
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message}, status=exc.status_code)
    return drf_exception_handler(exc, context)
