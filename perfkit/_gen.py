"""Generation primitives: per-column random streams, deterministic UUIDs, distinct timestamps, Faker value pools."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from faker import Faker, Generator

from perfkit._binary import Pool
from perfkit._profile import Profile
from perfkit.errors import ConfigError

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
#: Rows per generated batch. Part of the data's identity: changing it changes every value (bump GENERATOR_VERSION).
BATCH = 50_000
#: Version of the generators' output: a stored seed with another version is not reused.
GENERATOR_VERSION = 6
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_VERSION_MASK = np.uint64(0xFFFFFFFFFFFF0FFF)
_VERSION_4 = np.uint64(0x4000)
_VARIANT_MASK = np.uint64(0x3FFFFFFFFFFFFFFF)
_VARIANT = np.uint64(0x8000000000000000)


def _key(*parts: object) -> int:
    """A stable 63-bit key for names (Python's hash() is salted per process)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _mix64(x: np.ndarray[Any, np.dtype[np.uint64]]) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """splitmix64's finaliser, vectorised (uint64 arithmetic wraps)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def counts(scale: float, profile: Profile) -> dict[str, int]:
    """Rows per table at a scale (user_profiles and user_settings: one per user; post_tags is an estimate)."""
    rows = {
        k: max(1, round(v * scale)) if k in ("users", "tags") else round(v * scale) for k, v in profile.rows.items()
    }
    tags_mean = sum(i * p for i, p in enumerate(profile.tags_per_post))
    return {
        "users": rows["users"],
        "user_profiles": rows["users"],
        "posts": rows["posts"],
        "tags": rows["tags"],
        "post_tags": round(rows["posts"] * tags_mean),
        "user_settings": rows["users"],
        "comments": rows["comments"],
        "notifications": rows["notifications"],
    }


def batches(total: int) -> range:
    """Indices of the batches covering `total` rows."""
    return range(math.ceil(total / BATCH))


def batch_range(total: int, batch: int) -> tuple[int, int]:
    return batch * BATCH, min(total, (batch + 1) * BATCH)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in folded if ch.isalnum()) or "user"


@dataclass(frozen=True, slots=True)
class Pools:
    """Values made by Faker once per seed; rows combine them by index."""

    first: Pool
    last: Pool
    first_ascii: Pool
    last_ascii: Pool
    domains: Pool
    words: Pool
    sentences: Pool
    paragraphs: Pool
    phones: Pool
    timezones: Pool
    streets: Pool
    cities: Pool
    states: Pool
    countries: Pool
    postcodes: Pool
    hashes: Pool
    colors: Pool


#: Faker's name for a country's first-level division, by locale: state, prefecture, province, county, region...
_REGIONS = ("state", "administrative_unit", "prefecture", "province", "region", "county", "city")


def _region(fake: Faker) -> Callable[[], str]:
    for name in _REGIONS:
        if hasattr(fake, name):
            method: Callable[[], str] = getattr(fake, name)
            return method
    raise AttributeError("state", name="state")  # build_pools names it in its ConfigError


def _romanizer(fake: Faker) -> Callable[[str], str]:
    """Faker's own transliteration for e-mail addresses (Cyrillic, Hangul, kana and kanji...), else accents folded."""
    for provider in fake.get_providers():
        to_ascii = getattr(provider, "_to_ascii", None)
        if callable(to_ascii):
            return lambda text: _ascii(str(to_ascii(text)))
    return _ascii


def _country(fake: Faker) -> list[str]:
    """The locale's own country (addresses are in one country, as their states and postcodes are), else a mix."""
    try:
        return [str(fake.current_country())[:50]]
    except (AttributeError, ValueError):
        return sorted({fake.country()[:50] for _ in range(400)})


def build_pools(locale: str, seed: int) -> Pools:
    """About 20k Faker calls, whatever the scale."""
    try:
        fake = Faker(locale, use_weighting=False)
    except AttributeError:
        raise ConfigError(f"profile: unknown Faker locale {locale!r}") from None
    fake.seed_instance(seed)
    try:
        return _pools(fake, seed)
    except AttributeError as exc:
        if not (isinstance(exc.obj, Faker | Generator) or exc.name == "state"):
            raise  # a bug of perfkit's, not a locale without a provider
        raise ConfigError(
            f"profile: Faker locale {locale!r} cannot generate {exc.name or 'a value perfkit needs'}:"
            " pick another locale (en_US works)"
        ) from None


