"""Django settings, read from the environment (see the README's configuration table)."""

import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from elevenlabs_agent.environment import (
    boolean,
    http_url,
    not_negative,
    parse_feature_flag,
    positive,
    redis_url,
    setting,
)

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

SECONDS = "a number of seconds above 0"
URL = "an absolute http:// or https:// URL"

DEBUG = boolean("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Export a long random value, e.g. "
        "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

ELEVENLABS_AGENT_ENABLED = parse_feature_flag(env.str("ELEVENLABS_AGENT_ENABLED", default=None))
SESSION_TTL_SECONDS = setting(
    env.int, "SESSION_TTL_SECONDS", 600, allowed="a whole number of seconds above 0", valid=positive
)
CONVERSATION_TTL_SECONDS = setting(
    env.int, "CONVERSATION_TTL_SECONDS", 30 * 24 * 3600,
    allowed="a whole number of seconds, 0 to keep conversations forever", valid=not_negative,
)  # fmt: skip
# Caps on one conversation, so that reading it (GET, a list page, a live-update frame) keeps
# Redis busy for well under 50 ms (docs/benchmarks.md); a full conversation refuses appends.
# At the defaults the longest call measured 29.7 ms, and a call's cost grows with the
# conversation (about 25 ms per MB): the upper bounds, 1.5 times the defaults, stay under 50 ms
# and under REDIS_SOCKET_TIMEOUT_SECONDS' default.
CONVERSATION_MAX_MESSAGES = setting(
    env.int, "CONVERSATION_MAX_MESSAGES", 2000, allowed="a whole number from 1 to 3000",
    valid=lambda messages: 0 < messages <= 3000,
)  # fmt: skip
CONVERSATION_MAX_BYTES = setting(
    env.int, "CONVERSATION_MAX_BYTES", 1024 * 1024,
    allowed="a number of bytes from 1 to 1572864 (1.5 MiB)",
    valid=lambda size: 0 < size <= 1536 * 1024,
)  # fmt: skip
# Bodies are small JSON documents; anything larger is refused with a 413 before parsing.
MAX_REQUEST_BODY_BYTES = setting(
    env.int, "MAX_REQUEST_BODY_BYTES", 256 * 1024, allowed="a number of bytes above 0",
    valid=positive,
)  # fmt: skip
# ElevenLabs' post-call transcripts (the whole call) may be larger.
TRANSCRIPT_MAX_BODY_BYTES = setting(
    env.int, "TRANSCRIPT_MAX_BODY_BYTES", 4 * 1024 * 1024, allowed="a number of bytes above 0",
    valid=positive,
)  # fmt: skip
# A body still incomplete after this long is a 408 (it is awaited on the event loop, holding
# no thread, but not forever).
REQUEST_BODY_TIMEOUT_SECONDS = setting(
    env.float, "REQUEST_BODY_TIMEOUT_SECONDS", 10.0, allowed=SECONDS, valid=positive
)
# Opaque client objects (metadata, sessionPayload, toolArgs): encoded size and nesting depth.
OPAQUE_OBJECT_MAX_BYTES = setting(
    env.int, "OPAQUE_OBJECT_MAX_BYTES", 64 * 1024, allowed="a number of bytes above 0",
    valid=positive,
)  # fmt: skip
OPAQUE_OBJECT_MAX_DEPTH = setting(
    env.int, "OPAQUE_OBJECT_MAX_DEPTH", 16, allowed="a whole number above 0", valid=positive
)
# e.g. "*.elevenlabs.io,api.elevenlabs.io"; empty allows any host (the default).
SESSION_URL_ALLOWED_HOSTS = env.list("SESSION_URL_ALLOWED_HOSTS", default=[])

# --- The voice agent and its neighbours -------------------------------------------------------
ELEVENLABS_AGENT_ID = env.str("ELEVENLABS_AGENT_ID", default="")  # the frontend's default agent
# This service's public base URL (what /config tells the frontend; callbacks come back to it).
ELEVENLABS_AGENT_URL = setting(env.str, "ELEVENLABS_AGENT_URL", "", allowed=URL, valid=http_url)
ELEVENLABS_API_KEY = env.str("ELEVENLABS_API_KEY", default="")  # for signed URLs
ELEVENLABS_API_BASE_URL = setting(
    env.str, "ELEVENLABS_API_BASE_URL", "https://api.elevenlabs.io", allowed=URL,
    valid=lambda url: bool(url) and http_url(url),
)  # fmt: skip
ELEVENLABS_API_TIMEOUT_SECONDS = setting(
    env.float, "ELEVENLABS_API_TIMEOUT_SECONDS", 10.0, allowed=SECONDS, valid=positive
)
# cursor-runner runs the agent's tools (agent_tasks).
CURSOR_RUNNER_URL = setting(env.str, "CURSOR_RUNNER_URL", "", allowed=URL, valid=http_url)
CURSOR_RUNNER_SECRET = env.str("CURSOR_RUNNER_SECRET", default="")  # sent as X-Webhook-Secret
# A tool call answers ElevenLabs within 2 s: longer than this, the dispatch counts as started.
CURSOR_RUNNER_TIMEOUT_SECONDS = setting(
    env.float, "CURSOR_RUNNER_TIMEOUT_SECONDS", 1.5, allowed=f"{SECONDS}, at most 1.5",
    valid=lambda seconds: 0 < seconds <= 1.5,
)  # fmt: skip
TASK_TTL_SECONDS = setting(
    env.int, "TASK_TTL_SECONDS", 24 * 3600, allowed="a whole number of seconds above 0",
    valid=positive,
)  # fmt: skip
# Guards /agent-tools and /callback; unset, both answer 503 (never open by default).
WEBHOOK_SECRET = env.str("WEBHOOK_SECRET", default="")
# Verifies the signature of ElevenLabs' post-call webhook; unset, it answers 503.
ELEVENLABS_WEBHOOK_SECRET = env.str("ELEVENLABS_WEBHOOK_SECRET", default="")

# --- Access control, CORS, throttling ----------------------------------------------------------
# Unset: the API is open, as the existing frontend expects. Set: every gated route needs
# `Authorization: Bearer <key>` or `X-API-Key: <key>`.
AGENT_API_KEYS = env.list("AGENT_API_KEYS", default=[])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "x-api-key")
# e.g. "600/minute" per client (API key, else address), counted in Redis; unset: no throttling.
THROTTLE_RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")
API_THROTTLE_RATE = setting(
    env.str, "API_THROTTLE_RATE", "", allowed="empty, or requests per period as in 600/minute",
    valid=lambda rate: not rate or bool(THROTTLE_RATE.fullmatch(rate)),
)  # fmt: skip

