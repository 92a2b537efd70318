"""Command line: ``python -m prometheus_client COMMAND``.

Commands:
  lint FILE|URL|-   check exposition text with promlint's rules (``promtool check metrics``)
"""

import argparse
import os
import sys
from typing import List, Optional

_ACCEPT = "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5"


def _read(source: str, timeout: float) -> str:
    if source == "-":
        return sys.stdin.buffer.read().decode("utf-8")
    if source.startswith(("http://", "https://")):
        from urllib.request import Request, urlopen

        with urlopen(Request(source, headers={"Accept": _ACCEPT}), timeout=timeout) as response:  # noqa: S310
            return str(response.read().decode("utf-8"))
    with open(source, encoding="utf-8") as f:
        return f.read()


def _lint(args: argparse.Namespace) -> int:
    from .testing import lint

    try:
        text = _read(args.source, args.timeout)
    except (OSError, UnicodeDecodeError) as e:
        print(f"error: cannot read {args.source}: {e}", file=sys.stderr)
        return 2
    max_labels = args.max_labels if args.max_labels > 0 else None
    try:
        findings = lint(text, max_labels=max_labels)
    except ValueError as e:
        print(f"error: {args.source}: {e}", file=sys.stderr)
        return 2
    try:
        for finding in findings:
            print(finding)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more is written
    return 1 if findings else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m prometheus_client",
        description="Tools of the prometheus_client package.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    lint = commands.add_parser(
        "lint",
        help="lint exposition text with promlint's rules (exit 1 on findings)",
        description=(
            "Check metric names, types, HELP and labels with the rules of promlint "
            "(`promtool check metrics`), plus label names starting with '__' and too many labels. "
            "Prints one finding per line: 'metric: message [rule]'. "
            "Exit status: 0 clean, 1 findings, 2 unreadable or unparsable input."
        ),
    )
    lint.add_argument("source", metavar="FILE|URL|-", help="a file, an http(s) URL to scrape, or - for stdin")
    lint.add_argument(
        "--max-labels", type=int, default=10, metavar="N",
        help="report families with more than N label names (default 10; 0 turns the rule off)",
    )
    lint.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a URL (default 10)")
    lint.set_defaults(func=_lint)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess in the tests
    sys.exit(main())