def _pools(fake: Faker, seed: int) -> Pools:
    first = [fake.first_name() for _ in range(1000)]
    last = [fake.last_name() for _ in range(1000)]
    roman = _romanizer(fake)
    region = _region(fake)
    words = sorted({w.lower() for w in fake.words(5000)})
    rng = np.random.default_rng(_key(seed, "pools"))
    alphabet = np.frombuffer(b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)
    raw = alphabet[rng.integers(0, len(alphabet), size=(4096, 53))]
    return Pools(
        first=Pool.of(first),
        last=Pool.of(last),
        first_ascii=Pool.of([roman(n) for n in first]),
        last_ascii=Pool.of([roman(n) for n in last]),
        domains=Pool.of(sorted({fake.free_email_domain() for _ in range(50)} | {"example.com", "example.org"})),
        words=Pool.of(words),
        sentences=Pool.of([fake.sentence(nb_words=8)[:190] for _ in range(4000)]),
        paragraphs=Pool.of([fake.paragraph(nb_sentences=8) for _ in range(2000)]),
        phones=Pool.of([fake.phone_number()[:20] for _ in range(1000)]),
        timezones=Pool.of(sorted({fake.timezone()[:50] for _ in range(400)})),
        streets=Pool.of([fake.street_address()[:100] for _ in range(1000)]),
        cities=Pool.of([fake.city()[:50] for _ in range(1000)]),
        states=Pool.of(sorted({region()[:50] for _ in range(200)})),
        countries=Pool.of(_country(fake)),
        postcodes=Pool.of([fake.postcode()[:20] for _ in range(1000)]),
        hashes=Pool.of(["$2b$12$" + bytes(r).decode() for r in raw]),
        colors=Pool.of(sorted({fake.color_name().lower() for _ in range(400)})),
    )


class Streams:
    """Random streams keyed by (seed, table, column, batch): a new column never shifts another column's values."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def rng(self, table: str, column: str, batch: int) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, _key(table, column), batch])))

    def uuid_words(
        self, table: str, index: np.ndarray[Any, Any]
    ) -> tuple[np.ndarray[Any, np.dtype[np.uint64]], np.ndarray[Any, np.dtype[np.uint64]]]:
        """The id of row `index` of `table` as two uint64 halves: version-4-shaped, a pure function of (seed, table,
        index)."""
        idx = np.asarray(index, dtype=np.uint64)
        hi = _mix64(idx + np.uint64(_key(self.seed, table, "hi")))
        lo = _mix64(idx ^ np.uint64(_key(self.seed, table, "lo")))
        return (hi & _VERSION_MASK) | _VERSION_4, (lo & _VARIANT_MASK) | _VARIANT

    def permutation(self, table: str, n: int) -> tuple[int, int]:
        """An affine bijection of 0..n-1 (a, c): rank r -> (a*r + c) % n, so heavy ranks land on scattered rows."""
        rng = np.random.default_rng([self.seed, _key(table, "perm")])
        a = int(rng.integers(1, max(2, n))) | 1
        while math.gcd(a, n) != 1:
            a += 1
        return a, int(rng.integers(0, max(1, n)))


def skewed(
    rng: np.random.Generator, n: int, size: int, k: float, perm: tuple[int, int]
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """`size` indices in 0..n-1 with a power law: rank = n * u**k, so the top 1% of ranks hold 0.01**(1/k)."""
    rank = np.minimum((n * rng.random(size) ** k).astype(np.int64), n - 1)
    a, c = perm
    return (rank * a + c) % n


def hashed_unit(
    seed: int, table: str, column: str, index: np.ndarray[Any, Any]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """A uniform draw in [0, 1) per row `index`, from the seed, table and column alone: any row's value is known
    without generating its batch (for values other tables depend on)."""
    i = np.asarray(index, dtype=np.int64).astype(np.uint64)
    bits = _mix64(i ^ np.uint64(_key(seed, table, column))) >> np.uint64(11)
    frac: np.ndarray[Any, np.dtype[np.float64]] = bits.astype(np.float64) / float(2**53)
    return frac


def slot_times(
    seed: int, table: str, start_us: int, span_us: int, total: int, index: np.ndarray[Any, Any]
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Timestamps (µs since 1970) of rows `index` of `total`: row i falls at a hashed point of its own slot, so all
    are distinct, in row order, and any row's time is known without generating its batch."""
    width = span_us / max(total, 1)
    i = np.asarray(index, dtype=np.int64)
    left = np.floor(i * width).astype(np.int64)
    right = np.maximum(np.floor((i + 1) * width).astype(np.int64), left + 1)
    frac = hashed_unit(seed, table, "created_at", i)
    times: np.ndarray[Any, np.dtype[np.int64]] = start_us + left + (frac * (right - left)).astype(np.int64)
    return times


