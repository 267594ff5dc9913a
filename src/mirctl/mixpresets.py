"""Mix presets and stem roles for ``mirctl mix`` (``configs/mix/*.toml``).

A preset says, per stem *role* (vocals, drums, bass …), how loud that stem sits
relative to the others and how it is processed, and what the master bus does. Roles
come from stem file names through ``configs/mix/roles.toml``. Both files are checked
strictly: an unknown key or a value of the wrong kind is a usage error that names the
file and the key, never a silently ignored typo.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mirctl.errors import UsageError

EQ_TYPES = ("peak", "low_shelf", "high_shelf")
MIXTURE = "mixture"  # the role of a full mix lying beside its stems: never mixed
OTHER = "other"


@dataclass(frozen=True)
class EqBand:
    type: str
    hz: float
    gain_db: float
    q: float = 0.7071


@dataclass(frozen=True)
class CompressorSpec:
    threshold_db: float
    ratio: float
    attack_ms: float = 10.0
    release_ms: float = 100.0


@dataclass(frozen=True)
class ReverbSpec:
    room_size: float = 0.35
    damping: float = 0.5
    width: float = 1.0


@dataclass(frozen=True)
class RoleSettings:
    """How one role is treated. ``level`` is in LU relative to the other stems (with
    ``balance``) or a plain gain in dB (without); ``-inf`` mutes."""

    level: float = 0.0
    highpass_hz: float | None = None
    eq: tuple[EqBand, ...] = ()
    compressor: CompressorSpec | None = None
    pan: float = 0.0
    send_db: float = -math.inf

    @property
    def processed(self) -> bool:
        """Whether the stem goes through any effect (a plain gain and pan are not one)."""
        return bool(self.highpass_hz or self.eq or self.compressor)


@dataclass(frozen=True)
class MasterSettings:
    #: measure each stem and set it ``level`` LU from the others (else ``level`` is a gain)
    balance: bool = True
    #: bring the master to the loudness target under the true-peak ceiling
    normalize: bool = True
    glue: CompressorSpec | None = None
    reverb: ReverbSpec | None = None


@dataclass(frozen=True)
class Preset:
    name: str
    description: str = ""
    master: MasterSettings = field(default_factory=MasterSettings)
    roles: dict[str, RoleSettings] = field(default_factory=dict)

    def for_role(self, role: str) -> RoleSettings:
        """The role's settings; a role the preset does not list is treated as ``other``."""
        if role in self.roles:
            return self.roles[role]
        return self.roles.get(OTHER, RoleSettings())


def _mix_dir() -> Any:
    from mirctl.resources import configs_dir

    return configs_dir().joinpath("mix")


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in _mix_dir().iterdir() if p.name.endswith(".toml") and p.name != "roles.toml")


def _load_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{where} is not valid TOML: {err}") from None


def _number(value: Any, where: str, key: str, lo: float = -math.inf, hi: float = math.inf,
            allow_minus_inf: bool = False) -> float:
    if allow_minus_inf and isinstance(value, str) and value.strip().lower() in ("-inf", "-infinity"):
        return -math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        extra = ' (or "-inf" to mute)' if allow_minus_inf else ""
        raise UsageError(f"{where}: {key} must be a number{extra}, got {value!r}")
    if not lo <= value <= hi:
        raise UsageError(f"{where}: {key} = {value} is outside {lo:g} … {hi:g}")
    return float(value)


def _check_keys(table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(unknown)}", hint="allowed: " + ", ".join(allowed))


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{where} must be a table, got {value!r}")
    return value


def _compressor(value: Any, where: str) -> CompressorSpec:
    t = _table(value, where)
    _check_keys(t, ("threshold_db", "ratio", "attack_ms", "release_ms"), where)
    if "threshold_db" not in t or "ratio" not in t:
        raise UsageError(f"{where} needs threshold_db and ratio")
    return CompressorSpec(threshold_db=_number(t["threshold_db"], where, "threshold_db", -80, 0),
                          ratio=_number(t["ratio"], where, "ratio", 1, 100),
                          attack_ms=_number(t.get("attack_ms", 10.0), where, "attack_ms", 0.01, 1000),
                          release_ms=_number(t.get("release_ms", 100.0), where, "release_ms", 1, 5000))


def _eq(value: Any, where: str) -> tuple[EqBand, ...]:
    if not isinstance(value, list):
        raise UsageError(f"{where} must be a list of bands, e.g. [{{ type = \"peak\", hz = 3000, gain_db = 2 }}]")
    bands = []
    for i, raw in enumerate(value):
        at = f"{where}[{i}]"
        t = _table(raw, at)
        _check_keys(t, ("type", "hz", "gain_db", "q"), at)
        if t.get("type") not in EQ_TYPES:
            raise UsageError(f"{at}: type must be one of {', '.join(EQ_TYPES)}, got {t.get('type')!r}")
        if "hz" not in t or "gain_db" not in t:
            raise UsageError(f"{at} needs hz and gain_db")
        bands.append(EqBand(type=t["type"], hz=_number(t["hz"], at, "hz", 10, 30000),
                            gain_db=_number(t["gain_db"], at, "gain_db", -24, 24),
                            q=_number(t.get("q", 0.7071), at, "q", 0.1, 20)))
    return tuple(bands)


