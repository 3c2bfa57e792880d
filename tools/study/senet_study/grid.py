"""The study's grid: seeds × budgets × arms, and what each arm changes in the base config.

Compute-fair: after the teacher (and stage 1's sensitivity, shared per seed and reported apart),
every arm gets the same number of optimizer steps, EPOCHS_AFTER_TEACHER epochs of the same batch
size, split between its stages:

    SENet and most variants   1 mask-search epoch + 2 fine-tune epochs
    multi-search              2 mask-search epochs (best on validation) + 1 fine-tune epoch
    settle                    1 search epoch + 1 settle epoch on the searched mask + 1 fine-tune
    random masks              3 fine-tune epochs (no stage 2)
    SNL                       1 epoch of α training (it may stop earlier at the budget) + 2
                              fine-tune epochs, binarised to exactly the budget (top-R α)
"""
from __future__ import annotations

from dataclasses import dataclass, field

EPOCHS_AFTER_TEACHER = 3
CAPACITY = 69_632  # ReLUs of the study's model (ResNet-18 width 0.125 on 1×32×32)
BUDGET_FRACTIONS = (0.01, 0.03, 0.10)
SEEDS = (1, 2, 3)


@dataclass(frozen=True)
class Arm:
    name: str            # directory tag and table key
    label: str           # table and plot label
    method: str          # senet.method
    sets: tuple[str, ...] = field(default=())  # `--set key=value` overrides of the base config
    uses_sensitivity: bool = True  # takes the seed's stage-1 sensitivity.json

    def overrides(self) -> list[str]:
        return [f"senet.method={self.method}", *self.sets]


def _senet(name: str, label: str, *sets: str, method: str = "senet") -> Arm:
    return Arm(name, label, method, ("senet.mask_search.epochs=1", "senet.finetune.epochs=2", *sets))


ARMS: tuple[Arm, ...] = (
    _senet("senet", "SENet (paper settings: PRAM 1000)"),
    _senet("pram0", "SENet, PRAM 0", "senet.finetune.pram=0"),
    _senet("pram10", "SENet, PRAM 10", "senet.finetune.pram=10"),
    _senet("pram100", "SENet, PRAM 100", "senet.finetune.pram=100"),
    _senet("ste", "SENet, learned (straight-through) masks", "senet.mask_learner=ste"),
    _senet("lineage", "SENet, random-init student + H×W initial mask",
           "senet.student_init=random", "senet.initial_mask=hw_pattern"),
    Arm("multisearch", "SENet, 2 search epochs (best on val)", "senet",
        ("senet.mask_search.epochs=2", "senet.finetune.epochs=1")),
    Arm("settle", "SENet, search + settle epoch", "senet",
        ("senet.mask_search.epochs=1", "senet.settle_epochs=1", "senet.finetune.epochs=1")),
    Arm("snl", "SNL (exact budget)", "snl",
        ("senet.snl.max_epochs=1", "senet.snl.binarize=top_budget", "senet.finetune.epochs=2"),
        uses_sensitivity=False),
    Arm("uniform", "uniform allocation + SENet masks", "uniform",
        ("senet.mask_search.epochs=1", "senet.finetune.epochs=2"), uses_sensitivity=False),
    Arm("random_masks", "SENet allocation + random masks", "random_masks",
        ("senet.finetune.epochs=3",)),
)


def arm(name: str) -> Arm:
    for a in ARMS:
        if a.name == name:
            return a
    raise KeyError(f"unknown arm {name!r}; arms: {', '.join(a.name for a in ARMS)}")


def budget_of(fraction: float, capacity: int = CAPACITY) -> int:
    return round(fraction * capacity)


@dataclass(frozen=True)
class Cell:
    seed: int
    budget: int
    arm: Arm

    @property
    def dir_name(self) -> str:
        return f"seed{self.seed}/{self.arm.name}_{self.budget}"


def cells(seeds: tuple[int, ...] | list[int], budgets: list[int], arms: list[Arm]) -> list[Cell]:
    """The grid in the order it runs: the 3 % budget first (every seed and arm: the cells the study
    needs first), then the other budgets; within a budget seed by seed, arms in ARMS order."""
    first = budget_of(0.03)
    ordered = sorted(budgets, key=lambda b: (b != first, b))
    return [Cell(s, b, a) for b in ordered for s in seeds for a in arms]
