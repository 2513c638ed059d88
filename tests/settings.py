"""Test settings: the real settings module, with a test secret and the feature on by default."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("ELEVENLABS_AGENT_ENABLED", "true")

from elevenlabs_agent.settings import *  # noqa: F403
