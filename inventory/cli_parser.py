"""The command line's parser: every command by name and help, and the flags of the one being run.

The flags that need a command's own vocabulary (output formats, lifecycle statuses, diff formats) are added
only when that command is parsed, importing its modules then: `lambda-inventory --help` lists the commands
without importing any of them, and `run --help` never imports the report modules. Values argparse cannot
check alone, and the LAMBDA_INVENTORY_* variables that stand in for flags, are cli_env.py's.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Collection, Sequence
from pathlib import Path

from inventory import __version__
from inventory.cli_env import ENV, LOG_FORMATS, LOG_LEVELS, env, positive_int
from inventory.exits import ExitCode

COMMANDS = ("run", "validate", "demo", "report", "diff", "verify", "maintain", "import")


def _common(parser: argparse.ArgumentParser, default_output: str | None) -> None:
    from inventory.contract.layout import Format

    parser.add_argument(
        "--output",
        default=env("OUTPUT", default_output),
        required=env("OUTPUT", default_output) is None,
        help=f"file to write, a directory for inventory.<format>, s3://bucket/key.parquet, or s3://bucket/prefix/ "
        f"for the lake (Iceberg tables in the Glue Data Catalog) [env {ENV}OUTPUT]",
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
        "--enrich",
        default=None,
        metavar="NAMES",
        help="comma-separated enrichments beyond ListFunctions: tags, urls, policy, concurrency, usage (or none); "
        f"overrides enrich in the config [env {ENV}ENRICH]",
    )
    parser.add_argument(
        "--shard",
        default=None,
        metavar="INDEX/COUNT",
        help=f"inventory only shard INDEX (0-based) of COUNT, split by a stable hash of the account id "
        f"[env {ENV}SHARD, or AWS_BATCH_JOB_ARRAY_INDEX with {ENV}SHARD_COUNT]",
    )
    parser.add_argument(
        "--lake",
        action="store_true",
        default=None,
        help=f"--output DIR is a local lake: Iceberg tables in an embedded catalog (DIR/catalog.db) [env {ENV}LAKE]",
    )
    parser.add_argument(
        "--run-id",
        default=None,
        metavar="ID",
        help=f"the run's id in the lake, shared by its shards [env {ENV}RUN_ID; default: AWS Batch's array job id, "
        "the ECS task's id, else a new one]",
    )
    _database_flag(parser)


def _database_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=None,
        metavar="NAME",
        help=f"the lake's Glue database (catalog namespace); default lambda_inventory [env {ENV}LAKE_DATABASE]",
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


def exit_codes_help(codes: Collection[ExitCode] = tuple(ExitCode)) -> str:
    """The exit-code table for --help (of `codes`, in order), made from ExitCode so it cannot drift."""
    return "exit codes:\n" + "\n".join(f"  {code.value:>3}  {code.meaning}" for code in ExitCode if code in codes)


_HELP = {
    "run": "run the inventory job with the hub's AWS credentials",
    "validate": "check an accounts file without calling AWS",
    "demo": "run the real job against an embedded AWS emulator (needs [demo])",
    "report": "runtime compliance report of an inventory snapshot (no AWS call)",
    "diff": "functions added, removed, changed or unknown between two snapshots",
    "verify": "whether a run in the lake is complete (every shard, one config, failed targets counted); recorded",
    "maintain": "the lake's retention: expire old Iceberg snapshots and drop days past --keep-days",
    "import": "add the runs of an older Hive-partitioned prefix (snapshot_date=D/ folders) to a lake",
}
_E = ExitCode
_STOPPED = (_E.INTERNAL, _E.INTERRUPTED, _E.TERMINATED)  # any command can crash or be stopped
_READS = (_E.OK, _E.USAGE, _E.ENVIRONMENT, *_STOPPED)  # reading files, S3 or a catalog
# The codes each command can end with: its --help lists these, the top-level --help every one.
EXIT_CODES: dict[str, tuple[ExitCode, ...]] = {
    "run": (_E.OK, _E.PARTIAL, _E.USAGE, _E.ENVIRONMENT, *_STOPPED),
    "validate": (_E.OK, _E.USAGE, *_STOPPED),
    "demo": (_E.OK, _E.PARTIAL, _E.USAGE, *_STOPPED),
    "report": (*_READS, _E.GATE),
    "diff": (*_READS, _E.GATE),
    "verify": (*_READS, _E.PARTIAL, _E.INCOMPLETE),
    "maintain": _READS,
    "import": _READS,
}


def build_parser(flags_of: Collection[str] = COMMANDS) -> argparse.ArgumentParser:
    """Every command, by name and help; the flags of those in `flags_of` only (main passes the one on the
    command line, so that parsing imports nothing another command needs)."""
    parser = argparse.ArgumentParser(
        prog="lambda-inventory",
        description="Inventory every AWS Lambda function across accounts and regions.",
        epilog=exit_codes_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    raw = argparse.RawDescriptionHelpFormatter
    for name in COMMANDS:
        epilog = exit_codes_help(EXIT_CODES[name])
        command = commands.add_parser(name, help=_HELP[name], epilog=epilog, formatter_class=raw)
        if name in flags_of:
            _FLAGS[name](command)
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The command line parsed; an unknown flag is refused by its command's parser (its usage, not the
    top-level one), with the closest flag of that command suggested (`--conifg` -> `--config`); exit 2."""
    parser = build_parser({command_in(argv)})
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = _subparsers(parser)[args.command]
        known = [option for action in command._actions for option in action.option_strings]
        close = difflib.get_close_matches(extras[0].split("=", 1)[0], known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        command.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
    return args


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def command_in(argv: Sequence[str]) -> str:
    """The command named on the line: its first argument that is not a flag (the top-level flags, --help
    and --version, take no value); '' when there is none."""
    return next((arg for arg in argv if not arg.startswith("-")), "")


def _run_flags(run: argparse.ArgumentParser) -> None:
    _config_flag(run)
    _common(run, None)
    _organisation_flags(run)


def _validate_flags(validate: argparse.ArgumentParser) -> None:
    _config_flag(validate)
    _log_flags(validate)


def _demo_flags(demo: argparse.ArgumentParser) -> None:
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


def _report_flags(report: argparse.ArgumentParser) -> None:
    from inventory.contract.runtimes import Lifecycle
    from inventory.reports.compliance import AFFECTED
    from inventory.reports.owners import Grouping

    report.add_argument(
        "source",
        help="an inventory file (its status file beside it), a directory holding one, or a lake (a directory "
        "with catalog.db, or s3://bucket/prefix/)",
    )
    report.add_argument("--snapshot-date", metavar="YYYY-MM-DD", help="a lake's day to read (default: the latest)")
    report.add_argument("--run-id", metavar="ID", help="a lake's run to read, instead of the day's inventory")
    _database_flag(report)
    report.add_argument("--as-of", metavar="YYYY-MM-DD", help="judge runtimes on this day (default: today, UTC)")
    report.add_argument(
        "--within", default="90d", metavar="DAYS", help="deprecation_soon look-ahead: 90d or 90 (default 90d)"
    )
    report.add_argument("--format", choices=["markdown", "csv", "html"], default="markdown")
    report.add_argument("--output", help="file to write (default: stdout)")
    gates = sorted((s.value for s in AFFECTED), key=lambda v: Lifecycle(v).severity)
    report.add_argument("--fail-on", choices=gates, help=f"exit {ExitCode.GATE} if a function has this status or worse")
    report.add_argument("--runtimes", type=Path, help="runtime schedule file (default: the packaged one)")
    report.add_argument(
        "--owner-tag",
        metavar="KEY",
        help="the function tag that names its owner (e.g. team): an owner column and a table per owner; "
        "needs an inventory run with enrich: [tags]",
    )
    report.add_argument(
        "--group-by",
        choices=[g.value for g in Grouping],
        default=Grouping.ACCOUNT.value,
        help="the table of counts (and chart) per account and region (default), per owner (needs --owner-tag) "
        "or per runtime only",
    )
    _log_flags(report)


def _diff_flags(diff: argparse.ArgumentParser) -> None:
    from inventory.reports.diff import Gate
    from inventory.reports.diff_render import DiffFormat

    for name in ("old", "new"):
        diff.add_argument(
            name, help=f"the {name} snapshot: an inventory file, or a lake (directory, s3://bucket/prefix/)"
        )
        diff.add_argument(f"--{name}-date", metavar="YYYY-MM-DD", help=f"the day of {name.upper()} (default: latest)")
        diff.add_argument(f"--{name}-run-id", metavar="ID", help=f"a run of {name.upper()} instead of the day's")
    _database_flag(diff)
    diff.add_argument("--format", choices=[f.value for f in DiffFormat], default=DiffFormat.MARKDOWN.value)
    diff.add_argument("--output", help="file to write (default: stdout)")
    diff.add_argument(
        "--fail-on",
        action="append",
        choices=[g.value for g in Gate],
        help=f"exit {ExitCode.GATE} if any function was added, removed or changed (change), or if a function is "
        "newly public (newly-public); may be given twice",
    )
    diff.add_argument(
        "--fail-on-change",
        dest="fail_on",
        action="append_const",
        const=Gate.CHANGE.value,
        help="the same as --fail-on change",
    )
    _log_flags(diff)


def _verify_flags(verify: argparse.ArgumentParser) -> None:
    verify.add_argument("source", metavar="LAKE", help="the lake: s3://bucket/prefix/ or a directory")
    verify.add_argument(
        "--run-id",
        metavar="ID",
        help="the run to check (AWS Batch's array job id, or an ECS task ARN or id); default: the day's run",
    )
    verify.add_argument("--snapshot-date", metavar="YYYY-MM-DD", help="the day to check (default: today, UTC)")
    verify.add_argument(
        "--shards",
        type=positive_int,
        metavar="N",
        help="the shard count the run must have (1: unsharded); default: what its shards recorded",
    )
    verify.add_argument("--no-record", action="store_true", help="do not commit the verdict to the verifications table")
    _database_flag(verify)
    _log_flags(verify)


def _maintain_flags(maintain: argparse.ArgumentParser) -> None:
    maintain.add_argument("source", metavar="LAKE", help="the lake: s3://bucket/prefix/ or a directory")
    maintain.add_argument(
        "--keep-days",
        type=positive_int,
        metavar="N",
        help="delete (in a new snapshot) the rows of days older than N days; default: keep every day",
    )
    maintain.add_argument(
        "--expire-snapshots-days",
        type=positive_int,
        default=7,
        metavar="N",
        help="expire Iceberg snapshots older than N days, the current one always kept (default 7): time travel "
        "reaches back that far",
    )
    _database_flag(maintain)
    _log_flags(maintain)


def _import_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument("source", metavar="PREFIX", help="the older layout: s3://bucket/prefix/ or a directory")
    command.add_argument("--into", required=True, metavar="LAKE", help="the lake: s3://bucket/prefix/ or a directory")
    _database_flag(command)
    _log_flags(command)


_FLAGS = {
    "run": _run_flags,
    "validate": _validate_flags,
    "demo": _demo_flags,
    "report": _report_flags,
    "diff": _diff_flags,
    "verify": _verify_flags,
    "maintain": _maintain_flags,
    "import": _import_flags,
}
