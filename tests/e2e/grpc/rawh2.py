"""A deliberately minimal HTTP/2 client writing frames by hand (HPACK from the `hpack` package),
so tests can send what a well-behaved library never would: one-byte DATA frames, lying length
prefixes, floods of resets, no WINDOW_UPDATEs, requests continued after a GOAWAY."""

import socket
import struct
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE = range(9)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) \
        + payload


def grpc_message(body, compressed=False):
    return bytes([1 if compressed else 0]) + struct.pack(">I", len(body)) + body


class Stream:
    def __init__(self):
        self.headers = None
        self.trailers = None
        self.data = b""
        self.reset = None
        self.ended = False

    @property
    def grpc_status(self):
        for block in (self.trailers, self.headers):
            if block and "grpc-status" in block:
                return int(block["grpc-status"])
        return None


class RawClient:
    def __init__(self, port, timeout=5.0, window_updates=True):
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.buf = b""
        self.streams = {}
        self.goaway = None  # (last_stream_id, error_code)
        self.closed = False
        self.window_updates = window_updates
        self.next_id = 1

    def handshake(self, settings=b""):
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0, settings))

    def send(self, raw):
        self.sock.sendall(raw)

    def headers(self, path, content_type="application/grpc", extra=(), end=False, sid=None):
        if sid is None:
            sid, self.next_id = self.next_id, self.next_id + 2
        hdrs = [(":method", "POST"), (":scheme", "http"), (":path", path),
                (":authority", "test")]
        if content_type:
            hdrs.append(("content-type", content_type))
        hdrs += [("te", "trailers")] + list(extra)
        flags = END_HEADERS | (END_STREAM if end else 0)
        self.streams[sid] = Stream()
        return sid, frame(HEADERS, flags, sid, self.enc.encode(hdrs))

    def request(self, path, body=b"", end=True, chunk=None, **kw):
        """Sends HEADERS and body as DATA frames of `chunk` bytes; returns the stream id."""
        sid, raw = self.headers(path, end=end and not body, **kw)
        out = [raw]
        if body:
            step = chunk or 16384
            parts = [body[i:i + step] for i in range(0, len(body), step)]
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                out.append(frame(DATA, END_STREAM if (last and end) else 0, sid, part))
        self.send(b"".join(out))
        return sid

    def data(self, sid, payload, end=False):
        self.send(frame(DATA, END_STREAM if end else 0, sid, payload))

    def rst(self, sid, code=8):
        self.send(frame(RST_STREAM, 0, sid, struct.pack(">I", code)))

    def _handle(self, ftype, flags, sid, payload):
        if ftype == SETTINGS and not flags & ACK:
            self.send(frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK:
            self.send(frame(PING, ACK, 0, payload))
        elif ftype == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = (last & 0x7fffffff, code)
        elif ftype == HEADERS:
            st = self.streams.setdefault(sid, Stream())
            block = dict((k if isinstance(k, str) else k.decode(),
                          v if isinstance(v, str) else v.decode())
                         for k, v in self.dec.decode(payload))
            if st.headers is None:
                st.headers = block
            else:
                st.trailers = block
            if flags & END_STREAM:
                st.ended = True
        elif ftype == DATA:
            st = self.streams.setdefault(sid, Stream())
            st.data += payload
            if flags & END_STREAM:
                st.ended = True
            if self.window_updates and payload:
                inc = struct.pack(">I", len(payload))
                self.send(frame(WINDOW_UPDATE, 0, 0, inc) + frame(WINDOW_UPDATE, 0, sid, inc))
        elif ftype == RST_STREAM:
            st = self.streams.setdefault(sid, Stream())
            st.reset = struct.unpack(">I", payload)[0]

    def pump(self, until=lambda c: False, timeout=5.0):
        """Reads and handles frames until until(self) holds, the peer closes or time runs out.
        Returns until(self)."""
        end = time.time() + timeout
        while not until(self) and not self.closed and time.time() < end:
            self.sock.settimeout(max(0.01, end - time.time()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionError:
                self.closed = True
                break
            finally:  # sends keep the client's timeout, not what was left of this one
                self.sock.settimeout(self.timeout)
            if not chunk:
                self.closed = True
                break
            self.buf += chunk
            while len(self.buf) >= 9:
                length = struct.unpack(">I", b"\0" + self.buf[:3])[0]
                if len(self.buf) < 9 + length:
                    break
                ftype, flags = self.buf[3], self.buf[4]
                sid = struct.unpack(">I", self.buf[5:9])[0] & 0x7fffffff
                payload = self.buf[9:9 + length]
                self.buf = self.buf[9 + length:]
                self._handle(ftype, flags, sid, payload)
        return until(self)

    def wait_status(self, sid, timeout=5.0):
        self.pump(lambda c: c.streams[sid].grpc_status is not None
                  or c.streams[sid].headers and c.streams[sid].ended, timeout)
        return self.streams[sid]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
