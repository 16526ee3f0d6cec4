#!/usr/bin/env python3
"""Opens N idle TCP connections to HOST:PORT and holds them.

Used by bench/server_bench.sh to measure what idle connections cost a server
(seed 000, Exercise 5: "millions of concurrent customers"). Prints
"open N" (N = connections actually open) once connected, then holds them
until stdin closes or TIMEOUT seconds pass, whichever is first.

    idle_connections.py HOST PORT N [TIMEOUT]
"""
import resource
import select
import socket
import sys
import time


def main() -> int:
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sockets = []
    failures = 0
    for _ in range(count):
        try:
            sockets.append(socket.create_connection((host, port), timeout=5))
        except OSError:
            failures += 1
    # Let the server accept the last of them before anyone measures.
    time.sleep(0.5)
    alive = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            # An idle client of a pizza server is never sent anything: bytes
            # here are the busy reply (refused), b"" is a close.
            sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    print(f"open {alive} failed {failures}", flush=True)
    select.select([sys.stdin], [], [], timeout)
    for sock in sockets:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
