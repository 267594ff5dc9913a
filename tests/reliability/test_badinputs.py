"""Every runner command over the bad-input corpus (badinputs.py): the exit code, one line
naming each bad file and why, no traceback, the good inputs done, nothing partial or
temporary left, nothing existing changed. A new command joins COMMANDS (a test fails
until it does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from badinputs import make_files, make_stem_sets
from mirctl.tasks import REGISTRY

RUN = "import sys; sys.argv = ['mirctl'] + sys.argv[1:]; from mirctl.cli import main; main()"

# command -> how to call it, which corpus it takes ("audio", "midi" for files; "stems"),
# and whether it writes files per input (then it has -o)
COMMANDS = {
    "info": (["info", "--plot"], {"audio", "midi"}, True),
    "separate": (["separate", "--model", "hpss"], {"audio"}, True),
    "transcribe": (["transcribe"], {"audio"}, True),
    "render": (["render", "-f", "timgm6mb"], {"midi"}, True),
    "eval transcribe": (["eval", "transcribe", "--ref", "{ref}"], {"midi"}, False),
    "eval separate": (["eval", "separate", "--ref", "{ref}"], {"stems"}, False),
    "mix": (["mix"], {"stems"}, True),
    "tag": (["tag"], {"audio"}, False),
    "classify": (["classify"], {"audio"}, False),
    "generate-midi": (["generate-midi", "--bars", "1", "--max-tokens", "30"], {"midi"}, True),
    "eval midi": (["eval", "midi"], {"midi"}, False),
}


def test_every_runner_command_faces_the_corpus():
    assert set(COMMANDS) == set(REGISTRY), "add the new command to COMMANDS"


def mirctl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, timeout=600, cwd=cwd,
                          env={**os.environ, "MIRCTL_OFFLINE": "1"})


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    files = make_files(root / "files")
    stems = make_stem_sets(root / "stems")
    refs = root / "refs"
    for name in ("good_set", "mixed_rates"):
        (refs / name).mkdir(parents=True)
        for stem in (root / "stems" / name).iterdir():
            (refs / name / stem.name).write_bytes(stem.read_bytes())
    return root, files, stems


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_batch_of_bad_inputs(command, corpus, tmp_path):
    root, files, stems = corpus
    argv, takes, writes = COMMANDS[command]
    if takes == {"stems"}:
        inputs = {name: root / "stems" / name for name in stems}
        expect = dict(stems)
        argv = [a.replace("{ref}", str(root / "refs")) for a in argv]
    else:
        inputs = {name: root / "files" / name for name in files}
        kind = {name: "midi" if name.endswith(".mid") else "audio" for name in files}
        expect = {name: (e if kind[name] in takes else "fail") for name, e in files.items()}
        argv = [a.replace("{ref}", str(root / "files" / "good_midi.mid")) for a in argv]
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("a file the user had there")
    before_corpus = snapshot(root)
    where = ["-o", str(out)] if writes else []
    res = mirctl(*argv, *[str(p) for p in inputs.values()], *where, "--json", cwd=out)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    records = {Path(r["input"]).name: r for r in map(json.loads, res.stdout.splitlines())}
    assert set(records) == set(inputs), "every input gets exactly one record"
    for name, r in records.items():
        if expect[name] != "any":
            assert r["status"] == {"ok": "ok", "fail": "failed"}[expect[name]], (name, r["error"])
        if r["status"] == "failed":
            assert r["error"] and "\n" not in r["error"] and name in r["error"], (name, r["error"])
            assert any(line.strip().startswith("[") and "failed" in line and name in line
                       for line in res.stderr.splitlines()), f"no failure line names {name}"
    assert not [p for p in (root, out) for p in p.rglob("*") if ".mirctl-tmp-" in p.name], "temporary files left"
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {"keep.txt"}
    promised = {str(Path(o).relative_to(out)) for r in records.values() if r["status"] == "ok" for o in r["outputs"]}
    assert written == promised, "a failed input left an output, or an ok one lacks one"
    assert (out / "keep.txt").read_text() == "a file the user had there"
    assert snapshot(root) == before_corpus, "an input was changed"

    outputs_before = snapshot(out)
    again = mirctl(*argv, *[str(p) for p in inputs.values()], *where, "--json", cwd=out)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    status = {Path(r["input"]).name: r["status"] for r in map(json.loads, again.stdout.splitlines())}
    for name, r in records.items():
        if r["status"] == "ok":
            assert status[name] == ("skipped" if r["outputs"] else "ok")
    assert snapshot(out) == outputs_before, "a rerun changed an existing output"


@pytest.mark.parametrize("command", sorted(c for c, (_, _, writes) in COMMANDS.items() if writes))
def test_an_unusable_output_folder_is_a_usage_error_before_any_work(command, corpus, tmp_path):
    root, files, stems = corpus
    argv, takes, _ = COMMANDS[command]
    argv = [a.replace("{ref}", str(root / ("refs" if takes == {"stems"} else "files/good_midi.mid"))) for a in argv]
    good = root / ("stems/good_set" if takes == {"stems"} else ("files/good_midi.mid" if takes == {"midi"} else "files/good.wav"))
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for out, words in ((a_file, "is a file, not a folder"), (a_file / "sub", "which is a file"),
                       (Path("/proc/mirctl-out"), "is not writable")):
        res = mirctl(*argv, str(good), "-o", str(out))
        assert res.returncode == 2, res.stderr
        assert words in " ".join(res.stderr.split()) and "Traceback" not in res.stderr
    assert a_file.read_text() == "x"
