#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_grpc_conn (tests/fuzz/corpus/grpc_conn/). Each seed is the
driver's control byte (bit 0: prepend the preface; bits 1-7: chunk size - 1) followed by HTTP/2
frames a gRPC client would send. Needs the `hpack` package (tests/requirements.txt)."""

import struct
import sys
from pathlib import Path

import hpack

OUT = Path(__file__).resolve().parent / "corpus" / "grpc_conn"


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def msg(body, flag=0):
    return bytes([flag]) + struct.pack(">I", len(body)) + body


def request(enc, sid, path, body, extra=(), ctype="application/grpc", end=True):
    hdrs = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "x"),
            ("content-type", ctype), ("te", "trailers")] + list(extra)
    out = frame(1, 4, sid, enc.encode(hdrs))
    return out + frame(0, 1 if end else 0, sid, body)


def seeds():
    e = hpack.Encoder
    yield "list_agents", 0x7f, request(e(), 1, "/flyteidl.service.AgentMetadataService/ListAgents",
                                       msg(b""))
    yield "get_agent", 0x01, request(e(), 1, "/flyteidl.service.AgentMetadataService/GetAgent",
                                     msg(b"\x0a\x04fuzz"))
    enc = e()
    yield "health", 0x0b, request(enc, 1, "/grpc.health.v1.Health/Check", msg(b"")) + \
        request(enc, 3, "/grpc.health.v1.Health/Watch", msg(b"\x0a\x03x.Y"),
                extra=[("grpc-timeout", "1m")])
    yield "create_task", 0x21, request(e(), 1, "/flyteidl.service.AsyncAgentService/CreateTask",
                                       msg(b"\x1a\x04s3://\x12\x7f"))
    enc = e()
    yield "hold_and_reset", 0x3f, request(enc, 1, "/fuzz.Hold/Unary", msg(b"x")) + \
        request(enc, 3, "/fuzz.Hold/Stream", msg(b"stream")) + \
        frame(3, 0, 1, struct.pack(">I", 8)) + frame(7, 0, 0, struct.pack(">II", 3, 0))
    enc = e()
    yield "errors", 0x05, request(enc, 1, "/fuzz.Hold/Unary", msg(b"z", 1),
                                  extra=[("grpc-encoding", "gzip")]) + \
        request(enc, 3, "/x.Y/Z", msg(b""), ctype="application/json") + \
        request(enc, 5, "/fuzz.Hold/Unary", b"\x00\x00\x00\x01\x00ab") + \
        request(enc, 7, "/fuzz.Hold/Unary", b"\x00\x00\x00", end=True)
    yield "no_preface", 0x3e, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0) + \
        frame(6, 0, 0, b"12345678") + frame(8, 0, 0, struct.pack(">I", 1000))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, control, body in seeds():
        (OUT / f"{name}.bin").write_bytes(bytes([control]) + body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
