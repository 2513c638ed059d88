"""Timestamps as JavaScript's toISOString() writes them: UTC, milliseconds, `Z`."""

from datetime import UTC, datetime


def to_js_iso(moment: datetime) -> str:
    """Format an aware (or UTC-naive) datetime as `2026-11-23T12:00:00.000Z`."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def from_epoch_ms(epoch_ms: int) -> str:
    """Format milliseconds since the epoch (Redis TIME, sorted-set scores)."""
    return to_js_iso(datetime.fromtimestamp(epoch_ms / 1000, tz=UTC))


def now_js_iso() -> str:
    """The current time in the contract's format."""
    return to_js_iso(datetime.now(tz=UTC))
