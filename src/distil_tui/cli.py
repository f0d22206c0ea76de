"""Command line: no sub-command opens the app; sub-commands run the same
core headless, for scripts.

Exit status: 0 success; 1 nothing found, or nothing imported; 2 bad usage,
an unusable file or store.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from distil_tui import __version__, settings
from distil_tui.core.merges import MergeError
from distil_tui.core.models import CustomerProfile, ImportProgress, ImportSummary, evidence_json, explain
from distil_tui.core.store import Store, StoreError

EXIT_OK, EXIT_EMPTY, EXIT_ERROR = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (StoreError, MergeError) as exc:
        print(f"distil-tui: {_safe(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("distil-tui: interrupted; the store is as it was", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    # --db is accepted before or after the sub-command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", metavar="PATH_OR_URL", default=argparse.SUPPRESS,
        help=f"store: a file path or SQLAlchemy URL (default: ${settings.DB_ENV}, "
        "else distil.db in the user data folder)",
    )
    parser = argparse.ArgumentParser(
        prog="distil-tui", parents=[common],
        description="A keyboard-driven terminal customer data platform. "
        "With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"distil-tui {__version__}")
    parser.set_defaults(handler=_cmd_app)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("import", parents=[common], help="import a customer file or tracking events")
    p.add_argument("file", type=Path)
    p.add_argument("--source", required=True, help="source name, e.g. shop, crm, web")
    p.add_argument("--format", default="auto", choices=("auto", "csv", "jsonl", "events"))
    p.add_argument("--id-column", help="column holding the record's key in its source "
                   "(also the source's customer_id identifier); default: the line number")
    p.add_argument("--customer-id-source", metavar="SOURCE",
                   help="events: the source whose customer ids the events carry "
                   "(default: the events' own source)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")
    p.set_defaults(handler=_cmd_import)

    p = sub.add_parser("search", parents=[common], help="find customers by name, email, phone, Tracking ID")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_search)

    p = sub.add_parser("show", parents=[common], help="a customer's profile, by Tracking ID (current or "
                       "retired), email address or phone number")
    p.add_argument("key")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_show)

    p = sub.add_parser("export", parents=[common], help="export customers (all, or a segment's, with chosen "
                       "attributes), records, identifiers, or the Tracking ID change feed")
    p.add_argument("file", type=Path)
    p.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file's suffix, else csv")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--records", action="store_true", help="one row per source record")
    what.add_argument("--identifiers", action="store_true", help="one row per identifier")
    what.add_argument("--tracking-id-changes", action="store_true",
                      help="the Tracking ID change feed: merges, splits and undos, oldest first")
    p.add_argument("--segment", metavar="NAME", help="only the customers of this saved segment")
    p.add_argument("--columns", metavar="A,B,C", help="attributes to export, comma-separated (e.g. "
                   "first_name,email_address,custom.loyalty_tier); the Tracking ID is always included")
    p.add_argument("--since", metavar="TIME", help="with --tracking-id-changes: only changes at or after "
                   "this day (YYYY-MM-DD) or time (ISO 8601)")
    p.set_defaults(handler=_cmd_export)

    p = sub.add_parser("segments", parents=[common], help="saved segments: list, create, show, rename, delete")
    seg = p.add_subparsers(title="segment commands", metavar="ACTION", required=True)
    q = seg.add_parser("list", parents=[common], help="every saved segment with its customer count")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_cmd_segments_list)
    q = seg.add_parser("create", parents=[common], help="save a segment",
                       description="Save a segment. Each --where is ATTRIBUTE OPERATOR [VALUE]: text "
                       "(equals, contains, starts_with), dates (before, after: YYYY-MM-DD or a time), "
                       "numbers (greater_than, less_than), any (is_empty, is_not_empty). Attributes: "
                       "first_name, email_address, town, date_of_birth, core_data.last_seen, "
                       "custom.NAME...")
    q.add_argument("name")
    q.add_argument("--where", metavar="CONDITION", action="append", default=[],
                   help="a condition, e.g. 'town equals Leeds' (repeat for more)")
    q.add_argument("--any", action="store_true", help="customers matching any condition (OR); default: all (AND)")
    q.add_argument("--replace", action="store_true", help="replace a saved segment of the same name")
    q.set_defaults(handler=_cmd_segments_create)
    q = seg.add_parser("show", parents=[common], help="a saved segment's conditions and customer count")
    q.add_argument("name")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_cmd_segments_show)
    q = seg.add_parser("rename", parents=[common], help="rename a saved segment")
    q.add_argument("name")
    q.add_argument("new_name")
    q.set_defaults(handler=_cmd_segments_rename)
    q = seg.add_parser("delete", parents=[common], help="delete a saved segment (its customers stay)")
    q.add_argument("name")
    q.set_defaults(handler=_cmd_segments_delete)

    p = sub.add_parser("forget", parents=[common], help="erase a customer's personal data (irreversible)",
                       description="Erase the personal data of the customer KEY names (Tracking ID, email, "
                       "phone, source:id): attributes, identifiers, source rows, event details. The "
                       "customer keeps its Tracking ID and merge history; later imports of its "
                       "identifiers are recognised.")
    p.add_argument("key")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=_cmd_forget)

    p = sub.add_parser("merges", parents=[common], help="merge history, or candidates pending review")
    p.add_argument("--pending", action="store_true", help="merge candidates waiting for review")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_merges)

    p = sub.add_parser("approve", parents=[common], help="merge the two customers of a merge candidate")
    p.add_argument("candidate_id", type=int)
    p.set_defaults(handler=_cmd_approve)

    p = sub.add_parser("reject", parents=[common], help="mark a merge candidate as two different people")
    p.add_argument("candidate_id", type=int)
    p.set_defaults(handler=_cmd_reject)

    p = sub.add_parser("undo", parents=[common], help="undo a merge: separate its two customers again")
    p.add_argument("merge_id", type=int)
    p.set_defaults(handler=_cmd_undo)

    p = sub.add_parser("resolve", parents=[common], help="re-resolve every record from scratch")
    p.add_argument("--full", action="store_true", required=True,
                   help="link all records again, by the rules of an import")
    p.set_defaults(handler=_cmd_resolve)

    p = sub.add_parser("demo", parents=[common], help="generate the demo data set and import it")
    p.add_argument("--customers", type=int, default=2000, help="people in the data set (default 2000)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--open", action="store_true", help="open the app on the demo store afterwards")
    p.set_defaults(handler=_cmd_demo)
    return parser


def _store(args: argparse.Namespace) -> Store:
    return Store(settings.db_url(getattr(args, "db", None)))


# -- commands ------------------------------------------------------------


def _cmd_app(args: argparse.Namespace) -> int:
    from distil_tui.ui.app import DistilApp  # Textual loads only for the app

    DistilApp(_store(args)).run()
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    from distil_tui.core.importer import ImportRefused, import_file

    store = _store(args)
    try:
        summary = import_file(
            store, args.file, source=args.source, fmt=args.format, id_column=args.id_column,
            customer_id_source=args.customer_id_source, progress=_progress_printer(),
        )
    except ImportRefused as exc:
        _clear_progress()
        print(f"distil-tui: {_safe(str(exc))}", file=sys.stderr)  # a file name may hold anything
        if args.json:
            print(json.dumps({"error": str(exc)}))
        return EXIT_ERROR
    _clear_progress()
    _print_summary(summary)
    if args.json:
        print(json.dumps(summary.to_json(), ensure_ascii=False))
    return EXIT_OK if summary.records_imported else EXIT_EMPTY


def _cmd_search(args: argparse.Namespace) -> int:
    from distil_tui.core.search import search_customers

    hits = search_customers(_store(args), args.query, limit=args.limit)
    if args.json:
        print(json.dumps([h.__dict__ for h in hits], ensure_ascii=False))
    else:
        for h in hits:
            print("\t".join(_safe(x or "") for x in (
                h.tracking_id, h.display_name, h.email_address, h.mobile_phone_no, h.town)))
    return EXIT_OK if hits else EXIT_EMPTY


def _cmd_show(args: argparse.Namespace) -> int:
    from distil_tui.core.profiles import get_profile

    profile = get_profile(_store(args), args.key)
    if profile is None:
        print(f"distil-tui: no customer for {args.key!r}", file=sys.stderr)
        return EXIT_EMPTY
    if args.json:
        print(json.dumps(profile.to_json(), ensure_ascii=False))
    else:
        _print_profile(profile)
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from distil_tui.core import exports, segments
    from distil_tui.core.attributes import UnknownAttribute

    store = _store(args)
    customers_only = args.records or args.identifiers or args.tracking_id_changes
    if customers_only and (args.segment or args.columns):
        print("distil-tui: --segment and --columns choose customers and their attributes; they do not "
              "apply to --records, --identifiers or --tracking-id-changes", file=sys.stderr)
        return EXIT_ERROR
    if args.since and not args.tracking_id_changes:
        print("distil-tui: --since applies to --tracking-id-changes only", file=sys.stderr)
        return EXIT_ERROR
    try:
        if args.tracking_id_changes:
            count = exports.export_tracking_id_changes(store, args.file, since=args.since, fmt=args.format)
            what = "Tracking ID changes"
        elif args.segment or args.columns:
            segment = segments.get(store, args.segment) if args.segment else None
            columns = args.columns.split(",") if args.columns else None
            count = exports.export_customers(store, args.file, segment=segment, columns=columns,
                                             fmt=args.format, progress=_export_progress())
            _clear_progress()
            what = f"customers of segment {args.segment!r}" if segment else "customers"
        else:
            what = "records" if args.records else "identifiers" if args.identifiers else "customers"
            count = exports.export(store, args.file, what=what, fmt=args.format)
    except (ValueError, UnknownAttribute, OSError) as exc:  # SegmentError is a ValueError
        _clear_progress()
        print(f"distil-tui: {_safe(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{count} {_safe(what)} written to {args.file}", file=sys.stderr)
    return EXIT_OK


def _export_progress():
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        global _progress_shown
        _progress_shown = True
        print(f"\rexporting: {done}/{total}   ", end="", file=sys.stderr, flush=True)

    return show


def _segment_json(segment, count: int) -> dict:
    return {"name": segment.name, "combine": segment.combine, "count": count,
            "conditions": [{"attribute": c.attribute, "operator": c.operator, "value": c.value}
                           for c in segment.conditions]}


def _cmd_segments_list(args: argparse.Namespace) -> int:
    from distil_tui.core.segments import list_segments

    found = list_segments(_store(args))
    if args.json:
        print(json.dumps([_segment_json(s, n) for s, n in found], ensure_ascii=False))
    else:
        for segment, count in found:
            print(f"{_safe(segment.name)}\t{count}\t{_safe(segment.describe())}")
    return EXIT_OK if found else EXIT_EMPTY


def _cmd_segments_create(args: argparse.Namespace) -> int:
    from distil_tui.core import segments

    store = _store(args)
    try:
        conditions = [segments.parse_condition(text) for text in args.where]
        saved = segments.save(store, segments.Segment(args.name, tuple(conditions), "or" if args.any else "and"),
                              replace=args.replace)
    except segments.SegmentError as exc:
        print(f"distil-tui: {_safe(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    count = segments.count(store, saved)
    print(f"segment {_safe(saved.name)!r} saved: {count} customers ({_safe(saved.describe())})")
    return EXIT_OK


def _cmd_segments_show(args: argparse.Namespace) -> int:
    from distil_tui.core import segments

    store = _store(args)
    try:
        segment = segments.get(store, args.name)
    except segments.SegmentError as exc:
        print(f"distil-tui: {_safe(str(exc))}", file=sys.stderr)
        return EXIT_EMPTY
    count = segments.count(store, segment)
    if args.json:
        print(json.dumps(_segment_json(segment, count), ensure_ascii=False))
        return EXIT_OK
    print(f"{_safe(segment.name)}: {count} customers")
    label = "all of" if segment.combine == "and" else "any of"
    print(f"  {label}:" if segment.conditions else "  every customer (no conditions)")
    for condition in segment.conditions:
        print(f"    {_safe(str(condition))}")
    return EXIT_OK


def _cmd_segments_rename(args: argparse.Namespace) -> int:
    from distil_tui.core import segments

    try:
        renamed = segments.rename(_store(args), args.name, args.new_name)
    except segments.SegmentError as exc:
        print(f"distil-tui: {_safe(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    print(f"segment {_safe(args.name)!r} renamed to {_safe(renamed.name)!r}")
    return EXIT_OK


def _cmd_segments_delete(args: argparse.Namespace) -> int:
    from distil_tui.core import segments

    try:
        segments.delete(_store(args), args.name)
    except segments.SegmentError as exc:
        print(f"distil-tui: {_safe(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    print(f"segment {_safe(args.name)!r} deleted")
    return EXIT_OK


def _cmd_forget(args: argparse.Namespace) -> int:
    from distil_tui.core.forget import ForgetError, forget
    from distil_tui.core.profiles import get_profile

    store = _store(args)
    profile = get_profile(store, args.key)
    if profile is None:
        print(f"distil-tui: no customer for {_safe(args.key)!r}", file=sys.stderr)
        return EXIT_EMPTY
    if not args.yes:
        if not sys.stdin.isatty():
            print("distil-tui: forget cannot be undone; add --yes to confirm", file=sys.stderr)
            return EXIT_ERROR
        answer = input(f"Erase the personal data of {_safe(profile.display_name)} ({profile.tracking_id})? "
                       "This cannot be undone. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing erased", file=sys.stderr)
            return EXIT_EMPTY
    try:
        result = forget(store, profile.tracking_id)
    except ForgetError as exc:
        print(f"distil-tui: {_safe(str(exc))}", file=sys.stderr)
        return EXIT_EMPTY
    print(f"customer {result.tracking_id} forgotten: {result.records} source records erased, "
          f"{result.identifiers} identifiers removed, {result.events} events stripped of personal data")
    return EXIT_OK


def _cmd_merges(args: argparse.Namespace) -> int:
    from distil_tui.core.merges import list_candidates, list_merges

    store = _store(args)
    if args.pending:
        candidates = list_candidates(store)
        if args.json:
            print(json.dumps([c.to_json() for c in candidates], ensure_ascii=False))
        for c in candidates if not args.json else ():
            why = explain(c.reason, c.probability, c.evidence)
            print(f"#{c.candidate_id}\t{c.reason}\t{_safe(_side(c.a))}  <->  {_safe(_side(c.b))}"
                  f"\t{_safe(why)}")
        return EXIT_OK
    merges = list_merges(store)
    if args.json:
        print(json.dumps([m.__dict__ | {"evidence": evidence_json(m.evidence)} for m in merges],
                         ensure_ascii=False))
    else:
        for m in merges:
            undone = " (undone)" if m.undone else ""
            print(f"#{m.merge_id}\t{m.created_at}\t{m.action}\t{m.moved[0]} -> {m.moved[1]}"
                  f"\t{m.decided_by}\t{_safe(m.why)}{undone}")
    return EXIT_OK


def _cmd_approve(args: argparse.Namespace) -> int:
    from distil_tui.core.merges import approve

    merge_id = approve(_store(args), args.candidate_id)
    if merge_id is None:
        print(f"candidate #{args.candidate_id} approved; its records were already one customer")
    else:
        print(f"candidate #{args.candidate_id} approved: merge #{merge_id}")
    return EXIT_OK


def _cmd_reject(args: argparse.Namespace) -> int:
    from distil_tui.core.merges import reject

    reject(_store(args), args.candidate_id)
    print(f"candidate #{args.candidate_id} rejected: these records will not be merged automatically")
    return EXIT_OK


def _cmd_undo(args: argparse.Namespace) -> int:
    from distil_tui.core.merges import undo

    undo_id = undo(_store(args), args.merge_id)
    print(f"merge #{args.merge_id} undone (recorded as #{undo_id})")
    return EXIT_OK


def _cmd_resolve(args: argparse.Namespace) -> int:
    from distil_tui.core.full import resolve_full

    s = resolve_full(_store(args), progress=_progress_printer())
    _clear_progress()
    print(f"{s.records} records re-resolved: {s.customers_before} customers before, "
          f"{s.customers_after} after; {s.merges_made} merges, {s.customers_split_off} split off, "
          f"{s.candidates_created} for review")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from distil_tui.core import demo, evaluate
    from distil_tui.core.exports import record_grouping
    from distil_tui.core.importer import import_file
    from distil_tui.core.profiles import customer_count

    explicit = getattr(args, "db", None) or os.environ.get(settings.DB_ENV)
    if explicit:
        url = settings.db_url(explicit)
    else:
        # The demo gets a store of its own, made afresh, so that it never
        # mixes invented people into a real store.
        path = settings.default_data_dir() / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = settings.db_url(str(path))
    store = Store(url)
    if customer_count(store):
        print(f"distil-tui: {store.display_name} already holds customers; the demo needs an "
              "empty store (choose another --db)", file=sys.stderr)
        return EXIT_ERROR
    folder = _demo_folder(store)
    dataset = demo.generate(folder, customers=args.customers, seed=args.seed)
    print(f"Demo data for {args.customers} people written to {folder}", file=sys.stderr)
    for item in dataset.imports:
        summary = import_file(store, item.path, source=item.source, fmt=item.fmt,
                              id_column=item.id_column,
                              customer_id_source=item.customer_id_source,
                              progress=_progress_printer())
        _clear_progress()
        _print_summary(summary)
    truth = evaluate.load_truth(dataset.truth_path)
    predicted = record_grouping(store)
    scores = evaluate.pairwise_scores(predicted, truth.persons)
    traps = evaluate.traps_merged(predicted, truth)
    print(f"Resolution against the demo's ground truth: pairwise precision {scores.precision:.4f}, "
          f"recall {scores.recall:.4f}, F1 {scores.f1:.4f} over {scores.records} records; "
          f"traps merged wrongly: {sum(traps.values())} {dict(traps)}", file=sys.stderr)
    print(f"Store: {store.display_name}", file=sys.stderr)
    if args.open:
        from distil_tui.ui.app import DistilApp

        DistilApp(store).run()
    return EXIT_OK


def _demo_folder(store: Store) -> Path:
    if store.is_sqlite and store.display_name != ":memory:":
        db = Path(store.display_name)
        folder = db.with_name(db.stem + ("-data" if db.stem == "demo" else "-demo-data"))
    else:
        folder = settings.default_data_dir() / "demo-data"
    if folder.exists():
        shutil.rmtree(folder)
    return folder


# -- printing ------------------------------------------------------------


def _safe(text: str) -> str:
    """Control characters in data must not drive the terminal."""
    return "".join(ch if ch.isprintable() or ch == " " else f"\\x{ord(ch):02x}" for ch in text)


def _side(side) -> str:
    name = " ".join(p for p in (side.first_name, side.last_name) if p) or side.email_address or "?"
    return f"{side.tracking_id} {name} ({side.source} {side.source_key})"


_progress_shown = False


def _progress_printer():
    if not sys.stderr.isatty():
        return None

    def show(p: ImportProgress) -> None:
        global _progress_shown
        _progress_shown = True
        total = f"/{p.total}" if p.total else ""
        print(f"\r{p.stage}: {p.done}{total}   ", end="", file=sys.stderr, flush=True)

    return show


def _clear_progress() -> None:
    global _progress_shown
    if _progress_shown:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
        _progress_shown = False


def _print_summary(s: ImportSummary) -> None:
    print(
        f"{_safe(s.file)} ({s.format}, source {_safe(s.source)}): {s.records_read} read, "
        f"{s.records_imported} imported, {s.records_rejected} rejected; "
        f"{s.customers_created} customers created, {s.merges_made} merges, "
        f"{s.candidates_created} for review"
        + (f", {s.events_imported} events" if s.events_imported else "")
        + f" in {s.seconds:.2f} s",
        file=sys.stderr,
    )
    for r in s.rejections[:10]:
        print(f"  rejected {_safe(str(r))}", file=sys.stderr)
    if s.records_rejected > 10:
        print(f"  ... and {s.records_rejected - 10} more rejected rows", file=sys.stderr)


def _print_profile(p: CustomerProfile) -> None:
    out = []
    out.append(_safe(p.display_name))
    if p.resolved_from:
        out.append(f"  (retired Tracking ID {p.resolved_from} resolves to this customer)")
    out.append("Attributes")
    out.extend(f"  {k}: {_safe(v)}" for k, v in (*p.attributes, *p.custom_attributes))
    out.append(f"  first_seen: {p.first_seen or ''}\n  last_seen: {p.last_seen or ''}")
    out.append("Identifiers")
    out.extend(f"  {i.kind}: {_safe(i.value)}  ({_safe(i.source)} {_safe(i.source_key)})" for i in p.identifiers)
    out.append("Sources")
    out.extend(f"  {_safe(r.source)} {_safe(r.source_key)}  {_safe(r.file)}:{r.line}" for r in p.sources)
    out.append(f"Events ({p.event_count})")
    out.extend(f"  {e.occurred_at}  {_safe(e.event_type)}" for e in p.recent_events[:10])
    if p.merges:
        out.append("Merges")
        out.extend(f"  #{m.merge_id} {m.created_at} {m.action} {m.moved[0]} -> {m.moved[1]}: "
                   f"{_safe(m.why)} ({m.decided_by})" for m in p.merges)
    if p.retired_tracking_ids:
        out.append("Retired Tracking IDs")
        out.extend(f"  {t}" for t in p.retired_tracking_ids)
    out.append(f"Tracking ID: {p.tracking_id}")
    print("\n".join(out))


if __name__ == "__main__":
    raise SystemExit(main())
