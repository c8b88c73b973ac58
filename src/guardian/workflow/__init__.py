"""Use cases: each takes its adapters (chain, signer, files) as arguments and returns plain results.

- ``proposals``: propose, load, review (show / verify)
- ``signing``: sign, merge, status
- ``execution``: execute with preflight and nonce reconciliation
- ``simulation``: dry-run on a fork; ``drill``: scripted rehearsals
- ``readiness``: doctor and watch
"""
