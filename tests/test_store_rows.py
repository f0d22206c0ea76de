"""The store's bulk paths, on SQLite and on PostgreSQL (COPY, arrays):
every row in, every asked-for row out, values taken literally."""

from __future__ import annotations

from distil_tui.core.schema import T_META
from distil_tui.core.store import bulk_insert, rows_in

# Values a statement must never read as its own text.
AWKWARD = ["plain", "O'Brien", 'say "hi"', "100%", "%s", "?", "{in}", "tab\there", "new\nline",
           "back\\slash", "Zoë 名", ""]


def meta_rows(n: int) -> list[tuple[str, str]]:
    return [(f"t:{i}:{v}", v) for i, v in enumerate(AWKWARD * n)]


def test_rows_go_in_and_come_back_across_chunks(store):
    rows = meta_rows(3)
    with store.write() as conn:
        assert bulk_insert(conn, T_META, rows, ("key", "value")) == len(rows)
        keys = [k for k, _v in rows]
        got = list(rows_in(conn, "SELECT key, value FROM meta WHERE key IN ({in})", keys, chunk=5))
    assert sorted(got) == sorted(rows)


def test_only_the_rows_asked_for_with_other_parameters_first(store):
    rows = meta_rows(1)
    with store.write() as conn:
        bulk_insert(conn, T_META, rows, ("key", "value"))
        wanted = [k for k, _v in rows[::2]] + ["t:no-such-key"]
        got = list(rows_in(conn, "SELECT key FROM meta WHERE value <> ? AND key IN ({in})", wanted,
                           ("plain",), chunk=2))
    assert sorted(k for (k,) in got) == sorted(k for k, v in rows[::2] if v != "plain")


def test_rows_already_stored_are_skipped_and_not_counted(store):
    rows = meta_rows(1)
    with store.write() as conn:
        bulk_insert(conn, T_META, rows[:5], ("key", "value"))
        assert bulk_insert(conn, T_META, rows, ("key", "value"), skip_existing=True) == len(rows) - 5
        assert bulk_insert(conn, T_META, [], ("key", "value")) == 0
        count = len(list(rows_in(conn, "SELECT key FROM meta WHERE key IN ({in})", [k for k, _v in rows])))
    assert count == len(rows)
