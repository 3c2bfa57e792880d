"""senet_pi — measured private-inference cost of senet checkpoints under SecretFlow SPU (2PC).

Reads a senet checkpoint (safetensors) and its per-site ReLU index lists (masks.json), builds the
inference network with BatchNorm folded into the convolutions, checks it in plaintext against
`senet eval`, then runs it under SPU with two parties (SEMI2K, CHEETAH) and reports bytes,
messages and wall time per linear step and per ReLU site. JAX is only SPU's front end here.

Modules, in the order a run uses them: checkpoint (safetensors reader/writer), masks (index
lists checked against the checkpoint), data (test images as the engine feeds them), network
(BN folding, the steps), spu_run (the 2PC runs), records (per-step costs and their summary),
cli (`python -m senet_pi`, what `senet pi-measure` runs), summary (markdown of the JSON lines).
JAX and SPU are imported only where they are used (network.site_fn, Network.steps,
plain_forward; spu_run.measure): everything else runs with numpy alone.
"""


class PiError(Exception):
    """A user-facing error: names the file or field and what was expected."""
