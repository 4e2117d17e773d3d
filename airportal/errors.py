"""Domain errors raised by services; the API and views turn them into clear 4xx answers."""


class DomainError(Exception):
    """A request the domain refuses. The message is shown to the user as is."""

    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAllowed(DomainError):
    status_code = 403


class Conflict(DomainError):
    """The object is not in a state that allows this (e.g. approving a rejected action)."""

    status_code = 409


class NotFound(DomainError):
    status_code = 404
