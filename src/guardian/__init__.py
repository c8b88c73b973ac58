"""guardian: emergency response for DeFi security councils, through a Gnosis Safe."""

__version__ = "0.1.0"
