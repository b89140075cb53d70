#!/usr/bin/env python3
"""A web worker that takes its listening socket from gpm (or systemd) as fd 3 and says READY=1 when it serves.

Standard library only: socket activation is a protocol, not a framework. Run it clustered with
    gpm start examples/ecosystem.json
"""
import http.server
import os
import signal
import socket
import sys
import threading
import time


def notify(state):
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(state.encode(), addr)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = f"hello from pid {os.getpid()} (instance {os.environ.get('GPM_INSTANCE', '?')})\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def main():
    if os.environ.get("LISTEN_PID") != str(os.getpid()) or int(os.environ.get("LISTEN_FDS", "0")) < 1:
        sys.exit("hello.py: no socket passed (run it with gpm start --listen tcp://127.0.0.1:8080)")
    sock = socket.socket(fileno=3)
    server = http.server.ThreadingHTTPServer(sock.getsockname()[:2], Handler, bind_and_activate=False)
    server.socket = sock
    server.daemon_threads = False  # finish in-flight requests on stop
    delay = float(os.environ.get("READY_DELAY", "0"))
    if delay:
        time.sleep(delay)  # a slow start, to show that reload waits for readiness

    # The kill signal is taken by sigwait, not by a signal handler: a Python handler runs in the main thread between
    # two bytecodes, even while that thread holds one of threading's locks, and one that starts a thread (to call
    # server.shutdown) can deadlock there. Blocked before any thread starts, the signals stay blocked in every thread.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    print(f"worker {os.getpid()} serving on {sock.getsockname()}", flush=True)
    notify(f"READY=1\nSTATUS=serving on {sock.getsockname()}")
    signal.sigwait(stop_signals)
    # Stop accepting; requests already accepted finish; the socket stays open in the other workers.
    server.shutdown()
    server.server_close()
    print(f"worker {os.getpid()} stopped", flush=True)


if __name__ == "__main__":
    main()
