"""`guardian ledger ...`: Ledger device helpers. Light imports only; ledgereth loads inside."""

from __future__ import annotations

import click

from guardian.cli.options import json_option


@click.group("ledger")
def ledger() -> None:
    """Ledger device helpers (USB, or Speculos / the emulator via LEDGER_PROXY_ADDRESS and _PORT)."""


@ledger.command("accounts")
@click.option("--count", type=click.IntRange(1, 100), default=5, show_default=True, help="How many accounts to list.")
@click.option("--start", type=click.IntRange(0), default=0, show_default=True, help="First account index.")
@click.option("--legacy", is_flag=True, help="Legacy paths m/44'/60'/0'/N (Ledger Chrome app, MEW) instead of Ledger Live's.")
@click.option(
    "--path-template",
    default=None,
    help="Custom derivation path with {index}, e.g. \"m/44'/60'/0'/0/{index}\".",
)
@json_option
def accounts(count: int, start: int, legacy: bool, path_template: str | None, as_json: bool) -> None:
    """List the device's accounts: index, derivation path and address.

    Use an index with --signer ledger:N (Ledger Live) or ledger-legacy:N, or a path with
    --signer ledger:PATH.
    """
    from guardian.adapters.ledger import LEDGER_LIVE_TEMPLATE, LEGACY_TEMPLATE, display_path, list_accounts, paths_from_template
    from guardian.cli.render import echo_json, table

    if path_template and legacy:
        raise click.UsageError("give --legacy or --path-template, not both")
    template = path_template or (LEGACY_TEMPLATE if legacy else LEDGER_LIVE_TEMPLATE)
    paths = paths_from_template(template, count, start)
    rows = [[str(start + i), display_path(path), address] for i, (path, address) in enumerate(list_accounts(paths))]
    if as_json:
        echo_json([{"index": int(index), "path": path, "address": address} for index, path, address in rows])
        return
    click.echo(table(rows, ["index", "path", "address"]))
