"""Many users on one PostgreSQL server: two processes importing at once, and
an app that sees another process's import.  Run only with DISTIL_TEST_DB
set (see tests/stores.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from distil_tui.core.exports import record_grouping
from distil_tui.core.importer import import_file
from distil_tui.core.schema import T_MERGE
from distil_tui.core.store import Store, StoreError
from tests.stores import postgres_only, store_url
from tests.test_properties import check_invariants
from tests.test_ui import SIZE, pilot_test, result_names, search

pytestmark = postgres_only

PEOPLE = 1500
SHOP = ("shop.csv", "shop", "id")
CRM = ("crm.csv", "crm", "contact_id")


def shared_people(folder: Path) -> None:
    """A newsletter list of emails; a shop export with each person's email
    and phone; a CRM export with the phone only.  Whichever of the shop and
    the CRM is imported second joins what the other made to the newsletter
    customers, and when the CRM comes second it also merges customers."""
    news = ["email"] + [f"person{i}@mail-{i % 7}.co.uk" for i in range(PEOPLE)]
    shop = ["id,first_name,last_name,email,phone"] + [
        f"S{i},Name{i},Family{i % 40},person{i}@mail-{i % 7}.co.uk,07911 {100000 + i}" for i in range(PEOPLE)]
    crm = ["contact_id,first_name,last_name,phone"] + [
        f"C{i},Name{i},Family{i % 40},+44 7911 {100000 + i}" for i in range(PEOPLE)]
    for name, lines in (("news.csv", news), ("shop.csv", shop), ("crm.csv", crm)):
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def partition(store: Store) -> set[frozenset[tuple[str, str]]]:
    """The grouping of records into customers, whatever their Tracking IDs."""
    groups: dict[str, set] = {}
    for key, tid in record_grouping(store).items():
        groups.setdefault(tid, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def cli_import(folder: Path, url: str, file: tuple[str, str, str]) -> subprocess.Popen:
    name, source, id_column = file
    argv = [sys.executable, "-m", "distil_tui", "import", str(folder / name), "--source", source, "--db", url]
    if id_column:
        argv += ["--id-column", id_column]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_imports_at_once_merge_each_customer_once_and_group_as_one_after_the_other(tmp_path):
    shared_people(tmp_path)
    keys = {("news", str(line)) for line in range(2, PEOPLE + 2)}
    keys |= {("shop", f"S{i}") for i in range(PEOPLE)} | {("crm", f"C{i}") for i in range(PEOPLE)}

    # One after the other, in both orders: the same grouping.
    expected = None
    for n, order in enumerate(((SHOP, CRM), (CRM, SHOP))):
        store = Store(store_url(tmp_path / f"sequential{n}.db"))
        import_file(store, tmp_path / "news.csv", source="news")
        for name, source, id_column in order:
            import_file(store, tmp_path / name, source=source, id_column=id_column)
        grouping = partition(store)
        store.close()
        assert expected is None or grouping == expected
        expected = grouping
    assert len(expected) == PEOPLE  # each person one customer of three records

    # At once, from two processes, on one server.
    url = store_url(tmp_path / "shared.db")
    store = Store(url)
    import_file(store, tmp_path / "news.csv", source="news")
    running = [cli_import(tmp_path, url, SHOP), cli_import(tmp_path, url, CRM)]
    for process in running:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    check_invariants(store, keys)
    assert partition(store) == expected
    with store.read() as conn:
        merges = conn.execute(select(T_MERGE.c.retired_tracking_id, func.count())
                              .where(T_MERGE.c.action == "merge")
                              .group_by(T_MERGE.c.retired_tracking_id)).all()
    # No Tracking ID was retired twice: no two merges of the same customers.
    assert all(count == 1 for _tid, count in merges)
    store.close()


@pilot_test
async def test_an_app_sees_an_import_made_by_another_process(tmp_path) -> None:
    from distil_tui.ui.app import DistilApp

    url = store_url(tmp_path / "shared.db")
    (tmp_path / "shop.csv").write_text("id,first_name,last_name,email\nS1,Zebedee,Quill,zq@quill-pens.co.uk\n",
                                       encoding="utf-8")
    store = Store(url)
    app = DistilApp(store, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "zebedee")
        assert result_names(pilot) == []
        process = cli_import(tmp_path, url, SHOP)
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        await search(pilot, "zebedee")
        assert result_names(pilot) == ["Zebedee Quill"]
    store.close()


def test_a_server_that_cannot_be_reached_is_named_without_its_password():
    with pytest.raises(StoreError, match=r"someone:\*\*\*@localhost:1/nowhere: cannot open the store") as error:
        Store("postgresql://someone:secret@localhost:1/nowhere")
    assert "secret" not in str(error.value)


def test_an_import_that_grows_the_store_has_its_look_ups_planned_on_fresh_statistics(tmp_path, monkeypatch):
    """Autovacuum cannot see an import's rows until it commits, so the
    planner would take a store that grew tenfold within one import for a
    small one (sequential scans: a CRM file's identifier look-ups at 100k
    records took 9.2 s instead of 0.27 s).  The import analyses the tables
    each time they have doubled, and not when they have not."""
    from sqlalchemy import event

    from distil_tui.core import importer

    monkeypatch.setattr(importer, "ANALYSE_FROM", 100)
    store = Store(store_url(tmp_path / "s.db"))
    with store.write() as conn:  # the planner's count of a schema an earlier test used: none
        conn.exec_driver_sql("ANALYZE source_record")
    analysed: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_a: analysed.append(sql) if sql.startswith("ANALYZE") else None)
    rows = ["id,first_name,last_name,email"] + [f"S{i},Name{i},Family{i % 40},p{i}@x.org" for i in range(1000)]
    (tmp_path / "shop.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    s = import_file(store, tmp_path / "shop.csv", source="shop", id_column="id", batch_size=100)
    assert s.records_imported == 1000
    # Batches start at 0, 100 ... 900 records: analysed at 300 (past twice
    # the floor), then at 700 (past twice 300).
    assert len(analysed) == 2
    analysed.clear()
    (tmp_path / "more.csv").write_text("id,first_name,email\nS5000,Ann,ann@x.org\n", encoding="utf-8")
    import_file(store, tmp_path / "more.csv", source="shop", id_column="id")
    assert analysed == []
    store.close()
