"""A fault-injecting HTTP proxy on loopback, between boto3 and the moto server: what a flaky NAT,
a dying load balancer or a hung endpoint does to a transfer.

Every connection carries exactly one request (the proxy sets ``Connection: close`` both ways), so
a fault applies to the request it was meant for. Rules are matched in order against the request
line; each fires ``times`` times, then passes:

- ``reset``: forward the request, then reset the client connection after ``after`` response bytes
  (mid-body for a large GET);
- ``status``: answer ``code`` (a 503 burst) without asking the server;
- ``stall``: accept the request and never answer, until the client gives up or the proxy stops
  (at most ``max_stall`` seconds, so a test can never hang on it).

Loopback only; every thread is a daemon and :meth:`FaultProxy.stop` ends them all."""
from __future__ import annotations

import re
import socket
import struct
import threading
from dataclasses import dataclass
from typing import List, Optional, Tuple


@dataclass
class Rule:
    kind: str                 # reset | status | stall
    pattern: str              # regex searched in the request line, e.g. r"^GET .*/cas/"
    times: int = 1
    after: int = 0            # reset: response bytes passed on before the reset
    code: int = 503           # status
    fired: int = 0


class FaultProxy:
    def __init__(self, upstream: str, max_stall: float = 20.0) -> None:
        host, _, port = upstream.rsplit("/", 1)[-1].partition(":")
        self.upstream: Tuple[str, int] = (host, int(port))
        self.rules: List[Rule] = []
        self.max_stall = max_stall
        self.requests: List[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.endpoint = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def add(self, kind: str, pattern: str, **kw) -> Rule:
        rule = Rule(kind, pattern, **kw)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules = []

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()

    # --- plumbing ------------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._one, args=(client,), daemon=True).start()

    def _match(self, line: str) -> Optional[Rule]:
        with self._lock:
            self.requests.append(line)
            for rule in self.rules:
                if rule.fired < rule.times and re.search(rule.pattern, line):
                    rule.fired += 1
                    return rule
        return None

    def _one(self, client: socket.socket) -> None:
        try:
            head, rest = _read_head(client)
            if head is None:
                return
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            rule = self._match(line)
            if rule is not None and rule.kind == "stall":
                self._stop.wait(self.max_stall)
                return
            if rule is not None and rule.kind == "status":
                body = b"<Error><Code>ServiceUnavailable</Code><Message>injected</Message></Error>"
                client.sendall(b"HTTP/1.1 %d Injected\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
                               b"Connection: close\r\n\r\n%s" % (rule.code, len(body), body))
                return
            upstream = socket.create_connection(self.upstream, timeout=30)
            try:
                upstream.sendall(_close_header(head) + rest)
                length = _content_length(head)
                if length is None:  # a chunked body: pass it on while the answer comes
                    threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
                else:  # read the body here, so no thread blocks on the client when it is reset
                    _forward(client, upstream, length - len(rest))
                self._answer(client, upstream, rule)
            finally:
                upstream.close()
        except OSError:
            pass
        finally:
            client.close()

    def _answer(self, client: socket.socket, upstream: socket.socket, rule: Optional[Rule]) -> None:
        head, rest = _read_head(upstream)
        if head is None:
            return
        data = _close_header(head) + rest
        limit = rule.after if rule is not None and rule.kind == "reset" else None
        while data:
            if limit is not None and len(data) >= limit:
                client.sendall(data[:limit])
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
                return
            client.sendall(data)
            if limit is not None:
                limit -= len(data)
            data = upstream.recv(65536)


def _read_head(sock: socket.socket) -> Tuple[Optional[bytes], bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def _close_header(head: bytes) -> bytes:
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
    return b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n"


def _content_length(head: bytes) -> Optional[int]:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            return None
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _forward(src: socket.socket, dst: socket.socket, count: int) -> None:
    while count > 0:
        chunk = src.recv(min(count, 65536))
        if not chunk:
            return
        dst.sendall(chunk)
        count -= len(chunk)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    """The rest of the request body, client to server."""
    try:
        while True:
            chunk = src.recv(65536)
            if not chunk:
                return
            dst.sendall(chunk)
    except OSError:
        pass
