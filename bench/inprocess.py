"""Django set up in this process for the in-process benchmarks, against a Redis they may flush.

Import this module before any of the project's: REDIS_URL defaults to database 14 of the local
Redis, requests come from Django's test client (host `testserver`), and the feature is on.
"""

import os
import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elevenlabs_agent.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ["ELEVENLABS_AGENT_ENABLED"] = "true"
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ["LOG_LEVEL"] = "WARNING"
django.setup()
