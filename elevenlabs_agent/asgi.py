"""The application `make run` and `make serve` run: HTTP and the live-update socket, one port.

HTTP goes to Django's WSGI handler, called inline once its body is read (asgi_http.py);
WebSockets go to Channels.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elevenlabs_agent.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.wsgi import get_wsgi_application

django_wsgi = get_wsgi_application()  # sets Django up before the consumers are imported

from elevenlabs_agent.asgi_http import InlineWSGI  # noqa: E402
from elevenlabs_agent.urls import BODY_LIMITS, WAITING_PATHS, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": InlineWSGI(django_wsgi, waiting_paths=WAITING_PATHS, body_limits=BODY_LIMITS),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
