"""Seed profiles: TOML files of row counts and distribution parameters, looked up by name or path, validated."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass
from difflib import get_close_matches
from importlib import resources
from pathlib import Path
from typing import Any

from faker.config import AVAILABLE_LOCALES

from perfkit.errors import ConfigError

#: Optional columns whose NULL rate a profile may set.
NULLABLE = {
    "users": ("last_login_at",),
    "user_profiles": ("bio", "avatar_url", "phone_number", "date_of_birth", "address"),
    "user_settings": ("theme_config",),
    "tags": ("description",),
    "notifications": ("read_at",),
}
_MIXES = {
    ("posts", "status_mix"): ("published", "draft", "archived"),
    ("users", "role_mix"): ("user", "moderator", "admin"),
    ("notifications", "type_mix"): ("comment", "like", "follow", "system"),
}
_DEFAULT_NAME = "default"


@dataclass(frozen=True, slots=True)
class Profile:
    """A validated seed profile. `digest` identifies its content (a reused seed must match it)."""

    name: str
    digest: str
    locale: str
    rows: dict[str, int]
    start: dt.datetime
    end: dt.datetime
    skew: dict[str, float]
    status_mix: dict[str, float]
    role_mix: dict[str, float]
    type_mix: dict[str, float]
    tags_per_post: tuple[float, ...]
    view_count_median: float
    email_verified: float
    null_rates: dict[str, dict[str, float]]

    def null_rate(self, table: str, column: str) -> float:
        return self.null_rates.get(table, {}).get(column, 0.0)


def _packaged(name: str) -> Path | None:
    entry = resources.files("perfkit") / "profiles" / f"{name}.toml"
    return Path(str(entry)) if entry.is_file() else None


def available_profiles() -> list[str]:
    """Names of the profiles shipped with perfkit (and those in ./seeds)."""
    names = {p.stem for p in Path("seeds").glob("*.toml")}
    for entry in (resources.files("perfkit") / "profiles").iterdir():
        if entry.name.endswith(".toml"):
            names.add(entry.name.removesuffix(".toml"))
    return sorted(names)


def find_profile(profile: str | Path) -> Path:
    """A profile file: a path as given, else `./seeds/<name>.toml`, else the packaged `perfkit/profiles/<name>.toml`."""
    text = str(profile)
    if isinstance(profile, Path) or text.endswith(".toml") or "/" in text:
        path = Path(text).expanduser()
        if path.is_dir():
            raise ConfigError(f"profile {path} is a folder: give a .toml file")
        if not path.is_file():
            raise ConfigError(f"profile file not found: {path}")
        return path
    local = Path("seeds") / f"{text}.toml"
    if local.is_file():
        return local
    packaged = _packaged(text)
    if packaged is None:
        raise ConfigError(f"unknown profile {text!r} (available: {', '.join(available_profiles())})")
    return packaged


def _number(where: str, value: Any, *, rate: bool = False, whole: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"profile: {where} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"profile: {where} must be a finite number, not {value}")
    if whole and value != int(value):
        raise ConfigError(f"profile: {where} is a row count and must be a whole number, not {value}")
    if value < 0:
        raise ConfigError(f"profile: {where} must not be negative ({value})")
    if rate and value > 1:
        raise ConfigError(f"profile: {where} is a rate and must be at most 1 ({value})")
    return float(value)


#: view_count is an int4 drawn log-normally (sigma 1.5) around the median: above this the top draws would saturate.
MAX_VIEW_MEDIAN = 1_000_000
#: Skew exponents above this overflow or underflow the weights they make.
MAX_SKEW = 100.0


def _median_views(value: Any) -> float:
    median = _number("posts.view_count_median", value)
    if not 1 <= median <= MAX_VIEW_MEDIAN:
        raise ConfigError(
            f"profile: posts.view_count_median must be between 1 and {MAX_VIEW_MEDIAN:,} (view_count is an integer"
            f" column drawn around it), not {median:g}"
        )
    return median


def _table(doc: dict[str, Any], key: str, allowed: set[str], where: str = "") -> dict[str, Any]:
    section = doc.get(key, {})
    if not isinstance(section, dict):
        raise ConfigError(f"profile: [{where}{key}] must be a table")
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ConfigError(f"profile: unknown key {where}{key}.{unknown[0]} (known: {', '.join(sorted(allowed))})")
    return section


def _mix(section: dict[str, Any], key: str, labels: tuple[str, ...], default: dict[str, float]) -> dict[str, float]:
    raw = section.get(key, default)
    where = f"{key}"
    if not isinstance(raw, dict):
        raise ConfigError(f"profile: {where} must be a table of label = share")
    unknown = sorted(set(raw) - set(labels))
    if unknown:
        raise ConfigError(f"profile: unknown label {where}.{unknown[0]} (known: {', '.join(labels)})")
    values = {label: _number(f"{where}.{label}", raw.get(label, 0.0)) for label in labels}
    total = sum(values.values())
    if total <= 0:
        raise ConfigError(f"profile: {where} shares must not all be zero")
    if abs(total - 1.0) > 1e-3:  # a typo is more likely than an intent to be rescaled
        raise ConfigError(f"profile: {where} shares sum to {total:g}, not 1")
    return {label: v / total for label, v in values.items()}


def _date(where: str, value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise ConfigError(f"profile: {where} must be a TOML date (2022-01-01) or date-time, not {value!r}")


def _default_doc() -> dict[str, Any]:
    path = _packaged(_DEFAULT_NAME)
    assert path is not None, "perfkit's default profile is missing from the package"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _over(base: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` over `base`, table by table; a mix (`*_mix`) or a list is replaced whole, as its shares sum to 1."""
    out = dict(base)
    for key, value in doc.items():
        below = base.get(key)
        if isinstance(value, dict) and isinstance(below, dict) and not key.endswith("_mix"):
            out[key] = _over(below, value)
        else:
            out[key] = value
    return out


