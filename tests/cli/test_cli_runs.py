"""The CLI end to end: exit codes, --json, stdin, stdout/stderr discipline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mirctl.cli.app import app

runner = CliRunner()


def invoke(args, **kw):
    return runner.invoke(app, [str(a) for a in args], **kw)


def test_info_json_schema(sine_wav, midi_file):
    res = invoke(["info", sine_wav, midi_file, "--json"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 2
    by_type = {rec["result"]["type"]: rec for rec in lines}
    audio, midi = by_type["audio"]["result"], by_type["midi"]["result"]
    assert audio["sample_rate"] == 44100 and audio["channels"] == 2
    assert abs(audio["duration_s"] - 1.0) < 1e-6
    assert abs(audio["peak_dbfs"] - 20 * __import__("math").log10(0.5)) < 0.01
    assert midi["notes"] == 4 and midi["tempo_bpm"] == 100.0 and midi["instruments"][0]["name"] == "piano"
    assert (midi["midi_type"], midi["tracks"], midi["ticks_per_beat"]) == (1, 2, 220)  # pretty_midi's layout
    assert abs(midi["duration_s"] - 1.9) < 0.003  # one MIDI tick at 220 ticks/beat, 100 BPM
    for rec in lines:
        assert rec["status"] == "ok" and rec["command"] == "info" and rec["error"] is None


def test_exit_code_1_when_a_file_fails(sine_wav, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"nope")
    res = invoke(["info", sine_wav, bad, "--json"])
    assert res.exit_code == 1
    statuses = sorted(json.loads(x)["status"] for x in res.stdout.splitlines() if x.startswith("{"))
    assert statuses == ["failed", "ok"]


def test_exit_code_2_on_usage_errors(sine_wav, tmp_path):
    assert invoke(["info", sine_wav, "--plot", "--filename", "{bogus}.png"]).exit_code == 2
    assert invoke(["info", sine_wav, "--shard", "9/2"]).exit_code == 2
    assert invoke(["separate", sine_wav, "--model", "no-such-model"]).exit_code == 2
    assert invoke(["info"]).exit_code == 2
    assert invoke(["transcribe", sine_wav, "--outputs", "midi,video"]).exit_code == 2


def test_error_has_hint_and_no_traceback(sine_wav):
    res = invoke(["separate", sine_wav, "--model", "htdemcus"])
    assert res.exit_code == 2
    assert "unknown separate model 'htdemcus'" in res.output and "did you mean htdemucs" in res.output
    assert "Traceback" not in res.output


def test_plot_outputs_and_skip_on_rerun(sine_wav, midi_file, tmp_path):
    out = tmp_path / "pics"
    res = invoke(["info", sine_wav, midi_file, "--plot", "-o", out])
    assert res.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["sine.png", "tune.png"]
    assert (out / "sine.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = invoke(["info", sine_wav, "--plot", "-o", out, "--json"])
    assert json.loads(again.stdout.splitlines()[0])["status"] == "skipped"


def run_cli(args, stdin=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "mirctl", *map(str, args)], input=stdin, capture_output=True,
                          text=True, timeout=120, cwd=cwd, env={**os.environ, "COLUMNS": "200"})


def test_stdin_paths_and_clean_stdout(audio_dir, tmp_path):
    listing = "\n".join(str(p) for p in sorted(audio_dir.glob("*.wav"))) + "\n"
    res = run_cli(["info", "-", "--json"], stdin=listing)
    assert res.returncode == 0, res.stderr
    recs = [json.loads(line) for line in res.stdout.splitlines()]  # stdout holds JSON only
    assert [Path(r["input"]).name for r in recs] == ["song0.wav", "song1.wav", "song2.wav"]
    assert "3 ok" in res.stderr


def test_default_out_dir_is_mirctl_out_command(sine_wav, tmp_path):
    res = run_cli(["info", sine_wav, "--plot", "-q"], cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "mirctl_out" / "info" / "sine.png").is_file()
    assert res.stderr == ""  # --quiet prints nothing when all is well


def test_non_tty_progress_is_plain_lines(audio_dir):
    res = run_cli(["info", audio_dir])
    assert res.returncode == 0
    assert "[1/3]" in res.stderr and "\x1b[" not in res.stderr


def test_models_list_and_info():
    res = invoke(["models", "list", "--json"])
    assert res.exit_code == 0
    rows = {json.loads(x)["name"]: json.loads(x) for x in res.stdout.splitlines()}
    assert {"htdemucs", "htdemucs_ft", "htdemucs_6s", "hdemucs_mmi", "mdx", "mdx_extra", "mdx_q", "mdx_extra_q",
            "hpss", "repet", "basic-pitch", "pyin"} <= set(rows)
    assert rows["hpss"]["weights"] == "none needed" and rows["htdemucs"]["weights"] == "missing"
    info = json.loads(invoke(["models", "info", "htdemucs", "--json"]).stdout)
    assert info["files"][0]["name"] == "955717e8-8726e21a.th"
    assert info["cache_dir"].endswith(os.path.join("models", "htdemucs"))


def test_models_fetch_offline_names_the_way_out():
    res = invoke(["models", "fetch", "htdemucs"])
    assert res.exit_code == 2
    assert "955717e8-8726e21a.th" in res.output and "MIRCTL_OFFLINE" in res.output


def test_broken_user_config_is_a_usage_error(sine_wav, tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text("[separate\nmodel = ")
    monkeypatch.setenv("MIRCTL_CONFIG", str(cfg))
    from mirctl.resources import _user_config

    _user_config.cache_clear()
    res = invoke(["separate", sine_wav, "--model", "hpss"])
    assert res.exit_code == 2 and "cannot read config file" in res.output and "Traceback" not in res.output
    _user_config.cache_clear()
