"""Encryption at rest of the app registration's credential.

The Fernet key is derived (HKDF-SHA256) from ``M365_SECRET_KEY`` when set, else from Django's
``SECRET_KEY``; rotating that key makes the stored credential unreadable, and the Connectors page
then asks for it again.
"""

import base64
import os

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class CredentialUnreadable(Exception):
    """The stored credential was encrypted with another key."""


def _fernet() -> Fernet:
    secret = os.environ.get("M365_SECRET_KEY") or settings.SECRET_KEY
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"airportal m365 credential").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialUnreadable(
            "The stored Microsoft 365 credential cannot be decrypted (M365_SECRET_KEY or SECRET_KEY changed). "
            "Enter the client secret or certificate again on the Connectors page."
        )
