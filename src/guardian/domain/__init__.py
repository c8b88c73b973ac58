"""Pure domain: actions, proposals, encoding, hashing, signatures, policy.

Nothing in this package may import a web3 provider, a device library, click or the network
(a unit test enforces it). Chain id, nonce and Safe version are always passed explicitly.
"""
