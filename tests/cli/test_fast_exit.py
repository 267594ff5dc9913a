"""The console script leaves through ``os._exit`` once a command is done, keeping what a
normal exit guarantees: the exit code, atexit handlers, flushed output, waiting threads."""

from __future__ import annotations

import subprocess
import sys

import pytest

RUN = """
import atexit, sys, threading, time
from mirctl.cli import app as cli
mode = sys.argv[1]
sys.argv = ["mirctl"] + sys.argv[2:]
atexit.register(lambda: print("atexit ran", flush=True))
# a flag only the interpreter's own teardown can clear: os._exit skips that teardown
class Teardown:
    def __del__(self):
        sys.stderr.write("interpreter teardown\\n")
keep = Teardown()
if mode == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished", flush=True))).start()
if mode == "exit-message":
    cli.leave("bye: something went wrong")
if mode == "buffered":
    sys.stdout.write("unflushed text")
    cli.leave(0)
cli.main()
"""


def run(mode: str, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-c", RUN, mode, *argv], capture_output=True, text=True,
                          timeout=60, env=full_env)


@pytest.mark.parametrize("argv, code", [(["--version"], 0), (["transcribe", "--bogus-option"], 2),
                                        (["transcribe", "/no/such/file.wav", "-q"], 1)])
def test_exit_code_kept_and_teardown_skipped(argv, code):
    out = run("plain", *argv)
    assert out.returncode == code
    assert "atexit ran" in out.stdout
    assert "interpreter teardown" not in out.stderr


def test_opt_out_runs_the_normal_teardown():
    out = run("plain", "--version", env={"MIRCTL_FAST_EXIT": "0"})
    assert out.returncode == 0 and "atexit ran" in out.stdout
    assert "interpreter teardown" in out.stderr


def test_running_thread_is_waited_for():
    out = run("thread", "--version")
    assert out.returncode == 0
    assert "thread finished" in out.stdout and "atexit ran" in out.stdout


def test_buffered_output_is_flushed():
    out = run("buffered")
    assert out.returncode == 0 and out.stdout.startswith("unflushed text")


def test_exit_message_goes_to_stderr_with_code_1():
    out = run("exit-message")
    assert out.returncode == 1 and "bye: something went wrong" in out.stderr


def test_closed_pipe_does_not_raise(tmp_path):
    # `mirctl ... --json | head -1`: the reader has gone when mirctl flushes
    code = (f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {RUN!r}, 'plain', '--help'], "
            "stdout=subprocess.PIPE, stderr=subprocess.PIPE); p.stdout.close(); err = p.stderr.read().decode(); "
            "print(p.wait()); print(err)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    status, _, err = out.stdout.partition("\n")
    assert "Traceback" not in err
    assert status.strip() == "1"  # click reports the failed write (EPIPE) as an error exit, without a traceback


@pytest.mark.parametrize("argv", [["train"], ["models", "list"], ["eval", "--help"]])
def test_commands_that_did_not_opt_in_exit_normally(argv):
    out = run("plain", *argv)
    assert out.returncode == 0 and "atexit ran" in out.stdout
    assert "interpreter teardown" in out.stderr
