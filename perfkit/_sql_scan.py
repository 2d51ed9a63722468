"""A small SQL scanner: the words and punctuation of a statement outside strings, quoted names and comments."""

from __future__ import annotations

import re

from perfkit.errors import PlanError

_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
READ_ONLY_STARTS = ("SELECT", "VALUES", "TABLE", "WITH", "DECLARE", "EXECUTE")  # READ ONLY refuses what they hide
WRITE_WORDS = ("INSERT", "UPDATE", "DELETE", "MERGE", "INTO", "TRUNCATE", "COPY")  # perfkit advise's screen


def _skip_quoted(sql: str, i: int, quote: str, backslashes: bool) -> int:
    """Index just past the closing quote of a literal/identifier opened at sql[i]."""
    j = i + 1
    while j < len(sql):
        ch = sql[j]
        if backslashes and ch == "\\":
            j += 2
            continue
        if ch == quote:
            if j + 1 < len(sql) and sql[j + 1] == quote:  # doubled quote
                j += 2
                continue
            return j + 1
        j += 1
    raise PlanError("unterminated quoted string or identifier in the SQL")


def tokens(sql: str) -> list[str]:
    """Upper-cased words and the punctuation ( ) ; , . of `sql`; strings, quoted names and comments are skipped."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            if depth:
                raise PlanError("unterminated /* comment */ in the SQL")
        elif ch in "eE" and sql.startswith("'", i + 1):
            i = _skip_quoted(sql, i + 1, "'", backslashes=True)
        elif ch in "'\"":
            i = _skip_quoted(sql, i, ch, backslashes=False)
            if ch == '"':
                out.append('"')  # a quoted identifier: a name, never a keyword
        elif ch == "$" and (m := _DOLLAR.match(sql, i)) and not (i and (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            end = sql.find(m.group(0), m.end())
            if end < 0:
                raise PlanError("unterminated $$ string in the SQL")
            i = end + len(m.group(0))
        elif m := _WORD.match(sql, i):
            out.append(m.group(0).upper())
            i = m.end()
        else:
            if ch in "();,.":
                out.append(ch)
            i += 1
    return out


# First keywords of PostgreSQL's statements (its SQL Commands reference); anything else cannot parse.
SQL_COMMANDS = frozenset(
    """ABORT ALTER ANALYZE BEGIN CALL CHECKPOINT CLOSE CLUSTER COMMENT COMMIT COPY CREATE DEALLOCATE DECLARE DELETE
    DISCARD DO DROP END EXECUTE FETCH GRANT IMPORT INSERT LISTEN LOAD LOCK MERGE MOVE NOTIFY PREPARE REASSIGN REFRESH
    REINDEX RELEASE RESET REVOKE ROLLBACK SAVEPOINT SECURITY SELECT SET SHOW START TABLE TRUNCATE UNLISTEN UPDATE
    VACUUM VALUES WITH""".split()
)


def check_single_statement(sql: str) -> None:
    """Raise PlanError unless `sql` is exactly one statement (a `; COMMIT` would escape perfkit's rollback)."""
    _statement_words(sql)


# What PostgreSQL's EXPLAIN takes (its grammar's ExplainableStmt), by first word; CREATE only as CREATE TABLE AS /
# CREATE MATERIALIZED VIEW AS. REFRESH MATERIALIZED VIEW parses but has no plan ("Utility Statement"): not here.
EXPLAINABLE_STARTS = ("SELECT", "VALUES", "TABLE", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE", "EXECUTE", "DECLARE")
EXPLAINABLE = "SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES, EXECUTE, DECLARE and CREATE TABLE AS"
_CREATE_AS_PREFIX = ("GLOBAL", "LOCAL", "TEMP", "TEMPORARY", "UNLOGGED")
# Words between CREATE / ALTER / DROP and the kind of object, to name the command in a refusal (CREATE UNIQUE INDEX).
_COMMAND_WORDS = frozenset(
    "OR REPLACE UNIQUE GLOBAL LOCAL TEMP TEMPORARY UNLOGGED MATERIALIZED FOREIGN EVENT TRUSTED PROCEDURAL "
    "CONSTRAINT DEFAULT RECURSIVE".split()
)


def _statement_words(sql: str) -> list[str]:
    """The statement's words without trailing semicolons, after checking it is exactly one statement."""
    words = tokens(sql)
    while words and words[-1] == ";":
        words.pop()
    if not words:
        raise PlanError("the SQL is empty")
    if ";" in words:
        raise PlanError("give one statement, not several")
    return words


def _creates_as(words: list[str]) -> bool:
    """CREATE [GLOBAL|LOCAL] [TEMP|UNLOGGED] TABLE ... AS query, or CREATE MATERIALIZED VIEW ... AS query: an AS
    outside parentheses (a column list's GENERATED ... AS (...) is inside them)."""
    i = 1
    while i < len(words) and words[i] in _CREATE_AS_PREFIX:
        i += 1
    if words[i : i + 1] != ["TABLE"] and words[i : i + 2] != ["MATERIALIZED", "VIEW"]:
        return False
    depth = 0
    for word in words[i:]:
        depth += (word == "(") - (word == ")")
        if word == "AS" and depth == 0:
            return True
    return False


def _command(words: list[str], start: int) -> str:
    """The command's name as a user would say it: TRUNCATE, VACUUM, DROP TABLE, CREATE UNIQUE INDEX."""
    first = words[start]
    if first not in ("CREATE", "ALTER", "DROP"):
        return first
    end = start + 1
    while end < len(words) - 1 and words[end] in _COMMAND_WORDS and end - start < 4:
        end += 1
    name = " ".join(words[start : end + 1])
    creates_as = name.endswith((" TABLE", " MATERIALIZED VIEW"))  # the kinds CREATE ... AS can make
    return f"{name} without AS" if first == "CREATE" and creates_as else name


def check_explainable(sql: str) -> None:
    """Raise PlanError unless `sql` is one statement EXPLAIN can run (PostgreSQL 15's EXPLAIN: SELECT, INSERT,
    UPDATE, DELETE, MERGE, VALUES, TABLE, WITH, EXECUTE, DECLARE, CREATE TABLE AS, CREATE MATERIALIZED VIEW AS).

    Others (TRUNCATE, CREATE TABLE without AS, DROP, VACUUM, ALTER, COPY, GRANT...) are refused here, with or without
    writes allowed: the server would answer only with a syntax error at their first word.
    """
    _explainable(_statement_words(sql))


def _explainable(words: list[str]) -> None:
    start = next((k for k, w in enumerate(words) if w != "("), len(words))
    first = words[start] if start < len(words) else ""
    if first == "EXPLAIN":
        raise PlanError("give the statement without EXPLAIN: perfkit adds EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)")
    if first not in SQL_COMMANDS:  # a misspelt word: the server's syntax error says where
        return
    if first not in EXPLAINABLE_STARTS and not (first == "CREATE" and _creates_as(words[start:])):
        raise PlanError(f"EXPLAIN cannot run {_command(words, start)}: it explains only {EXPLAINABLE}")


def check_read_only(sql: str) -> None:
    """Raise PlanError unless `sql` is one statement EXPLAIN can run that starts like a query (SELECT / VALUES /
    TABLE / WITH / "(", or DECLARE / EXECUTE).

    A cheap early check for a friendly message, not the guard: perfkit runs EXPLAIN ANALYZE in a READ ONLY
    transaction, where PostgreSQL itself refuses every write (data-modifying CTEs, nextval/setval, FOR UPDATE/SHARE).
    Only SELECT INTO is looked for inside the statement, because a read-only transaction lets EXPLAIN ANALYZE of it
    create its table (rolled back). Words such as COPY or UPDATE are names here, as PostgreSQL allows.
    """
    words = _statement_words(sql)
    _explainable(words)
    first = next((w for w in words if w != "("), "")
    if first not in SQL_COMMANDS:
        raise PlanError(f'syntax error at or near "{first}": not an SQL statement')
    if first not in READ_ONLY_STARTS:  # INSERT, UPDATE, DELETE, MERGE, CREATE TABLE AS: writes, rolled back
        raise PlanError(
            f"refusing to EXPLAIN ANALYZE this {first} statement (EXPLAIN ANALYZE executes it): "
            "only SELECT / VALUES / TABLE / WITH ... SELECT, unless writes are allowed (--allow-writes)"
        )
    # INTO is reserved: unquoted it is a name only as a column label (AS into) or after a dot (t.into).
    for k, word in enumerate(words):
        if word == "INTO" and k and words[k - 1] not in ("INSERT", "MERGE", "AS", "."):
            raise PlanError(
                "refusing to EXPLAIN ANALYZE a SELECT INTO (it creates a table); "
                "allow writes (--allow-writes) to run it"
            )