# --- Running behind a TLS-terminating proxy ----------------------------------------------------
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if boolean("TRUST_X_FORWARDED_PROTO", default=False)
    else None
)
# How many proxies in front of the service append to X-Forwarded-For. 0: the header is the
# client's to write, so the throttle counts the connection's address instead.
TRUSTED_PROXY_COUNT = setting(
    env.int, "TRUSTED_PROXY_COUNT", 0, allowed="a whole number of proxies", valid=not_negative
)
SECURE_SSL_REDIRECT = boolean("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = setting(
    env.int, "SECURE_HSTS_SECONDS", 0, allowed="a whole number of seconds", valid=not_negative
)
# Checks of `check --deploy` that do not apply here: HTTPS redirects (W008) and HSTS (W004)
# belong to the proxy that terminates TLS (the two settings above turn them on if this process
# ever faces browsers directly); CSRF protection (W003) guards cookie-authenticated sessions,
# and this API has no cookies: clients authenticate with a header or not at all.
SILENCED_SYSTEM_CHECKS = ["security.W003", "security.W004", "security.W008"]

# --- Redis: the only store -------------------------------------------------------------------
REDIS_URL = setting(
    env.str, "REDIS_URL", "",
    allowed="redis://[:password@]host[:port][/db] (db a number), rediss://..., or unix:///path",
    valid=redis_url,
)  # fmt: skip
# With Sentinel: "host:port,host:port" of the sentinels and the name of the monitored primary;
# the service always talks to the current primary (reads included: read-your-writes).
REDIS_SENTINELS = setting(
    env.list, "REDIS_SENTINELS", [], allowed="host:port,host:port",
    valid=lambda nodes: all(re.fullmatch(r"[^:\s]+:[0-9]{1,5}", node) for node in nodes),
)  # fmt: skip
REDIS_SENTINEL_SERVICE = env.str("REDIS_SENTINEL_SERVICE", default="mymaster")
# With Redis Cluster: "host:port,host:port" of some of its nodes (the rest are discovered).
# Conversations and their indexes are spread over the primaries (the key layout: docs/api.md).
REDIS_CLUSTER_NODES = setting(
    env.list, "REDIS_CLUSTER_NODES", [], allowed="host:port,host:port",
    valid=lambda nodes: all(re.fullmatch(r"[^:\s]+:[0-9]{1,5}", node) for node in nodes),
)  # fmt: skip
if sum(map(bool, (REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES))) > 1:
    raise ImproperlyConfigured(
        "REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES each name the store: set one of them"
    )
