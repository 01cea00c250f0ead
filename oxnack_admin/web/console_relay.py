"""The browser console's WebSocket relay, inside the WSGI server without holding its threads.

The view answers the upgrade itself (101 on the request's socket), hands the connection to this
process's relay loop (one asyncio thread, started on first use), leaves the server a stand-in socket
in its place (`take_over`) and makes it drop that without writing a response. Works the same under
gunicorn's sync and gthread workers and werkzeug's server (`flask run`); tested on all three
(tests/vm/test_console_servers.py). gunicorn's worker thread is free again at once: 20 open
consoles cost the classic endpoints no thread, only what the loop spends copying bytes (README,
"The VM"). The loop opens Proxmox `vncwebsocket` with the app's credentials and copies RFB bytes
both ways until either side closes.
"""
import asyncio
import logging
import os
import socket
import ssl
import threading

from flask import Response, current_app
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import WebSocketException

from oxnack_admin.clients.proxmox import VncTarget
from oxnack_admin.web import websocket as ws

log = logging.getLogger(__name__)

UPSTREAM_OPEN_SECONDS = 10


class RelayHub:
    """One asyncio loop per process that relays every open console."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.open_sessions = 0

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="console-relay", daemon=True).start()
            return self._loop

    def relay(self, browser: socket.socket, target: VncTarget) -> None:
        """Relay this upgraded browser socket to Proxmox in the loop; returns at once."""
        asyncio.run_coroutine_threadsafe(self._relay(browser, target), self.loop())

    async def _relay(self, browser: socket.socket, target: VncTarget) -> None:
        self.open_sessions += 1
        writer = None
        try:
            reader, writer = await asyncio.open_connection(sock=browser)
            context = None
            if target.url.startswith("wss://"):
                context = ssl.create_default_context()
                if not target.verify_tls:
                    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            async with websocket_connect(target.url, additional_headers=target.headers, subprotocols=["binary"],
                                         ssl=context, open_timeout=UPSTREAM_OPEN_SECONDS, max_size=ws.MAX_PAYLOAD,
                                         compression=None, ping_interval=30) as upstream:
                tasks = [asyncio.create_task(_browser_to_upstream(reader, writer, upstream)),
                         asyncio.create_task(_upstream_to_browser(upstream, writer))]
                _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
        except (OSError, WebSocketException, ws.ProtocolError, asyncio.TimeoutError) as exc:
            log.info("console relay ended: %s", type(exc).__name__)
        finally:
            self.open_sessions -= 1
            if writer is not None:
                try:
                    writer.write(ws.close_frame())
                    writer.close()
                except OSError:
                    pass
            else:
                browser.close()


async def _browser_to_upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream) -> None:
    parser = ws.FrameParser(masked=True)
    while data := await reader.read(65536):
        for frame in parser.feed(data):
            if frame.opcode == ws.CLOSE:
                return
            if frame.opcode == ws.PING:
                writer.write(ws.encode(ws.PONG, frame.payload))
            elif frame.opcode in ws.DATA_OPCODES and frame.payload:
                await upstream.send(frame.payload)


async def _upstream_to_browser(upstream, writer: asyncio.StreamWriter) -> None:
    async for message in upstream:
        writer.write(ws.encode(ws.BINARY, message if isinstance(message, bytes) else message.encode()))
        await writer.drain()


HUB = RelayHub()


def take_over(environ: dict, handshake: bytes) -> socket.socket | None:
    """Take the request's connection from the WSGI server, write the 101 on it and return it (or None).

    The relay gets a duplicate of the connection's descriptor; the server's own descriptor number is then
    pointed at a stand-in socket whose peer is already closed (dup2). Whatever the server does next with
    "its" socket lands on the stand-in: gunicorn's graceful close (a FIN, then draining up to 64 KiB for
    2 s), werkzeug's read of the next keep-alive request and its half-close all see an ended peer at once,
    and none of them touches the browser's connection or reads its RFB bytes. A TLS socket cannot be
    split like this (its state lives in the server's object): refused, as is a server without a socket.
    """
    raw = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if raw is None or isinstance(raw, ssl.SSLSocket):
        return None
    browser = raw.dup()
    stand_in, peer = socket.socketpair()
    try:
        os.dup2(stand_in.fileno(), raw.fileno())
    finally:
        stand_in.close()
        peer.close()
    browser.setblocking(True)
    browser.sendall(handshake)
    environ[ws.TAKEN_OVER_KEY] = True
    return browser


def _drop(_response, environ, _start_response):
    if "gunicorn.socket" in environ:
        raise StopIteration()  # gunicorn: "closing connection", nothing written
    raise ConnectionError("the console relay took the socket")  # werkzeug: a dropped connection


def socket_taken_over() -> Response:
    """The answer after a take-over: the server closes its copy of the socket and writes nothing.

    A subclass of the app's own response class, which Flask passes through untouched.
    """
    kind = current_app.response_class
    dropping = _DROPPING.get(kind)
    if dropping is None:
        dropping = _DROPPING[kind] = type(f"SocketTakenOver{kind.__name__}", (kind,), {"__call__": _drop})
    return dropping()


_DROPPING: dict[type, type] = {}
