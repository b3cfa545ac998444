"""Command-line logic of ``incrdump`` (the console script's ``main``).

Top layer: parses arguments and calls into the package; no logic of its own.
Commands are added here as the package grows.
"""
import argparse
import sys

from . import __version__

COMMANDS = {}  # name -> (help, function(args) -> exit code); none yet


def build_parser():
    """Return the argument parser of the ``incrdump`` command."""
    commands = "\n".join(f"  {name:12} {help_}" for name, (help_, _) in sorted(COMMANDS.items()))
    parser = argparse.ArgumentParser(
        prog="incrdump",
        description="Work with incrdump files: binary MediaWiki dumps that "
        "update in place and read at random.",
        epilog="commands:\n" + (commands or "  (none yet)"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv=None):
    """Run ``incrdump`` with ``argv`` (default: sys.argv[1:]); return the exit code."""
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
