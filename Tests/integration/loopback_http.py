"""A fake peer's HTTP server: HTTP/1.1 on a loopback port, in a thread of its own.

    server = LoopbackServer(respond, name="fake-stripe")   # respond(method, target, headers, body)
    server.base                                            # "http://127.0.0.1:PORT"
    server.stop()

`respond` gets the method, the request target (path and query), the headers with lower-case
names and the body bytes, and answers (status, headers, body bytes); Content-Length is added.
"""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    def __init__(self, respond, name):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.serve("GET")

            def do_POST(self):
                self.serve("POST")

            def serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, raw = respond(method, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                for header, value in headers.items():
                    self.send_header(header, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=name, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
