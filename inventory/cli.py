"""The command line: parse the flags, run one command, and map its outcome to an exit code.

This is the one place an exit code is decided, from exits.py's table: the job returns its results, the
demo its findings, `report` and `diff` whether their gate tripped, `verify` its verdict on the run, a
signal its number, and an error its class. Each command imports what it uses when it runs (the parser,
cli_parser.py, likewise adds only the flags of the command being run): `--help`, `run` and `validate`
never import the report modules, `demo` imports the emulator (moto) only when it runs, and only a lake
imports pyiceberg.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from inventory.cli_env import apply_environment, parse_day, parse_tag_key, parse_within
from inventory.cli_parser import parse
from inventory.errors import ConfigError, InventoryError, shown_text
from inventory.exits import ExitCode, for_demo, for_error, for_gate, for_run, for_signal, for_verify
from inventory.logs import setup_logging
from inventory.redact import clean
from inventory.signals import Stopped, stop_on_signals

if TYPE_CHECKING:
    from inventory.contract.lake import Lake
    from inventory.contract.layout import Format
    from inventory.readers.snapshot import Snapshot


def _output_of(args: argparse.Namespace) -> tuple[Format | None, str]:
    """--format (or its variable) as a Format, and --output as given."""
    from inventory.contract.layout import Format

    return (Format(args.format) if args.format else None), args.output


def command_run(args: argparse.Namespace, live: bool) -> ExitCode:
    from inventory.aws.clients import ClientFactory
    from inventory.aws.regions import lambda_regions
    from inventory.job.config import load_config, with_accounts_from, with_enrich
    from inventory.job.pipeline import JobOptions, run_job
    from inventory.job.summary import render_summary

    config = with_accounts_from(load_config(args.config, lambda_regions()), args.accounts_from)
    config = with_enrich(config, args.enrich, args.enrich_source)
    workers = args.max_workers or config.max_workers
    clients = ClientFactory.from_environment(workers, config.timeouts.per_request())
    fmt, output = _output_of(args)
    options = JobOptions(config, output, fmt, workers, live, args.lake, args.shard, args.run_id, args.database)
    summary, results = run_job(options, clients)
    print(render_summary(summary, results))
    return for_run(results)


def command_validate(args: argparse.Namespace) -> ExitCode:
    from inventory.aws.regions import lambda_regions, partition_of
    from inventory.job.config import load_config
    from inventory.job.targets import build_targets

    config = load_config(args.config, lambda_regions())
    if config.from_organization:
        print(f"{args.config}: ok, accounts from AWS Organizations (listed when the job runs; validate calls no AWS)")
        return ExitCode.OK
    targets = build_targets(config, partition_of)  # the hub's profile and region play no part here
    every = "" if config.regions != "all" and all(a.regions != "all" for a in config.accounts) else ", regions: all"
    print(f"{args.config}: ok, {len(config.accounts)} accounts, {len(targets)} targets (account x region){every}")
    return ExitCode.OK


def command_demo(args: argparse.Namespace, live: bool) -> ExitCode:
    from inventory.writers.destination import resolve_output

    try:
        from inventory.demo.run import DemoOptions, run_demo  # moto is an optional extra
    except ImportError as err:
        raise ConfigError(f"the demo needs the demo extra: pip install 'lambda-inventory[demo]' ({err})") from err
    fmt, given = _output_of(args)
    output, fmt = resolve_output(given, fmt)
    options = DemoOptions(
        output, fmt, args.night, args.throttle_rate, args.port, args.serve, args.serve_timeout, args.max_workers
    )
    return for_demo(run_demo(options, live).problems)


def command_report(args: argparse.Namespace) -> ExitCode:
    from inventory.contract.runtimes import Lifecycle, load_catalog
    from inventory.readers.snapshot import load_snapshot
    from inventory.reports.compliance import build_report
    from inventory.reports.compliance_render import render_report
    from inventory.reports.document import require_charts, write_output
    from inventory.reports.owners import Grouping, check_grouping

    as_of = parse_day(args.as_of, "--as-of") if args.as_of else datetime.now(UTC).date()
    within = parse_within(args.within)
    day = parse_day(args.snapshot_date, "--snapshot-date") if args.snapshot_date else None
    owner_tag = parse_tag_key(args.owner_tag) if args.owner_tag is not None else None
    group_by = Grouping(args.group_by)
    check_grouping(group_by, owner_tag)  # before reading anything
    if args.format == "html":
        require_charts()
    catalog = load_catalog(args.runtimes)
    snapshot = _warn(load_snapshot(args.source, day, run_id=_run_id(args.run_id), database=args.database))
    report = build_report(snapshot, catalog, as_of, within, owner_tag=owner_tag, group_by=group_by)
    write_output(render_report(report, args.format), args.output)
    return for_gate(args.fail_on is not None and report.gate(Lifecycle(args.fail_on)))


def command_diff(args: argparse.Namespace) -> ExitCode:
    from inventory.readers.snapshot import load_snapshot
    from inventory.reports.diff import Gate, diff_snapshots
    from inventory.reports.diff_render import DiffFormat, render_diff
    from inventory.reports.document import write_output

    old_day = parse_day(args.old_date, "--old-date") if args.old_date else None
    new_day = parse_day(args.new_date, "--new-date") if args.new_date else None
    old = load_snapshot(args.old, old_day, run_id=_run_id(args.old_run_id, "--old-run-id"), database=args.database)
    new = load_snapshot(args.new, new_day, run_id=_run_id(args.new_run_id, "--new-run-id"), database=args.database)
    result = diff_snapshots(_warn(old), _warn(new))
    write_output(render_diff(result, DiffFormat(args.format)), args.output)
    return for_gate(result.tripped({Gate(gate) for gate in args.fail_on or ()}))


def _run_id(text: str | None, flag: str = "--run-id") -> str | None:
    from inventory.cli_env import parse_run_id

    return None if text is None else parse_run_id(text, flag)


def _lake(source: str, database: str | None) -> Lake:
    from inventory.contract.lake import lake_at
    from inventory.readers.snapshot import is_lake_source

    if not is_lake_source(source):
        raise ConfigError(
            f"{shown_text(source, 200)}: not a lake (s3://bucket/prefix/, or a directory with catalog.db)"
        )
    return lake_at(source, database)


def command_verify(args: argparse.Namespace) -> ExitCode:
    from inventory.readers.verify import verify_run

    day = parse_day(args.snapshot_date, "--snapshot-date") if args.snapshot_date else None
    lake = _lake(args.source, args.database)
    finding = verify_run(lake, run_id=_run_id(args.run_id), day=day, shards=args.shards, record=not args.no_record)
    print("\n".join(finding.lines()))
    return for_verify(finding.verdict.value)


def command_maintain(args: argparse.Namespace) -> ExitCode:
    from inventory.writers.maintain import maintain

    lake = _lake(args.source, args.database)
    for done in maintain(lake, keep_days=args.keep_days, expire_days=args.expire_snapshots_days):
        print(done.line)
    return ExitCode.OK


def command_import(args: argparse.Namespace) -> ExitCode:
    from inventory.contract.lake import lake_at
    from inventory.job.hive_import import import_hive

    lake = lake_at(args.into, args.database)
    for line in import_hive(args.source, lake):
        print(line)
    return ExitCode.OK


def _warn(snapshot: Snapshot) -> Snapshot:
    """A snapshot's warnings (an incomplete run of a lake: contract/current.py) on stderr too, one line each:
    a CSV report has no room for them, and a script reading stdout should still hear of them."""
    for warning in snapshot.warnings:
        print(f"lambda-inventory: warning: {snapshot.source}: {warning}", file=sys.stderr)
    return snapshot


def _dispatch(args: argparse.Namespace, live: bool) -> ExitCode:
    if args.command == "demo":
        return command_demo(args, live)
    if args.command == "validate":
        return command_validate(args)
    if args.command == "report":
        return command_report(args)
    if args.command == "diff":
        return command_diff(args)
    if args.command == "verify":
        return command_verify(args)
    if args.command == "maintain":
        return command_maintain(args)
    if args.command == "import":
        return command_import(args)
    return command_run(args, live)


def failed(err: Exception, debug: bool) -> ExitCode:
    """An exception that stopped the command: one line on stderr, and its code from exits.BY_ERROR.

    Ours (InventoryError) print their message; botocore's complaints about the hub's own setup (credentials,
    region, endpoint) their type and message, masked and cut; anything else is a crash, INTERNAL (5), with
    the traceback only with --log-level debug."""
    code = for_error(err)
    if isinstance(err, InventoryError):
        print(f"lambda-inventory: error: {shown_text(str(err), 1000)}", file=sys.stderr)
        return code
    if debug:
        traceback.print_exception(err, file=sys.stderr)
    message = clean(f"{type(err).__name__}: {err}")
    what = "internal error" if code is ExitCode.INTERNAL else "error"
    print(f"lambda-inventory: {what}: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    with stop_on_signals(for_signal):  # SIGTERM takes the KeyboardInterrupt path below
        return _main(sys.argv[1:] if argv is None else argv)


def _main(argv: Sequence[str]) -> int:
    args = parse(argv)
    try:
        apply_environment(args)
        live = setup_logging(args.log_level, args.log_format)
        return _dispatch(args, live)
    except KeyboardInterrupt as err:
        # The temporary files are already gone (the sink aborts on any exception). Leave now rather than
        # let the interpreter join AssumeRole threads that may still be backing off.
        stop = err if isinstance(err, Stopped) else Stopped()
        print(stop.describe(), file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(for_signal(stop.signum))
    except Exception as err:  # noqa: BLE001 - the last resort: one line and a code of its own, not "partial"
        return failed(err, args.log_level == "debug")
