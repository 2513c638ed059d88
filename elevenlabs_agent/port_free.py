"""`python -m elevenlabs_agent.port_free HOST PORT`: refuse to start a second server on a port
that one already serves (make run and make serve call it before granian).

granian listens with SO_REUSEPORT, so a second server on a busy port starts without a word and
the kernel splits the connections between the two: two embedded stores, or two versions of the
code, answering at random. A bind without SO_REUSEPORT fails while anything listens there
(SO_REUSEADDR only lets it past connections a stopped server left in TIME_WAIT).
"""

import socket
import sys


def port_free(host: str, port: int) -> str | None:
    """None if nothing listens on host:port, else why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    reason = port_free(host, port)
    if reason is not None:
        sys.exit(f"{host}:{port} is not free ({reason}): stop the server there, or set PORT.")
