#!/usr/bin/env python3
"""Who leads a baton leader group, asked over a node's control socket.

Standard library only. The node is a libbaton program that declared the
group (baton_group_add) and serves control_socket; a session asks
{"op":"leader","group":G} (docs/control.md "Leader groups").

    leader.py SOCKET GROUP                 one answer, as a JSON line
    leader.py SOCKET GROUP --newer-than E  asks again until a leader with
                                           an epoch above E is known
                                           (or --wait seconds pass: exit 1)
    leader.py SOCKET GROUP --none          asks again until no member leads
    leader.py SOCKET GROUP --join          joins the group ({"op":"join"}):
                                           prints the answer, then every
                                           event (elected, surrendered,
                                           deposed) as a line, until the
                                           node closes the session
"""
import argparse
import json
import socket
import sys
import time


class Session:
    """A JSON-lines session on a baton control socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        self.next_id = 1
        self.events = []  # events that came while waiting for an answer

    def request(self, op, **fields):
        rid = self.next_id
        self.next_id += 1
        line = json.dumps(dict(fields, op=op, id=rid), separators=(",", ":"))
        self.sock.sendall(line.encode() + b"\n")
        while True:
            raw = self.file.readline()
            if not raw:
                raise ConnectionError("the node closed the session")
            msg = json.loads(raw)
            if "event" in msg:
                self.events.append(msg)
            elif msg.get("id") == rid:
                return msg

    def leader(self, group):
        return self.request("leader", group=group)

    def events_forever(self):
        """Events already read, then each one as it comes."""
        while self.events:
            yield self.events.pop(0)
        for raw in self.file:
            msg = json.loads(raw)
            if "event" in msg:
                yield msg

    def close(self):
        self.file.close()
        self.sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("socket")
    ap.add_argument("group")
    ap.add_argument("--newer-than", type=int, default=None, metavar="EPOCH")
    ap.add_argument("--none", action="store_true")
    ap.add_argument("--join", action="store_true")
    ap.add_argument("--wait", type=float, default=30.0, metavar="SECONDS")
    args = ap.parse_args()

    deadline = time.monotonic() + args.wait
    while True:
        try:
            s = Session(args.socket)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            # A node (re)starting: its socket is not (yet) served.
            if args.join or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    if args.join:
        ans = s.request("join", group=args.group)
        print(json.dumps(ans, separators=(",", ":")), flush=True)
        if not ans.get("ok"):
            return 1
        for ev in s.events_forever():
            print(json.dumps(ev, separators=(",", ":")), flush=True)
        return 0
    while True:
        ans = s.leader(args.group)
        if not ans.get("ok"):
            print(json.dumps(ans), file=sys.stderr)
            return 1
        epoch = ans["epoch"]
        if args.none:
            done = ans["leader"] is None
        elif args.newer_than is not None:
            # Epochs are decimal strings: they may exceed a double.
            done = epoch is not None and int(epoch) > args.newer_than
        else:
            done = True
        if done:
            print(json.dumps(ans, separators=(",", ":")))
            s.close()
            return 0
        if time.monotonic() > deadline:
            print("no such answer in %.0f s; last: %s" % (args.wait, json.dumps(ans)),
                  file=sys.stderr)
            return 1
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
