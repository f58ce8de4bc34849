#!/usr/bin/env python3
"""Daemon memory under the unfinished-request attack: CONNS connections x STREAMS streams, each
declaring a 16 MiB message and sending 1 MiB of it, never ending; the attackers stay connected.
Prints flyteplugd's VmRSS before (after one call answered and one refused), at its peak, right after the attack, and HOLD seconds later,
and how the streams were answered.

    bench/grpc/buffer_attack.py [--bin build/daemon/flyteplugd] [--conns 32] [--streams 30]
                                [--hold 35] [--set key=value ...]

--set adds grpc.* keys to the daemon's configuration (e.g. --set max_buffered_request_bytes=64MiB
--set receive_timeout=3s); without any, the defaults apply. Needs the test venv (hpack, grpcio).
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e" / "grpc"))
from rawh2 import RawClient, frame  # noqa: E402

MIB = 1024 * 1024


def rss_kib(pid):
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1))


def warm_up(port):
    """The baseline is a daemon that has served: one call answered, one refused."""
    c = RawClient(port, timeout=10)
    c.handshake()
    ok = c.request("/flyteidl.service.AgentMetadataService/ListAgents", b"\x00" * 5)
    big = c.request("/flyteidl.service.AgentMetadataService/GetAgent",
                    b"\x00" + (1 << 30).to_bytes(4, "big"))
    assert c.wait_status(ok).grpc_status == 0, c.streams[ok].__dict__
    assert c.wait_status(big).grpc_status == 8, c.streams[big].__dict__
    c.close()


def attack(port, streams):
    c = RawClient(port, timeout=60)
    c.handshake()
    c.pump(timeout=0.3)  # the server's SETTINGS and WINDOW_UPDATE, acknowledged
    chunk = b"x" * 16000
    sids = []
    for _ in range(streams):
        sid, raw = c.headers("/flyteidl.service.AgentMetadataService/GetAgent")
        c.send(raw)
        payload, sent, body = b"\x00" + (16 * MIB).to_bytes(4, "big"), 0, MIB - 64
        while sent < body:
            n = min(len(chunk), body - sent)
            c.send(frame(0, 0, sid, payload + chunk[:n]))
            payload, sent = b"", sent + n
        sids.append(sid)
    return c, sids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "build" / "daemon" / "flyteplugd"))
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--streams", type=int, default=30)
    ap.add_argument("--hold", type=float, default=35)
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp())
    grpc_keys = ["  listen: 127.0.0.1:0"] + [f"  {kv.replace('=', ': ', 1)}" for kv in args.set]
    (work / "c.yaml").write_text("grpc:\n" + "\n".join(grpc_keys) + "\nadmin: {enabled: false}\n")
    log = open(work / "log", "wb")
    p = subprocess.Popen([args.bin, "serve", "--config", str(work / "c.yaml")], stdout=log,
                         stderr=log)
    try:
        port = None
        for _ in range(500):
            m = re.search(r"listening on \S+:(\d+) \(h2c\)", (work / "log").read_text())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.02)
        assert port, (work / "log").read_text()
        warm_up(port)
        time.sleep(1.5)  # the daemon trims freed memory a second after connections close
        before = rss_kib(p.pid)
        peak = [before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(p.pid))
                time.sleep(0.02)

        threading.Thread(target=sample, daemon=True).start()
        results = [None] * args.conns
        start = time.time()
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(
            i, attack(port, args.streams))) for i in range(args.conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sent_s = time.time() - start
        after = rss_kib(p.pid)
        end = time.time() + args.hold
        while time.time() < end:
            for c, _ in results:
                c.pump(timeout=0.05)
        held = rss_kib(p.pid)
        done.set()
        codes = {}
        for c, sids in results:
            for s in sids:
                st = c.streams[s].grpc_status
                codes[st] = codes.get(st, 0) + 1
        print(f"daemon: {args.bin} {' '.join(args.set) or '(defaults)'}")
        print(f"attack: {args.conns} conns x {args.streams} streams x 1 MiB of 16 MiB, "
              f"sent in {sent_s:.1f} s")
        print(f"VmRSS before {before / 1024:.1f} MiB, peak {peak[0] / 1024:.1f} MiB, "
              f"after the attack {after / 1024:.1f} MiB, {args.hold:.0f} s later (attackers "
              f"still connected) {held / 1024:.1f} MiB")
        print("stream outcomes (grpc-status: count; None = no answer yet): " +
              ", ".join(f"{k}: {v}" for k, v in sorted(codes.items(), key=str)))
        for c, _ in results:
            c.close()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)
        log.close()


if __name__ == "__main__":
    main()
