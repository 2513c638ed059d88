"""Test settings: the real settings module, with a test secret and the feature on by default."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("ELEVENLABS_AGENT_ENABLED", "true")
os.environ.setdefault("ELEVENLABS_EMBEDDED_STORE", "true")  # the fakeredis half of the tests

from elevenlabs_agent.settings import *  # noqa: F403
