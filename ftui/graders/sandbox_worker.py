"""The python grader's sandbox: runs a user's `grade(sample, item)` in its own process.

    python -I sandbox_worker.py MEMORY_MB SCRATCH_DIR

Started by `ftui.graders.sandbox` with an empty environment (no secrets), in an empty scratch
folder. Before any user code runs it:

- leaves the network: a new network namespace with no interfaces where the kernel allows one
  (root, or unprivileged user namespaces), and in every case an audit hook that refuses sockets;
- caps memory (RLIMIT_AS), file size and core dumps;
- installs an audit hook (which Python code cannot remove) refusing sockets, subprocesses, forks,
  exec, ctypes, and file access outside the Python installation and the scratch folder (reads) or
  the scratch folder (writes, renames, deletes).

Protocol, one JSON object a line: the parent first sends `{"source": ...}` and gets `{"ready": true}`
or `{"error": ...}`; then each `{"sample": ..., "item": ...}` gets `{"score": x}` or `{"error": ...}`.
The parent enforces the time limit by killing this process. User code's own prints go to stderr.
Standard library only: this file runs with `-I`, outside ftui's environment.
"""

import contextlib
import json
import os
import sys
import traceback
from typing import Any

BLOCKED_PREFIXES = (
    "socket.",
    "subprocess.",
    "os.exec",
    "os.spawn",
    "os.posix_spawn",
    "os.fork",
    "os.system",
    "os.kill",
    "os.killpg",
    "os.chdir",
    "pty.",
    "ctypes.",
    "urllib.",
    "webbrowser.",
    "sys.remote_exec",
)
PATH_EVENTS_WRITE = {
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.link",
    "os.symlink",
    "os.truncate",
    "os.utime",
    "shutil.rmtree",
    "shutil.copyfile",
    "shutil.move",
}
PATH_EVENTS_READ = {"os.listdir", "os.scandir"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _leave_network() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        clone_newnet, clone_newuser = 0x40000000, 0x10000000
        if libc.unshare(clone_newnet) != 0:
            libc.unshare(clone_newuser | clone_newnet)
    except Exception:
        pass  # the audit hook below still refuses every socket


def _limit(memory_mb: int) -> None:
    import resource

    for kind, value in (
        (resource.RLIMIT_AS, memory_mb * 1024 * 1024),
        (resource.RLIMIT_FSIZE, 16 * 1024 * 1024),
        (resource.RLIMIT_CORE, 0),
    ):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(kind, (value, value))


def _normalise(path: str, cwd: str) -> str:
    # Plain string work only: the hook must not call anything user code could have replaced.
    if not path.startswith("/"):
        path = cwd + "/" + path
    parts: list = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def _install_hook(scratch: str) -> None:
    readable = tuple(
        p.rstrip("/") + "/"
        for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path, scratch, "/usr/lib", "/usr/share"}
        if p and p.startswith("/")
    )
    writable = (scratch.rstrip("/") + "/",)
    blocked, writes, reads = BLOCKED_PREFIXES, frozenset(PATH_EVENTS_WRITE), frozenset(PATH_EVENTS_READ)
    normalise, write_flags, cwd = _normalise, WRITE_FLAGS, scratch

    # User code may replace builtins (`builtins.any = ...`): the hook uses the originals, bound here.
    _any, _isinstance, _str, _bytes, _int, _list = any, isinstance, str, bytes, int, list

    def allowed(path: Any, roots: tuple) -> bool:
        if _isinstance(path, _bytes):
            path = path.decode("utf-8", "replace")
        if _isinstance(path, _int):
            return True  # an already open descriptor
        if not _isinstance(path, _str):
            return False
        full = normalise(path, cwd) + "/"
        return _any(full.startswith(root) for root in roots)

    def hook(event: str, args: tuple) -> None:
        if event.startswith(blocked):
            raise PermissionError(f"the grader sandbox does not allow {event}")
        if event == "open":
            path, mode, flags = [*_list(args), None, None, None][:3]
            writing = (_isinstance(mode, _str) and _any(c in mode for c in "wax+")) or (
                _isinstance(flags, _int) and flags & write_flags
            )
            if not allowed(path, writable if writing else readable):
                raise PermissionError(f"the grader sandbox does not allow opening {path!r}")
        elif event in writes:
            for path in args[:2]:
                if _isinstance(path, (_str, _bytes)) and not allowed(path, writable):
                    raise PermissionError(f"the grader sandbox does not allow {event} on {path!r}")
        elif event in reads and args and not allowed(args[0] if args[0] is not None else ".", readable):
            raise PermissionError(f"the grader sandbox does not allow listing {args[0]!r}")

    sys.addaudithook(hook)


def _reply(out, obj: dict) -> None:
    try:
        text = json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError):
        text = json.dumps({"error": f"grade() returned {obj.get('score')!r}, not a finite number"})
    out.write(text + "\n")
    out.flush()


def main() -> int:
    memory_mb, scratch = int(sys.argv[1]), sys.argv[2]
    os.chdir(scratch)
    _leave_network()
    _limit(memory_mb)
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # user prints go to stderr, never into the protocol
    sys.stdout = sys.stderr
    first = sys.stdin.readline()
    try:
        source = json.loads(first)["source"]
    except (ValueError, KeyError, TypeError):
        _reply(protocol, {"error": "no grader source received"})
        return 2
    _install_hook(scratch)
    namespace: dict = {"__name__": "grader"}
    try:
        exec(compile(source, "<grader>", "exec"), namespace)
        grade = namespace["grade"]
        if not callable(grade):
            raise TypeError("grade is not a function")
    except BaseException as exc:  # the user's module failed to load: say how, and stop
        _reply(protocol, {"error": _describe(exc)})
        return 1
    _reply(protocol, {"ready": True})
    for line in sys.stdin:
        try:
            request = json.loads(line)
            value = grade(request["sample"], request["item"])
            if isinstance(value, bool) or not isinstance(value, int | float):
                _reply(protocol, {"error": f"grade() returned {type(value).__name__}, not a number"})
                continue
            _reply(protocol, {"score": float(value)})
        except MemoryError:
            _reply(protocol, {"error": f"MemoryError: grade() used more than {memory_mb} MB"})
        except RecursionError:
            _reply(protocol, {"error": "RecursionError: maximum recursion depth exceeded"})
        except BaseException as exc:
            _reply(protocol, {"error": _describe(exc)})
    return 0


def _describe(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<grader>"]
    where = f" (line {frames[-1].lineno})" if frames else ""
    return ("".join(lines).strip() + where)[:2000]


if __name__ == "__main__":
    sys.exit(main())
