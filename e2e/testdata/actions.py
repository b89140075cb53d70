# Run-time actions (docs/MODULES.md): declares "hello" and "fail" on the notify stream, then answers calls.
import json, os, socket, sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(os.environ["GPM_NOTIFY_STREAM"])
f = s.makefile("rw", newline="\n")
for name in ("hello", "multi"):
    f.write("X_GPM_ACTION=%s\n" % name)
    f.flush()
    answer = f.readline().strip()
    if answer != "OK":
        sys.exit("declare %s: %s" % (name, answer))
print("declared", flush=True)
for line in f:
    word, n, name, arg = line.rstrip("\n").split(" ", 3)
    arg = json.loads(arg)
    if name == "hello":
        reply = "hello %s from %s" % (arg, os.environ["GPM_ID"])
    else:
        reply = "line one\nline two"
    f.write("ACTION_REPLY %s %s\n" % (n, json.dumps(reply)))
    f.flush()
