"""What the tool-call tests share: a fake cursor-runner, and the service configured for it."""

import pytest

from tests.fake_http import FakeHTTP

SECRET = "webhook-secret-1"
RUNNER_SECRET = "runner-secret-1"


@pytest.fixture
def runner(settings, redis_db, fake_http) -> FakeHTTP:
    """A fake cursor-runner that accepts every task; the service configured for callbacks."""
    settings.WEBHOOK_SECRET = SECRET
    settings.CURSOR_RUNNER_URL = fake_http.url
    settings.CURSOR_RUNNER_SECRET = RUNNER_SECRET
    settings.CURSOR_RUNNER_TIMEOUT_SECONDS = 0.5
    fake_http.answer(200, '{"success": true, "queued": true}')
    return fake_http
