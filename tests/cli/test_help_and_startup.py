"""--help is fast: no heavy library is imported by the CLI until a command runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

HEAVY = ["torch", "tensorflow", "demucs", "basic_pitch", "librosa", "miditok", "onnxruntime", "numpy",
         "scipy", "matplotlib", "pretty_midi", "soundfile", "pydantic"]

PROBE = """
import sys, json
sys.argv = ["mirctl"] + json.loads(sys.argv[1])
from mirctl.cli.app import app
try:
    app()
except SystemExit as e:
    code = e.code
print("MODULES=" + json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r)))
""" % (HEAVY,)


@pytest.mark.parametrize("argv", [["--help"], ["info", "--help"], ["separate", "--help"], ["transcribe", "--help"],
                                  ["render", "--help"], ["mix", "--help"], ["tag", "--help"], ["classify", "--help"],
                                  ["train", "tag", "--help"], ["train", "classify", "--help"], ["models", "--help"],
                                  ["--version"]])
def test_help_imports_no_heavy_module(argv):
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], capture_output=True, text=True, timeout=60)
    line = [x for x in out.stdout.splitlines() if x.startswith("MODULES=")][-1]
    assert json.loads(line[len("MODULES="):]) == []
    if argv == ["--version"]:
        from mirctl import __version__

        assert out.stdout.splitlines()[0] == f"mirctl {__version__}"
    else:
        command = " ".join(a for a in argv if a != "--help")
        assert f"Usage: mirctl {command}".rstrip() in " ".join(out.stdout.split())


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "mirctl", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for cmd in ("separate", "transcribe", "info", "models"):
        assert cmd in out.stdout


@pytest.mark.parametrize("cmd", ["info", "separate", "transcribe", "render", "mix", "tag", "classify"])
def test_help_has_examples_and_shared_options(cmd):
    out = subprocess.run([sys.executable, "-m", "mirctl", cmd, "--help"], capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, "COLUMNS": "200"})
    assert out.returncode == 0
    assert "Examples" in out.stdout
    # help text in [brackets] is rich markup and vanishes: "Output folder ." was what was left of one
    assert "(default: ./mirctl_out/<command>)" in out.stdout
    assert not re.search(r"[A-Za-z] \.(\s{2,}|\s*│|$)", out.stdout, re.M), out.stdout
    for opt in ("--json", "--jobs", "--shard", "--fail-fast", "--report", "--recursive", "--quiet"):
        assert opt in out.stdout


@pytest.mark.parametrize("argv", [["transcribe", "--help"], ["separate", "--help"], ["info", "--help"],
                                  ["models", "--help"], ["models", "list", "--help"]])
def test_one_command_build_behaves_like_the_full_cli(argv):
    from typer.testing import CliRunner

    from mirctl.cli.app import build, command_in

    assert command_in(argv) == argv[0]
    full = CliRunner().invoke(build(), argv, env={"COLUMNS": "120"})
    lean = CliRunner().invoke(build(command_in(argv)), argv, env={"COLUMNS": "120"})
    assert full.exit_code == lean.exit_code == 0
    assert lean.output == full.output


@pytest.mark.parametrize("argv, expected", [([], None), (["--help"], None), (["--help", "transcribe"], None),
                                            (["--version"], None), (["trnscribe", "x"], None),
                                            (["separate", "a.wav", "info"], "separate")])
def test_command_in(argv, expected):
    from mirctl.cli.app import command_in

    assert command_in(argv) == expected


def test_console_script_imports_only_the_command_it_runs():
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('CLI=' + ','.join(sorted(m for m in sys.modules if m.startswith('mirctl.cli.')))))\n"
            "sys.argv = ['mirctl', 'transcribe', '--help']\n"
            "from mirctl.cli.app import main\n"
            "main()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Examples" in out.stdout
    loaded = out.stdout.split("CLI=")[-1].strip().split(",")
    assert "mirctl.cli.transcribe" in loaded
    assert not {"mirctl.cli.separate", "mirctl.cli.info", "mirctl.cli.models"} & set(loaded)


def test_epilog_prose_is_reflowed_and_examples_are_kept_line_for_line():
    from mirctl.cli.common import reflow

    text = "\nExamples:\n\n  mirctl a x\n  mirctl b y\n\nSome prose that was\nwrapped by hand\n  at 90 columns.\n"
    assert reflow(text) == "Examples:\n\n  mirctl a x\n  mirctl b y\n\nSome prose that was wrapped by hand at 90 columns.\n"
    assert reflow(None) is None and reflow("") == ""
    out = subprocess.run([sys.executable, "-m", "mirctl", "train", "tag", "--help"], capture_output=True, text=True,
                         timeout=60, env={**__import__("os").environ, "COLUMNS": "80"})
    prose = [x for x in out.stdout.splitlines() if "The labels table" in x]
    assert prose and len(prose[0].rstrip()) > 60  # one paragraph filling the line, not a hard 90-column break
