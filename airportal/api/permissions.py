from rest_framework.permissions import BasePermission

from airportal.roles import Capability, has_capability


class DenyAll(BasePermission):
    """The default: an endpoint that does not name its capability answers to nobody."""

    def has_permission(self, request, view):
        return False


def capability(cap: Capability) -> type[BasePermission]:
    """A DRF permission class granting access to users whose role has ``cap``."""

    class HasCapability(BasePermission):
        message = f"Your role does not allow this ({cap.label.lower()})."

        def has_permission(self, request, view):
            return has_capability(request.user, cap)

    HasCapability.__name__ = f"Has{cap.name.title().replace('_', '')}"
    return HasCapability
