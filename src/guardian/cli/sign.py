"""`guardian sign` and `guardian approve`: add one owner's signature (or on-chain approval) to a proposal.

Also holds the small CLI helpers the signing/execution verbs share (open a signer, an
optional playbook, a chain). Light imports only; everything heavy loads inside the commands.
"""

from __future__ import annotations

import click

from guardian.cli.options import context_options, json_option, risk_option, sender_options, signer_options


def echo_err(text: str) -> None:
    click.echo(text, err=True)


def open_cli_signer(signer_spec: str, password_file: str | None, password_env: str | None, allow_raw_key: bool):
    """The ``--signer`` as an opened (lazy) signer; device prompts and warnings go to stderr."""
    from guardian.adapters.signers import open_signer, password_source

    return open_signer(signer_spec, password_source=password_source(password_file, password_env), allow_raw_key=allow_raw_key, echo=echo_err)


def optional_playbook(playbook_path: str | None):
    """The playbook if one was named or exists at the default place, else None."""
    from guardian.config import load_playbook, resolve_playbook_path

    path = resolve_playbook_path(playbook_path)
    return load_playbook(path) if (playbook_path or path.exists()) else None


def connect_chain(rpc_url: str | None, playbook, network: str | None, *, required: bool, timeout: float):
    """A ``Chain`` on ``--rpc`` (or, when ``required``, the playbook network's URL); None when optional and not given."""
    url = rpc_url
    if url is None and required and playbook is not None:
        url = playbook.network(network).rpc_url
    if url is None:
        if required:
            from guardian.errors import InputError

            raise InputError("--rpc", None, "this command needs the chain: give --rpc URL or a playbook network with rpc_url")
        return None
    from guardian.adapters.chain import connect

    return connect(url, timeout=timeout)


@click.command("sign")
@click.argument("proposal_path", type=click.Path(dir_okay=False))
@signer_options
@click.option("--eth-sign", is_flag=True, help="Produce an eth_sign (v+4) signature instead of EIP-712. Only when asked.")
@risk_option
@context_options
@json_option
def sign(proposal_path, signer_spec, password_file, password_env, allow_raw_key, eth_sign, accept_risk, playbook_path, network, rpc_url, rpc_timeout, as_json):
    """Verify a proposal, sign its safeTxHash and append the signature to the file.

    The domain hash, message hash and safeTxHash are printed before the signer is asked,
    so you can compare them with the device. The signer must be a current owner (on chain
    with --rpc, else the playbook roster). The file is updated under a lock: guardians
    signing the same file at once never lose each other's signatures.
    """
    from guardian.cli.render import echo_findings, echo_json
    from guardian.workflow.signing import sign_proposal

    playbook = optional_playbook(playbook_path)
    chain = connect_chain(rpc_url, playbook, network, required=False, timeout=rpc_timeout)
    signer = open_cli_signer(signer_spec, password_file, password_env, allow_raw_key)
    try:
        result = sign_proposal(proposal_path, signer, playbook=playbook, chain=chain, accept_risk=accept_risk, eth_sign=eth_sign, echo=echo_err if as_json else click.echo, network=network)
    finally:
        signer.close()
    if as_json:
        echo_json(result.as_dict())
        return
    echo_findings([f for f in result.findings if f.severity != "info"])
    who = result.signer_name or result.signature.signer
    needed = f" of {result.roster.threshold} needed ({result.roster.source})" if result.roster.threshold else ""
    click.secho(f"Signed by {who} ({result.signature.kind}); {result.collected} owner signature(s){needed}. Written to {result.path}", fg="green")


@click.command("approve")
@click.argument("proposal_path", type=click.Path(dir_okay=False))
@sender_options
def approve(proposal_path, signer_spec, password_file, password_env, allow_raw_key, accept_risk, playbook_path, network, rpc_url, rpc_timeout, gas_limit, receipt_timeout, as_json):
    """Approve a proposal on chain (Safe.approveHash) instead of signing off-chain.

    Useful when a device cannot sign typed data. The owner sends the transaction; once it
    is mined the approval is recorded in the file as an approved-hash signature (v = 1).
    """
    from guardian.cli.render import echo_json
    from guardian.workflow.signing import approve_onchain

    playbook = optional_playbook(playbook_path)
    chain = connect_chain(rpc_url, playbook, network, required=True, timeout=rpc_timeout)
    signer = open_cli_signer(signer_spec, password_file, password_env, allow_raw_key)
    try:
        result = approve_onchain(proposal_path, signer, chain=chain, playbook=playbook, accept_risk=accept_risk, gas_limit=gas_limit, echo=echo_err if as_json else click.echo, receipt_timeout=receipt_timeout, network=network)
    finally:
        signer.close()
    if as_json:
        echo_json(result.as_dict())
        return
    sent = f"in block {result.block} (transaction {result.tx_hash})" if result.tx_hash else "(already approved on chain)"
    click.secho(f"Approved on chain by {result.owner} {sent}; recorded in {result.path}", fg="green")