REDIS_SENTINEL_DB = setting(
    env.int, "REDIS_SENTINEL_DB", 0, allowed="a database number", valid=not_negative
)
# Without REDIS_URL every process gets its own in-memory fakeredis server: fine for a demo,
# useless for anything that must survive a restart (apps.py warns loudly at startup).
REDIS_EMBEDDED = not (REDIS_URL or REDIS_SENTINELS or REDIS_CLUSTER_NODES)
EMBEDDED_STORE_ALLOWED = boolean("ELEVENLABS_EMBEDDED_STORE", default=False)
if REDIS_EMBEDDED and not DEBUG and not EMBEDDED_STORE_ALLOWED:
    raise ImproperlyConfigured(
        "REDIS_URL is not set: refusing to serve from the embedded in-process store, which keeps "
        "nothing (set REDIS_URL, or ELEVENLABS_EMBEDDED_STORE=true for a throwaway demo)."
    )
# Short timeouts so an outage answers 503 within the contract's 2 seconds (a timeout is not
# retried: redis_cache_settings).
REDIS_SOCKET_TIMEOUT_SECONDS = setting(
    env.float,
    "REDIS_SOCKET_TIMEOUT_SECONDS",
    0.08,
    allowed=f"{SECONDS}, at most 0.9",
    valid=lambda seconds: 0 < seconds <= 0.9,  # an outage must answer within 2 s
)

# Replica confirmation: a write is answered 200 only once this many replicas have it (Redis'
# WAIT, sent in the same round trip as the write), or 503 when they do not confirm it within
# REDIS_WRITE_TIMEOUT_SECONDS. 0: the primary applying it is enough (replication stays
# asynchronous). Redis answers a WAIT that timed out on its next cron tick (100 ms at its
# default `hz 10`), and the socket timeout counts from then: the bound keeps the whole within
# the 2 s promise.
REDIS_WRITE_REPLICAS = setting(
    env.int, "REDIS_WRITE_REPLICAS", 0, allowed="a whole number of replicas, 0 for none",
    valid=not_negative,
)  # fmt: skip
REDIS_WRITE_TIMEOUT_SECONDS = setting(
    env.float, "REDIS_WRITE_TIMEOUT_SECONDS", 0.1, allowed="a number of seconds from 0.001 to 0.9",
    valid=lambda seconds: 0.001 <= seconds <= 0.9,
)  # fmt: skip
if REDIS_WRITE_REPLICAS and REDIS_EMBEDDED:
    raise ImproperlyConfigured(
        "REDIS_WRITE_REPLICAS needs a real Redis with replicas (REDIS_URL, REDIS_SENTINELS or "
        "REDIS_CLUSTER_NODES); "
        "the embedded store has none."
    )


