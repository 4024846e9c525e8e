"""Proto3 JSON values the SDK reads and writes: timestamps, 64-bit integers, enum names."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):(\d\d))$"
)


def parse_time(value: Any) -> Optional[datetime]:
    """A google.protobuf.Timestamp (RFC 3339, up to nanoseconds) as an aware UTC datetime.

    ``datetime.fromisoformat`` of Python 3.9 takes neither ``Z`` nor nine fraction digits.
    """
    if not isinstance(value, str) or not value:
        return None
    match = _RFC3339.match(value)
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = (match.group(7) or "0")[:6].ljust(6, "0")
    result = datetime(year, month, day, hour, minute, second, int(fraction), tzinfo=timezone.utc)
    if match.group(9):
        offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        result -= offset if match.group(9) == "+" else -offset
    return result


def format_time(value: datetime) -> str:
    """A datetime as a Timestamp; a naive one is taken as local time, as ``datetime.timestamp`` does."""
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}Z"


def int64(value: Any, default: int = 0) -> int:
    """A 64-bit integer field: proto3 JSON writes it as a string."""
    return default if value is None else int(value)


def enum_name(value: Any, prefix: str) -> str:
    """``FAILURE_POLICY_AUTO_RECREATE`` with prefix ``FAILURE_POLICY_`` is ``AUTO_RECREATE``."""
    text = str(value or "")
    return text[len(prefix) :] if text.startswith(prefix) else text
