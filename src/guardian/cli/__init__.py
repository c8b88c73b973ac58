"""guardian's command line: a click root group with lazily loaded subcommands.

This module is on the startup path of every command, so it imports click and nothing heavy.
Each verb group lives in its own module under ``guardian.cli`` and is imported only when it
is invoked; ``guardian --help`` reads the one-line summaries from ``COMMANDS`` below and
imports none of them.

This is also the ONE place where a ``GuardianError`` becomes a one-line message on stderr and
a non-zero exit (see ``GuardianGroup.invoke``).
"""

from __future__ import annotations

import importlib
import sys

import click

from guardian import __version__
from guardian.errors import GuardianError

# name -> (module, attribute, one-line summary shown by `guardian --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "hash": ("guardian.cli.hash", "hash_command", "Offline domain hash, message hash and safeTxHash of a Safe transaction."),
    "ledger": ("guardian.cli.ledger", "ledger", "Ledger helpers: list the accounts (addresses and paths) on the device."),
    "propose": ("guardian.cli.propose", "propose", "Build a proposal file from named playbook actions (batched via MultiSendCallOnly)."),
    "show": ("guardian.cli.review", "show", "Show a proposal: decoded calls, hashes, signatures, findings."),
    "verify": ("guardian.cli.review", "verify", "Recompute hashes, decode calldata, flag dangers; non-zero exit on critical."),
    "doctor": ("guardian.cli.doctor", "doctor", "Readiness report: Safe, action permissions, timelock roles, pause windows, nonces."),
    "watch": ("guardian.cli.watch", "watch", "Follow the chain: classify queued timelock operations, draft vetoes, alert on Safe changes."),
    "simulate": ("guardian.cli.simulate", "simulate", "Dry-run a proposal through the Safe on an anvil fork (events, post-conditions, timelock warp)."),
    "drill": ("guardian.cli.drill", "drill", "Rehearse a playbook breach scenario end to end on a fork, timed, with a scored report."),
    "approve": ("guardian.cli.sign", "approve", "Approve a proposal on chain (approveHash) instead of signing off-chain."),
    "execute": ("guardian.cli.execute", "execute", "Execute a signed proposal (preflight, gas, receipt); idempotent, never sends twice."),
    "merge": ("guardian.cli.cosign", "merge", "Union the signatures of copies of one proposal signed on different laptops."),
    "sign": ("guardian.cli.sign", "sign", "Verify, sign (Ledger, keystore, raw key) and append the signature to a proposal."),
    "status": ("guardian.cli.cosign", "status", "Who has signed a proposal, how, and how many more signatures are needed."),
    "timelock": ("guardian.cli.timelock", "timelock", "Timelock queue: list operations with decoded calls, state and time until ready."),
}


class GuardianGroup(click.Group):
    """A group whose subcommands are imported on first use, with guardian's error boundary."""

    def __init__(self, *args, lazy_commands: dict[str, tuple[str, str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            module_name, attribute, _ = self.lazy_commands[cmd_name]
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy_commands:
                rows.append((name, self.lazy_commands[name][2]))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(formatter.width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GuardianError as error:
            click.secho(f"Error: {error.one_line()}", err=True, fg="red")
            sys.exit(error.exit_code)


@click.group(cls=GuardianGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="guardian")
def main() -> None:
    """guardian: agree on and execute emergency actions through your Safe.

    Pause, freeze, patch a parameter through the timelock, or veto a queued operation:
    propose -> verify -> sign -> simulate -> execute, rehearsed beforehand with drills.
    """