def sentinel_addresses(sentinels: list[str]) -> list[tuple[str, int]]:
    """REDIS_SENTINELS ("host:port" each) as (host, port) pairs."""
    return [(host, int(port)) for host, port in (node.rsplit(":", 1) for node in sentinels)]


def redis_cache_settings(
    url: str,
    *,
    embedded: bool = False,
    sentinels: list[str] | None = None,
    cluster_nodes: list[str] | None = None,
) -> dict:
    """django-redis configured as a primary store: contract key names, plain JSON, no silencing.

    With `sentinels`, `url` names the monitored service (redis://SERVICE/DB). With
    `cluster_nodes` ("host:port" each), `url` is ignored: a Redis Cluster.
    """
    # One immediate retry reconnects a pooled socket that Redis closed; a timeout is not
    # retried, so that a frozen Redis costs one timeout, not two.
    pool_kwargs: dict = {"retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))}
    sentinel_options: dict = {}
    if embedded:
        from fakeredis import FakeRedisConnection  # only the embedded store needs it

        pool_kwargs["connection_class"] = FakeRedisConnection
    if sentinels:
        sentinel_options = {
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "SENTINELS": [*sentinel_addresses(sentinels)],
            "SENTINEL_KWARGS": {"socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS},
        }
    if cluster_nodes:
        # A list: django-redis would take the commas of one string for several servers.
        url = "redis-cluster://" + ",".join(cluster_nodes)
        sentinel_options = {"CONNECTION_FACTORY": "elevenlabs_agent.redis.ClusterConnectionFactory"}
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": [url] if cluster_nodes else url,
        "KEY_FUNCTION": "elevenlabs_agent.redis.key_as_named",
        "TIMEOUT": None,  # every write names its own TTL
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SERIALIZER": "elevenlabs_agent.redis.JSONSerializer",
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
            "CONNECTION_POOL_KWARGS": pool_kwargs,
            **sentinel_options,
            # Never IGNORE_EXCEPTIONS: an outage must be a 503, not a silent miss.
        },
    }


if REDIS_CLUSTER_NODES:
    _redis = redis_cache_settings("", cluster_nodes=REDIS_CLUSTER_NODES)
elif REDIS_SENTINELS:
    _redis = redis_cache_settings(
        f"redis://{REDIS_SENTINEL_SERVICE}/{REDIS_SENTINEL_DB}", sentinels=REDIS_SENTINELS
    )
else:
    _redis = redis_cache_settings(REDIS_URL or "redis://embedded:6379/0", embedded=REDIS_EMBEDDED)
CACHES = {"default": _redis}


# --- Live updates: Channels groups over Redis pub/sub (agent_conversations/consumers.py) -------
def channel_layer_settings(
    url: str,
    *,
    embedded: bool = False,
    sentinels: list[str] | None = None,
    cluster_nodes: list[str] | None = None,
) -> dict:
    """channels-redis's pub/sub layer on the same Redis as the store.

    The store's Lua scripts publish live-update frames straight into the layer's group channels
    (`agent_conversations.store.live_channel`), hence a fixed prefix and a serializer that
    passes those frames on as text (`agent_conversations.live`). Embedded: the same in-process
    fakeredis server as the store. Cluster: the layer subscribes on the nodes given; the
    cluster passes every PUBLISH to all of its nodes (docs/live-updates.md).
    """
    host: dict = {"address": url, "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_SECONDS}
    if embedded:
        from fakeredis.aioredis import FakeAsyncRedisConnection

        host["connection_class"] = FakeAsyncRedisConnection
    if sentinels:
        service, _, db = url.removeprefix("redis://").partition("/")
        host = {
            "master_name": service,
            "sentinels": sentinel_addresses(sentinels),
            "sentinel_kwargs": {"socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS},
            "db": int(db or 0),
        }
    hosts = [host]
    if cluster_nodes:
        hosts = [
            {"address": f"redis://{node}", "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_SECONDS}
            for node in cluster_nodes
        ]
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": hosts,
                "prefix": "elevenlabs:live:",
                "serializer_format": "elevenlabs-frames",
            },
        }
    }


