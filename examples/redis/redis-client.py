#!/usr/bin/env python3
"""A redis client that follows the app: it asks batond where redis is
(batonctl whereis NAME --address, on the read-only socket, so any user
may ask) and, on every error, asks again and reconnects.

Every INTERVAL it runs INCR KEY and prints one line: "ok ADDRESS VALUE",
or "error ADDRESS REASON" when that fails. Python's standard library
only; redis is spoken in RESP, its wire protocol.

usage: redis-client.py --socket RO_SOCKET [--socket RO_SOCKET...]
                       [--batonctl PATH] [--name redis]
                       [--key clicks] [--interval 0.1] [--count N]
"""
import argparse
import socket
import subprocess
import sys
import time


def whereis(args):
    """The app's published address (host, port), or None. Each socket is
    asked in turn: a node that is down (or drained) does not answer."""
    for path in args.socket:
        try:
            out = subprocess.run(
                [args.batonctl, "-s", path, "whereis", args.name, "--address"],
                capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        addr = out.stdout.strip()
        if out.returncode == 0 and ":" in addr:
            host, port = addr.rsplit(":", 1)
            return host.strip("[]"), int(port)
    return None


def command(sock, *words):
    """Sends one command; returns its reply (an int or a str)."""
    req = b"*%d\r\n" % len(words)
    for w in words:
        w = w.encode()
        req += b"$%d\r\n%s\r\n" % (len(w), w)
    sock.sendall(req)
    line = sock.makefile("rb").readline()
    if not line:
        raise ConnectionError("connection closed")
    kind, rest = line[:1], line[1:].strip().decode()
    if kind == b"-":
        raise ConnectionError(rest)  # LOADING, READONLY...: look again
    if kind == b":":
        return int(rest)
    return rest


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True, action="append",
                   help="a node's read-only socket; repeat for several")
    p.add_argument("--batonctl", default="batonctl")
    p.add_argument("--name", default="redis")
    p.add_argument("--key", default="clicks")
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--count", type=int, default=0, help="0: forever")
    args = p.parse_args()
    sock, addr, n = None, None, 0
    while args.count == 0 or n < args.count:
        n += 1
        try:
            if sock is None:
                addr = whereis(args)
                if addr is None:
                    raise ConnectionError("no address for " + args.name)
                # A stopped server accepts but never answers: the timeout.
                sock = socket.create_connection(addr, timeout=1)
            value = command(sock, "INCR", args.key)
            print("ok %s:%d %d" % (addr[0], addr[1], value), flush=True)
        except (OSError, ConnectionError) as e:
            where = "%s:%d" % addr if addr else "-"
            print("error %s %s" % (where, e), flush=True)
            if sock is not None:
                sock.close()
            sock = None
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
