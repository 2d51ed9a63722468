"""Plan model: one saved plan per quirk (tests/plans/NN-topic.json), each with expected values worked out by hand.

01-08 are the handed cases (C01, C05, C06) and small invented quirks; 10-24 were captured from PostgreSQL 15 by
tests/plans/capture.py. Times are ms as PostgreSQL prints them; "x loops" and "/ processes" are spelled out.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from perfkit.compare import compare, parse_checks
from perfkit.errors import PlanError
from perfkit.plan import Plan, parse_plan, summarize
from perfkit.plan_render import format_bytes, plan_to_dict, render_plan
from tests._runs import bench, run

PLANS = Path(__file__).parent / "plans"


def load(name: str) -> Plan:
    return parse_plan((PLANS / name).read_text())


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-9)


def test_c01_per_loop_times_multiplied_by_loops() -> None:
    plan = load("01-loops.json")
    nl, users, limit, posts = plan.nodes()
    assert (nl.node_type, users.relation, limit.node_type, posts.relation) == ("Nested Loop", "users", "Limit", "posts")
    assert posts.inclusive_ms == approx(2.000)  # 0.010 x 200
    assert limit.inclusive_ms == approx(2.200)  # 0.011 x 200
    assert posts.exclusive_ms == approx(2.000)
    assert limit.exclusive_ms == approx(0.200)  # 2.200 - 2.000
    assert users.exclusive_ms == approx(0.090)
    assert nl.exclusive_ms == approx(0.120)  # 2.410 - 0.090 - 2.200
    assert sum(n.exclusive_ms for n in plan.nodes()) == pytest.approx(2.410)
    assert posts.rows_total == 600  # 3 x 200, equals the Nested Loop's 600
    assert posts.rows_removed_total == 400  # 2 x 200
    assert plan.outside_tree_ms == pytest.approx(0.092)  # 2.502 - 2.410
    assert plan.planning_ms == 0.410
    assert plan.execution_ms == 2.502
    hottest = summarize(plan).hottest_node
    assert hottest is not None and hottest.index == "posts_author_created_idx"
    assert round(hottest.percent or 0, 1) == 83.0  # 2.000 / 2.410


def test_c05_never_executed_nodes() -> None:
    plan = load("05-never-executed.json")
    nl, users, limit, posts = plan.nodes()
    for node in (limit, posts):
        assert node.never_executed and node.loops == 0
        assert node.inclusive_ms == 0 and node.exclusive_ms == 0
        assert node.estimate_factor is None and node.estimate_direction is None and node.misestimate is None
    assert nl.exclusive_ms == approx(0.001)  # 0.050 - 0.049 - 0
    assert not users.never_executed and users.rows_total == 0 and users.rows_removed_total == 1000
    summary = summarize(plan)
    assert not any("posts_author_created_idx" in f for f in summary.findings)
    (use,) = summary.index_scans
    assert use.index == "posts_author_created_idx" and use.executed is False
    assert summary.worst_misestimate is None  # the only estimates are on never-executed nodes
    text = _render_text(plan)
    assert "never executed; est 3 rows, ratio n/a" in text


def test_c06_buffers_are_totals_and_cumulative() -> None:
    plan = load("06-buffers-loops.json")
    nl, users, limit, posts = plan.nodes()
    assert posts.buffers.shared_touched == 1000  # 917 + 83, never 1000 x 200
    assert (nl.exclusive_buffers.shared_hit, nl.exclusive_buffers.shared_read) == (0, 0)  # 922-5-917, 83-0-83
    assert (limit.exclusive_buffers.shared_hit, limit.exclusive_buffers.shared_read) == (0, 0)
    assert users.exclusive_buffers.shared_hit == 5
    assert plan.bytes(posts.buffers.shared_read) == 679_936  # 83 x 8192
    assert plan.bytes(posts.buffers.shared_touched) == 8_192_000
    assert format_bytes(plan.bytes(posts.buffers.shared_touched)) == "7.81 MiB"
    assert nl.exclusive_ms == approx(0.148)  # 1.197 - 0.049 - 0.005 x 200
    # the only warning is the rounding one: Limit and posts 3 rows/loop x 200 loops = 600 +/- 200 x 0.5 = 100;
    # times +/- 200 x 0.0005 = 0.100 each, so the Limit's exclusive 1.000 - 1.000 = 0 is +/- 0.200 (its own and the
    # scan's), the Nested Loop's +/- 0.100 (the Limit's): 3 nodes
    assert plan.warnings == (
        "PostgreSQL prints rows and times per loop rounded (rows to whole rows, times to 0.001 ms): totals over loops"
        " are approximate (≈), by more than 10% for 3 nodes, e.g. Limit: rows ≈600 ±100; Limit: ≈0.000 ms ±0.200",
    )
    assert parse_plan((PLANS / "06-buffers-loops.json").read_text(), block_size=16384).bytes(83) == 83 * 16384


def test_c06_parallel_parent_with_fewer_buffers_than_child() -> None:
    plan = load("07-buffers-parallel.json")
    agg, gather = plan.nodes()
    assert agg.exclusive_buffers.shared_hit == 0  # naive 2100 - 5600 = -3500
    assert "buffer counters not cumulative here (parallel plan)" in agg.warnings
    assert agg.buffers.shared_hit == 5600  # max(2100, 5600) as the subtree total
    assert agg.raw["Shared Hit Blocks"] == 2100  # raw keys untouched
    assert summarize(plan).shared_hit_blocks == 5600
    assert any("buffer counters not cumulative here (parallel plan)" in w for w in plan.warnings)
    assert gather.exclusive_buffers.shared_hit == 5600
    assert agg.exclusive_ms == approx(0.300)  # 310.500 - 310.200


def test_children_exceeding_parent_clamp_with_warning() -> None:
    plan = load("08-child-exceeds.json")
    limit, scan = plan.nodes()
    assert limit.exclusive_ms == 0  # 0.800 - 1.250 would be -0.450
    assert any("exceeds this node's" in w for w in limit.warnings)
    assert not scan.warnings
    assert limit.estimate_factor == 1.0 and limit.estimate_direction == "exact"
    assert scan.estimate_factor == pytest.approx(0.01) and scan.estimate_direction == "over"  # 10 / 1000
    assert scan.misestimate == pytest.approx(100.0)
    # the Limit stopped the scan after 10 of its planned 1000 rows: not a misestimate worth reporting
    assert summarize(plan).worst_misestimate is None
    # shares are of the tree's time, 0 + 1.250 (the clamped exclusive times), never 1.250 / 0.800 = 156%
    assert plan.tree_ms == approx(1.250) and plan.total_ms == approx(1.250)
    hottest = summarize(plan).hottest_node
    assert hottest is not None and hottest.label == "Seq Scan on t" and hottest.percent == 100.0
    assert "Seq Scan on t  1.250 ms 100.0%" in _render_text(plan)


def test_parallel_gather_divides_by_processes() -> None:
    # Finalize GroupAggregate (loops 1) <- Gather Merge (2 workers launched) <- Sort (loops 3)
    # <- Partial HashAggregate (loops 3) <- Parallel Seq Scan (loops 3); below the Gather: x loops / (2 + 1).
    plan = load("10-parallel-gather.json")
    agg, gather, sort, partial, scan = plan.nodes()
    assert (sort.processes, partial.processes, scan.processes, gather.processes) == (3, 3, 3, 1)
    assert scan.inclusive_ms == approx(6.212)  # 6.212 x 3 / 3
    assert partial.inclusive_ms == approx(10.831)
    assert sort.inclusive_ms == approx(10.887)
    assert agg.exclusive_ms == approx(0.046)  # 23.383 - 23.337
    assert gather.exclusive_ms == approx(12.450)  # 23.337 - 10.887
    assert sort.exclusive_ms == approx(0.056)  # 10.887 - 10.831
    assert partial.exclusive_ms == approx(4.619)  # 10.831 - 6.212
    assert scan.exclusive_ms == approx(6.212)
    assert scan.rows_total == 99_000  # 33000 x 3 (rows are not divided)
    assert scan.rows_removed_total == 1002  # 334 x 3
    assert scan.label == "Parallel Seq Scan on items" and agg.label == "Finalize GroupAggregate"
    assert summarize(plan).node_types == (
        "Finalize GroupAggregate",
        "Gather Merge",
        "Parallel Seq Scan",
        "Partial HashAggregate",
        "Sort",
    )
    assert scan.estimate_direction == "over" and scan.estimate_factor == pytest.approx(33000 / 41285)
    assert sort.exclusive_buffers.shared_hit == 14  # 1045 - 1031
    assert scan.exclusive_buffers.shared_hit == 1031
    assert (agg.exclusive_buffers.shared_hit, gather.exclusive_buffers.shared_hit) == (0, 0)  # 1045 - 1045
    summary = summarize(plan)
    assert summary.hottest_node is not None and summary.hottest_node.node_type == "Gather Merge"
    assert summary.seq_scans == ("items",)
    assert summary.large_seq_scans[0].rows_read == 100_002  # 99000 + 1002 (per-loop figures are rounded)
    # the finding names the scan as the tree does (it said "Seq Scan on items" for the parallel one)
    assert "Parallel Seq Scan on items read 100,002 rows, 1,002 removed by filter" in summary.findings


def test_cte_materialized_charged_to_the_scan_that_ran_it() -> None:
    # Merge Join 5.916 <- [CTE big] Seq Scan 5.290 (InitPlan: not inside the Merge Join's children)
    #                  <- Sort 5.601 <- CTE Scan a 5.519 ; Sort 0.169 <- CTE Scan b 0.073
    plan = load("11-cte-materialized.json")
    join, cte, _sort_a, scan_a, _sort_b, scan_b = plan.nodes()
    scans = [scan_a, scan_b]
    assert cte.subplan_name == "CTE big" and scan_a.label == "CTE Scan on big a"
    assert cte.parent_relationship == "InitPlan" and cte.exclusive_ms == approx(5.290)
    assert join.exclusive_ms == approx(0.146)  # 5.916 - 5.601 - 0.169 (the CTE runs inside scan a)
    assert scans[0].exclusive_ms == approx(0.229)  # 5.519 - min(5.290, 5.519): scan a pulled the CTE
    assert scans[1].exclusive_ms == approx(0.073)  # nothing left of the CTE for scan b
    assert sum(x.exclusive_ms for x in plan.nodes()) == pytest.approx(5.916)
    assert cte.exclusive_buffers.shared_hit == 1031
    assert scans[0].exclusive_buffers.shared_hit == 0  # 1031 - 1031 charged from the CTE
    assert join.exclusive_buffers.shared_hit == 0  # 1031 - 1031 (Sort) - 0 (Sort)
    assert cte.rows_removed_total == 99_000 and scans[0].rows_removed_total == 500
    assert not plan.warnings


def test_initplan_charged_to_the_node_using_its_parameter() -> None:
    # Index Scan 0.590, Filter ((amount)::numeric > $0) <- InitPlan 1 (returns $0) Aggregate 0.490 <- Seq Scan 0.216
    plan = load("12-initplan.json")
    scan, agg, inner = plan.nodes()
    assert agg.subplan_name == "InitPlan 1 (returns $0)"
    assert scan.exclusive_ms == approx(0.100)  # 0.590 - 0.490
    assert agg.exclusive_ms == approx(0.274)  # 0.490 - 0.216
    assert inner.exclusive_ms == approx(0.216)
    assert (scan.exclusive_buffers.shared_hit, agg.exclusive_buffers.shared_hit) == (6, 0)  # 28 - 22, 22 - 22
    assert scan.rows_removed_total == 238 and scan.rows_total == 261
    assert summarize(plan).indexes == ("children_pkey",)


def test_correlated_subplan_runs_inside_its_parent() -> None:
    # Seq Scan on parents 0.593 <- SubPlan 1 Aggregate 0.011 x 50 <- Bitmap Heap Scan 0.009 x 50
    # <- Bitmap Index Scan 0.001 x 50
    plan = load("13-subplan.json")
    seq, agg, heap, index = plan.nodes()
    assert agg.parent_relationship == "SubPlan" and agg.loops == 50
    assert (agg.inclusive_ms, heap.inclusive_ms, index.inclusive_ms) == (approx(0.550), approx(0.450), approx(0.050))
    assert seq.exclusive_ms == approx(0.043)  # 0.593 - 0.550
    assert agg.exclusive_ms == approx(0.100)  # 0.550 - 0.450
    assert heap.exclusive_ms == approx(0.400)  # 0.450 - 0.050
    assert index.exclusive_ms == approx(0.050)
    assert heap.rows_total == 1000  # 20 x 50
    # buffers: 1101 - 1100 = 1; 1100 - 1100 = 0; 1100 - 100 = 1000; 100
    assert [x.exclusive_buffers.shared_hit for x in plan.nodes()] == [1, 0, 1000, 100]


def test_trigger_time_sits_outside_the_tree() -> None:
    # Insert on events 0.335 <- Function Scan 0.061; trigger events_audit 1.181 ms, 300 calls; Execution 1.545
    plan = load("14-trigger.json")
    insert, func = plan.nodes()
    assert func.exclusive_ms == approx(0.061) and func.rows_total == 300
    (trig,) = plan.triggers
    assert (trig.name, trig.relation, trig.time_ms, trig.calls) == ("events_audit", "events", 1.181, 300)
    assert plan.triggers_ms == 1.181
    assert insert.label == "Insert on events"
    assert insert.exclusive_ms == approx(0.274)  # 0.335 - 0.061
    assert plan.outside_tree_ms == pytest.approx(1.210)  # 1.545 - 0.335, which holds the trigger's 1.181
    assert plan.outside_tree_ms >= plan.triggers_ms
    # 1.181 does not fit in the Insert's 0.274 ms: an AFTER trigger, after the tree
    assert trig.after_tree and trig.constraint is None and not trig.foreign_key
    assert (plan.triggers_outside_ms, plan.triggers_inside_ms) == (1.181, 0.0)
    assert plan.total_ms == pytest.approx(1.516)  # 0.335 + 1.181
    summary = summarize(plan)
    assert summary.hottest_node is not None and round(summary.hottest_node.percent or 0, 1) == 18.1  # 0.274 / 1.516
    assert "trigger events_audit on events took 1.181 ms over 300 calls, after the tree (77.9% of the plan" in "".join(
        summary.findings
    )  # 1.181 / 1.516
    b = insert.exclusive_buffers
    assert (b.shared_hit, b.shared_dirtied, b.shared_written) == (304, 2, 2)
    assert insert.estimate_factor is None  # 0 planned rows: ratio undefined


def test_before_trigger_time_is_inside_the_modify_table_node() -> None:
    # Insert on stamped 12.287 <- Function Scan 0.063; trigger stamped_before 11.986 ms, 300 calls; Execution 12.303.
    # After the tree there are only 12.303 - 12.287 = 0.016 ms: the 11.986 ms ran inside the Insert (BEFORE ROW).
    plan = load("20-trigger-before.json")
    insert, _func = plan.nodes()
    (trig,) = plan.triggers
    assert (trig.name, trig.relation, trig.time_ms, trig.calls, trig.constraint) == (
        "stamped_before",
        "stamped",
        11.986,
        300,
        None,
    )
    assert insert.exclusive_ms == approx(12.224)  # 12.287 - 0.063, of which 11.986 is the trigger's
    assert plan.outside_tree_ms == pytest.approx(0.016)
    assert not trig.after_tree
    assert (plan.triggers_inside_ms, plan.triggers_outside_ms) == (11.986, 0.0)
    assert plan.tree_ms == approx(12.287)
    assert plan.total_ms == approx(12.287)  # 12.287 + 0, not 12.287 + 11.986 = 24.273 (above Execution 12.303)
    summary = summarize(plan)
    assert (summary.triggers_inside_ms, summary.triggers_outside_ms, summary.total_ms) == (11.986, 0.0, 12.287)
    hottest = summary.hottest_node
    assert hottest is not None and hottest.label == "Insert on stamped"
    assert round(hottest.percent or 0, 1) == 99.5  # 12.224 / 12.287
    assert summary.findings[0] == (
        "hottest node: Insert on stamped, 12.224 ms exclusive (99.5% of the plan),"
        " of which 11.986 ms in BEFORE trigger time (stamped_before)"
    )
    assert (
        "trigger stamped_before on stamped took 11.986 ms over 300 calls, inside Insert on stamped"
        " (97.6% of the plan; a BEFORE trigger"  # 11.986 / 12.287
    ) in summary.findings[1]
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["triggers"] == [
        {
            "name": "stamped_before",
            "relation": "stamped",
            "time_ms": 11.986,
            "calls": 300,
            "constraint": None,
            "after_tree": False,
        }
    ]


def test_constraint_triggers_always_run_after_the_tree() -> None:
    # Invented from 20: the same trigger with a Constraint Name (CREATE CONSTRAINT TRIGGER is always AFTER ROW) is
    # placed after the tree although the 0.016 ms there cannot hold its 11.986 ms.
    doc = json.loads((PLANS / "20-trigger-before.json").read_text())
    doc[0]["Triggers"][0]["Constraint Name"] = "stamped_check"
    plan = parse_plan(doc)
    (trig,) = plan.triggers
    assert trig.after_tree and trig.constraint == "stamped_check" and not trig.foreign_key
    assert plan.total_ms == approx(24.273)  # 12.287 + 11.986
    assert any(
        f.startswith("constraint trigger stamped_before (stamped_check) on stamped") for f in summarize(plan).findings
    )


def test_triggers_placed_largest_first() -> None:
    # Invented from 14: a second trigger of 0.200 ms. After the tree: 1.545 - 0.335 = 1.210 ms; the Insert: 0.274 ms.
    # events_audit (1.181) fits after the tree, leaving 0.029; stamp (0.200) does not fit there: inside the Insert.
    doc = json.loads((PLANS / "14-trigger.json").read_text())
    doc[0]["Triggers"].append({"Trigger Name": "stamp", "Relation": "events", "Time": 0.2, "Calls": 300})
    plan = parse_plan(doc)
    audit, stamp = plan.triggers
    assert (audit.after_tree, stamp.after_tree) == (True, False)
    assert (plan.triggers_outside_ms, plan.triggers_inside_ms) == (1.181, 0.2)
    assert plan.total_ms == pytest.approx(1.516)  # 0.335 + 1.181


def test_foreign_key_cascade_trigger_runs_after_the_tree() -> None:
    # Delete on owners 0.042 <- Seq Scan 0.013 (50 rows, 150 removed); RI_ConstraintTrigger_a_16586 for
    # pets_owner_id_fkey on owners 0.676 ms, 50 calls (ON DELETE CASCADE deletes the pets rows); Execution 0.725.
    plan = load("21-trigger-fk-cascade.json")
    delete, scan = plan.nodes()
    (trig,) = plan.triggers
    assert (trig.name, trig.constraint, trig.relation, trig.time_ms, trig.calls) == (
        "RI_ConstraintTrigger_a_16586",
        "pets_owner_id_fkey",
        "owners",
        0.676,
        50,
    )
    assert trig.foreign_key and trig.after_tree
    assert delete.label == "Delete on owners" and scan.rows_removed_total == 150
    assert delete.exclusive_ms == approx(0.029)  # 0.042 - 0.013
    assert plan.outside_tree_ms == pytest.approx(0.683)  # 0.725 - 0.042, which holds the trigger's 0.676
    assert (plan.triggers_outside_ms, plan.triggers_inside_ms) == (0.676, 0.0)
    assert plan.total_ms == approx(0.718)  # 0.042 + 0.676
    summary = summarize(plan)
    hottest = summary.hottest_node
    assert hottest is not None and hottest.label == "Delete on owners"
    assert round(hottest.percent or 0, 1) == 4.0  # 0.029 / 0.718
    assert (
        "foreign key pets_owner_id_fkey: RI trigger on owners took 0.676 ms over 50 calls, after the tree"
        " (94.2% of the plan"  # 0.676 / 0.718
    ) in "\n".join(summary.findings)


def test_jit_time_is_inside_node_times() -> None:
    # HashAggregate 96.602 <- Seq Scan 6.913; JIT Total 75.398; Execution 97.173
    plan = load("15-jit.json")
    agg, scan = plan.nodes()
    assert scan.exclusive_ms == approx(6.913)
    assert plan.jit is not None and plan.jit.functions == 6
    assert plan.jit_ms == 75.398
    jit = plan.jit
    assert jit.generation_ms + jit.inlining_ms + jit.optimization_ms + jit.emission_ms == pytest.approx(75.397)
    assert agg.exclusive_ms == approx(89.689)  # 96.602 - 6.913, of which most is JIT
    assert plan.outside_tree_ms == pytest.approx(0.571)  # 97.173 - 96.602 < 75.398: JIT ran inside the nodes
    assert summarize(plan).jit_ms == 75.398


def test_disk_sort_spill() -> None:
    # Sort 162.126 (external merge, Disk 6136 kB, temp read 3042 written 3275) <- Seq Scan 11.043
    plan = load("16-disk-sort.json")
    sort, scan = plan.nodes()
    assert scan.exclusive_buffers.temp_written == 0
    assert sort.exclusive_ms == approx(151.083)
    assert (sort.exclusive_buffers.temp_read, sort.exclusive_buffers.temp_written) == (3042, 3275)
    (spill,) = summarize(plan).spills
    assert (spill.kind, spill.detail, spill.temp_written_blocks) == ("sort", "external merge, 6136 kB on disk", 3275)
    assert any("Sort spilled to disk" in f for f in summarize(plan).findings)


def test_hash_with_batches_spills() -> None:
    # Aggregate 29.323 <- Hash Join 29.074 (temp 155/155) <- Seq Scan 9.191 ; Hash 1.061 (2 batches, temp w 6)
    # <- Seq Scan 0.327
    plan = load("17-hash-batches.json")
    agg, join, outer, hash_, inner = plan.nodes()
    assert (outer.relation, inner.relation) == ("items", "children")
    assert agg.exclusive_ms == approx(0.249)  # 29.323 - 29.074
    assert join.exclusive_ms == approx(18.822)  # 29.074 - 9.191 - 1.061
    assert hash_.exclusive_ms == approx(0.734)  # 1.061 - 0.327
    assert (join.exclusive_buffers.temp_read, join.exclusive_buffers.temp_written) == (155, 149)  # 155-0, 155-6
    assert hash_.exclusive_buffers.temp_written == 6
    (spill,) = summarize(plan).spills
    assert (spill.kind, spill.detail) == ("hash", "2 batches")
    assert summarize(plan).seq_scans == ("children", "items")


def test_summary_to_dict_is_json_and_has_the_contract_keys() -> None:
    summary = summarize(load("01-loops.json"))
    data = json.loads(json.dumps(summary.to_dict()))
    for key in (
        "node_types",
        "indexes",
        "index_only",
        "seq_scans",
        "planning_ms",
        "execution_ms",
        "shared_hit_blocks",
        "shared_read_blocks",
        "rows_removed",
        "hottest_node",
        "worst_misestimate",
    ):
        assert key in data
    assert data["node_types"] == ["Index Scan", "Limit", "Nested Loop"]
    assert data["indexes"] == ["posts_author_created_idx", "users_seq_key"]
    assert data["index_only"] is False
    assert data["rows_removed"] == 400
    assert data["hottest_node"]["index"] == "posts_author_created_idx"


def test_plan_json_form() -> None:
    plan = load("06-buffers-loops.json")
    data = json.loads(json.dumps(plan_to_dict(plan, summarize(plan))))
    assert [n["node_type"] for n in data["nodes"]] == ["Nested Loop", "Index Scan", "Limit", "Index Scan"]
    root = data["nodes"][0]
    assert (root["shared_hit_blocks"], root["exclusive_shared_hit_blocks"]) == (922, 0)


def test_raw_keys_are_read_only_and_without_children() -> None:
    plan = load("01-loops.json")
    assert "Plans" not in plan.root.raw
    assert plan.root.raw["Actual Total Time"] == 2.410
    with pytest.raises(TypeError):
        plan.root.raw["Actual Total Time"] = 1.0  # type: ignore[index]


def test_accepted_shapes() -> None:
    text = (PLANS / "01-loops.json").read_text()
    doc = json.loads(text)
    for shape in (text, text.encode(), doc, doc[0], doc[0]["Plan"]):
        assert parse_plan(shape).root.inclusive_ms == approx(2.410)
    framed = " QUERY PLAN\n------------\n" + "".join(f" {line} +\n" for line in text.splitlines()) + "(1 row)\n"
    assert parse_plan(framed).root.rows_total == 600


def test_estimates_only_plan_refused_unless_allowed() -> None:
    doc = [{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Plan Rows": 100, "Total Cost": 1.0}}]
    with pytest.raises(PlanError, match="no ANALYZE figures"):
        parse_plan(doc)
    plan = parse_plan(doc, allow_estimates=True)
    assert plan.analyzed is False and plan.root.never_executed is False and plan.root.estimate_factor is None
    assert plan.root.plan_rows == 100 and any("estimates only" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ('[{"Plan": {"Node Type": "Seq Scan",, "Actual Loops": 1}}]', "malformed plan JSON"),
        ('[{"Plan": {"Node Type": "Seq Scan", "Actual Loops": 1', "truncated plan JSON"),
        (
            "Seq Scan on t  (cost=0.00..35.50 rows=2550 width=4) (actual time=0.010..0.200 rows=2550 loops=1)\n"
            "Planning Time: 0.050 ms\n",
            "text-format plan; perfkit reads EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output: save the plan with FORMAT",
        ),
        (  # as `psql -At -c "EXPLAIN (ANALYZE, BUFFERS) ..."` saves it: "Execution Time:" starts a line (read as YAML)
            "Result  (cost=0.00..0.01 rows=1 width=4) (actual time=0.001..0.001 rows=1 loops=1)\n"
            "Planning Time: 0.018 ms\nExecution Time: 0.010 ms\n",
            "text-format plan; perfkit reads EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output: save the plan with FORMAT",
        ),
        (  # psql's aligned output of the same
            "                                     QUERY PLAN\n"
            "------------------------------------------------------------------------------------\n"
            " Result  (cost=0.00..0.01 rows=1 width=4) (actual time=0.001..0.001 rows=1 loops=1)\n"
            " Planning Time: 0.018 ms\n Execution Time: 0.010 ms\n(3 rows)\n",
            "text-format plan; perfkit reads EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output: save the plan with FORMAT",
        ),
        (
            '- Plan: \n    Node Type: "Seq Scan"\n    Actual Total Time: 0.200\n  Execution Time: 0.250\n',
            "YAML-format plan; perfkit reads EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output: save the plan with FORMAT",
        ),
        (
            '<explain xmlns="http://www.postgresql.org/2009/explain">\n  <Query>\n    <Plan>\n',
            "XML-format plan; perfkit reads EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output: save the plan with FORMAT",
        ),
        ("", "empty"),
        ("hello", "not a JSON plan"),
        ("[]", "list of 0 items"),
        ('[{"Plan": {"Node Type": "Result"}}, {"Plan": {"Node Type": "Result"}}]', "list of 2 items"),
        ('{"Query": 1}', "no 'Plan' key"),
        ('[{"Plan": {"Node Type": "Result", "Actual Loops": "x"}}]', "'Actual Loops' is not a number"),
        ('[{"Plan": {"Actual Loops": 1}}]', "no 'Node Type'"),
        (b"\xff\xfe[", "not UTF-8"),
    ],
)
def test_bad_input_gives_one_line_plan_error(doc: str | bytes, message: str) -> None:
    with pytest.raises(PlanError, match=re.escape(message)) as info:
        parse_plan(doc)
    assert "\n" not in str(info.value)


def test_truncated_captured_plan() -> None:
    text = (PLANS / "10-parallel-gather.json").read_text()
    with pytest.raises(PlanError, match="truncated"):
        parse_plan(text[: len(text) // 2])


def _render_text(plan: Plan) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(render_plan(plan, summarize(plan)))
    return console.export_text()


def test_render_shows_exclusive_share_and_findings() -> None:
    text = _render_text(load("01-loops.json"))
    # 0.010 ms x 200 loops = 2.000 +/- 200 x 0.0005 = 0.100: approximate, by 5% (no ±)
    assert "Index Scan on posts using posts_author_created_idx  ≈2.000 ms 83.0%" in text
    assert "hottest node" in text


def test_limit_cutting_a_sort_short_is_not_a_misestimate() -> None:
    # Captured: WHERE a < 50 AND b < 50 ORDER BY id LIMIT 5 on 100k rows where a = b (correlated columns).
    # Sort: planned 24900, returned 5 because the Limit stopped it: expected, not an overestimate.
    # Seq Scan: planned 24900 (0.5 x 0.5 x 100k), actual 50000: the real misestimate, 50000 / 24900 = 2.008x under.
    plan = load("18-limit-cuts-sort-short.json")
    summary = summarize(plan)
    worst = summary.worst_misestimate
    assert worst is not None
    assert worst.node_type == "Seq Scan"
    assert worst.direction == "under"
    assert worst.plan_rows == 24900
    assert not any("overestimated" in f for f in summary.findings)


def test_parallel_node_run_by_fewer_processes_is_not_divided_by_all() -> None:
    # Captured: Aggregate 4.591 <- Gather (2 workers launched) 4.586 <- Partial Aggregate 0.134 x 3
    # <- Hash Join 0.111 x 3 <- Parallel Seq Scan on few 0.037 x 3 ; Hash 0.028 x 1 <- Seq Scan on parents 0.013 x 1.
    # The one-block outer table was scanned by the leader alone: the workers never built their Hash (Loops 1).
    plan = load("19-parallel-single-process-node.json")
    agg, gather, partial, join, few, hash_, parents = plan.nodes()
    assert gather.raw["Workers Launched"] == 2 and (hash_.loops, parents.loops) == (1, 1)
    assert (partial.processes, join.processes, few.processes) == (3, 3, 3)  # min(3 loops, 2 + 1)
    assert (hash_.processes, parents.processes) == (1, 1)  # min(1 loop, 2 + 1)
    assert hash_.inclusive_ms == approx(0.028)  # 0.028 x 1 / 1, not / 3 (0.009)
    assert parents.inclusive_ms == approx(0.013)  # not 0.004
    assert hash_.exclusive_ms == approx(0.015)  # 0.028 - 0.013
    assert join.inclusive_ms == approx(0.111)  # 0.111 x 3 / 3
    assert join.exclusive_ms == approx(0.046)  # 0.111 - 0.037 - 0.028
    assert partial.exclusive_ms == approx(0.023)  # 0.134 - 0.111
    assert gather.exclusive_ms == approx(4.452)  # 4.586 - 0.134
    assert agg.exclusive_ms == approx(0.005)  # 4.591 - 4.586


def test_per_worker_loops_refine_the_process_count() -> None:
    # Invented from 19: the Hash's VERBOSE per-worker figures say worker 0 built it twice and the leader never did,
    # so 2 loops ran in 1 process: 0.028 x 2 / 1 (min(loops, 3) alone would say 2 processes: 0.028).
    doc = json.loads((PLANS / "19-parallel-single-process-node.json").read_text())
    hash_raw = doc[0]["Plan"]["Plans"][0]["Plans"][0]["Plans"][0]["Plans"][1]
    assert hash_raw["Node Type"] == "Hash"
    hash_raw["Actual Loops"] = 2
    hash_raw["Workers"] = [
        {"Worker Number": 0, "Actual Total Time": 0.028, "Actual Loops": 2},
        {"Worker Number": 1, "Actual Total Time": 0.0, "Actual Loops": 0},
    ]
    hash_ = next(n for n in parse_plan(doc).nodes() if n.node_type == "Hash")
    assert hash_.processes == 1
    assert hash_.inclusive_ms == approx(0.056)


def test_misestimate_reported_where_it_starts() -> None:
    # Captured: WHERE c.a = 5 AND c.b = 5 on 100k rows where a = b. Aggregate (1 of 1) <- Nested Loop (planned 11,
    # actual 1000) <- Seq Scan on corr c (planned 11, actual 1000) ; Index Only Scan on parents (1 of 1 x 1000 loops).
    # Both the scan and the join are 1000 / 11 = 90.9x under; the join only passes the scan's error on.
    plan = load("22-misestimate-inherited.json")
    _agg, loop, scan, _index = plan.nodes()
    assert loop.misestimate == pytest.approx(1000 / 11) and scan.misestimate == pytest.approx(1000 / 11)
    summary = summarize(plan)
    worst = summary.worst_misestimate
    assert worst is not None
    assert (worst.label, worst.direction, worst.plan_rows, worst.rows_per_loop) == (
        "Seq Scan on corr c",
        "under",
        11,
        1000,
    )
    assert worst.estimate_factor == pytest.approx(90.909, abs=1e-3)  # 1000 / 11
    assert worst.magnitude == pytest.approx(90.909, abs=1e-3) and worst.own_magnitude == pytest.approx(90.909, abs=1e-3)
    assert worst.inherited_by == ("Nested Loop",)
    assert worst.where.position == 3  # Aggregate, Nested Loop, Seq Scan
    assert (
        "Seq Scan on corr c: planner underestimated rows 91x (estimated 11, actual 1,000 per loop);"
        " the misestimate starts here, Nested Loop above only inherits it"
    ) in summary.findings


def test_misestimate_of_a_join_whose_inputs_are_right() -> None:
    # Captured: pairs x JOIN pairs y ON y.a = x.a AND y.b = x.b, 1000 rows each with a = b = g % 100 (100 values).
    # Both Seq Scans and the Hash: 1000 planned, 1000 actual. The Hash Join: 1000 x 1000 / 100 / 100 = 100 planned,
    # 1000 x 10 = 10000 actual: 100x under, and its own error (its inputs are exact).
    plan = load("23-misestimate-join.json")
    worst = summarize(plan).worst_misestimate
    assert worst is not None
    assert (worst.node_type, worst.direction, worst.plan_rows, worst.rows_per_loop) == (
        "Hash Join",
        "under",
        100,
        10000,
    )
    assert worst.magnitude == pytest.approx(100.0) and worst.own_magnitude == pytest.approx(100.0)
    assert worst.inherited_by == ()


def test_misestimate_of_a_join_worse_than_its_bad_input() -> None:
    # Invented from 22: the Nested Loop planned 11 rows but returned 1 (11x over) while its scan was 90.9x under:
    # its own error is (1/11) / (1000/11) = 1/1000, 1000x, larger than the scan's 90.9x, so the join is reported.
    doc = json.loads((PLANS / "22-misestimate-inherited.json").read_text())
    loop_raw = doc[0]["Plan"]["Plans"][0]
    assert loop_raw["Node Type"] == "Nested Loop"
    loop_raw["Actual Rows"] = 1
    worst = summarize(parse_plan(doc)).worst_misestimate
    assert worst is not None
    assert (worst.node_type, worst.direction, worst.plan_rows) == ("Nested Loop", "over", 11)
    assert worst.magnitude == pytest.approx(11.0) and worst.own_magnitude == pytest.approx(1000.0)
    # 5000 rows instead: 454.5x under, of which 5000 / 1000 = 5x its own (< 10x): the scan stays the origin
    loop_raw["Actual Rows"] = 5000
    worst = summarize(parse_plan(doc)).worst_misestimate
    assert worst is not None and worst.label == "Seq Scan on corr c" and worst.inherited_by == ("Nested Loop",)


def test_hottest_node_of_a_repeated_kind_is_located() -> None:
    # Captured: count(*) over (ORDER BY pad, val) UNION ALL (... WHERE grp < 50 ORDER BY pad, val DESC).
    # Aggregate 455.447 <- Append 445.784 <- Subquery Scan *SELECT* 1 302.129 <- Sort 284.237 <- Seq Scan 12.503
    #                                    <- Subquery Scan *SELECT* 2 130.723 <- Sort 125.485 <- Seq Scan 16.301
    plan = load("24-repeated-node.json")
    nodes = list(plan.nodes())
    first_sort, second_sort = nodes[3], nodes[6]
    assert first_sort.exclusive_ms == approx(271.734)  # 284.237 - 12.503
    assert second_sort.exclusive_ms == approx(109.184)  # 125.485 - 16.301
    summary = summarize(plan)
    hottest = summary.hottest_node
    assert hottest is not None and hottest.label == "Sort"
    assert round(hottest.percent or 0, 1) == 59.7  # 271.734 / 455.447
    where = hottest.where
    assert (where.position, where.occurrence, where.occurrences, where.kind) == (4, 1, 2, "Sort")
    assert where.ancestors == ("Aggregate", "Append", "Subquery Scan on *SELECT* 1")
    assert summary.findings[0] == (
        "hottest node: Sort (1st of 2 Sort nodes, node 4 depth-first, under Aggregate > Append > Subquery Scan on"
        " *SELECT* 1), 271.734 ms exclusive (59.7% of the plan)"
    )
    assert summary.to_dict()["hottest_node"]["where"]["position"] == 4


def test_hottest_node_in_a_loop_says_how_many_loops() -> None:
    # 01: the posts Index Scan ran 200 times under the Nested Loop (0.010 x 200 = 2.000 ms of 2.410)
    summary = summarize(load("01-loops.json"))
    assert summary.hottest_node is not None and summary.hottest_node.loops == 200
    assert summary.findings[0] == (
        "hottest node: Index Scan on posts using posts_author_created_idx, ≈2.000 ms exclusive (83.0% of the plan)"
        " over 200 loops"
    )


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"Node Type": "Aggregate", "Strategy": "Plain"}, "Aggregate"),
        ({"Node Type": "Aggregate", "Strategy": "Sorted"}, "GroupAggregate"),
        ({"Node Type": "Aggregate", "Strategy": "Hashed"}, "HashAggregate"),
        ({"Node Type": "Aggregate", "Strategy": "Mixed"}, "MixedAggregate"),
        ({"Node Type": "Aggregate", "Strategy": "Hashed", "Partial Mode": "Partial"}, "Partial HashAggregate"),
        ({"Node Type": "Aggregate", "Strategy": "Plain", "Partial Mode": "Finalize"}, "Finalize Aggregate"),
        ({"Node Type": "Aggregate", "Strategy": "Plain", "Partial Mode": "Simple"}, "Aggregate"),
        ({"Node Type": "SetOp", "Strategy": "Hashed"}, "HashSetOp"),
        ({"Node Type": "SetOp", "Strategy": "Sorted"}, "SetOp"),
        ({"Node Type": "ModifyTable", "Operation": "Merge"}, "Merge"),
        ({"Node Type": "Foreign Scan", "Operation": "Update"}, "Foreign Update"),
        ({"Node Type": "Foreign Scan", "Operation": "Select", "Async Capable": True}, "Async Foreign Scan"),
        ({"Node Type": "Custom Scan", "Custom Plan Provider": "Citus Adaptive"}, "Custom Scan (Citus Adaptive)"),
        ({"Node Type": "Seq Scan", "Parallel Aware": True}, "Parallel Seq Scan"),
        ({"Node Type": "Nested Loop", "Join Type": "Inner"}, "Nested Loop"),
        ({"Node Type": "Nested Loop", "Join Type": "Left"}, "Nested Loop Left Join"),
        ({"Node Type": "Nested Loop", "Join Type": "Anti"}, "Nested Loop Anti Join"),
        ({"Node Type": "Hash Join", "Join Type": "Inner"}, "Hash Join"),
        ({"Node Type": "Hash Join", "Join Type": "Right"}, "Hash Right Join"),
        ({"Node Type": "Hash Join", "Join Type": "Full"}, "Hash Full Join"),
        ({"Node Type": "Hash Join", "Join Type": "Semi", "Parallel Aware": True}, "Parallel Hash Semi Join"),
        ({"Node Type": "Merge Join", "Join Type": "Inner"}, "Merge Join"),
        ({"Node Type": "Merge Join", "Join Type": "Left"}, "Merge Left Join"),
        ({"Node Type": "Merge Join", "Join Type": "Anti"}, "Merge Anti Join"),
    ],
)
def test_node_types_named_as_the_text_format_does(extra: dict[str, object], expected: str) -> None:
    doc = {"Plan": {"Actual Loops": 1, "Actual Rows": 1, "Actual Total Time": 0.1, **extra}}
    plan = parse_plan(doc)
    assert plan.root.display_type == expected
    assert summarize(plan).node_types == (expected,)


def test_node_types_of_captured_plans() -> None:
    # 15: Aggregate with Strategy Hashed; 17: Strategy Plain; 14: ModifyTable with Operation Insert
    assert summarize(load("15-jit.json")).node_types == ("HashAggregate", "Seq Scan")
    assert summarize(load("17-hash-batches.json")).node_types == ("Aggregate", "Hash", "Hash Join", "Seq Scan")
    assert summarize(load("14-trigger.json")).node_types == ("Function Scan", "Insert")
    # 29: "Nested Loop" with "Join Type": "Semi", as EXPLAIN's text format prints it
    plan = load("29-semi-join-inner-stops-early.json")
    assert plan.root.label == "Nested Loop Semi Join"
    assert summarize(plan).node_types == ("Index Only Scan", "Nested Loop Semi Join", "Seq Scan")


def test_join_names_against_a_summary_recorded_before_them() -> None:
    # 29 recorded before joins carried their type: "Nested Loop" and no `node_names`; the same plan summarised now
    # says "Nested Loop Semi Join": not a plan change. An Anti join instead still is one.
    now = summarize(load("29-semi-join-inner-stops-early.json")).to_dict()
    assert now["node_names"] == "text"
    before = {**now, "node_types": ["Index Only Scan", "Nested Loop", "Seq Scan"]}
    del before["node_names"]
    checks = parse_checks(["plan:changed"])

    def verdict(baseline: dict[str, object], current: dict[str, object]) -> str:
        (result,) = compare(run(bench(plan=baseline)), run(bench(plan=current)), checks).benchmarks[0].results
        return result.verdict

    assert verdict(before, now) == "ok"
    anti = {**now, "node_types": ["Index Only Scan", "Nested Loop Anti Join", "Seq Scan"]}
    assert verdict(now, anti) == "changed"
    assert verdict(before, {**before, "node_types": ["Index Only Scan", "Hash Join", "Seq Scan"]}) == "changed"


def test_parallel_sort_spill_in_every_process() -> None:
    # 25: Gather Merge <- Sort (loops 3): the leader's external merge at the top level (7440 kB), the workers' in
    # "Workers" (3344 kB, 5616 kB). Largest 7440, in all 7440 + 3344 + 5616 = 16400 kB.
    (spill,) = summarize(load("25-parallel-sort-spill.json")).spills
    assert spill.processes == ("leader", "worker 0", "worker 1")
    assert (spill.largest_kb, spill.total_kb) == (7440, 16400)
    assert spill.detail == (
        "external merge in 3 processes (leader, worker 0, worker 1): largest 7440 kB, 16400 kB on disk in all"
    )
    # 26, parallel_leader_participation = off: no Sort Method at the top level, the two workers spilled 6536 and
    # 9816 kB: largest 9816, in all 6536 + 9816 = 16352 kB.
    summary = summarize(load("26-parallel-sort-spill-no-leader.json"))
    (spill,) = summary.spills
    assert spill.processes == ("worker 0", "worker 1") and (spill.largest_kb, spill.total_kb) == (9816, 16352)
    assert (
        "Sort spilled to disk (external merge in 2 processes (worker 0, worker 1): largest 9816 kB, 16352 kB on disk"
        " in all)"
    ) in "\n".join(summary.findings)


def test_incremental_sort_spill() -> None:
    # 27: Incremental Sort, Full-sort Groups 20 in memory (quicksort, 32 kB), Pre-sorted Groups 20 with
    # "Sort Methods Used": ["external merge"] and "Sort Space Disk" peak 824 kB.
    (spill,) = summarize(load("27-incremental-sort-spill.json")).spills
    assert (spill.label, spill.kind, spill.processes) == ("Incremental Sort", "sort", ())
    assert (spill.largest_kb, spill.total_kb) == (824, 824)
    assert spill.detail == "external merge (20 pre-sorted groups), 824 kB on disk at the peak"


def test_parallel_hash_aggregate_spill_in_one_worker() -> None:
    # Edited copy of 10: worker 1's Partial HashAggregate entry says 5 batches and 120 kB on disk (the leader's and
    # worker 0's 1 batch, 0 kB in memory): a spill, in worker 1 only.
    doc = json.loads((PLANS / "10-parallel-gather.json").read_text())
    agg_raw = doc[0]["Plan"]["Plans"][0]["Plans"][0]["Plans"][0]
    assert agg_raw["Partial Mode"] == "Partial" and agg_raw["Workers"][1]["Worker Number"] == 1
    assert summarize(parse_plan(doc)).spills == ()
    agg_raw["Workers"][1].update({"HashAgg Batches": 5, "Disk Usage": 120})
    (spill,) = summarize(parse_plan(doc)).spills
    assert (spill.kind, spill.processes, spill.largest_kb) == ("hash aggregate", ("worker 1",), 120)
    assert spill.detail == "5 batches in worker 1, 120 kB on disk"


def test_rounded_per_loop_rows_and_times_are_approximate() -> None:
    # 28: Nested Loop (Inner, no Join Filter) 8.342 ms, 17,498 rows <- Seq Scan on tags y 1.054 ms, 5,000 rows
    #     <- Index Only Scan on tags x: 0.001 ms and 3 rows per loop x 5,000 loops.
    plan = load("28-nested-loop-rounded-rows.json")
    _agg, loop, scan, inner = plan.nodes()
    # rows: 3 x 5000 = 15,000 as printed, within 5000 x (3 +/- 0.5) = 12,500..17,500; the Nested Loop returns one row
    # per inner row and its 17,498 is exact (1 loop): the inner total is 17,498, 3.4996 per loop
    assert inner.raw["Actual Rows"] == 3 and inner.rows_total == 17_498 and not inner.rows_total_approx
    assert inner.rows_per_loop == pytest.approx(3.4996)
    # time: 0.001 x 5000 = 5.000 ms, +/- 5000 x 0.0005 = 2.500 (truth anywhere in 2.5..7.5)
    assert inner.inclusive_ms == approx(5.0) and inner.inclusive_ms_error == approx(2.5)
    assert inner.exclusive_ms_error == approx(2.5)
    # the Nested Loop's own time: 8.342 - 1.054 - 5.000 = 2.288, +/- the inner side's 2.500 (its own and the scan's: 0)
    assert loop.exclusive_ms == approx(2.288) and loop.exclusive_ms_error == approx(2.5)
    assert (scan.exclusive_ms_error, scan.rows_total_error) == (0.0, 0.0)
    # hottest: 5.000 +/- 2.5 vs 2.288 +/- 2.5 overlap (2.288 + 2.5 >= 5.000 - 2.5): a tie, said so
    summary = summarize(plan)
    hottest = summary.hottest_node
    assert hottest is not None and hottest.label == "Index Only Scan on tags x using tags_post_idx"
    assert hottest.within_error_of == "Nested Loop" and hottest.exclusive_ms_error == approx(2.5)
    assert summary.findings[0] == (
        "hottest node: Index Only Scan on tags x using tags_post_idx, ≈5.000 ms ±2.500 exclusive (55.2% of the plan)"
        " over 5,000 loops; Nested Loop (≈2.288 ms ±2.500) is within the rounding error of per-loop times: either"
        " may be the hottest"
    )  # 5.000 / 9.052
    # one warning: 2 nodes' times are uncertain by more than 10% (2.5 of 5.000, 2.5 of 2.288)
    assert plan.warnings == (
        "PostgreSQL prints rows and times per loop rounded (rows to whole rows, times to 0.001 ms): totals over loops"
        " are approximate (≈), by more than 10% for 2 nodes, e.g. Index Only Scan on tags x using tags_post_idx:"
        " ≈5.000 ms ±2.500",
    )
    text = _render_text(plan)
    assert "≈5.000 ms ±2.500 55.2%  rows 3.50/loop (est 3/loop ↑1.2x) × 5,000 loops = 17,498" in text


def test_rounded_rows_not_derivable_stay_approximate() -> None:
    # 29: Nested Loop Semi Join: the inner Index Only Scan printed 1 row per loop x 200 loops; a semi join returns
    # one row per outer row, not per inner row, so the total stays 200 +/- 200 x 0.5 = 100.
    plan = load("29-semi-join-inner-stops-early.json")
    semi, _outer, inner = plan.nodes()
    assert inner.rows_total == 200 and inner.rows_total_approx and inner.rows_total_error == 100.0
    # the join's time: 0.180 - 0.015 - 0.001 x 200 = -0.035, within the rounding (+/- 0.100): 0, never negative
    assert semi.exclusive_ms == 0.0 and semi.exclusive_ms_error == approx(0.1)
    assert not semi.warnings
    assert "× 200 loops ≈ 200 ±100" in _render_text(plan)
    # a plain Aggregate returns exactly one row per loop (13: SubPlan 1 x 50 loops = 50, exact)
    agg = list(load("13-subplan.json").nodes())[1]
    assert (agg.loops, agg.rows_total, agg.rows_total_approx) == (50, 50, False)


def test_overestimates_on_nodes_stopped_early_are_not_misestimates() -> None:
    # 29: Nested Loop Semi Join; its inner Index Only Scan stops at the first match: estimated 20, 1 per loop
    # (20x "over") is the semi join at work, not a misestimate.
    plan = load("29-semi-join-inner-stops-early.json")
    _semi, outer, inner = plan.nodes()
    assert (inner.cut_short, outer.cut_short) == (True, False)
    assert inner.misestimate == pytest.approx(20.0)  # 20 / 1
    summary = summarize(plan)
    assert summary.worst_misestimate is None
    assert not any("estimated" in f for f in summary.findings)
    assert "rows 1/loop (est 20/loop ↓20.0x, cut short) × 200 loops" in _render_text(plan)
    # 30: the Hash is empty (0 rows): the Hash Join read one row of items (estimated 100,000) and stopped
    plan = load("30-hash-join-empty-hash.json")
    _join, items, hash_, _children = plan.nodes()
    assert (hash_.rows_total, items.rows_total, items.plan_rows) == (0, 1, 100_000)
    assert items.cut_short and not hash_.cut_short
    assert summarize(plan).worst_misestimate is None
    # 31: Merge Join (Inner): children ends at id 4000, so items was read to 4001 of its estimated 100,000 (25x)
    plan = load("31-merge-join-side-ends-early.json")
    _merge, items, children = plan.nodes()
    assert (items.rows_total, items.plan_rows, items.cut_short, children.cut_short) == (4001, 100_000, True, True)
    assert summarize(plan).worst_misestimate is None


def test_underestimates_on_nodes_stopped_early_still_count() -> None:
    # Edited copy of 31: the children side estimated at 40 rows instead of 4000; it returned 4000, 100x more:
    # a node the Merge Join may stop early, but more rows than estimated is a misestimate all the same.
    doc = json.loads((PLANS / "31-merge-join-side-ends-early.json").read_text())
    children_raw = doc[0]["Plan"]["Plans"][1]
    assert children_raw["Relation Name"] == "children" and children_raw["Plan Rows"] == 4000
    children_raw["Plan Rows"] = 40
    worst = summarize(parse_plan(doc)).worst_misestimate
    assert worst is not None and worst.relation == "children"
    assert (worst.direction, worst.magnitude) == ("under", pytest.approx(100.0))  # 4000 / 40


def test_parallel_jit_is_summed_over_processes() -> None:
    # 32: Gather Merge with 2 workers launched; JIT Total 714.964 ms over leader + 2 workers = 3 processes, more than
    # the 339.168 ms Execution Time: not "inside node times"
    plan = load("32-parallel-jit.json")
    assert plan.jit is not None and (plan.jit.processes, plan.jit_ms, plan.execution_ms) == (3, 714.964, 339.168)
    text = _render_text(plan)
    assert "JIT 714.964 ms (summed over 3 processes, the leader and 2 workers: not wall time)" in text
    assert "inside node times" not in text
    serial = load("15-jit.json")  # no Gather: 1 process, inside the node times
    assert serial.jit is not None and serial.jit.processes == 1
    assert "JIT 75.398 ms (inside node times)" in _render_text(serial)


def _edited_13(old: str, new: str) -> str:
    """Captured 13 with one figure of the root (Seq Scan on parents) replaced, as an edited saved file holds it."""
    text = (PLANS / "13-subplan.json").read_text()
    assert text.count(old) == 1
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"Actual Total Time": 0.593', '"Actual Total Time": Infinity', "holds Infinity, not a number"),
        ('"Actual Total Time": 0.593', '"Actual Total Time": NaN', "holds NaN, not a number"),
        ('"Actual Total Time": 0.593', '"Actual Total Time": -Infinity', "holds -Infinity, not a number"),
        ('"Actual Total Time": 0.593', '"Actual Total Time": 1e308', "'Actual Total Time' is 1e+308, not a measured"),
        ('"Actual Total Time": 0.593', '"Actual Total Time": -0.5', "'Actual Total Time' is -0.5, not a measured"),
        ('"Shared Hit Blocks": 1101', '"Shared Hit Blocks": -3', "'Shared Hit Blocks' is -3, not a measured"),
        ('"Plan Rows": 50,', '"Plan Rows": -1,', "'Plan Rows' is -1, not a row estimate"),
    ],
)
def test_non_finite_or_absurd_figures_are_refused(old: str, new: str, message: str) -> None:
    with pytest.raises(PlanError, match=re.escape(message)) as info:
        parse_plan(_edited_13(old, new))
    assert "\n" not in str(info.value)


def test_non_finite_top_level_and_library_figures_are_refused() -> None:
    doc = json.loads((PLANS / "13-subplan.json").read_text())
    doc[0]["Execution Time"] = 1e300
    with pytest.raises(PlanError, match="'Execution Time' is 1e\\+300"):
        parse_plan(doc)
    doc = json.loads((PLANS / "13-subplan.json").read_text())
    doc[0]["Plan"]["Plans"][0]["Actual Loops"] = float("inf")  # a dict handed to the library, not JSON text
    with pytest.raises(PlanError, match="'Actual Loops' is inf, not a finite number"):
        parse_plan(doc)
    doc = json.loads((PLANS / "32-parallel-jit.json").read_text())
    doc[0]["JIT"]["Timing"]["Total"] = float("nan")
    with pytest.raises(PlanError, match="JIT timing: 'Total' is nan"):
        parse_plan(doc)
    # and should a non-finite figure ever reach the JSON form, it is refused rather than written as Infinity
    plan = dataclasses.replace(load("13-subplan.json"), execution_ms=float("inf"))
    with pytest.raises(PlanError, match="execution_ms is inf"):
        plan_to_dict(plan, summarize(plan))


def _nested(depth: int) -> str:
    """A plan of `depth` Result nodes each over the next, as JSON text (built as text: json.dumps would recurse)."""
    node = '"Node Type": "Result", "Actual Total Time": 0.001, "Actual Rows": 1, "Actual Loops": 1, "Plan Rows": 1'
    inner = "{" + node + "}"
    return '[{"Plan": ' + ("{" + node + ', "Plans": [') * (depth - 1) + inner + "]}" * (depth - 1) + "}]"


def test_deeply_nested_plans_are_refused_in_one_line() -> None:
    for depth in (401, 3000):  # 3000 levels: deeper than the JSON reader's recursion; 401: than perfkit reads
        with pytest.raises(PlanError, match="nested more than 400 levels deep") as info:
            parse_plan(_nested(depth))
        assert "\n" not in str(info.value)
    plan = parse_plan(_nested(400))  # the deepest accepted: read, summarised, drawn and put in JSON
    assert max(n.depth for n in plan.nodes()) == 399
    assert len(plan_to_dict(plan, summarize(plan))["nodes"]) == 400
    assert _render_text(plan).startswith("planning n/a, execution n/a\nResult  0.000 ms")  # drawn (rich crops it)


def test_timing_off_has_no_node_times() -> None:
    # 33: EXPLAIN (ANALYZE, BUFFERS, TIMING OFF): rows and loops, no Actual Total Time
    plan = load("33-timing-off.json")
    assert plan.analyzed and not plan.has_timing
    data = json.loads(json.dumps(plan_to_dict(plan, summarize(plan))))
    for node in data["nodes"]:
        assert (node["inclusive_ms"], node["exclusive_ms"], node["exclusive_ms_error"]) == (None, None, None)
    assert data["nodes"][1]["rows_total"] == 1000 and data["total_ms"] is None
    assert data["summary"]["hottest_node"] is None
    assert (data["summary"]["tree_ms"], data["summary"]["total_ms"]) == (None, None)  # were 0.0
    text = _render_text(plan)
    assert "timing off (EXPLAIN ANALYZE with TIMING OFF: rows and loops, no node times)" in text
    assert " ms " not in text.split("\n", 1)[1].split("!", 1)[0]  # no node line shows a time
    assert "Hash Join  rows 1,000 (est 1,000 =1.0x)" in text


def test_no_rows_returned_shows_the_estimate_without_a_factor() -> None:
    # 30: the Hash Join and the Hash returned 0 rows, estimated 1: no "↓1.0x" of nothing
    text = _render_text(load("30-hash-join-empty-hash.json"))
    assert "Hash Join  0.003 ms 1.6%  rows 0 (est 1, none returned)" in text  # 0.191 - 0.004 - 0.184; / 0.191
    assert "↓1.0x" not in text
    # edited copy of 13: the SubPlan's Bitmap Heap Scan printed 0 rows per loop over 50 loops: fewer than 0.5 a loop,
    # up to 50 x 0.5 = 25 rows in all, so not "none returned"
    doc = json.loads((PLANS / "13-subplan.json").read_text())
    heap_raw = doc[0]["Plan"]["Plans"][0]["Plans"][0]
    assert heap_raw["Node Type"] == "Bitmap Heap Scan"
    heap_raw["Actual Rows"] = 0
    text = _render_text(parse_plan(doc))
    assert "rows 0/loop (est 20/loop) × 50 loops ≈ 0 ±25" in text


def test_summary_dict_has_no_float_noise() -> None:
    # What results files store (Benchmark.plan): 01's hottest share 100 x 2.000 / 2.410 = 82.98755... -> 82.99;
    # no triggers: triggers_ms 0.0, a float like every *_ms; 22's misestimate 1000 / 11 = 90.909... -> 90.9
    data = summarize(load("01-loops.json")).to_dict()
    assert data["hottest_node"]["percent"] == 82.99
    assert data["triggers_ms"] == 0.0 and isinstance(data["triggers_ms"], float)
    assert all(isinstance(data[k], float) for k in ("tree_ms", "total_ms", "jit_ms", "triggers_outside_ms"))
    assert json.loads(json.dumps(data)) == data
    worst = summarize(load("22-misestimate-inherited.json")).to_dict()["worst_misestimate"]
    assert (worst["magnitude"], worst["estimate_factor"]) == (90.9, 90.9)


def test_a_limit_does_not_cut_short_what_a_sort_read_whole() -> None:
    # 34: Limit 5 > Sort (top-N) > Seq Scan on corr: the scan, estimated 11 (100,000 x 0.01 x 0.01, a and b are
    # correlated), returned 0. The Sort read all of it before returning anything, so the scan was not cut short and
    # its overestimate is the plan's misestimate (it was hidden as "cut short", the Limit reported instead). The Sort
    # returned 0 rows, fewer than the Limit's 5: it ran out, so it was not cut short either.
    plan = load("34-sort-under-limit.json")
    limit, sort, scan = plan.nodes()
    assert (limit.cut_short, sort.cut_short, scan.cut_short) == (False, False, False)
    worst = summarize(plan).worst_misestimate
    assert worst is not None and (worst.label, worst.direction, worst.plan_rows) == ("Seq Scan on corr", "over", 11)


def test_a_node_that_got_no_input_rows_has_no_misestimate_of_its_own() -> None:
    # 35: Hash Join (est 20, actual 0) over an empty Hash: the Seq Scan on parents found no 'nobody' (est 1, the
    # planner's least; actual 0, 1 as a factor), so the join's 20x "overestimate" is only what came in (nothing). It
    # used to be the plan's worst misestimate ("Hash Join: planner overestimated rows 20x").
    plan = load("35-join-over-empty-input.json")
    join, children, hash_, parents = plan.nodes()
    assert (join.rows_total, join.plan_rows, hash_.rows_total, parents.plan_rows) == (0, 20, 0, 1)
    assert children.cut_short  # the empty Hash stopped the join after one outer row
    summary = summarize(plan)
    assert summary.worst_misestimate is None and not any("estimated" in f for f in summary.findings)
