# Runs commands for bench/measure.mjs and reports what each cost, from wait4(): wall time,
# user and system CPU time in microseconds (GNU time prints them in hundredths of a second, too
# coarse for 50 ms commands), and peak RSS. One process for the whole bench, so its own start-up
# is paid once. Reads one JSON request per line: {"argv": [...], "env": {...}, "cwd": "...",
# "stdout": "/dev/null" | path, "stderr": path}; answers one JSON line per request.
import json
import os
import sys
import time

for line in sys.stdin:
    req = json.loads(line)
    out = os.open(req.get("stdout", os.devnull), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(req.get("cwd") or ".")
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.execve(req["argv"][0], req["argv"], req["env"])
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    for fd in (out, err, null):
        os.close(fd)
    code = os.waitstatus_to_exitcode(status)
    # ru covers the child and the descendants it waited for, as GNU time's figures do.
    print(json.dumps({"code": code, "wallMs": wall * 1000, "userMs": ru.ru_utime * 1000, "sysMs": ru.ru_stime * 1000, "maxRssKiB": ru.ru_maxrss}), flush=True)
