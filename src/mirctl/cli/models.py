"""``mirctl models``: list, inspect and fetch model weights."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from mirctl.cli.common import guarded

app = typer.Typer(help="List, inspect and download the models mirctl can run.", no_args_is_help=True)


@app.command("list")
def list_models(
    task: Annotated[Optional[str], typer.Option(help="Only models for this command, e.g. separate.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every model card, and whether its weights are present on this machine."""
    from mirctl.models import list_cards
    from mirctl.models.cache import locate

    rows = []
    fonts = {}
    if task in (None, "soundfont"):
        from mirctl.models import soundfonts

        fonts = {f.name: f for f in soundfonts.installed()}
    default_font = next(iter(fonts), None)
    for card in list_cards(task):
        if card.task == "soundfont":  # found in the cache, a system package or a wheel
            present = card.name in fonts
        else:
            present = all(locate(card, f) is not None for f in card.files)
        row = {"name": card.name, "task": card.task, "weights": "none needed" if card.weight_free
               else ("present" if present else "missing"), "description": card.description}
        if card.task == "soundfont":
            row.update(license=card.license, default=card.name == default_font,
                       path=str(fonts[card.name].path) if present else None)
            if row["default"]:
                row["weights"] = "present, default"
        rows.append(row)
    for font in fonts.values():  # the user's own fonts in the cache's soundfonts/ folder
        if font.card is None:
            rows.append({"name": font.name, "task": "soundfont",
                         "weights": "present, default" if font.name == default_font else "present",
                         "description": f"your SoundFont {font.path.name}", "license": font.license,
                         "default": font.name == default_font, "path": str(font.path)})
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "task", "weights", "description")
    for r in rows:
        style = {"present": "green", "present, default": "bold green", "missing": "yellow"}.get(r["weights"], "")
        table.add_row(r["name"], r["task"], f"[{style}]{r['weights']}[/]" if style else r["weights"], r["description"])
    Console().print(table)


@app.command("info")
def model_info(
    name: Annotated[str, typer.Argument(help="Model name, see `mirctl models list`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The model card: source, license, stems or labels, files, sha256 and cache path."""
    from mirctl.models import get_card
    from mirctl.models.cache import locate, model_dir

    card = guarded(lambda: get_card(name))
    data = card.summary()
    data["cache_dir"] = str(model_dir(card))
    for f, entry in zip(card.files, data["files"]):
        where = locate(card, f)
        entry["found_at"] = str(where) if where else None
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    console.print(f"[bold]{card.name}[/] ({card.task}) — {escape(card.description)}")
    for key in ("backend", "sample_rate", "channels", "license", "source", "citation", "cache_dir", "notes"):
        if data.get(key):
            console.print(f"  {key:12} {escape(str(data[key]))}")
    if card.stems:
        console.print(f"  {'stems':12} {', '.join(card.stems)}")
    for entry in data["files"]:
        status = f"[green]found[/] {escape(entry['found_at'])}" if entry["found_at"] else "[yellow]missing[/]"
        checksum = entry.get("sha256") or entry.get("sha256_prefix")
        console.print(f"  file         {entry['name']}" + (f"  sha256 {checksum}" if checksum else "") + f"  {status}")
        if entry.get("url"):
            console.print(f"               {escape(entry['url'])}")
    if card.weight_free:
        console.print("  weights      none: runs offline with no download")


@app.command("fetch")
def fetch(
    names: Annotated[list[str], typer.Argument(help="Model names to download into the cache.")],
) -> None:
    """Download (or find) each model's weights and verify their sha256."""
    from mirctl.cli.reporting import print_error
    from mirctl.errors import MirctlError
    from mirctl.models import get_card
    from mirctl.models.cache import ensure_files

    failed = False
    for name in names:
        try:
            paths = ensure_files(get_card(name))
        except MirctlError as err:
            print_error(err.message, err.hint)
            failed = True
            continue
        for p in paths.values():
            typer.echo(f"{name}: {p}")
    raise typer.Exit(2 if failed else 0)
