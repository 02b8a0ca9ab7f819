"""Keep-alive connections that end now and then, so several server processes share the work.

With `serve_workers > 1` every process accepts from one listening socket, and a client's
keep-alive connection stays with the process that accepted it. A few long-lived connections
(another connector's pool) can so pile up on one process while the other idles: on two cores
the DP-query throughput varied from ~190 to ~320 queries/s with nothing changed but which
process held which connection. Like nginx's `keepalive_requests` and Envoy's
`max_requests_per_connection`, the server answers every Nth request of a connection with
`Connection: close`; the client reconnects (HTTP clients do so by themselves), and the new
connection goes to whichever process accepts first — a busy one accepts later, so the load
levels itself.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]


class RecycleConnections:
    """ASGI middleware: `Connection: close` on every `every`-th response of a connection."""

    def __init__(self, app: Any, every: int, remember: int = 4096) -> None:
        self.app = app
        self.every = every
        self.remember = remember  # connections tracked at most (oldest forgotten first)
        self._served: OrderedDict[tuple[str, int], int] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Count the connection's requests; mark the response that ends it."""
        client = scope.get("client") if scope["type"] == "http" else None
        if not client:
            await self.app(scope, receive, send)
            return
        key = (str(client[0]), int(client[1]))
        served = self._served.pop(key, 0) + 1
        if served < self.every:
            self._served[key] = served
            if len(self._served) > self.remember:
                self._served.popitem(last=False)
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing)
