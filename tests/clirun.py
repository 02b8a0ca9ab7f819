"""Run the `gemello` command as a user would: a process of its own against a dataspace home.

Each command runs in a new process, with its own arguments, environment, working directory and
output, and the exit code a shell would see. Those processes are forked from one helper per
test worker that has already imported the CLI (a "zygote"), so a command does not pay Python's
and the CLI's start-up (about 1-2 s) each time: the suite runs about a hundred commands. The
helper is single-threaded, so forking it is safe. `CLIRUN_SUBPROCESS=1` runs every
command as `python -m connector.cli` instead (what the zygote's children must match).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# The helper: imports the CLI, then for each request (one JSON line on stdin) forks a child
# that runs the command with its output in the given files, waits for it, and answers with
# the child's pid (at once) and its exit code (when it ends).
_ZYGOTE = r"""
import json, os, sys, traceback
sys.argv = ["gemello"]
import connector.cli  # noqa: F401  (the CLI and what every command imports)
import connector.settings  # noqa: F401
import httpx  # noqa: F401
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setsid()
            os.chdir(req["cwd"])
            os.environ.clear()
            os.environ.update(req["env"])
            null = os.open(os.devnull, os.O_RDONLY)
            out = os.open(req["stdout"], os.O_WRONLY | os.O_TRUNC)
            err = os.open(req["stderr"], os.O_WRONLY | os.O_TRUNC)
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            sys.argv = ["gemello", *req["args"]]
            try:
                connector.cli.main()
                code = 0
            except SystemExit as exc:
                if exc.code is None:
                    code = 0
                elif isinstance(exc.code, int):
                    code = exc.code
                else:
                    print(exc.code, file=sys.stderr)
                    code = 1
            except BaseException:
                traceback.print_exc()
                code = 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    print(json.dumps({"pid": pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)
"""


class _Zygote:
    """The helper process of this test worker, started on first use."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _answer(self, deadline: float | None) -> dict[str, int]:
        assert self.proc.stdout is not None
        if deadline is not None:
            ready, _, _ = select.select([self.proc.stdout], [], [], deadline)
            if not ready:
                raise TimeoutError
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the CLI helper process ended")
        return dict(json.loads(line))

    def run(
        self, args: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        assert self.proc.stdin is not None
        with self.lock, tempfile.TemporaryDirectory(prefix="gemello-cli-") as tmp:
            out, err = Path(tmp) / "out", Path(tmp) / "err"
            out.touch()
            err.touch()
            req = {"args": args, "env": env, "cwd": os.getcwd(), "stdout": str(out),
                   "stderr": str(err)}  # fmt: skip
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            pid = self._answer(30)["pid"]
            try:
                code = self._answer(timeout)["code"]
            except TimeoutError:
                os.killpg(pid, signal.SIGKILL)
                self._answer(30)
                raise subprocess.TimeoutExpired(
                    ["gemello", *args], timeout, out.read_text(), err.read_text()
                ) from None
            return subprocess.CompletedProcess(
                ["gemello", *args], code, out.read_text(), err.read_text()
            )


_zygote: _Zygote | None = None


def run_cli(
    args: list[str],
    timeout: float = 120,
    env: dict[str, str] | None = None,
    only_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`gemello ARGS` in a process of its own, output captured as text (`env`: variables to
    add to this process's environment; `only_env`: the whole environment instead)."""
    global _zygote
    full_env = dict(only_env) if only_env is not None else {**os.environ, **(env or {})}
    if os.environ.get("CLIRUN_SUBPROCESS") == "1":
        return subprocess.run(
            [sys.executable, "-m", "connector.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
        )
    if _zygote is None or not _zygote.alive():
        _zygote = _Zygote()
    return _zygote.run(list(args), full_env, timeout)


def gemello(
    home: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`gemello ARGS --home HOME`, output captured as text (`env`: variables to add)."""
    return run_cli([*args, "--home", str(home)], timeout=timeout, env=env)
