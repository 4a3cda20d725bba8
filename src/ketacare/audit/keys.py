"""The audit key: an HMAC key kept outside the database that keys the audit chain, its anchors
and the signatures of candidacy decisions and treatment sessions.

Someone who can write to the database but does not hold the key cannot re-hash a rewritten
trail or re-sign an altered record so that it verifies. Where the key comes from:

- KETACARE_AUDIT_KEY: the key itself (at least 32 characters), e.g. from a secrets manager; or
- KETACARE_AUDIT_KEY_FILE: a file holding it, readable by the app's user only, on a volume the
  database server cannot read (e.g. /etc/ketacare/audit.key).
- Neither (a demo or a development set-up): a key made once in var/audit_key. In production
  (KETACARE_HTTPS on) KetaCare refuses to start without one of the two above (`ketacare check
  --deploy` names the problem): a key next to the database protects nothing.

Keep a copy of the key with the backups' keys but apart from the backups: without it a restored
trail can still be read but no longer verified.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ketacare.keyfiles import read_or_create

MIN_KEY_CHARS = 32


def key_configured() -> bool:
    """True when the key comes from the environment or a named file (not the generated demo one)."""
    return bool(settings.AUDIT_KEY or settings.AUDIT_KEY_FILE)


@lru_cache(maxsize=4)
def _load(inline: str, file: str, fallback: str) -> bytes:
    if inline:
        text = inline
    elif file:
        try:
            text = Path(file).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"KETACARE_AUDIT_KEY_FILE {file}: cannot read the audit key ({exc})."
            ) from exc
    else:
        text = read_or_create(Path(fallback), lambda: secrets.token_hex(32))
    if len(text) < MIN_KEY_CHARS:
        raise ImproperlyConfigured(f"The audit key must be at least {MIN_KEY_CHARS} characters long.")
    return text.encode()


def audit_key() -> bytes:
    if settings.HTTPS and not key_configured():
        raise ImproperlyConfigured(
            "Production needs KETACARE_AUDIT_KEY or KETACARE_AUDIT_KEY_FILE: "
            "no audit key is made next to the database."
        )
    return _load(settings.AUDIT_KEY, settings.AUDIT_KEY_FILE, str(settings.VAR_DIR / "audit_key"))


def key_id() -> str:
    """A short public name of the key (stored with each event; it does not reveal the key)."""
    return hashlib.sha256(b"ketacare audit key id\n" + audit_key()).hexdigest()[:16]


def sign(data: bytes) -> str:
    """HMAC-SHA256 of `data` under the audit key, as 64 hex digits."""
    return hmac.new(audit_key(), data, hashlib.sha256).hexdigest()


def matches(data: bytes, signature: str) -> bool:
    """Whether `signature` is the HMAC of `data`; any other text (altered, not ASCII) is not."""
    return hmac.compare_digest(sign(data).encode(), str(signature).encode())