ROLE_KEYS = ("level", "highpass_hz", "eq", "compressor", "pan", "send_db")


def _role(value: Any, where: str, base: RoleSettings | None) -> RoleSettings:
    t = _table(value, where)
    _check_keys(t, ROLE_KEYS, where)
    kw: dict[str, Any] = {}
    if "level" in t:
        kw["level"] = _number(t["level"], where, "level", -60, 24, allow_minus_inf=True)
    if "highpass_hz" in t:
        kw["highpass_hz"] = _number(t["highpass_hz"], where, "highpass_hz", 10, 2000)
    if "eq" in t:
        kw["eq"] = _eq(t["eq"], f"{where}.eq")
    if "compressor" in t:
        kw["compressor"] = _compressor(t["compressor"], f"{where}.compressor")
    if "pan" in t:
        kw["pan"] = _number(t["pan"], where, "pan", -1, 1)
    if "send_db" in t:
        kw["send_db"] = _number(t["send_db"], where, "send_db", -100, 0, allow_minus_inf=True)
    from dataclasses import replace

    return replace(base or RoleSettings(), **kw)


def _master(value: Any, where: str, base: MasterSettings) -> MasterSettings:
    t = _table(value, where)
    _check_keys(t, ("balance", "normalize", "glue", "reverb"), where)
    kw: dict[str, Any] = {}
    for flag in ("balance", "normalize"):
        if flag in t:
            if not isinstance(t[flag], bool):
                raise UsageError(f"{where}: {flag} must be true or false")
            kw[flag] = t[flag]
    if "glue" in t:
        kw["glue"] = _compressor(t["glue"], f"{where}.glue")
    if "reverb" in t:
        r = _table(t["reverb"], f"{where}.reverb")
        _check_keys(r, ("room_size", "damping", "width"), f"{where}.reverb")
        kw["reverb"] = ReverbSpec(**{k: _number(v, f"{where}.reverb", k, 0, 1) for k, v in r.items()})
    from dataclasses import replace

    return replace(base, **kw)


def load_preset(spec: str, _seen: tuple[str, ...] = ()) -> Preset:
    """A preset by name (``configs/mix/<name>.toml``) or by the path of a TOML file."""
    path = Path(spec).expanduser()
    if spec.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise UsageError(f"--preset {spec}: no such file")
        text, where, name = path.read_text(encoding="utf-8"), str(path), path.stem
    else:
        names = preset_names()
        if spec not in names:
            raise UsageError(f"--preset {spec!r} is not a mix preset", hint="use one of " + ", ".join(names)
                             + ", or the path of your own .toml (see configs/mix/default.toml)")
        text, where, name = _mix_dir().joinpath(f"{spec}.toml").read_text(encoding="utf-8"), f"preset {spec}", spec
    if name in _seen:
        raise UsageError(f"{where}: presets extend each other in a loop ({' → '.join(_seen + (name,))})")
    data = _load_toml(text, where)
    _check_keys(data, ("extends", "description", "master", "roles"), where)
    base = load_preset(str(data["extends"]), _seen + (name,)) if "extends" in data else None
    master = _master(data.get("master", {}), f"{where} [master]", base.master if base else MasterSettings())
    roles = dict(base.roles) if base else {}
    for role, table in _table(data.get("roles", {}), f"{where} [roles]").items():
        if role not in known_roles():
            raise UsageError(f"{where}: [roles.{role}] is not a stem role",
                             hint="roles: " + ", ".join(r for r in known_roles() if r != MIXTURE))
        roles[role] = _role(table, f"{where} [roles.{role}]", roles.get(role))
    return Preset(name=name, description=str(data.get("description", base.description if base else "")),
                  master=master, roles=roles)


# --- roles ------------------------------------------------------------------------------


def words(name: str) -> list[str]:
    """``"Lead Vocals 2"`` -> ``["lead", "vocals", "2"]``."""
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


@lru_cache(maxsize=1)
def _roles() -> tuple[tuple[str, frozenset[str]], ...]:
    data = _load_toml(_mix_dir().joinpath("roles.toml").read_text(encoding="utf-8"), "configs/mix/roles.toml")
    return tuple((role, frozenset(n.lower() for n in table["names"])) for role, table in data.items())


def known_roles() -> tuple[str, ...]:
    return tuple(role for role, _ in _roles())


def role_of(stem: str) -> str:
    """A stem's role from its name: a role one of whose names equals the whole name
    (words joined by ``_``), else the first role (in ``roles.toml`` order) naming one of
    its words, else ``other``."""
    parts = words(stem)
    whole = "_".join(parts)
    for role, names in _roles():  # every role lists its own name too
        if whole in names:
            return role
    for role, names in _roles():
        if any(w in names for w in parts):
            return role
    return OTHER
