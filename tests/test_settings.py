import logging

import pytest

from elevenlabs_agent.settings import parse_feature_flag


@pytest.mark.parametrize("raw", ["true", "TRUE", "1", "yes", "Yes", "on", "ON", " true "])
def test_feature_flag_on_values(raw):
    assert parse_feature_flag(raw) is True


@pytest.mark.parametrize("raw", ["false", "False", "0", "no", "NO", "off", "", None])
def test_feature_flag_off_values(raw):
    assert parse_feature_flag(raw) is False


@pytest.mark.parametrize("raw", ["enabled", "2", "truthy", "y"])
def test_feature_flag_unknown_values_are_off_with_a_warning(raw, caplog):
    with caplog.at_level(logging.WARNING):
        assert parse_feature_flag(raw) is False
    assert "ELEVENLABS_AGENT_ENABLED" in caplog.text
