"""I/O at the edges: chain, devices, keystores, files, fork simulator, audit log."""
