from datetime import datetime, timedelta, timezone

from elevenlabs_agent.timestamps import from_epoch_ms, to_js_iso


def test_timestamps_are_written_as_javascript_does():
    assert from_epoch_ms(1795953600000) == "2026-11-29T12:00:00.000Z"
    assert from_epoch_ms(1795953600123) == "2026-11-29T12:00:00.123Z"


def test_timestamps_convert_other_zones_to_utc():
    moment = datetime(2026, 11, 23, 13, 0, 0, 456789, tzinfo=timezone(timedelta(hours=1)))
    assert to_js_iso(moment) == "2026-11-23T12:00:00.456Z"
