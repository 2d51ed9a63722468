"""SQL fingerprints: literals and parameters replaced by `?`, value lists collapsed, case and spacing normalised."""

from __future__ import annotations

import re

# One alternative per token kind, tried left to right at each position.
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<line_comment>--[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z_0-9]*)?\$.*?\$(?P=tag)?\$)
  | (?P<estring>[Ee]'(?:[^'\\]|\\.|'')*')
  | (?P<string>[BbXxNnUu]?&?'(?:[^']|'')*')
  | (?P<ident>"(?:[^"]|"")*")
  | (?P<param>%\([^)]*\)[sbt]|%[sbt]|\$\d+|\?)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z_0-9$]*)
  | (?P<cast>::)
  | (?P<op>(?:[<>=!~+\-*/^&|#@]|%(?!\([^)]*\)[sbt]|[sbt]\b))+)  # `=%s`: the % starts a parameter
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)

# Words after which a sign starts a literal (`WHERE x = -1`, `LIMIT -1`, `THEN -1`).
_KEYWORDS = frozenset(
    {"select", "where", "and", "or", "not", "then", "else", "when", "limit", "offset", "by", "values"}
)
_LIST_WORDS = frozenset({"in", "any", "some", "all", "array", "values"})
_OPEN = {"(": ")", "[": "]"}


def _is_operator(tok: str) -> bool:
    """True when `tok` cannot end an operand (so a following -1 is a negative number, not a subtraction)."""
    return tok in ("(", "[", ",", "::") or bool(re.fullmatch(r"[<>=!~+\-*/%^&|#@]+", tok)) or tok in _KEYWORDS


def _tokens(sql: str) -> list[str]:
    out: list[str] = []
    for m in _TOKEN.finditer(sql):
        kind = m.lastgroup
        text = m.group()
        if kind in ("ws", "line_comment", "block_comment"):
            continue
        if kind in ("dollar", "estring", "string", "param", "number"):
            # A sign in front of a number is part of the literal unless it follows an operand.
            if kind == "number" and out and out[-1] in ("-", "+") and (len(out) < 2 or _is_operator(out[-2])):
                out.pop()
            out.append("?")
        elif kind == "word":
            out.append(text.lower())
        elif kind == "op" and len(text) > 1 and text[-1] in "+-" and not set(text) & set("~!@#%^&|`?"):
            # PostgreSQL's lexer rule: `=-1` is `=` then `-1`.
            head = text.rstrip("+-") or text[0]
            out.append(head)
            out.extend(text[len(head) :])
        else:
            out.append(text)
    return out


def _is_value_list(out: list[str], opener: int) -> bool:
    """The bracket at `opener` starts a list of values (IN, ANY, ARRAY, a VALUES row), not a function's arguments."""
    before = out[opener - 1] if opener else ""
    if before in _LIST_WORDS or out[opener] == "[":
        return True
    return before == "," and out[opener - 4 : opener - 1] == ["(", "?", ")"]  # the next row of a VALUES list


def _collapse(tokens: list[str]) -> list[str]:
    """`( ? , ? , ? )` -> `( ? )` (also with brackets), then `( ? ) , ( ? ) , ...` -> `( ? )`."""
    out: list[str] = []
    for tok in tokens:
        out.append(tok)
        if tok not in (")", "]"):
            continue
        j = len(out) - 2
        if j < 1 or out[j] != "?":
            continue
        while j >= 2 and out[j - 1] == "," and out[j - 2] == "?":
            j -= 2
        opener = j - 1
        if _OPEN.get(out[opener]) != tok or not _is_value_list(out, opener):
            continue
        del out[opener + 1 :]
        out += ["?", tok]
        if out[-7:] == ["(", "?", ")", ",", "(", "?", ")"]:
            del out[-4:]
    return out


def _render(tokens: list[str]) -> str:
    parts: list[str] = []
    for tok in tokens:
        if parts and (tok in (")", "]", ",", ";", "::") or parts[-1].endswith(("(", "[", "::"))):
            parts[-1] += tok
        else:
            parts.append(tok)
    return " ".join(parts)


def normalize_sql(sql: str) -> str:
    """A fingerprint of a statement: same shape, different values -> same string.

    String, dollar-quoted and numeric literals and the parameters psycopg and PostgreSQL use (`%s`, `%(name)s`,
    `$1`) become `?`; lists of placeholders such as `IN (1, 2, 3)`, `ARRAY[?, ?]` and multi-row `VALUES` collapse
    to one; comments are dropped; keywords and unquoted identifiers are lower-cased (quoted identifiers are kept).
    """
    tokens = _collapse(_tokens(sql))
    while tokens and tokens[-1] == ";":
        tokens.pop()
    return _render(tokens)
