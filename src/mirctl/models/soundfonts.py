"""SoundFonts: the "models" of ``mirctl render``.

Known General MIDI fonts have cards (``configs/models/*.toml``, task ``soundfont``)
naming their file, license and where system packages put it; any other ``.sf2``/``.sf3``
dropped into the cache's ``soundfonts/`` folder is usable by its file name. The default
is the best-ranked font found; TimGM6mb, inside the pretty_midi wheel, is always there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mirctl.errors import UsageError
from mirctl.models.cards import ModelCard, list_cards

FONT_EXTENSIONS = (".sf2", ".sf3")
INSTALL_HINT = ("better General MIDI fonts: `apt-get install --no-install-recommends fluid-soundfont-gm` "
                "(FluidR3_GM) or `musescore-general-soundfont-small`, or put a .sf2/.sf3 file into {folder}")


@dataclass(frozen=True)
class SoundFont:
    """A font found on this machine: its name, file, card (None for a user's own file)."""

    name: str
    path: Path
    card: ModelCard | None = None

    @property
    def license(self) -> str:
        return self.card.license if self.card else "unknown (a font you supplied: check its license)"

    @property
    def rank(self) -> int:
        return int(self.card.options.get("rank", 50)) if self.card else 20


def user_folder() -> Path:
    from mirctl.models.cache import cache_dir

    return cache_dir() / "soundfonts"


def _card_path(card: ModelCard) -> Path | None:
    from mirctl.models.cache import locate

    spec = card.files[0]
    own = user_folder() / spec.name
    return own if own.is_file() else locate(card, spec)


def installed() -> list[SoundFont]:
    """Every font found, best first (known cards by rank, then the user's own files)."""
    fonts: list[SoundFont] = []
    seen: set[Path] = set()
    for card in list_cards("soundfont"):
        path = _card_path(card)
        if path is not None:
            fonts.append(SoundFont(card.name, path, card))
            seen.add(path.resolve())
    folder = user_folder()
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in FONT_EXTENSIONS and path.is_file() and path.resolve() not in seen:
                fonts.append(SoundFont(path.stem, path))
    return sorted(fonts, key=lambda f: (f.rank, f.name))


def default_font() -> SoundFont:
    fonts = installed()
    if not fonts:  # pretty_midi is a dependency of mirctl, so TimGM6mb is always found
        raise UsageError("no SoundFont found", hint="pass --soundfont PATH; " + INSTALL_HINT.format(folder=user_folder()))
    return fonts[0]


def check_font_file(path: Path) -> None:
    """Refuse what is not a SoundFont (a RIFF file of form ``sfbk``) before a synth sees it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError as err:
        raise UsageError(f"SoundFont {path} cannot be read ({err.strerror or err})") from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise UsageError(f"{path} is not a SoundFont (no RIFF 'sfbk' header)",
                         hint="pass a .sf2 or .sf3 file; `mirctl models list --task soundfont` lists the fonts found")


def resolve(spec: str | None) -> SoundFont:
    """``--soundfont``: None/"auto" → the default font; a path → that file; a name → the
    font of that card, or the user's file of that name in the cache's soundfonts/ folder."""
    if spec is None or spec == "auto":
        font = default_font()
    elif any(sep in spec for sep in ("/", "\\")) or spec.lower().endswith(FONT_EXTENSIONS):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise UsageError(f"--soundfont {spec}: no such file",
                             hint="pass an existing .sf2/.sf3 file, or a name from `mirctl models list --task soundfont`")
        font = SoundFont(path.stem, path)
    else:
        fonts = {f.name: f for f in installed()}
        if spec not in fonts:
            known = {c.name: c for c in list_cards("soundfont")}
            if spec in known:
                notes = known[spec].notes
                raise UsageError(f"--soundfont {spec}: that font is not installed on this machine",
                                 hint=(notes + " " if notes else "") + "fonts found: " + ", ".join(fonts))
            raise UsageError(f"--soundfont {spec}: unknown font",
                             hint="fonts found: " + ", ".join(fonts) + "; or pass a path to a .sf2/.sf3 file")
        font = fonts[spec]
    check_font_file(font.path)
    return font
