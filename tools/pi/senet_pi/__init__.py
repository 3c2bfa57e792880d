"""senet_pi — measured private-inference cost of senet checkpoints under SecretFlow SPU (2PC).

Reads a senet checkpoint (safetensors) and its per-site ReLU index lists (masks.json), builds the
inference network with BatchNorm folded into the convolutions, checks it in plaintext against
`senet eval`, then runs it under SPU with two parties (SEMI2K, CHEETAH) and reports bytes,
messages and wall time per linear step and per ReLU site. JAX is only SPU's front end here.
"""


class PiError(Exception):
    """A user-facing error: names the file or field and what was expected."""