def _signup_weights(rank_of: np.ndarray[Any, Any], power: float) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Weight of each row (in row order): the probability mass of its rank under rank = n * u**(1/power)."""
    n = len(rank_of)
    edges = (np.arange(n + 1, dtype=np.float64) / n) ** power
    weight: np.ndarray[Any, np.dtype[np.float64]] = np.diff(edges)[rank_of]
    return weight


def _top1_after_signup(weight: np.ndarray[Any, Any]) -> float:
    """Expected share of the top 1% of users when each row, at a time spread evenly over the sign-ups, draws among
    the users who exist by then (users sign up in row order)."""
    cumulative = np.cumsum(weight)
    # A row drawn when m users exist gives user j < m the share weight[j] / cumulative[m - 1]; m is even in 1..n.
    later = np.cumsum((1.0 / cumulative)[::-1])[::-1]
    expected = weight * later
    top = max(1, math.ceil(len(weight) * 0.01))
    return float(np.partition(expected, len(expected) - top)[-top:].sum() / expected.sum())


def top1_floor(n: int) -> float:
    """The least share of rows the top 1% of `n` users can get when rows only go to users who had signed up by then
    (equal weights): sign-up order alone concentrates them (about 6% for 10,000 users)."""
    return _top1_after_signup(np.ones(max(n, 1)))


#: The most skewed log power `skew_weights` tries: nearly all weight on the top rank.
_MOST_SKEWED = -6.0


def _rank_of(n: int, perm: tuple[int, int]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Row j holds rank r where j = (r * a + c) % n, as in `skewed`."""
    a, c = perm
    rank_of = np.empty(n, dtype=np.int64)
    rank_of[(np.arange(n, dtype=np.int64) * a + c) % n] = np.arange(n, dtype=np.int64)
    return rank_of


def top1_ceiling(n: int, seed: int) -> float:
    """The most of the posts the top 1% of `n` users can write with the authors' ranks of `seed`: a user gets no
    rows dated before they signed up, and the heaviest ranks sit at scattered places in sign-up order."""
    if n <= 1:
        return 1.0
    perm = Streams(seed).permutation("authors", n)
    return _top1_after_signup(_signup_weights(_rank_of(n, perm), math.exp(_MOST_SKEWED)))