def _check_locale(locale: str) -> None:
    """A locale Faker has (as Faker reads it: 'ja-JP' is ja_JP), refused here, before a seed says it will load."""
    known = {loc.lower(): loc for loc in AVAILABLE_LOCALES}
    if locale.replace("-", "_").lower() in known:
        return
    close = get_close_matches(locale.replace("-", "_").lower(), list(known), n=1)
    hint = f"did you mean {known[close[0]]!r}? " if close else ""
    raise ConfigError(f"profile: unknown Faker locale {locale!r} ({hint}see faker.config.AVAILABLE_LOCALES)")


def parse_profile(doc: dict[str, Any], name: str) -> Profile:
    """Validate a profile document (already read from TOML); keys it leaves out take the default profile's values."""
    if not isinstance(doc, dict):
        raise ConfigError("profile: the document must be a TOML table")
    doc = _over(_default_doc(), doc)
    sections = {"locale", "rows", "dates", "skew", "posts", "users", "notifications", "null_rates"}
    unknown = sorted(set(doc) - sections)
    if unknown:
        raise ConfigError(f"profile: unknown key {unknown[0]} (known: {', '.join(sorted(sections))})")
    locale = doc.get("locale", "en_US")
    if not isinstance(locale, str) or not locale.strip():
        raise ConfigError("profile: locale must be a Faker locale such as 'en_US', not " + repr(locale))
    _check_locale(locale)
    base_rows = {"users": 10_000, "posts": 100_000, "tags": 500, "comments": 300_000, "notifications": 200_000}
    rows_doc = _table(doc, "rows", set(base_rows))
    rows = {k: int(_number(f"rows.{k}", rows_doc.get(k, v), whole=True)) for k, v in base_rows.items()}
    if rows["users"] < 1 or rows["tags"] < 1:
        raise ConfigError("profile: rows.users and rows.tags must be at least 1")
    dates = _table(doc, "dates", {"start", "end"})
    start = _date("dates.start", dates.get("start", dt.date(2022, 1, 1)))
    end = _date("dates.end", dates.get("end", dt.date(2025, 1, 1)))
    if end <= start:
        raise ConfigError("profile: dates.end must be after dates.start")
    skew_defaults = {  # (MAX_SKEW bounds them all: beyond it a weight or exponent overflows)
        "posts_per_author": 4.0,
        "comments_per_post": 3.0,
        "comments_per_author": 2.0,
        "notifications_per_user": 2.0,
        "tag_popularity": 1.1,
    }
    skew_doc = _table(doc, "skew", set(skew_defaults))
    skew = {k: _number(f"skew.{k}", skew_doc.get(k, v)) for k, v in skew_defaults.items()}
    for key, value in skew.items():
        if key != "tag_popularity" and not 1 <= value <= MAX_SKEW:
            raise ConfigError(f"profile: skew.{key} must be from 1 (1 = uniform) to {MAX_SKEW:g}, not {value}")
    if not 0 <= skew["tag_popularity"] <= MAX_SKEW:  # a Zipf exponent: 0 = uniform; past ~100 every weight underflows
        raise ConfigError(
            f"profile: skew.tag_popularity must be from 0 (uniform) to {MAX_SKEW:g}, not {skew['tag_popularity']}"
        )
    posts = _table(doc, "posts", {"status_mix", "tags_per_post", "view_count_median"})
    users = _table(doc, "users", {"role_mix", "email_verified"})
    notes = _table(doc, "notifications", {"type_mix"})
    tpp = posts.get("tags_per_post", [0.10, 0.20, 0.25, 0.20, 0.15, 0.10])
    if not isinstance(tpp, list) or not 1 <= len(tpp) <= 6:
        raise ConfigError(
            "profile: posts.tags_per_post must list 1 to 6 probabilities: of 0 tags, 1 tag, ... up to 5 tags"
        )
    tpp_values = [_number(f"posts.tags_per_post[{i}]", v) for i, v in enumerate(tpp)]
    if sum(tpp_values) <= 0:
        raise ConfigError("profile: posts.tags_per_post must not be all zero")
    if abs(sum(tpp_values) - 1.0) > 1e-3:
        raise ConfigError(f"profile: posts.tags_per_post probabilities sum to {sum(tpp_values):g}, not 1")
    nulls_doc = _table(doc, "null_rates", set(NULLABLE))
    null_rates: dict[str, dict[str, float]] = {}
    for table, columns in NULLABLE.items():
        section = _table(nulls_doc, table, set(columns), "null_rates.")
        null_rates[table] = {c: _number(f"null_rates.{table}.{c}", section.get(c, 0.0), rate=True) for c in columns}
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return Profile(
        name=name,
        digest=digest,
        locale=locale,
        rows=rows,
        start=start,
        end=end,
        skew=skew,
        status_mix=_mix(posts, "status_mix", _MIXES["posts", "status_mix"], {"published": 0.7, "draft": 0.2}),
        role_mix=_mix(users, "role_mix", _MIXES["users", "role_mix"], {"user": 0.95, "moderator": 0.04}),
        type_mix=_mix(notes, "type_mix", _MIXES["notifications", "type_mix"], {"comment": 0.5, "like": 0.5}),
        tags_per_post=tuple(v / sum(tpp_values) for v in tpp_values),
        view_count_median=_median_views(posts.get("view_count_median", 120)),
        email_verified=_number("users.email_verified", users.get("email_verified", 0.8), rate=True),
        null_rates=null_rates,
    )


def load_profile(profile: str | Path = _DEFAULT_NAME) -> Profile:
    """Find, read and validate a profile given by name or path."""
    path = find_profile(profile)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # an editor's byte-order mark is not TOML
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read profile {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"profile {path} is not valid TOML: {exc}") from None
    return parse_profile(doc, profile_name(profile, path))


def profile_name(profile: str | Path, path: Path) -> str:
    """How a seed records its profile: the name for a shipped profile or one in ./seeds (however it was given),
    else the file's absolute path (so ./x.toml and x.toml are one profile)."""
    resolved = path.resolve()
    if resolved.parent == Path("seeds").resolve() or resolved == (_packaged(resolved.stem) or Path()).resolve():
        return resolved.stem
    return str(resolved)
