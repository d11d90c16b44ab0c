"""Hypothesis strategies that break a JSON document the way hostile or buggy senders do: values
of another type or of the same type at their edges, fields dropped or added, and bytes that
are not the JSON they claim to be."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

# Text as long as the limits of Daraja's fields and of our columns, and just over.
BOUNDARY_TEXT = st.sampled_from([0, 1, 12, 13, 20, 32, 33, 64, 65, 255, 256, 1025]).map("R".__mul__)
# Values of every JSON type, and the ones parsers trip on.
HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and ±Infinity included: serialised as bare NaN/Infinity
    st.text(max_size=40),
    st.sampled_from(["", " ", "\uff11\uff12\uff13", "1e400", "-0", "0x10", "254708374149"]),
    BOUNDARY_TEXT,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
    st.just({"Name": "Amount", "Value": 1}),
)
# Values of the same JSON type: what a valid document might carry, and its edges.
SAME_TYPE = {
    bool: st.booleans(),
    int: st.integers(min_value=-(2**64), max_value=2**64),
    float: st.floats(allow_nan=False, allow_infinity=False),
    str: st.one_of(st.text(max_size=70), BOUNDARY_TEXT, st.from_regex(r"\A[0-9]{1,25}\Z")),
}
# How a document is broken: a value of another type, of the same type, dropped, or an unknown
# key added. CLOSE ones mostly stay valid, to reach what applies them.
HOSTILE_ACTIONS = ("retype", "retype", "same", "delete", "add")
CLOSE_ACTIONS = ("same", "same", "same", "retype", "delete", "add")
# How the bytes go wrong (or not: json).
BROKEN_ENCODINGS = (
    *("json", "json", "duplicate-first", "duplicate-last", "not-utf8"),
    *("utf16", "bom", "truncated", "form"),
)
CLOSE_ENCODINGS = ("json",) * 6 + ("duplicate-first", "duplicate-last", "truncated")
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "",
)


def nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value inside `value` (not `value` itself)."""
    if isinstance(value, dict | list):
        for key, child in value.items() if isinstance(value, dict) else enumerate(value):
            yield (*path, key)
            yield from nodes(child, (*path, key))


def parent_of(doc: Any, path: tuple[Any, ...]) -> Any:
    """The container holding the value at `path`."""
    for key in path[:-1]:
        doc = doc[key]
    return doc


@st.composite
def mutated(draw: st.DrawFn, raw: bytes, actions: tuple[str, ...] = HOSTILE_ACTIONS) -> Any:
    """The document with 1-3 of its values replaced (by another type or the same), deleted, or
    joined by an unknown key."""
    doc = json.loads(raw)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(nodes(doc))
        if not paths:
            return draw(HOSTILE_VALUES)
        path = draw(st.sampled_from(paths))
        parent, key = parent_of(doc, path), path[-1]
        action = draw(st.sampled_from(actions))
        if action == "retype":
            parent[key] = draw(HOSTILE_VALUES)
        elif action == "same":
            parent[key] = draw(SAME_TYPE.get(type(parent[key]), HOSTILE_VALUES))
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(HOSTILE_VALUES)
    return doc


@st.composite
def encoded(
    draw: st.DrawFn, doc: Any, original: bytes, hows: tuple[str, ...] = BROKEN_ENCODINGS
) -> tuple[bytes, str]:
    """`doc` as bytes, in one of the ways a body goes wrong (`original`: the unbroken bytes,
    for truncating); and a Content-Type."""
    text = json.dumps(doc)  # NaN and Infinity come out bare
    how = draw(st.sampled_from(hows))
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if how.startswith("duplicate") and isinstance(doc, dict) and doc:
        first = json.dumps(next(iter(doc)))
        other = json.dumps(draw(HOSTILE_VALUES))
        if how == "duplicate-first":  # a hostile first copy, the document's last
            return f"{{{first}: {other}, {text[1:]}".encode(), content_type
        return f"{text[:-1]}, {first}: {other}}}".encode(), content_type  # hostile last
    if how == "not-utf8":
        at = draw(st.integers(0, len(text)))
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"]))
        return text[:at].encode() + bad + text[at:].encode(), content_type
    if how == "utf16":
        return text.encode("utf-16"), content_type
    if how == "bom":
        return b"\xef\xbb\xbf" + text.encode(), content_type
    if how == "truncated":
        return original[: draw(st.integers(0, len(original) - 1))], content_type
    if how == "form" and isinstance(doc, dict):
        fields = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in doc.items()}
        return urlencode(fields).encode(), "application/x-www-form-urlencoded"
    return text.encode(), content_type