def skew_weights(n: int, k: float, perm: tuple[int, int]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Cumulative weights (length n + 1, in row order) for `pick_before`, so that the top 1% of users end up with
    0.01**(1/k) of the rows, as `skewed` gives without sign-up dates.

    Users who signed up early can be drawn for longer, which alone concentrates the rows; the power law's exponent
    is solved for (bisection on the expected shares) so that the concentration stays what the profile says. It never
    goes past equal weights: an even spread over users who signed up at different times is not reachable that way, so
    a profile asking for less concentration than sign-up order alone gives (k near 1) gets equal weights.
    """
    if n <= 1:
        return np.array([0.0, 1.0])[: n + 1]
    rank_of = _rank_of(n, perm)
    target = 0.01 ** (1.0 / k)
    lo, hi = _MOST_SKEWED, 0.0  # log of the power: larger powers spread the weight more evenly, 1 (log 0) is even
    for _ in range(24):  # the log power to within 4e-7
        mid = (lo + hi) / 2
        if _top1_after_signup(_signup_weights(rank_of, math.exp(mid))) > target:
            lo = mid
        else:
            hi = mid
    weight = _signup_weights(rank_of, math.exp((lo + hi) / 2))
    cumulative: np.ndarray[Any, np.dtype[np.float64]] = np.concatenate([[0.0], np.cumsum(weight)])
    return cumulative


def pick_before(
    rng: np.random.Generator, cumulative: np.ndarray[Any, Any], eligible: np.ndarray[Any, Any]
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """For each row, an index in 0..eligible-1 drawn with the weights of `skew_weights` (eligible >= 1)."""
    target = rng.random(len(eligible)) * cumulative[eligible]
    picked = np.searchsorted(cumulative, target, side="right") - 1
    result: np.ndarray[Any, np.dtype[np.int64]] = np.clip(picked, 0, eligible - 1).astype(np.int64)
    return result


def distinct_picks(
    rng: np.random.Generator, cdf: np.ndarray[Any, Any], wanted: np.ndarray[Any, Any], width: int
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Per row, `wanted` distinct indices drawn with the popularity `cdf` (duplicates redrawn), sorted, -1 padded
    to `width` columns. `wanted` must not exceed len(cdf).

    Duplicates are redrawn a few times; those left (a popularity so concentrated that the top index comes back on
    nearly every draw) are drawn from the popularity without the row's other picks, which is what a redraw would
    give, so every row gets its `wanted` distinct picks.
    """
    n = len(cdf)
    empty = n  # sorts after every real index
    picks = np.searchsorted(cdf, rng.random((len(wanted), width)), side="right").clip(0, n - 1)
    picks = np.where(np.arange(width) < wanted[:, None], picks, empty)
    for _ in range(_REDRAWS):
        picks.sort(axis=1)
        dup = _duplicates(picks, empty)
        count = int(dup.sum())
        if not count:
            break
        picks[dup] = np.searchsorted(cdf, rng.random(count), side="right").clip(0, n - 1)
    else:
        picks.sort(axis=1)
        rows = np.flatnonzero(_duplicates(picks, empty).any(axis=1))
        picks[rows] = _fill_without_repeats(rng, cdf, picks[rows], empty)
    out: np.ndarray[Any, np.dtype[np.int64]] = np.where(picks == empty, -1, picks).astype(np.int64)
    return out


#: Rounds of redrawing duplicate picks before the rest are drawn without the row's other picks.
_REDRAWS = 200


def _duplicates(picks: np.ndarray[Any, Any], empty: int) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Slots of sorted rows that repeat the slot before them."""
    dup = np.zeros(picks.shape, dtype=bool)
    dup[:, 1:] = (picks[:, 1:] == picks[:, :-1]) & (picks[:, 1:] != empty)
    return dup


def _fill_without_repeats(
    rng: np.random.Generator, cdf: np.ndarray[Any, Any], picks: np.ndarray[Any, Any], empty: int
) -> np.ndarray[Any, Any]:
    """Sorted rows with repeats: each repeat replaced, one slot at a time, by a draw from the popularity without
    the picks the row holds (inverse CDF over the mass left, stepping past each pick below the draw)."""
    n = len(cdf)
    weight = np.diff(cdf, prepend=0.0)
    for _ in range(picks.shape[1]):
        dup = _duplicates(picks, empty)
        todo = dup.any(axis=1)
        if not todo.any():
            break
        taken = np.where(dup, empty, picks)[todo]
        taken.sort(axis=1)  # each row's distinct picks, ascending, then the empties
        mass = np.where(taken < n, weight[np.minimum(taken, n - 1)], 0.0)
        left = cdf[-1] - mass.sum(axis=1)
        target = rng.random(len(taken)) * left
        for j in range(taken.shape[1]):  # past each pick at or below the draw, the draw moves up by its weight
            below = (taken[:, j] < n) & (taken[:, j] <= np.searchsorted(cdf, target, side="right"))
            target = target + np.where(below, mass[:, j], 0.0)
        drawn = np.searchsorted(cdf, target, side="right").clip(0, n - 1)
        # no mass left that a double can tell (the rest of the weights underflowed), or rounding at the very top:
        # the most popular index not taken
        clash = (left <= 0) | (taken == drawn[:, None]).any(axis=1)
        if clash.any():
            free = ~(np.arange(n)[None, :] == taken[clash][:, :, None]).any(axis=1)
            drawn[clash] = free.argmax(axis=1)
        first_dup = dup[todo].argmax(axis=1)
        rows = picks[todo]
        rows[np.arange(len(rows)), first_dup] = drawn
        rows.sort(axis=1)
        picks[todo] = rows
    return picks


def null_mask(rng: np.random.Generator, size: int, rate: float) -> np.ndarray[Any, np.dtype[np.bool_]] | None:
    """Rows to make NULL: a share `rate` of them (None when the rate is 0)."""
    if rate <= 0:
        return None
    mask: np.ndarray[Any, np.dtype[np.bool_]] = rng.random(size) < rate
    return mask


def choose(rng: np.random.Generator, labels: dict[str, float], size: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Indices into `labels` drawn with the given shares."""
    return pick(labels, rng.random(size))


def pick(labels: dict[str, float], u: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Indices into `labels` with the given shares, one per uniform draw in `u`."""
    cdf = np.cumsum(list(labels.values()))
    cdf[-1] = 1.0
    picked: np.ndarray[Any, np.dtype[np.int64]] = np.searchsorted(cdf, u, side="right").clip(0, len(labels) - 1)
    return picked


def epoch_us(when: dt.datetime) -> int:
    return (when - _EPOCH) // dt.timedelta(microseconds=1)


def before_end(
    base: np.ndarray[Any, Any],
    later: np.ndarray[Any, Any],
    late_units: Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]],
    end_us: int,
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """`later` (times after `base`) kept before `end_us` and never before `base`: where it reaches `end_us` it is drawn
    again, uniformly between `base` and `end_us`, from `late_units(mask)` (one uniform per row of the mask), since
    clamping would pile such rows up on the range's last microsecond."""
    over = later >= end_us
    if over.any():
        room = np.maximum(end_us - base[over], 1)
        later = later.copy()
        later[over] = base[over] + (late_units(over) * room).astype(np.int64)
    result: np.ndarray[Any, np.dtype[np.int64]] = np.maximum(base, np.minimum(later, end_us - 1))
    return result
