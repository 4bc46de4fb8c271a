"""A real HTTP server on 127.0.0.1 in a thread, serving a folder: downloads are tested over a
real socket without leaving the machine. The suite is offline (conftest.py): a test using this
lifts ``LONGTAIL_MLTC_OFFLINE`` for itself with the ``online`` fixture of its module."""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is expected
            super().handle_error(request, client_address)


class FileHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder with Content-Length, as most servers do."""

    def log_message(self, format: str, *args: object) -> None:
        pass


class UnsizedHandler(FileHandler):
    """Serves a file with no Content-Length (HTTP/1.0, the end is the connection's close)."""

    def do_GET(self) -> None:
        path = Path(self.directory) / self.path.lstrip("/")
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        with open(path, "rb") as handle:
            while chunk := handle.read(64 * 1024):
                self.wfile.write(chunk)


@contextmanager
def serve(folder: Path, handler: type[FileHandler] = FileHandler) -> Iterator[str]:
    """The base URL of a real HTTP server on 127.0.0.1 serving ``folder``."""
    server = QuietServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
