"""Terminal rendering helpers: tables, findings, hashes. Pure formatting, light imports."""

from __future__ import annotations

import json

import click

SEVERITY_STYLE = {"critical": ("CRITICAL", "red"), "warning": ("WARNING", "yellow"), "info": ("info", "cyan")}
STATUS_STYLE = {"ok": "green", "pass": "green", "PASS": "green", "warn": "yellow", "fail": "red", "FAIL": "red"}


def echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def styled_status(status: str) -> str:
    return click.style(status, fg=STATUS_STYLE.get(status, None), bold=status.lower() == "fail")


def echo_findings(findings) -> None:
    if not findings:
        click.secho("No findings: nothing dangerous detected.", fg="green")
        return
    for finding in findings:
        label, colour = SEVERITY_STYLE.get(finding.severity, (finding.severity, None))
        click.secho(f"[{label}] {finding.code} at {finding.where}: {finding.message}", fg=colour, bold=finding.severity == "critical")


def echo_hashes(domain_hash: str, message_hash: str, safe_tx_hash: str) -> None:
    click.echo(f"  Domain hash:  {domain_hash}")
    click.echo(f"  Message hash: {message_hash}")
    click.echo(f"  safeTxHash:   {safe_tx_hash}")
