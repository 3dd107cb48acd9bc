"""What the browser test's fake servers share: a quiet request handler that answers JSON (or any
bytes with a content type) with extra headers."""

import json
from http.server import BaseHTTPRequestHandler


class FakeHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers with `answer`."""

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/json; charset=utf-8", headers=()):
        """Sends `body` (JSON-encoded unless it is bytes) with `status` and `headers`."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
