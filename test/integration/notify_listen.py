"""A service manager's end of sd_notify for tests: binds a datagram Unix
socket at argv[1] and appends each datagram received to argv[2], then a
line "--", flushed, until SIGTERM."""
import os
import signal
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", encoding="utf-8") as f:
    f.write("listening\n")
    f.flush()
    while True:
        data = s.recv(4096)
        f.write(data.decode("utf-8", "replace") + "\n--\n")
        f.flush()
        os.fsync(f.fileno())
