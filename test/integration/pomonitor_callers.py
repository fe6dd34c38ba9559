#!/usr/bin/env python3
"""N callers of the global name `pomonitor` through one node's control
socket (test_takeover_calls). Each caller has its own session and calls
in a loop, retrying after a failure, until the file STOP exists; every
answer (a count) is printed on its own line to OUT. A call that fails is
not counted: it may be retried, never answered twice."""
import json
import os
import socket
import sys
import threading
import time

sock_path, n, stop, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
answers = []
errors = {}
slowest = [0.0]
lock = threading.Lock()


def caller(k):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    f = s.makefile("rb")
    i = 0
    while not os.path.exists(stop):
        i += 1
        t0 = time.monotonic()
        s.sendall((json.dumps({"op": "call", "name": "pomonitor", "data": "inc",
                               "timeout_ms": 5000, "id": i}) + "\n").encode())
        while True:
            msg = json.loads(f.readline())
            if msg.get("id") == i:
                break
        with lock:
            slowest[0] = max(slowest[0], time.monotonic() - t0)
            if msg.get("ok"):
                answers.append(int(msg["data"]))
            else:
                errors[msg.get("error")] = errors.get(msg.get("error"), 0) + 1
        if not msg.get("ok"):
            time.sleep(0.005)
    s.close()


threads = [threading.Thread(target=caller, args=(k,)) for k in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(out, "w") as f:
    for a in answers:
        f.write("%d\n" % a)
sys.stderr.write("callers: %d answers, errors %s, slowest call %.0f ms\n"
                 % (len(answers), errors, slowest[0] * 1000))
