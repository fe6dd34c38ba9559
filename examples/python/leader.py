#!/usr/bin/env python3
"""gen_leader from Python: a baton leader group over a node's control socket.

Standard library only. The node is a libbaton program that declared the
group (baton_group_add, e.g. examples/gdict) and serves control_socket.
A session asks {"op":"leader","group":G}, or joins this node's member
({"op":"join"}) and then makes its leader calls and gets its events
(docs/control.md "Leader groups").

test/integration/test_leader_socket.sh runs it against gdict nodes a, b
(candidates) and c (a worker):
  - `--call "k v"` on c while nobody leads: the call waits (the leader
    query made right after it says "leader": null), and is answered
    "ok" once a is elected; c's `--join` session sees it as from_leader;
  - kill -9 of the leader's node: `--newer-than E` sees b lead at a
    higher epoch, and b's `--join` session gets elected;
  - kill -STOP of a until b leads, then kill -CONT: a's `--join` session
    gets deposed before a leads again (elected, at a higher epoch);
  - the worker's session never gets elected.

    leader.py SOCKET GROUP                 one answer, as a JSON line
    leader.py SOCKET GROUP --newer-than E  asks again until a leader with
                                           an epoch above E is known
                                           (or --wait seconds pass: exit 1)
    leader.py SOCKET GROUP --none          asks again until no member leads
    leader.py SOCKET GROUP --join          joins the group ({"op":"join"}):
                                           prints the answer, then every
                                           event (elected, surrendered,
                                           deposed, from_leader, down) as
                                           a line, until the node closes
                                           the session
    leader.py SOCKET GROUP --call DATA     a leader_call: waits while the
                                           group has no leader (up to
                                           --timeout-ms), prints the answer
                                           (exit 1 if it failed)
    leader.py SOCKET GROUP --op OP [--data DATA]
                                           any other group op (leader_cast,
                                           broadcast, group_call [--node N],
                                           alive, down, candidates, workers):
                                           prints the answer
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
        self.answers = {}  # answers that came while waiting for another

    def send(self, op, **fields):
        """Sends a request; returns its id (answer() waits for it)."""
        rid = self.next_id
        self.next_id += 1
        line = json.dumps(dict(fields, op=op, id=rid), separators=(",", ":"))
        self.sock.sendall(line.encode() + b"\n")
        return rid

    def answer(self, rid):
        """The answer to request rid: answers may come in another order
        than their requests (a leader_call waits for a leader)."""
        while rid not in self.answers:
            raw = self.file.readline()
            if not raw:
                raise ConnectionError("the node closed the session")
            msg = json.loads(raw)
            if "event" in msg:
                self.events.append(msg)
            else:
                self.answers[msg.get("id")] = msg
        return self.answers.pop(rid)

    def request(self, op, **fields):
        return self.answer(self.send(op, **fields))

    def leader(self, group):
        return self.request("leader", group=group)

    def join(self, group):
        """Attach to this node's member of group: its events come."""
        return self.request("join", group=group)

    def leader_call(self, data, timeout_ms=5000):
        """To the leader, wherever it is; held while there is none."""
        return self.request("leader_call", data=data, timeout_ms=timeout_ms)

    def op(self, op, **fields):
        """leader_cast, broadcast, group_call, alive, down, candidates,
        workers: on the group this session joined."""
        return self.request(op, **fields)

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
    ap.add_argument("--call", metavar="DATA")
    ap.add_argument("--timeout-ms", type=int, default=60000)
    ap.add_argument("--op", metavar="OP")
    ap.add_argument("--data", metavar="DATA")
    ap.add_argument("--node", metavar="NODE")
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
    if args.call is not None or args.op is not None:
        ans = s.join(args.group)
        if ans.get("ok"):
            if args.call is not None:
                # The node handles a session's requests in order: the
                # leader query after the call says who led when the call
                # was taken (null: it waits for a leader).
                rid = s.send("leader_call", data=args.call,
                             timeout_ms=args.timeout_ms)
                then = s.leader(args.group)
                print(json.dumps({"when_called": then}, separators=(",", ":")),
                      flush=True)
                ans = s.answer(rid)
            else:
                fields = {}
                if args.data is not None:
                    fields["data"] = args.data
                if args.node is not None:
                    fields["node"] = args.node
                if args.op in ("leader_call", "group_call"):
                    fields["timeout_ms"] = args.timeout_ms
                ans = s.op(args.op, **fields)
        print(json.dumps(ans, separators=(",", ":")), flush=True)
        return 0 if ans.get("ok") else 1
    if args.join:
        ans = s.join(args.group)
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
