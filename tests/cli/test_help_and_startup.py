"""--help is fast: no heavy library is imported by the CLI until a command runs."""

from __future__ import annotations

import json
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
                                  ["models", "--help"], ["--version"]])
def test_help_imports_no_heavy_module(argv):
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], capture_output=True, text=True, timeout=60)
    line = [x for x in out.stdout.splitlines() if x.startswith("MODULES=")][-1]
    assert json.loads(line[len("MODULES="):]) == []
    assert "Usage" in out.stdout or "mirctl" in out.stdout


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "mirctl", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for cmd in ("separate", "transcribe", "info", "models"):
        assert cmd in out.stdout


@pytest.mark.parametrize("cmd", ["info", "separate", "transcribe"])
def test_help_has_examples_and_shared_options(cmd):
    out = subprocess.run([sys.executable, "-m", "mirctl", cmd, "--help"], capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, "COLUMNS": "200"})
    assert out.returncode == 0
    assert "Examples" in out.stdout
    for opt in ("--json", "--jobs", "--shard", "--fail-fast", "--report", "--recursive", "--quiet"):
        assert opt in out.stdout
