"""Each option is declared once, on its task's Params field: the CLI's help and shown
default and configs/defaults.toml must follow it."""

from __future__ import annotations

from dataclasses import fields

import pytest
import typer

from mirctl.cli.app import build
from mirctl.options import config_options, config_value, shown_default
from mirctl.resources import packaged_defaults
from mirctl.tasks import separation, transcription

DECLARED = {"separate": [separation.Params], "transcribe": [transcription.Params, transcription.DecodeParams]}
NOT_ON_THE_CLI = {"melodia_trick"}  # the CLI offers its negation, --no-melodia-trick


@pytest.mark.parametrize("command", sorted(DECLARED))
def test_defaults_toml_equals_the_params_defaults(command):
    declared = {}
    for cls in DECLARED[command]:
        declared.update(config_options(cls))
    packaged = {k: v for k, v in packaged_defaults()[command].items() if k != "filename"}
    assert set(packaged) == set(declared), "a config key without a Params field, or the other way round"
    for key, (name, default) in declared.items():
        assert packaged[key] == config_value(default), f"[{command}] {key} = {packaged[key]!r} but {name} = {default!r}"


@pytest.mark.parametrize("command", sorted(DECLARED))
def test_cli_help_and_shown_defaults_come_from_the_params(command):
    click_cmd = typer.main.get_command(build(command)).commands[command]
    options = [p for p in click_cmd.params if getattr(p, "help", None)]

    def follows(p, f) -> bool:
        """Same help, and the default shown is the field's (or the option's real default is it)."""
        if p.help != f.metadata["help"]:
            return False
        if p.show_default == shown_default(f.default):
            return True
        return isinstance(p.show_default, bool) and getattr(p.default, "value", p.default) == f.default

    for cls in DECLARED[command]:
        for f in fields(cls):
            if "help" not in f.metadata or f.name in NOT_ON_THE_CLI:
                continue
            assert sum(follows(p, f) for p in options) == 1, f"the option for {cls.__name__}.{f.name} drifted"