CHANNEL_LAYERS = channel_layer_settings(
    _redis["LOCATION"],
    embedded=REDIS_EMBEDDED,
    sentinels=REDIS_SENTINELS,
    cluster_nodes=REDIS_CLUSTER_NODES,
)

# --- Django and DRF --------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.staticfiles",  # CSS and JS of DRF's browsable API and of the API docs
    "corsheaders",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, no CDN
    "elevenlabs_agent",
    "agent_sessions",
    "agent_conversations",
    "agent_tasks",
]
MIDDLEWARE = [
    "elevenlabs_agent.middleware.RequestContext",  # request id, metrics, access log: outermost
    "elevenlabs_agent.middleware.ProbesAnswerAnyHost",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
DATABASES: dict = {}  # Redis is the only store
ROOT_URLCONF = "elevenlabs_agent.urls"
WSGI_APPLICATION = "elevenlabs_agent.wsgi.application"
ASGI_APPLICATION = "elevenlabs_agent.asgi.application"
APPEND_SLASH = False  # the contract's paths have no trailing slash; never redirect
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
WHITENOISE_USE_FINDERS = True  # serve the apps' static files directly: no collectstatic step
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["elevenlabs_agent.authentication.ApiKeyAuthentication"],
    # In this order: a dark deployment answers 503 before anything asks for a key.
    "DEFAULT_PERMISSION_CLASSES": [
        "elevenlabs_agent.permissions.FeatureEnabled",
        "elevenlabs_agent.permissions.ApiKeyRequired",
    ],
    # Reads API_THROTTLE_RATE per request and does nothing (no Redis) while it is unset.
    "DEFAULT_THROTTLE_CLASSES": ["elevenlabs_agent.throttling.ClientRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": ["elevenlabs_agent.parsers.BoundedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "elevenlabs_agent.renderers.JSONFirstNegotiation",
    "DEFAULT_RENDERER_CLASSES": [
        "elevenlabs_agent.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "elevenlabs_agent.handlers.envelope_exception_handler",
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,  # the throttle's client address (see above)
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "elevenlabs-agent",
    "DESCRIPTION": (
        "Sessions and conversations of the ElevenLabs voice agent. The project's docs/api.md "
        "describes every route, frame and key."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOG_LEVEL = setting(
    env.str,
    "LOG_LEVEL",
    "INFO",
    allowed="DEBUG, INFO, WARNING, ERROR or CRITICAL",
    valid=lambda level: level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
)
# text: readable lines; json: one JSON object per line, for log pipelines.
LOG_FORMAT = setting(
    env.str, "LOG_FORMAT", "text", allowed="text or json",
    valid=lambda log_format: log_format in ("text", "json"),
)  # fmt: skip
# One log line per request (method, route, status, duration): off by default, it costs every
# request a formatted line.
ACCESS_LOG = boolean("ACCESS_LOG", default=False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
        },
    },
    "filters": {
        # Every 503 (storage outage, feature off) is expected and answered; redis.py logs an
        # outage once as it starts and once as it ends, not once per request.
        "not_503": {
            "()": "django.utils.log.CallbackFilter",
            "callback": lambda record: getattr(record, "status_code", 0) != 503,
        },
        "request_id": {"()": "elevenlabs_agent.middleware.RequestIdFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "loggers": {"django.request": {"filters": ["not_503"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
