"""What the Proxmox simulator shows of a VM beyond its config: usage curves and a VNC screen.

`rrd_points` gives deterministic, plausible usage (same time and VM, same numbers), with the gaps
PVE leaves: the newest interval has only its `time`, and now and then the network counters are
missing. `serve_rfb` is a small RFB 3.8 server behind a WebSocket: VNC authentication whose
password is the vncproxy ticket (as on PVE), then a text screen that shows what is typed and a
clock that ticks, so an open console has something to draw.
"""
import functools
import math
import select
import socket
import struct
import time

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from oxnack_admin.web import websocket as ws

RRD_SPANS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400, "year": 365 * 86400}
RRD_POINTS = 70


def rrd_points(vmid: int, timeframe: str, cores: int, memory_mb: int, disk_gb: int, now: float | None = None) -> list:
    """About 70 points ending now, aligned to the step so repeated reads agree."""
    step = RRD_SPANS[timeframe] // RRD_POINTS
    last = int(now if now is not None else time.time()) // step * step
    maxmem, maxdisk = memory_mb * 1024 * 1024, disk_gb * 1024 ** 3
    points = []
    for index in range(RRD_POINTS):
        t = last - (RRD_POINTS - 1 - index) * step
        if index == RRD_POINTS - 1:
            points.append({"time": t})  # the interval still being recorded: nothing defined yet
            continue
        phase = t / (step * 11) + vmid
        load = 0.5 + 0.35 * math.sin(phase) + 0.1 * math.sin(phase * 3.7)
        point = {"time": t, "cpu": round(max(load, 0.01) * 0.6, 4), "maxcpu": cores,
                 "mem": int(maxmem * (0.35 + 0.2 * load)), "maxmem": maxmem,
                 "disk": 0, "maxdisk": maxdisk,
                 "netin": round(40000 + 30000 * load, 2), "netout": round(12000 + 9000 * load, 2),
                 "diskread": round(8000 + 6000 * abs(math.cos(phase)), 2),
                 "diskwrite": round(15000 + 12000 * load, 2)}
        if (t // step) % 17 == 0:  # the guest agent missed a beat: PVE leaves these out
            del point["netin"], point["netout"]
        points.append(point)
    return points


# --- RFB 3.8 over a WebSocket ----------------------------------------------------------------------

WIDTH, HEIGHT, SCALE = 480, 200, 2
_FONT = {  # 5x7 glyphs, one int of 5 bits per row
    "A": (14, 17, 17, 31, 17, 17, 17), "B": (30, 17, 17, 30, 17, 17, 30), "C": (14, 17, 16, 16, 16, 17, 14),
    "D": (30, 17, 17, 17, 17, 17, 30), "E": (31, 16, 16, 30, 16, 16, 31), "F": (31, 16, 16, 30, 16, 16, 16),
    "G": (14, 17, 16, 23, 17, 17, 15), "H": (17, 17, 17, 31, 17, 17, 17), "I": (14, 4, 4, 4, 4, 4, 14),
    "J": (7, 2, 2, 2, 2, 18, 12), "K": (17, 18, 20, 24, 20, 18, 17), "L": (16, 16, 16, 16, 16, 16, 31),
    "M": (17, 27, 21, 21, 17, 17, 17), "N": (17, 17, 25, 21, 19, 17, 17), "O": (14, 17, 17, 17, 17, 17, 14),
    "P": (30, 17, 17, 30, 16, 16, 16), "Q": (14, 17, 17, 17, 21, 18, 13), "R": (30, 17, 17, 30, 20, 18, 17),
    "S": (15, 16, 16, 14, 1, 1, 30), "T": (31, 4, 4, 4, 4, 4, 4), "U": (17, 17, 17, 17, 17, 17, 14),
    "V": (17, 17, 17, 17, 17, 10, 4), "W": (17, 17, 17, 21, 21, 21, 10), "X": (17, 17, 10, 4, 10, 17, 17),
    "Y": (17, 17, 10, 4, 4, 4, 4), "Z": (31, 1, 2, 4, 8, 16, 31), "0": (14, 17, 19, 21, 25, 17, 14),
    "1": (4, 12, 4, 4, 4, 4, 14), "2": (14, 17, 1, 2, 4, 8, 31), "3": (30, 1, 1, 14, 1, 1, 30),
    "4": (2, 6, 10, 18, 31, 2, 2), "5": (31, 16, 30, 1, 1, 17, 14), "6": (6, 8, 16, 30, 17, 17, 14),
    "7": (31, 1, 2, 4, 8, 8, 8), "8": (14, 17, 17, 14, 17, 17, 14), "9": (14, 17, 17, 15, 1, 2, 12),
    ":": (0, 12, 12, 0, 12, 12, 0), ".": (0, 0, 0, 0, 0, 12, 12), "-": (0, 0, 0, 31, 0, 0, 0),
    "@": (14, 17, 23, 21, 23, 16, 14), "/": (1, 1, 2, 4, 8, 16, 16), "#": (10, 10, 31, 10, 31, 10, 10),
    "_": (0, 0, 0, 0, 0, 0, 31), " ": (0,) * 7,
}
_ROW_HEIGHT = 9 * SCALE
_INPUT_ROW, _CLOCK_ROW = 6, 8


class _Screen:
    """Lines of text; the framebuffer is drawn from them on demand."""

    def __init__(self, vmid: int, name: str):
        self.lines = [f"OXNACK SIMULATED CONSOLE - VM {vmid}", name.upper()[:38], "", "LOGIN: ROOT",
                      "TYPE AND THE KEYS SHOW BELOW", "", "# ", "", ""]

    def pixels(self, y0: int, height: int, pixel_format: bytes) -> bytes:
        """Rows y0..y0+height of the screen in the client's pixel format."""
        first, last = max((y0 - 4) // _ROW_HEIGHT, 0), max((y0 + height - 5) // _ROW_HEIGHT, 0)
        return _draw(tuple(self.lines[first:last + 1]), first, y0, height, pixel_format)

    def row_band(self, line: int) -> tuple[int, int]:
        return 4 + line * _ROW_HEIGHT, _ROW_HEIGHT


@functools.lru_cache(maxsize=256)
def _draw(lines: tuple, first: int, y0: int, height: int, pixel_format: bytes) -> bytes:
    """Rows y0..y0+height showing `lines` (line `first` onwards); cached, as the same text in the same format
    draws the same bytes: many open consoles share one drawing of the clock."""
    pixel = _packer(pixel_format)
    ink, paper = pixel(220, 220, 220), pixel(16, 24, 48)
    rows = []
    for y in range(y0, y0 + height):
        line_index, inner = divmod(y - 4, _ROW_HEIGHT)
        glyph_row = inner // SCALE
        text = lines[line_index - first] if first <= line_index < first + len(lines) and y >= 4 else ""
        row = []
        for x in range(WIDTH):
            char_index, column = divmod(x - 6, 6 * SCALE)
            lit = False
            if x >= 6 and glyph_row < 7 and char_index < len(text):
                bits = _FONT.get(text[char_index].upper(), _FONT[" "])[glyph_row]
                bit = column // SCALE
                lit = bit < 5 and bool(bits >> (4 - bit) & 1)
            row.append(ink if lit else paper)
        rows.append(b"".join(row))
    return b"".join(rows)


def vnc_response(password: str, challenge: bytes) -> bytes:
    """What a VNC client answers a challenge with: DES with the password's bits reversed per byte."""
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in password.encode("latin-1")[:8].ljust(8, b"\0"))
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


class _Connection:
    """A server-side WebSocket on a plain socket: whole frames in, binary frames out."""

    def __init__(self, sock: socket.socket):
        self.sock, self.parser, self.pending = sock, ws.FrameParser(masked=True), bytearray()

    def send(self, data: bytes) -> None:
        self.sock.sendall(ws.encode(ws.BINARY, data))

    def fill(self, timeout: float) -> bool:
        """Read what arrives within `timeout` into `pending`; False when the peer is gone."""
        readable, _, _ = select.select([self.sock], [], [], timeout)
        if not readable:
            return True
        data = self.sock.recv(65536)
        if not data:
            return False
        for frame in self.parser.feed(data):
            if frame.opcode == ws.CLOSE:
                self.sock.sendall(ws.close_frame())
                return False
            if frame.opcode == ws.PING:
                self.sock.sendall(ws.encode(ws.PONG, frame.payload))
            elif frame.opcode in ws.DATA_OPCODES:
                self.pending += frame.payload
        return True

    def read(self, count: int, deadline: float) -> bytes:
        while len(self.pending) < count:
            if time.monotonic() > deadline or not self.fill(0.2):
                raise ConnectionError("the client left mid-message")
        data = bytes(self.pending[:count])
        del self.pending[:count]
        return data


# Client message type -> bytes after the type byte (SetEncodings and CutText carry a count).
_FIXED = {0: 19, 3: 9, 4: 7, 5: 5}


def serve_rfb(sock: socket.socket, vmid: int, name: str, password: str) -> None:
    """Speak RFB 3.8 on an upgraded socket until the client leaves."""
    conn, screen = _Connection(sock), _Screen(vmid, name)
    deadline = time.monotonic() + 30
    conn.send(b"RFB 003.008\n")
    if conn.read(12, deadline) not in (b"RFB 003.008\n", b"RFB 003.007\n"):
        return
    conn.send(b"\x01\x02")  # one security type: VNC authentication
    if conn.read(1, deadline) != b"\x02":
        return
    challenge = bytes(range(16)) if not password else struct.pack("!d", time.time()) * 2
    conn.send(challenge)
    if conn.read(16, deadline) != vnc_response(password, challenge):
        reason = b"authentication failed"
        conn.send(struct.pack("!I", 1) + struct.pack("!I", len(reason)) + reason)
        return
    conn.send(struct.pack("!I", 0))
    conn.read(1, deadline)  # ClientInit: shared or not, all the same here
    title = f"VM {vmid} ({name})".encode()
    # 32 bpp, depth 24, little-endian, true colour, 255 per channel, shifts red 16 green 8 blue 0.
    pixel_format = struct.pack("!BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
    conn.send(struct.pack("!HH", WIDTH, HEIGHT) + pixel_format + struct.pack("!I", len(title)) + title)
    _session(conn, screen, pixel_format)


def _session(conn: _Connection, screen: _Screen, pixel_format: bytes) -> None:
    fmt = {"format": pixel_format}
    wanted: list = []  # outstanding FramebufferUpdateRequests: (incremental, y, height)
    dirty = {"all": True, "rows": set()}
    next_tick = time.monotonic()
    while True:
        if not conn.fill(0.25):
            return
        while conn.pending:
            if not _handle_message(conn, screen, fmt, wanted, dirty):
                break
        now = time.monotonic()
        if now >= next_tick:
            screen.lines[_CLOCK_ROW] = time.strftime("TIME %H:%M:%S UTC", time.gmtime())
            dirty["rows"].add(_CLOCK_ROW)
            next_tick = now + 1
        if wanted and (dirty["all"] or dirty["rows"] or not wanted[0][0]):
            incremental = wanted.pop(0)[0]
            bands = [screen.row_band(row) for row in sorted(dirty["rows"])] \
                if incremental and not dirty["all"] else [(0, HEIGHT)]
            dirty["all"], dirty["rows"] = False, set()
            conn.send(_update(screen, bands, fmt["format"]))


def _handle_message(conn: _Connection, screen: _Screen, fmt: dict, wanted: list, dirty: dict) -> bool:
    """Handle one whole client message from `pending`; False when it has not all arrived yet."""
    kind = conn.pending[0]
    if kind == 2:  # SetEncodings: pad, count, count x s32
        if len(conn.pending) < 4:
            return False
        size = 3 + 4 * struct.unpack("!H", conn.pending[2:4])[0]
    elif kind == 6:  # ClientCutText: 3 pad, u32 length, text
        if len(conn.pending) < 8:
            return False
        size = 7 + struct.unpack("!I", conn.pending[4:8])[0]
    elif kind in _FIXED:
        size = _FIXED[kind]
    else:
        raise ConnectionError(f"unknown RFB client message {kind}")
    if len(conn.pending) < 1 + size:
        return False
    body = bytes(conn.pending[1:1 + size])
    del conn.pending[:1 + size]
    if kind == 0:
        fmt["format"] = body[3:19]
        dirty["all"] = True
    elif kind == 3:
        wanted.append((body[0], 0, HEIGHT))
    elif kind == 4 and body[0]:  # a key pressed: show printable ASCII, Backspace, Enter
        key = struct.unpack("!I", body[3:7])[0]
        line = screen.lines[_INPUT_ROW]
        if 32 <= key < 127 and len(line) < 38:
            screen.lines[_INPUT_ROW] = line + chr(key)
        elif key == 0xFF08 and len(line) > 2:
            screen.lines[_INPUT_ROW] = line[:-1]
        elif key == 0xFF0D:
            screen.lines[_INPUT_ROW] = "# "
        dirty["rows"].add(_INPUT_ROW)
    return True


def _packer(pixel_format: bytes):
    """pixel(r, g, b) -> the bytes of one pixel in a client's RFB pixel format."""
    bpp, _depth, big_endian, _true, r_max, g_max, b_max, r_shift, g_shift, b_shift = \
        struct.unpack("!BBBBHHHBBB", pixel_format[:13])
    size = max(bpp // 8, 1)
    order = "big" if big_endian else "little"

    def pixel(r: int, g: int, b: int) -> bytes:
        value = (r * r_max // 255) << r_shift | (g * g_max // 255) << g_shift | (b * b_max // 255) << b_shift
        return value.to_bytes(size, order)

    return pixel


def _update(screen: _Screen, bands: list, pixel_format: bytes) -> bytes:
    out = [struct.pack("!BxH", 0, len(bands))]
    for y, height in bands:
        out.append(struct.pack("!HHHHi", 0, y, WIDTH, height, 0) + screen.pixels(y, height, pixel_format))
    return b"".join(out)
