"""One module per group of sub-commands; each exposes `register(subparsers)`.

Modules are imported lazily by `cbench.main`, so `cbench --help` and the server commands never import torch.
"""
