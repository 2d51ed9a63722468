"""What-if indexes for a user's query: candidate B-trees from its predicates, joins and ordering, estimated with
HypoPG, the best one built for real (rolled back) and measured, with the measured saving next to the estimate."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import psycopg

from perfkit import freshness, indexing
from perfkit._advise_columns import ColumnUse, column_uses
from perfkit._sql_scan import WRITE_WORDS, tokens
from perfkit.errors import AdviseError, PlanError
from perfkit.explain import explain_estimate
from perfkit.indexing import PREFIX, IndexDef, Key, col
from perfkit.jsonb_rules import diagnose
from perfkit.measure import measure, unprepared
from perfkit.plan import Plan

Conn = psycopg.Connection[Any]
MAX_CANDIDATES = 8
MAX_REAL_CANDIDATES = 4
DEFAULT_TIMEOUT_MS = 30_000
COMMANDS = frozenset(
    "INSERT UPDATE DELETE MERGE CREATE DROP ALTER TRUNCATE COPY GRANT REVOKE VACUUM ANALYZE SET RESET SHOW BEGIN "
    "START COMMIT ROLLBACK ABORT END SAVEPOINT RELEASE EXPLAIN CALL DO LOCK REINDEX CLUSTER COMMENT DISCARD LISTEN "
    "NOTIFY UNLISTEN PREPARE EXECUTE DEALLOCATE DECLARE FETCH MOVE CLOSE CHECKPOINT REFRESH LOAD IMPORT "
    "SECURITY".split()
)
"""Statements that are not queries (anything else that is not SELECT/VALUES/TABLE/WITH goes to the server's parser)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A proposed index and why: which columns of the query it serves."""

    index: IndexDef
    reason: str


@dataclass(frozen=True, slots=True)
class Estimate:
    """A candidate's planner estimate: total cost with it (hypothetical or real), the plan shape, whether used."""

    definition: str
    reason: str
    total_cost: float
    saving_pct: float
    plan_shape: str
    used: bool
    hypothetical: bool


#: Below this estimated saving (%) an index costs more (space, writes) than it gives: the best one is flagged.
WORTH_PCT = 10.0


@dataclass(frozen=True, slots=True)
class Measured:
    """The best candidate built for real: measured times with and without it, next to the estimated saving."""

    definition: str
    baseline_ms: float
    with_index_ms: float
    measured_saving_pct: float
    estimated_saving_pct: float
    plan_shape: str
    size_bytes: int
    build_ms: float


@dataclass(frozen=True, slots=True)
class Advice:
    """Everything `perfkit advise` found for one query."""

    query: str
    hypopg: bool
    baseline_cost: float
    baseline_shape: str
    columns: tuple[Mapping[str, Any], ...]
    estimates: tuple[Estimate, ...]
    best: Measured | None
    notes: tuple[str, ...]
    hypopg_status: str = "used"
    """"used", "disabled" (use_hypopg=False, --no-hypopg) or "unavailable" (not installed on the server)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"columns": [dict(c) for c in self.columns]}


def shape(plan: Plan) -> str:
    """Node types in order with the indexes they use: `Limit › Index Scan using posts_pkey`."""
    parts: list[str] = []
    for n in plan.nodes():
        label = n.node_type + (f" using {n.index}" if n.index else "")
        if label not in parts:
            parts.append(label)
    return " › ".join(parts)


def _check_query(query: str) -> None:
    try:
        words = tokens(query)
    except PlanError as exc:
        raise AdviseError(f"cannot read the SQL: {exc}") from None
    while words and words[-1] == ";":
        words.pop()
    if not words:
        raise AdviseError("the SQL is empty: give one SELECT query")
    if ";" in words:
        raise AdviseError("give one query, not several statements")
    first = next((w for w in words if w != "("), "")
    if first in COMMANDS:
        raise AdviseError(f"not a query: perfkit advise takes one SELECT (or WITH ... SELECT), got {first}")
    writes = [w for w in words if w in WRITE_WORDS and w != "INTO"]
    if writes:
        raise AdviseError(f"not a read-only query: it contains {writes[0]}")


def _estimate(conn: Conn, query: str) -> Plan:
    try:
        return explain_estimate(conn, query)
    except PlanError as exc:
        msg = str(exc).removeprefix("SQL error: ")
        if msg.startswith("relation ") and "does not exist" in msg:
            row = conn.execute("SHOW search_path").fetchone()
            where = f"database {conn.info.dbname}, search_path {row[0] if row else '?'}"
            raise AdviseError(f"perfkit cannot see that table: {msg} ({where})") from None
        if "syntax error" in msg:
            raise AdviseError(f"syntax error: {msg.removeprefix('syntax error ')}") from None
        raise AdviseError(msg) from None


def _cost(plan: Plan) -> float:
    return float(plan.root.raw.get("Total Cost", 0.0))


def _proposals(rel: str, u: ColumnUse) -> list[Candidate]:
    """One relation's candidates, best first: equality (+ ORDER BY or range), then single columns, then join keys."""
    out: dict[tuple[Key, ...], Candidate] = {}

    def add(keys: list[Key], reason: str) -> None:
        norm = (replace(keys[0], desc=False),) if len(keys) == 1 else tuple(keys)
        if keys and len({k.column for k in keys}) == len(keys) and norm not in out:
            out[norm] = Candidate(IndexDef("", rel, tuple(keys)), reason)

    eq = [col(c) for c in u.equality]
    sort = [col(c, desc=d) for c, d in u.sort if c not in u.equality]
    on = ", ".join(u.equality)
    if eq and sort:
        add([*eq, *sort], f"equality on {on}, then the ORDER BY")
    if len(eq) >= 2:
        add(eq, f"equality on {on}")
    for r in u.range:
        if eq and r not in u.equality:
            add([*eq, col(r)], f"equality on {on}, then range on {r}")
    if len(eq) >= 2:
        add(eq[::-1], "equality, other column order")
    for k in eq:
        add([k], f"equality on {k.column}")
    if sort:
        add(sort, "the ORDER BY")
    for r in u.range:
        add([col(r)], f"range on {r}")
    for j in u.join:
        if j not in u.equality:
            add([col(j)], f"join key {j} (for a nested loop)")
    return list(out.values())


def _covered(keys: tuple[Key, ...], existing: set[tuple[str, ...]]) -> bool:
    """Whether an existing B-tree starts with these keys (read forwards or backwards)."""
    fwd = tuple(k.text for k in keys)
    back = tuple(replace(k, desc=not k.desc).text for k in keys)
    return any(e[: len(keys)] in (fwd, back) for e in existing)


def candidates(
    uses: Mapping[str, ColumnUse], existing: Mapping[str, set[tuple[str, ...]]] | None = None
) -> tuple[list[Candidate], list[Candidate], int]:
    """B-tree candidates: per relation best first, those an existing index already serves set aside, then taken
    round-robin across relations up to MAX_CANDIDATES. Returns (candidates, already indexed, left out by the cap)."""
    per_rel: list[list[Candidate]] = []
    indexed: list[Candidate] = []
    for rel, u in uses.items():
        have = (existing or {}).get(rel, set())
        mine: list[Candidate] = []
        for c in _proposals(rel, u):
            (indexed if _covered(c.index.keys, have) else mine).append(c)
        per_rel.append(mine)
    picked: list[Candidate] = []
    for i in range(max(map(len, per_rel), default=0)):
        picked += [cs[i] for cs in per_rel if i < len(cs)]
    named = [
        Candidate(IndexDef(f"{PREFIX}adv_{i}", c.index.table, c.index.keys), c.reason)
        for i, c in enumerate(picked[:MAX_CANDIDATES])
    ]
    return named, indexed, max(0, len(picked) - MAX_CANDIDATES)


def _existing_leading(conn: Conn, rel: str) -> set[tuple[str, ...]]:
    rows = conn.execute(
        "SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid "
        "WHERE t.relname = %s AND t.relnamespace = current_schema()::regnamespace AND x.indisvalid "
        "AND x.indpred IS NULL",
        (rel,),
    ).fetchall()
    out: set[tuple[str, ...]] = set()
    for (ddl,) in rows:
        inner = str(ddl).split(" USING btree (", 1)
        if len(inner) == 2:
            out.add(tuple(p.strip().strip('"') for p in inner[1].split(")")[0].split(",")))
    return out


def hypopg_available(conn: Conn) -> bool:
    """Whether the server can load HypoPG (installed in this database, or available to CREATE EXTENSION)."""
    return conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'").fetchone() is not None


def _hypothetical(conn: Conn, query: str, cands: list[Candidate], base: float) -> list[Estimate]:
    """Each candidate as a HypoPG index, in a transaction rolled back (an extension perfkit created goes with it)."""
    out: list[Estimate] = []
    with conn.transaction(force_rollback=True):
        if not indexing.ensure_extension(conn, "hypopg"):
            raise AdviseError("HypoPG could not be loaded")
        for c in cands:
            row = conn.execute("SELECT indexrelid FROM hypopg_create_index(%s)", (c.index.ddl().as_string(conn),))
            oid = row.fetchone()
            plan = _estimate(conn, query)
            used = oid is not None and any(n.index and n.index.startswith(f"<{oid[0]}>") for n in plan.nodes())
            conn.execute("SELECT hypopg_reset()")
            cost = _cost(plan)
            out.append(Estimate(c.index.short, c.reason, cost, _saving(base, cost), shape(plan), used, True))
    return out


def _saving(before: float, after: float) -> float:
    return round(100.0 * (1.0 - after / before), 1) if before > 0 else 0.0


def _time(conn: Conn, query: str, budget_s: float) -> float:
    """Median of plain executions within `budget_s`: one warm-up, then at least one timed run (a slow query gets
    no more runs than the budget allows; the warm-up itself counts as the sample when it used the budget up)."""
    with unprepared(conn):  # plain: every run parsed and planned, as the first one is
        t0 = time.perf_counter()
        conn.execute(query).fetchall()
        first_s = time.perf_counter() - t0
        if first_s >= budget_s:
            return first_s * 1000.0
        m = measure(
            lambda: conn.execute(query).fetchall(), warmup=0, min_runs=1, max_runs=30, budget_s=budget_s - first_s
        )
    return m.stats.median_ms


def _real(conn: Conn, query: str, c: Candidate, budget_s: float) -> tuple[Plan, float, indexing.Build]:
    """Build the candidate, measure the query with it; all in a transaction that is rolled back."""
    with conn.transaction(force_rollback=True):
        build = indexing.create(conn, c.index)
        plan = _estimate(conn, query)
        return plan, _time(conn, query, budget_s), build


def advise(
    conn: Conn,
    query: str,
    *,
    use_hypopg: bool | None = None,
    build_best: bool = True,
    budget_s: float = 1.0,
    statement_timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Advice:
    """Propose B-tree indexes for `query`, estimate each (HypoPG when available), build and measure the best.

    `use_hypopg=False` simulates a server without HypoPG: real candidates are built and measured instead (at most
    MAX_REAL_CANDIDATES). Nothing is left behind: every index lives in a transaction that is rolled back. Every
    statement runs under `statement_timeout_ms` (0: none; a timeout raises AdviseError); `budget_s` bounds the timed
    runs of each measurement (at least one run). On Ctrl-C the running statement is cancelled on the server.
    """
    _check_query(query)
    row = conn.execute("SELECT current_setting('statement_timeout')").fetchone()
    before = str(row[0]) if row else "0"
    conn.execute("SELECT set_config('statement_timeout', %s, false)", (f"{int(statement_timeout_ms)}ms",))
    try:
        return _advise(conn, query, use_hypopg, build_best, budget_s)
    except psycopg.errors.QueryCanceled:
        raise AdviseError(
            f"the query was cancelled after the statement timeout ({statement_timeout_ms} ms); "
            "raise it with --statement-timeout MS"
        ) from None
    except KeyboardInterrupt:
        conn.cancel_safe(timeout=5.0)
        raise
    finally:
        if not conn.closed:
            conn.execute("SELECT set_config('statement_timeout', %s, false)", (before,))


def _advise(conn: Conn, query: str, use_hypopg: bool | None, build_best: bool, budget_s: float) -> Advice:
    plan = _estimate(conn, query)
    notes: list[str] = []
    uses = column_uses(conn, plan)
    for check in freshness.ensure_fresh(conn, uses):
        if check.analyzed:
            notes.append(check.message)
    if any(n.relation for n in plan.nodes()) and not uses:
        notes.append(
            "no plain column of a table in this schema appears in the predicates, joins or ORDER BY (a column inside"
            " an expression, such as lower(email), needs an expression index on it, which advise does not propose)"
        )
    notes += [f.message for f in diagnose(conn, plan)]
    plan = _estimate(conn, query) if any("ANALYZE" in n for n in notes) else plan
    base_cost = _cost(plan)
    cands, indexed, dropped = candidates(uses, {rel: _existing_leading(conn, rel) for rel in uses})
    notes += [f"already indexed: {c.index.short}" for c in indexed]
    if dropped:
        notes.append(f"{dropped} more candidate(s) left out: at most {MAX_CANDIDATES} are tried, shared across tables")
    hypo = use_hypopg is not False and hypopg_available(conn)
    if not hypo:
        why = "not used (--no-hypopg / use_hypopg=False)" if use_hypopg is False else "not installed on this server"
        notes.append(f"HypoPG {why}: real candidates were built and measured instead (no what-if estimates)")
    base_ms = _time(conn, query, budget_s) if cands and (build_best or not hypo) else float("nan")
    estimates: list[Estimate] = []
    best: Measured | None = None
    if hypo:
        estimates = _hypothetical(conn, query, cands, base_cost)
        useful = [(e, c) for e, c in zip(estimates, cands, strict=True) if e.used and e.total_cost < base_cost]
        if useful and build_best:
            e, c = min(useful, key=lambda ec: ec[0].total_cost)
            real_plan, ms, build = _real(conn, query, c, budget_s)
            best = Measured(
                c.index.short, base_ms, ms, _saving(base_ms, ms), e.saving_pct, shape(real_plan), build.size_bytes,
                build.build_ms,
            )  # fmt: skip
    else:
        measured: list[tuple[Candidate, Plan, float, indexing.Build]] = []
        for c in cands[:MAX_REAL_CANDIDATES]:
            real_plan, ms, build = _real(conn, query, c, budget_s)
            cost = _cost(real_plan)
            used = any(n.index == c.index.name for n in real_plan.nodes())
            estimates.append(
                Estimate(c.index.short, c.reason, cost, _saving(base_cost, cost), shape(real_plan), used, False)
            )
            measured.append((c, real_plan, ms, build))
        used_ones = [m for m, e in zip(measured, estimates, strict=True) if e.used]
        if used_ones:
            c, real_plan, ms, build = min(used_ones, key=lambda m: m[2])
            est = next(e for e in estimates if e.definition == c.index.short)
            best = Measured(
                c.index.short, base_ms, ms, _saving(base_ms, ms), est.saving_pct, shape(real_plan), build.size_bytes,
                build.build_ms,
            )  # fmt: skip
    if best is not None and best.estimated_saving_pct < WORTH_PCT:
        notes.append(
            f"{best.definition} is not worth building: it lowers the plan's estimated cost by"
            f" {best.estimated_saving_pct:.1f}% only (below {WORTH_PCT:g}%), and a measured difference that small is"
            " within the noise of a few runs"
        )
    lowering = [e for e in estimates if e.used and e.total_cost < base_cost]
    if cands and not lowering:
        notes.append("no candidate index lowered the plan's cost: the planner keeps its current plan")
    elif lowering and best is None:
        top = min(lowering, key=lambda e: e.total_cost)
        notes.append(
            f"best candidate by estimate: {top.definition} (cost {base_cost:,.2f} -> {top.total_cost:,.2f}, "
            f"{top.saving_pct:+.1f}%); not built or measured (--no-build)"
        )
    if not cands and not uses:
        notes.append("nothing to index")
    status = "used" if hypo else ("disabled" if use_hypopg is False else "unavailable")
    return Advice(
        query, hypo, base_cost, shape(plan), tuple(u.to_dict() for u in uses.values()), tuple(estimates), best,
        tuple(notes), status,
    )  # fmt: skip
