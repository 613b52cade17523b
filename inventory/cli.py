"""The thin command line: parse flags, then hand over to the pipeline (run) or the demo."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from botocore import exceptions as boto_errors

from inventory import __version__
from inventory.aws.credentials import ClientFactory, lambda_regions, partition_lookup
from inventory.cli_env import ENV, LOG_FORMATS, LOG_LEVELS, apply_environment, env, positive_int
from inventory.errors import ConfigError, ExitCode, InventoryError, shown_text
from inventory.job.config import load_config, with_accounts_from
from inventory.job.pipeline import JobOptions, run_job
from inventory.job.summary import exit_code, render_summary
from inventory.job.targets import build_targets
from inventory.logs import setup_logging
from inventory.output.destination import resolve_output
from inventory.output.layout import Format
from inventory.output.snapshot import load_snapshot
from inventory.redact import clean
from inventory.reports.compliance import AFFECTED, build_report, parse_day, parse_within
from inventory.reports.compliance_render import render_report
from inventory.reports.diff import diff_snapshots
from inventory.reports.diff_render import DiffFormat, render_diff
from inventory.reports.document import require_charts, write_output
from inventory.reports.lifecycle import Lifecycle, load_catalog
from inventory.signals import Stopped, stop_on_signals

# botocore errors about the hub's own setup that a check missed: ENVIRONMENT (3), not a crash
_HUB_PROBLEMS = (
    boto_errors.CredentialRetrievalError,
    boto_errors.EndpointConnectionError,
    boto_errors.NoCredentialsError,
    boto_errors.NoRegionError,
    boto_errors.ProfileNotFound,
    boto_errors.UnknownRegionError,
)


def _common(parser: argparse.ArgumentParser, default_output: str | None) -> None:
    parser.add_argument(
        "--output",
        default=env("OUTPUT", default_output),
        required=env("OUTPUT", default_output) is None,
        help=f"file to write, a directory for inventory.<format>, s3://bucket/key.parquet, or s3://bucket/prefix/ "
        f"for the partitioned layout [env {ENV}OUTPUT]",
    )
    parser.add_argument(
        "--format",
        choices=[f.value for f in Format],
        default=None,
        help=f"parquet or csv; default from the file extension, else parquet [env {ENV}FORMAT]",
    )
    parser.add_argument(
        "--max-workers",
        type=positive_int,
        default=None,
        help=f"targets listed concurrently; overrides the config [env {ENV}MAX_WORKERS]",
    )
    _log_flags(parser)


def _organisation_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--accounts-from",
        choices=["file", "organization"],
        default=None,
        help=f"where accounts come from; overrides accounts_from in the config [env {ENV}ACCOUNTS_FROM]",
    )
    parser.add_argument(
        "--shard",
        default=None,
        metavar="INDEX/COUNT",
        help=f"inventory only shard INDEX (0-based) of COUNT, split by a stable hash of the account id "
        f"[env {ENV}SHARD, or AWS_BATCH_JOB_ARRAY_INDEX with {ENV}SHARD_COUNT]",
    )
    parser.add_argument(
        "--partitioned",
        action="store_true",
        default=None,
        help=f"write a local directory in the S3 layout: DIR/snapshot_date=YYYY-MM-DD/... [env {ENV}PARTITIONED]",
    )


def _log_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-level", default=None, choices=LOG_LEVELS, help=f"default info [env {ENV}LOG_LEVEL]")
    parser.add_argument(
        "--log-format",
        default=None,
        choices=LOG_FORMATS,
        help=f"auto (default): text with a progress line on a terminal, JSON lines otherwise [env {ENV}LOG_FORMAT]",
    )


def _config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(env("CONFIG") or "config/accounts.yaml"),
        help=f"accounts file (default config/accounts.yaml) [env {ENV}CONFIG]",
    )


def exit_codes_help() -> str:
    """The exit-code table for --help, made from ExitCode so it cannot drift."""
    return "exit codes:\n" + "\n".join(f"  {code.value:>3}  {code.meaning}" for code in ExitCode)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lambda-inventory",
        description="Inventory every AWS Lambda function across accounts and regions.",
        epilog=exit_codes_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    raw = argparse.RawDescriptionHelpFormatter
    run = commands.add_parser(
        "run",
        help="run the inventory job with the hub's AWS credentials",
        epilog=exit_codes_help(),
        formatter_class=raw,
    )
    _config_flag(run)
    _common(run, None)
    _organisation_flags(run)
    validate = commands.add_parser(
        "validate", help="check an accounts file without calling AWS", epilog=exit_codes_help(), formatter_class=raw
    )
    _config_flag(validate)
    _log_flags(validate)
    demo = commands.add_parser("demo", help="run the real job against an embedded AWS emulator (needs [demo])")
    demo.add_argument("--throttle-rate", type=float, default=0.1, help="share of emulator calls answered 429")
    demo.add_argument("--port", type=int, default=0, help="emulator port (default: a free one)")
    demo.add_argument(
        "--serve",
        action="store_true",
        help="seed the emulator, then wait for another process (the container) to run the job; check its output",
    )
    demo.add_argument("--serve-timeout", type=float, default=600.0, help="seconds --serve waits for the output")
    demo.add_argument(
        "--night",
        type=int,
        choices=[1, 2],
        default=1,
        help="2: seed the organisation as it is a night later (a few known changes), to try `diff` on two runs",
    )
    _common(demo, "out/")
    _report_parser(commands)
    _diff_parser(commands)
    return parser


def _report_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser("report", help="runtime compliance report of an inventory snapshot (no AWS call)")
    report.add_argument(
        "source", help="an inventory file (its status file beside it), a directory or s3://bucket/prefix/"
    )
    report.add_argument("--snapshot-date", metavar="YYYY-MM-DD", help="partition to read (default: the latest)")
    report.add_argument("--as-of", metavar="YYYY-MM-DD", help="judge runtimes on this day (default: today, UTC)")
    report.add_argument(
        "--within", default="90d", metavar="DAYS", help="deprecation_soon look-ahead: 90d or 90 (default 90d)"
    )
    report.add_argument("--format", choices=["markdown", "csv", "html"], default="markdown")
    report.add_argument("--output", help="file to write (default: stdout)")
    gates = sorted((s.value for s in AFFECTED), key=lambda v: Lifecycle(v).severity)
    report.add_argument("--fail-on", choices=gates, help=f"exit {ExitCode.GATE} if a function has this status or worse")
    report.add_argument("--runtimes", type=Path, help="runtime schedule file (default: the packaged one)")
    _log_flags(report)


def _diff_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = commands.add_parser("diff", help="functions added, removed, changed or unknown between two snapshots")
    for name in ("old", "new"):
        diff.add_argument(name, help=f"the {name} snapshot: an inventory file, a directory or s3://bucket/prefix/")
        diff.add_argument(f"--{name}-date", metavar="YYYY-MM-DD", help=f"partition of {name.upper()} (default: latest)")
    diff.add_argument("--format", choices=[f.value for f in DiffFormat], default=DiffFormat.MARKDOWN.value)
    diff.add_argument("--output", help="file to write (default: stdout)")
    diff.add_argument("--fail-on-change", action="store_true", help=f"exit {ExitCode.GATE} if any function changed")
    _log_flags(diff)


def _format_of(args: argparse.Namespace) -> Format | None:
    return Format(args.format) if args.format else None


def output_of(args: argparse.Namespace) -> tuple[Path, Format]:
    """--output and --format (or their environment variables) as a local file path and a format."""
    return resolve_output(args.output, _format_of(args))


def command_run(args: argparse.Namespace, live: bool) -> int:
    config = with_accounts_from(load_config(args.config, lambda_regions()), args.accounts_from)
    workers = args.max_workers or config.max_workers
    clients = ClientFactory.from_environment(workers)
    options = JobOptions(config, args.output, _format_of(args), workers, live, args.partitioned, args.shard)
    summary, results = run_job(options, clients)
    print(render_summary(summary, results))
    return exit_code(results)


def command_validate(args: argparse.Namespace) -> int:
    config = load_config(args.config, lambda_regions())
    if config.from_organization:
        print(f"{args.config}: ok, accounts from AWS Organizations (listed when the job runs; validate calls no AWS)")
        return ExitCode.OK
    targets = build_targets(config, partition_lookup())  # the hub's profile and region play no part here
    every = "" if config.regions != "all" and all(a.regions != "all" for a in config.accounts) else ", regions: all"
    print(f"{args.config}: ok, {len(config.accounts)} accounts, {len(targets)} targets (account x region){every}")
    return ExitCode.OK


def command_report(args: argparse.Namespace) -> int:
    as_of = parse_day(args.as_of, "--as-of") if args.as_of else datetime.now(UTC).date()
    within = parse_within(args.within)
    day = parse_day(args.snapshot_date, "--snapshot-date") if args.snapshot_date else None
    if args.format == "html":
        require_charts()
    catalog = load_catalog(args.runtimes)
    report = build_report(load_snapshot(args.source, day), catalog, as_of, within)
    write_output(render_report(report, args.format), args.output)
    gate = Lifecycle(args.fail_on) if args.fail_on else None
    return ExitCode.GATE if gate is not None and report.gate(gate) else ExitCode.OK


def command_diff(args: argparse.Namespace) -> int:
    old_day = parse_day(args.old_date, "--old-date") if args.old_date else None
    new_day = parse_day(args.new_date, "--new-date") if args.new_date else None
    result = diff_snapshots(load_snapshot(args.old, old_day), load_snapshot(args.new, new_day))
    write_output(render_diff(result, DiffFormat(args.format)), args.output)
    return ExitCode.GATE if args.fail_on_change and result.has_changes else ExitCode.OK


def _dispatch(args: argparse.Namespace, live: bool) -> int:
    if args.command == "demo":
        try:
            from inventory.demo.run import command_demo  # noqa: PLC0415 - moto is an optional extra
        except ImportError as err:
            raise ConfigError(f"the demo needs the demo extra: pip install 'lambda-inventory[demo]' ({err})") from err
        return command_demo(args, live)
    if args.command == "validate":
        return command_validate(args)
    if args.command == "report":
        return command_report(args)
    if args.command == "diff":
        return command_diff(args)
    return command_run(args, live)


def crash(err: Exception, debug: bool) -> int:
    """An exception that is neither bad input nor a target's failure: one line on stderr, exit INTERNAL (5);
    an AWS SDK complaint about the hub's own setup (credentials, region, endpoint) is ENVIRONMENT (3).
    The message is masked and cut; the traceback only with --log-level debug."""
    if debug:
        traceback.print_exception(err, file=sys.stderr)
    message = clean(f"{type(err).__name__}: {err}")
    if isinstance(err, _HUB_PROBLEMS):
        print(f"lambda-inventory: error: {message}", file=sys.stderr)
        return ExitCode.ENVIRONMENT
    print(f"lambda-inventory: internal error: {message}", file=sys.stderr)
    return ExitCode.INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    with stop_on_signals():  # SIGTERM takes the KeyboardInterrupt path below
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        apply_environment(args)
        live = setup_logging(args.log_level, args.log_format)
        return _dispatch(args, live)
    except InventoryError as err:
        print(f"lambda-inventory: error: {shown_text(str(err), 1000)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as err:
        # The temporary files are already gone (the sink aborts on any exception). Leave now rather than
        # let the interpreter join AssumeRole threads that may still be backing off.
        stop = err if isinstance(err, Stopped) else Stopped()
        print(stop.describe(), file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(stop.exit_code)
    except Exception as err:  # noqa: BLE001 - the last resort: one line and a code of its own, not "partial"
        return crash(err, args.log_level == "debug")
