#!/usr/bin/env python3
"""Cluster test worker, standard library only (modelled on examples/hello.py).

Takes its listening socket from gpm (or systemd) as fd 3 with the LISTEN_FDS protocol, serves HTTP on it, and says
READY=1 with a STATUS= on NOTIFY_SOCKET once it serves. READY_DELAY (seconds) delays readiness and serving, as a
slow start would. GET / answers "pid PID instance N"; GET /slow writes the headers, waits 0.5 s, then the body.
SIGINT or SIGTERM stops accepting and lets accepted requests finish. The worker puts the socket in non-blocking
mode (O_NONBLOCK, on the open file description that every worker shares), as a worker that polls a shared socket
must: gpm hands it over blocking (systemd's default), and socketserver polls, then accepts, so a connection that
another worker took would leave it blocked in accept(2), deaf to its stop signal. With NONBLOCK_INSTANCE set, only
the worker whose GPM_INSTANCE equals it does.
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
        body = f"pid {os.getpid()} instance {os.environ.get('GPM_INSTANCE', '?')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path.startswith("/slow"):
            self.wfile.flush()
            time.sleep(0.5)
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def main():
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        sys.exit(f"worker.py: LISTEN_PID={os.environ.get('LISTEN_PID')!r}, but my pid is {os.getpid()}")
    if int(os.environ.get("LISTEN_FDS", "0")) < 1:
        sys.exit("worker.py: no socket passed (LISTEN_FDS)")
    sock = socket.socket(fileno=3)
    if os.environ.get("NONBLOCK_INSTANCE", os.environ.get("GPM_INSTANCE")) == os.environ.get("GPM_INSTANCE"):
        # What a careful worker sharing a listening socket does: poll, then accept without blocking.
        sock.setblocking(False)
    server = http.server.ThreadingHTTPServer(sock.getsockname()[:2], Handler, bind_and_activate=False)
    server.socket = sock
    server.daemon_threads = False  # finish in-flight requests on stop
    delay = float(os.environ.get("READY_DELAY", "0") or "0")
    if delay:
        time.sleep(delay)

    # The kill signal is taken by sigwait, not by a Python signal handler: a handler runs in the main thread between
    # two bytecodes, even while that thread holds one of threading's locks. One that started a thread to call
    # server.shutdown() deadlocked when the signal came while serve_forever, having just accepted a connection, was
    # reaping finished request threads under threading._shutdown_locks_lock (the new thread waited for that lock,
    # the handler for the new thread): the worker hung with the connection unread until gpm's SIGKILL, which reset
    # it. Blocked before any thread starts, the signals stay blocked in every thread.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    print(f"worker {os.getpid()} serving on {sock.getsockname()}", flush=True)
    notify(f"READY=1\nSTATUS=serving pid {os.getpid()}")
    signal.sigwait(stop_signals)
    server.shutdown()  # returns once serve_forever has stopped accepting
    server.server_close()  # joins the request threads: the accepted requests finish
    print(f"worker {os.getpid()} stopped", flush=True)


if __name__ == "__main__":
    main()
