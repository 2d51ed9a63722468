"""Re-captures the real-server plans in tests/plans/ (run by hand; the tests only read the saved JSON).

Usage: python tests/plans/capture.py "host=127.0.0.1 port=55432 user=postgres dbname=postgres" [NAME ...]
Creates database plan_capture, captures each plan (or only the NAMEd ones), drops the database. Plans differ run to
run, so after a re-capture the hand-worked expected values in tests/test_plan.py must be worked out again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

HERE = Path(__file__).parent
DB = "plan_capture"

SETUP = """
CREATE TABLE items (id int PRIMARY KEY, grp int NOT NULL, val int NOT NULL, pad text NOT NULL);
INSERT INTO items SELECT g, g % 100, (g * 7919) % 100000, repeat('x', 40) FROM generate_series(1, 100000) g;
CREATE TABLE parents (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO parents SELECT g, 'p' || g FROM generate_series(1, 200) g;
CREATE TABLE children (id int PRIMARY KEY, parent_id int NOT NULL, amount int NOT NULL);
INSERT INTO children SELECT g, 1 + g % 200, g % 17 FROM generate_series(1, 4000) g;
CREATE INDEX children_parent_idx ON children (parent_id);
CREATE TABLE few (id int NOT NULL, parent_id int NOT NULL);
INSERT INTO few SELECT g, 1 + g % 200 FROM generate_series(1, 2000) g;
CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY, item_id int, at timestamptz DEFAULT now());
CREATE TABLE events (id int, note text);
CREATE FUNCTION log_event() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO audit (item_id) VALUES (NEW.id); RETURN NULL; END $$;
CREATE TRIGGER events_audit AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION log_event();
CREATE TABLE stamped (id int, note text, checked int);
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.note := upper(NEW.note); NEW.checked := (SELECT count(*) FROM parents WHERE id <= NEW.id); RETURN NEW;
END $$;
CREATE TRIGGER stamped_before BEFORE INSERT ON stamped FOR EACH ROW EXECUTE FUNCTION stamp();
CREATE TABLE owners (id int PRIMARY KEY);
INSERT INTO owners SELECT generate_series(1, 200);
CREATE TABLE pets (id int PRIMARY KEY, owner_id int NOT NULL REFERENCES owners ON DELETE CASCADE);
INSERT INTO pets SELECT g, 1 + g % 200 FROM generate_series(1, 4000) g;
CREATE INDEX pets_owner_idx ON pets (owner_id);
CREATE TABLE corr (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL);
INSERT INTO corr SELECT g, g % 100, g % 100 FROM generate_series(1, 100000) g;
CREATE TABLE pairs (a int NOT NULL, b int NOT NULL);
INSERT INTO pairs SELECT g % 100, g % 100 FROM generate_series(1, 1000) g;
CREATE TABLE comments (id int PRIMARY KEY, post_id int NOT NULL, body text NOT NULL);
INSERT INTO comments SELECT g, g % 20, md5(g::text) || md5((g * 31)::text) FROM generate_series(1, 200000) g;
CREATE INDEX comments_post_idx ON comments (post_id);
CREATE TABLE tags (post_id int NOT NULL, tag int NOT NULL);
INSERT INTO tags SELECT g, t FROM generate_series(1, 5000) g, generate_series(1, (g % 6) + 1) t;
CREATE INDEX tags_post_idx ON tags (post_id, tag);
"""
VACUUM = (
    "VACUUM ANALYZE items",
    "VACUUM ANALYZE parents",
    "VACUUM ANALYZE children",
    "VACUUM ANALYZE few",
    "VACUUM ANALYZE owners",
    "VACUUM ANALYZE pets",
    "VACUUM ANALYZE corr",
    "VACUUM ANALYZE pairs",
    "VACUUM ANALYZE comments",
    "VACUUM ANALYZE tags",
)

SERIAL = "SET max_parallel_workers_per_gather = 0; SET jit = off;"
PARALLEL = (
    "SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
    " SET min_parallel_table_scan_size = 0;"
)

CASES: dict[str, tuple[str, str]] = {
    "10-parallel-gather": (
        "SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
        " SET min_parallel_table_scan_size = 0; SET jit = off;",
        "SELECT grp, count(*) FROM items WHERE val > 1000 GROUP BY grp",
    ),
    "11-cte-materialized": (
        SERIAL,
        "WITH big AS MATERIALIZED (SELECT id, val FROM items WHERE grp = 7)"
        " SELECT a.id FROM big a JOIN big b ON b.id = a.id + 100 WHERE a.val > 50000",
    ),
    "12-initplan": (SERIAL, "SELECT id FROM children WHERE amount > (SELECT avg(amount) FROM children) AND id < 500"),
    "13-subplan": (
        SERIAL,
        "SELECT p.id, (SELECT sum(c.amount) FROM children c WHERE c.parent_id = p.id) FROM parents p WHERE p.id <= 50",
    ),
    "14-trigger": (SERIAL, "INSERT INTO events SELECT g, 'n' || g FROM generate_series(1, 300) g"),
    "15-jit": (
        "SET max_parallel_workers_per_gather = 0; SET jit = on; SET jit_above_cost = 0;"
        " SET jit_inline_above_cost = 0; SET jit_optimize_above_cost = 0;",
        "SELECT grp, sum(val * 2 + 1) FROM items GROUP BY grp",
    ),
    "16-disk-sort": (SERIAL + " SET work_mem = '64kB';", "SELECT id, pad FROM items ORDER BY pad, val"),
    "17-hash-batches": (
        SERIAL + " SET work_mem = '64kB'; SET enable_mergejoin = off; SET enable_nestloop = off;",
        "SELECT count(*) FROM items i JOIN children c ON c.id = i.id",
    ),
    # A one-block outer table: the leader scans it before the workers start, they find the outer side empty and
    # never build their (not parallel-aware) Hash, which then ran in 1 process of 3. Re-capture until Loops is 1.
    "19-parallel-single-process-node": (
        "SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
        " SET min_parallel_table_scan_size = 0; SET enable_parallel_hash = off; SET jit = off;",
        "SELECT count(*) FROM few f JOIN parents p ON p.id = f.parent_id",
    ),
    # A BEFORE ROW trigger runs inside the Insert node: its time is in the node's and also in the Triggers list.
    "20-trigger-before": (SERIAL, "INSERT INTO stamped SELECT g, 'n' || g FROM generate_series(1, 300) g"),
    # ON DELETE CASCADE: the RI trigger on owners (AFTER, with a Constraint Name) deletes the pets rows.
    "21-trigger-fk-cascade": (SERIAL, "DELETE FROM owners WHERE id <= 50"),
    # a = b on every row: the planner multiplies the two selectivities (1/100 x 1/100) and expects 10 rows of
    # 100000, 1000 come; the join above only passes the error on.
    "22-misestimate-inherited": (
        SERIAL,
        "SELECT count(*) FROM corr c JOIN parents p ON p.id = c.a + 1 WHERE c.a = 5 AND c.b = 5",
    ),
    # Both scans are estimated exactly; the join on two correlated columns is where the estimate goes wrong.
    "23-misestimate-join": (
        SERIAL,
        "SELECT count(*) FROM pairs x JOIN pairs y ON y.a = x.a AND y.b = x.b",
    ),
    # Two Sort nodes with the same label (text keys: the sorts dominate): which one is the hottest?
    "24-repeated-node": (
        SERIAL + " SET work_mem = '64MB';",
        "SELECT count(*) FROM ((SELECT id FROM items ORDER BY pad, val) UNION ALL"
        " (SELECT id FROM items WHERE grp < 50 ORDER BY pad, val DESC)) u",
    ),
    # A parallel Sort that spills: each worker's Sort Method and Disk space are in its "Workers" entry, the
    # leader's at the top level; without the leader (parallel_leader_participation = off) only in "Workers".
    "25-parallel-sort-spill": (
        PARALLEL + " SET work_mem = '64kB'; SET jit = off;",
        "SELECT * FROM comments ORDER BY body",
    ),
    "26-parallel-sort-spill-no-leader": (
        PARALLEL + " SET work_mem = '64kB'; SET jit = off; SET parallel_leader_participation = off;",
        "SELECT * FROM comments ORDER BY body",
    ),
    # Incremental Sort over the post_id index: the 20 pre-sorted groups of 10000 rows each spill (external merge).
    "27-incremental-sort-spill": (
        SERIAL + " SET work_mem = '64kB'; SET enable_sort = off;",
        "SELECT post_id, body FROM comments ORDER BY post_id, body",
    ),
    # 1 to 6 tags per post (3.4996 on average): PostgreSQL prints the inner side's rows per loop rounded (3), while
    # the Nested Loop returns the exact total; 5000 loops of a few microseconds each.
    "28-nested-loop-rounded-rows": (
        SERIAL + " SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_memoize = off;",
        "SELECT count(*) FROM tags x JOIN tags y ON y.post_id = x.post_id AND y.tag = 1",
    ),
    # EXISTS as a Nested Loop Semi Join: the inner Index Only Scan stops at the first of the ~20 children.
    "29-semi-join-inner-stops-early": (
        SERIAL + " SET enable_hashjoin = off; SET enable_mergejoin = off;",
        "SELECT p.id FROM parents p WHERE EXISTS (SELECT FROM children c WHERE c.parent_id = p.id)",
    ),
    # The Hash is empty (no amount > 100): the Hash Join stops after the first outer row.
    "30-hash-join-empty-hash": (
        SERIAL + " SET enable_nestloop = off; SET enable_mergejoin = off;",
        "SELECT * FROM items i JOIN children c ON c.id = i.id WHERE c.amount > 100",
    ),
    # The children side ends at id 4000: the Merge Join stops reading items there.
    "31-merge-join-side-ends-early": (
        SERIAL + " SET enable_hashjoin = off; SET enable_nestloop = off;",
        "SELECT i.id, c.amount FROM items i JOIN children c ON c.id = i.id",
    ),
    # JIT in a parallel plan: its time is summed over the leader and the workers (more than the execution time).
    "32-parallel-jit": (
        PARALLEL + " SET jit = on; SET jit_above_cost = 0; SET jit_inline_above_cost = 0;"
        " SET jit_optimize_above_cost = 0;",
        "SELECT grp, sum(val * 2 + 1) FROM items GROUP BY grp",
    ),
    # EXPLAIN ANALYZE with TIMING OFF: rows and loops, no node times.
    "33-timing-off": (
        SERIAL,
        "SELECT count(*) FROM parents p JOIN children c ON c.parent_id = p.id WHERE p.id <= 50",
    ),
    # a = 1 implies b = 1, but the planner multiplies the selectivities (100,000 x 0.01 x 0.01 = 10 rows): the scan
    # below the top-N Sort returns none. The Sort read all of it, so the Limit cut nothing short below the Sort.
    "34-sort-under-limit": (
        SERIAL,
        "SELECT * FROM corr WHERE a = 1 AND b = 2 ORDER BY id % 1000, id LIMIT 5",
    ),
    # No parent is named 'nobody' (estimated 1, the planner's least): the Hash is empty and the join, estimated 20,
    # returns nothing because nothing came in, not because its own estimate was off.
    "35-join-over-empty-input": (
        SERIAL + " SET enable_nestloop = off; SET enable_mergejoin = off;",
        "SELECT * FROM children c JOIN parents p ON p.id = c.parent_id WHERE p.name = 'nobody'",
    ),
}
# EXPLAIN options other than the default ANALYZE, BUFFERS.
OPTIONS: dict[str, str] = {"33-timing-off": "ANALYZE, BUFFERS, TIMING OFF"}


def main(admin: str, only: tuple[str, ...] = ()) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
    params = psycopg.conninfo.conninfo_to_dict(admin)
    params["dbname"] = DB
    try:
        with psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=True) as conn:
            conn.execute(SETUP)
            for stmt in VACUUM:
                conn.execute(stmt)
            for name, (settings, query) in CASES.items():
                if only and name not in only:
                    continue
                conn.execute("RESET ALL")
                conn.execute(settings)
                conn.execute("BEGIN")
                conn.execute("SAVEPOINT warm")  # warm the cache once, undone (a DELETE must find its rows again)
                conn.execute(query)
                conn.execute("ROLLBACK TO SAVEPOINT warm")
                options = OPTIONS.get(name, "ANALYZE, BUFFERS")
                row = conn.execute(f"EXPLAIN ({options}, FORMAT JSON) " + query).fetchone()
                conn.execute("ROLLBACK")
                assert row is not None
                doc: Any = row[0]
                (HERE / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
                print(name, "captured")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))


if __name__ == "__main__":
    admin = sys.argv[1] if len(sys.argv) > 1 else "host=127.0.0.1 port=55432 user=postgres dbname=postgres"
    main(admin, tuple(sys.argv[2:]))
