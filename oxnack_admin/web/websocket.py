"""RFC 6455 framing for a socket taken over after its HTTP upgrade: the console relay and the simulator use it.

Only what an RFB stream needs: binary/text/continuation frames carried as bytes, ping answered
with pong, close ends the session. A frame's payload is capped so a client cannot make us buffer
without limit.
"""
import base64
import hashlib
import os
import struct
from dataclasses import dataclass

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
DATA_OPCODES = (CONTINUATION, TEXT, BINARY)
MAX_PAYLOAD = 4 * 1024 * 1024  # one RFB framebuffer update of a large screen fits
# Set on the environ of a request whose connection the console relay took: it wrote its own 101.
TAKEN_OVER_KEY = "oxnack.socket_taken_over"


class ProtocolError(Exception):
    """The peer broke the framing (oversized, unmasked when it must mask...); the session ends."""


@dataclass(frozen=True)
class Frame:
    opcode: int
    payload: bytes


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a client's Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1((key.strip() + GUID).encode()).digest()).decode()


def is_valid_key(key: str | None) -> bool:
    try:
        return bool(key) and len(base64.b64decode(key.strip(), validate=True)) == 16
    except ValueError:
        return False


def choose_protocol(offered: str | None) -> str | None:
    """noVNC and Proxmox speak "binary"; echo it when offered, else the first offer (or none)."""
    protocols = [p.strip() for p in (offered or "").split(",") if p.strip()]
    return "binary" if "binary" in protocols else (protocols[0] if protocols else None)


def handshake_response(key: str, protocol: str | None) -> bytes:
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Accept: {accept_key(key)}"]
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def encode(opcode: int, payload: bytes = b"", *, mask: bool = False) -> bytes:
    """One final frame; a client masks (mask=True), a server does not."""
    length = len(payload)
    head = bytes([0x80 | opcode])
    mask_bit = 0x80 if mask else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + _unmask(payload, key)


def close_frame(code: int = 1000, *, mask: bool = False) -> bytes:
    return encode(CLOSE, struct.pack("!H", code), mask=mask)


class FrameParser:
    """Feed bytes as they arrive, get whole frames back; `masked` says what the peer must send."""

    def __init__(self, *, masked: bool):
        self.masked = masked
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while (frame := self._next()) is not None:
            frames.append(frame)
        return frames

    def _next(self) -> Frame | None:
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        opcode, masked, length = buffer[0] & 0x0F, bool(buffer[1] & 0x80), buffer[1] & 0x7F
        if masked != self.masked:
            raise ProtocolError("a client must mask its frames and a server must not")
        offset = 2
        if length == 126:
            if len(buffer) < 4:
                return None
            length, offset = struct.unpack("!H", buffer[2:4])[0], 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            length, offset = struct.unpack("!Q", buffer[2:10])[0], 10
        if length > MAX_PAYLOAD:
            raise ProtocolError(f"a frame of {length} bytes is too large")
        key = b""
        if masked:
            if len(buffer) < offset + 4:
                return None
            key, offset = bytes(buffer[offset:offset + 4]), offset + 4
        if len(buffer) < offset + length:
            return None
        payload = bytes(buffer[offset:offset + length])
        del buffer[:offset + length]
        return Frame(opcode, _unmask(payload, key) if masked else payload)


def _unmask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return payload
    repeated = (key * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")
