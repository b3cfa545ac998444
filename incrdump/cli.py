"""Command-line logic of ``incrdump`` (the console script's ``main``).

Top layer: parses arguments and calls into the package; no logic of its own.
Exit codes: 0 success, 1 the dump is damaged or an operation failed, 2 bad
usage. Commands are added here as the package grows.
"""
import argparse
import json
import sys

from . import __version__
from .errors import CorruptDumpError, IncrdumpError


def _print(data, as_json):
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    for key, value in data.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")


def cmd_check(args):
    """incrdump check: verify every block and tree of a dump."""
    from .maintenance import check_file

    try:
        result = check_file(args.dump)
    except CorruptDumpError as e:
        print(f"incrdump check: {args.dump}: CORRUPT: {e}", file=sys.stderr)
        return 1
    _print(result, args.json)
    if not args.json:
        print(f"{args.dump}: OK")
    return 0


def cmd_info(args):
    """incrdump info: identity, generation, size and trees of a dump."""
    from .maintenance import describe

    _print(describe(args.dump), args.json)
    return 0


COMMANDS = {
    "check": ("verify every block and tree of a dump (exit 1 if damaged)", cmd_check),
    "info": ("show a dump's identity, generation, size and trees", cmd_info),
}


def build_parser():
    """Return the argument parser of the ``incrdump`` command."""
    parser = argparse.ArgumentParser(
        prog="incrdump",
        description="Work with incrdump files: binary MediaWiki dumps that "
        "update in place and read at random.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_, func) in sorted(COMMANDS.items()):
        p = sub.add_parser(name, help=help_, description=func.__doc__)
        p.add_argument("dump", metavar="DUMP", help="path of the dump file")
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")
        p.set_defaults(func=func)
    return parser


def main(argv=None):
    """Run ``incrdump`` with ``argv`` (default: sys.argv[1:]); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except IncrdumpError as e:
        print(f"incrdump {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
