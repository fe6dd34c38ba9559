#!/usr/bin/env python3
"""Seed 000's pomonitor as an OS program under batond (test_takeover_calls).

A counter that serves the global name `pomonitor`: every call adds one and
answers the new count. The count is written to DIR/NODE.count before the
answer goes out, so the app's state_export (`cat` of that file) hands the
new instance every count answered so far, provided batond exports only
after this instance has stopped serving.

    pomonitor_app.py serve DIR       the app's name comes from batond
                                      (`name = pomonitor`); the app serves it
    pomonitor_app.py reregister DIR  the app re-registers the name itself
                                      (seed 000's re_register_name)
"""
import json
import os
import select
import signal
import socket
import sys

mode, d = sys.argv[1], sys.argv[2]
node = os.environ["BATON_NODE"]
count = 0
state = os.environ.get("BATON_STATE_FILE", "")
if state and os.path.getsize(state) > 0:
    with open(state) as f:
        count = int(f.read().strip())

stopping = False


def on_term(signum, frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)


def keep(n):
    tmp = os.path.join(d, node + ".count.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % n)
    os.rename(tmp, os.path.join(d, node + ".count"))


keep(count)
with open(os.path.join(d, "starts"), "a") as f:
    f.write("%s %s %s count=%d\n" % (node, os.environ.get("BATON_START_TYPE"),
                                     os.environ.get("BATON_EPOCH"), count))

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(os.environ["BATON_SOCKET"])
if mode == "serve":
    req = {"op": "serve", "name": os.environ["BATON_NAME"], "id": 1}
else:
    req = {"op": "reregister", "name": "pomonitor", "meta": node, "id": 1}
s.sendall((json.dumps(req) + "\n").encode())

buf = b""
# A call is taken, counted, kept and answered as one step: SIGTERM only
# ends the loop between calls, so no count is kept that was not answered.
while not stopping:
    r, _, _ = select.select([s], [], [], 0.05)
    if not r:
        continue
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        msg = json.loads(line)
        if msg.get("id") == 1 and not msg.get("ok"):
            sys.stderr.write("pomonitor_app: %s\n" % line.decode())
            sys.exit(1)
        if msg.get("event") == "call":
            count += 1
            keep(count)
            s.sendall((json.dumps({"op": "reply", "call": msg["call"],
                                   "data": str(count)}) + "\n").encode())
s.close()
