"""The console script pauses the cyclic garbage collector while it imports and loads
its model, then resumes it with what start-up built frozen (mirctl.heap)."""

from __future__ import annotations

import subprocess
import sys

import pytest

RUN = """
import atexit, gc, sys
seen = []  # collections since main() began, whether the collector is on, frozen objects: at model load
collections = lambda: sum(s["collections"] for s in gc.get_stats())
import mirctl.pipeline.runner as runner
load = runner._Loader.get
def get(self):
    was_loaded = self.loaded
    out = load(self)
    if not was_loaded:
        seen.append((collections() - start, gc.isenabled(), gc.get_freeze_count()))
    return out
runner._Loader.get = get
atexit.register(lambda: print("SEEN", seen, gc.isenabled()))
sys.argv = ["mirctl"] + sys.argv[1:]
from mirctl.cli import main
start = collections()
main()
"""


def test_collector_paused_through_startup_and_resumed(sine_wav, tmp_path):
    out = subprocess.run([sys.executable, "-c", RUN, "info", str(sine_wav), "-q", "-o", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    line = [x for x in out.stdout.splitlines() if x.startswith("SEEN")][-1]
    seen, enabled_at_exit = eval(line[len("SEEN "):].rsplit(" ", 1)[0]), line.endswith("True")
    (n_collections, enabled, frozen), = seen
    assert n_collections == 0  # no collection ran while importing and loading
    assert enabled and frozen > 10_000  # back on, with the start-up objects out of its reach
    assert enabled_at_exit


@pytest.mark.parametrize("before, expected", [
    ("gc.disable(); heap.pause_gc_for_startup()", ["False", "0"]),  # the caller's choice stands
    ("", ["True", "0"]),  # library use: end_startup without a pause changes nothing
])
def test_collector_left_alone_unless_the_console_script_paused_it(before, expected):
    code = f"import gc\nfrom mirctl import heap\n{before}\nheap.end_startup()\nprint(gc.isenabled(), gc.get_freeze_count())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == expected


def test_parallel_run_resumes_the_collector_in_the_parent(sine_wav, tmp_path):
    # with --jobs the workers load the model; the parent never does, yet must not run
    # the whole batch with the collector off
    second = tmp_path / "b.wav"
    second.write_bytes(sine_wav.read_bytes())
    code = ("import atexit, gc, sys\n"
            "atexit.register(lambda: print('GC', gc.isenabled(), gc.get_freeze_count() > 0))\n"
            "sys.argv = ['mirctl', 'info', sys.argv[1], sys.argv[2], '--jobs', '2', '-q', '-o', sys.argv[3]]\n"
            "from mirctl.cli import main\n"
            "main()\n")
    out = subprocess.run([sys.executable, "-c", code, str(sine_wav), str(second), str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "GC True True" in out.stdout


@pytest.mark.parametrize("argv", [["models", "list"], ["models", "info", "hpss"], ["info", "/no/such/file.wav", "-q"],
                                  ["train"], ["eval", "--help"]])
def test_the_collector_is_on_again_after_every_command(argv):
    code = ("import atexit, gc, sys\n"
            "atexit.register(lambda: print('GC', gc.isenabled(), flush=True))\n"
            "sys.argv = ['mirctl'] + sys.argv[1:]\n"
            "from mirctl.cli import main\n"
            "main()\n")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "GC True", out.stdout + out.stderr


@pytest.mark.parametrize("argv, paused", [(["info", "x.wav"], True), (["transcribe", "x.wav"], True),
                                          (["models", "list"], False), (["train", "x"], False), (["eval", "x"], False)])
def test_only_the_commands_that_measured_a_gain_pause_the_collector(argv, paused):
    code = ("import gc, sys\n"
            "import mirctl.cli.app as app\n"
            "app.main = lambda: print('PAUSED', not gc.isenabled())\n"
            "sys.argv = ['mirctl'] + sys.argv[1:]\n"
            "from mirctl.cli import main\n"
            "main()\n")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"PAUSED {paused}", out.stderr
