"""What the conversation tests share."""

import pytest

from tests.agent_conversations.test_post_call import SECRET


@pytest.fixture
def webhook(settings, redis_db):
    """ElevenLabs' post-call webhook configured with the secret the tests sign with."""
    settings.ELEVENLABS_WEBHOOK_SECRET = SECRET
    return redis_db
