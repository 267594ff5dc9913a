"""The terminal reporter: a progress bar on a terminal, plain lines elsewhere, JSON on stdout."""

from __future__ import annotations

import io
import json
import re

from rich.console import Console

from mirctl.cli.reporting import CliReporter
from mirctl.pipeline.runner import RunSummary


def record(name, status="ok", **kw):
    base = {"input": name, "status": status, "outputs": ["o.wav"] if status == "ok" else [], "error": None,
            "hint": None, "seconds": 1.5}
    return {**base, **kw}


def drive(reporter):
    summary = RunSummary("separate")
    reporter.start("separate", 2, 2)
    reporter.file_start("a.wav")
    reporter.file_progress("a.wav", 0.5)
    for rec in (record("a.wav"), record("b.wav", "failed", error="b.wav is not readable audio", hint="convert it")):
        summary.records.append(rec)
        reporter.file_done(rec)
    reporter.finish(summary)


def test_terminal_gets_a_progress_bar_and_summary():
    buf = io.StringIO()
    reporter = CliReporter(console=Console(file=buf, force_terminal=True, width=100), stdout=io.StringIO())
    drive(reporter)
    assert reporter.progress is not None  # a rich Progress was used
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buf.getvalue())
    assert "━" in text  # the bar was drawn
    assert "a.wav" in text and "not readable audio" in text and "1 ok" in text and "1 failed" in text


def test_pipe_gets_plain_lines_and_json_on_stdout():
    err, out = io.StringIO(), io.StringIO()
    reporter = CliReporter(json_out=True, console=Console(file=err, force_terminal=False, width=200), stdout=out)
    drive(reporter)
    assert reporter.progress is None
    assert "[1/2]" in err.getvalue() and "[2/2]" in err.getvalue() and "\x1b[" not in err.getvalue()
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["status"] for r in lines] == ["ok", "failed"]


def test_quiet_prints_only_failures():
    err = io.StringIO()
    drive(CliReporter(quiet=True, console=Console(file=err, force_terminal=False, width=200), stdout=io.StringIO()))
    assert "a.wav" not in err.getvalue() and "b.wav" in err.getvalue() and "ok," not in err.getvalue()


def test_an_error_keeps_a_long_path_on_one_line_in_a_narrow_console():
    from mirctl.cli.reporting import print_error

    path = "/tmp/" + "/".join(["a-rather-long-folder-name"] * 5) + "/fake.sf2"
    buf = io.StringIO()
    print_error(f"{path} is not a SoundFont", hint=f"pass a .sf2 file instead of {path}",
                console=Console(file=buf, width=60, color_system=None))
    lines = buf.getvalue().splitlines()
    assert lines == [f"error: {path} is not a SoundFont", f"hint: pass a .sf2 file instead of {path}"]
