"""Command-line entry point for the back-office tools."""

import argparse
import json
import logging
import pathlib
import shlex
import subprocess
import sys

from . import orders

log = logging.getLogger("storefront.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storefront", description="Back-office utilities.")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug output")
    sub = parser.add_subparsers(dest="command", required=True)

    show = sub.add_parser("show", help="show one order")
    show.add_argument("order_id", type=int)

    export = sub.add_parser("export", help="export orders to a directory")
    export.add_argument("target", type=pathlib.Path)
    export.add_argument("--format", choices=["json", "csv"], default="json")

    sub.add_parser("version", help="print the version")
    return parser


def git_revision() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def cmd_show(conn, args) -> int:
    order = orders.get_order(conn, args.order_id)
    if order is None:
        print(f"No order with id {args.order_id}", file=sys.stderr)
        return 1
    print(json.dumps({"id": order.id, "customer": order.customer, "total": str(order.total)}))
    return 0


def cmd_export(conn, args) -> int:
    target: pathlib.Path = args.target.resolve()
    target.mkdir(parents=True, exist_ok=True)
    out = target / f"orders.{args.format}"
    log.debug("writing export to %s", shlex.quote(str(out)))
    with out.open("w", encoding="utf-8") as fh:
        json.dump([], fh)
    print(f"Exported orders to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    if args.command == "version":
        print(f"storefront {git_revision()}")
        return 0
    settings = orders.load_settings()
    conn = connect(settings["database_url"])
    try:
        if args.command == "show":
            return cmd_show(conn, args)
        return cmd_export(conn, args)
    finally:
        conn.close()


def connect(url: str):
    import psycopg

    return psycopg.connect(url)


if __name__ == "__main__":
    sys.exit(main())
