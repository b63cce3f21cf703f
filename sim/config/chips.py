"""Chip catalogue and product roadmap (docs/model.md section 3.12).

A chip is described by its release year, dense BF16 peak FLOP/s, board power
(TDP) and list price. The calibrated generations come from the chip table of
docs/calibration.md "Hardware and chips"; later generations are extrapolated
at a fixed cadence with compounded annual gains in energy efficiency (FLOP/s
per W) and price performance (FLOP/s per USD) (docs/calibration.md
"Efficiency trends").

Export controls follow ECCN 3A090 (docs/calibration.md "Status-quo policies"):
Total Processing Performance (TPP) = dense TOPS x bit length of the operation,
here BF16, so ``TPP = flops / 1e12 * 16``. An H100 has TPP about 15,800, far
above the Oct 2023 threshold of 4800. A controlled region receives a derated
export variant whose FLOP/s are scaled down to the threshold at the same power
and price, so it is worse in FLOP/W and FLOP/$ (the H800/H20 pattern).

Standard library only (math, dataclasses); no agents.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sim.config.checks import number

BF16_BITS = 16
"""Bit length used in the TPP formula for BF16 operations (ECCN 3A090)."""

TERA = 1e12


@dataclass(frozen=True)
class ChipModel:
    """One accelerator generation.

    Attributes:
        name: Product name, e.g. "H100"; derated export variants end in "-export".
        year: Release year (calendar, may be fractional).
        flops: Dense BF16 peak FLOP/s (sparse figures are 2x; never use them).
        watts: Board power (TDP) in W; facility power is TDP x PUE, added by the lab.
        price: List price in USD per chip (supplier price index multiplies it).
    """

    name: str
    year: float
    flops: float
    watts: float
    price: float

    def __post_init__(self) -> None:
        """Reject non-physical specs so every derived ratio is finite."""
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        number("year", self.year, -math.inf)
        number("flops", self.flops, 0.0)
        number("watts", self.watts, 0.0, low_open=True)
        number("price", self.price, 0.0, low_open=True)

    def __hash__(self) -> int:
        """Hash of the name alone, consistent with ``==`` (equal chips have equal names).

        Fleets look chips up at every install and retirement; the generated
        hash of all five fields cost several times more. The dataclass keeps
        an explicitly defined ``__hash__``.
        """
        return hash(self.name)

    @property
    def tpp(self) -> float:
        """Total Processing Performance (ECCN 3A090): dense TOPS x 16 bits for BF16."""
        return self.flops / TERA * BF16_BITS

    @property
    def flops_per_watt(self) -> float:
        """Energy efficiency, FLOP/s per W of TDP (equivalently FLOP per joule)."""
        return self.flops / self.watts

    @property
    def flops_per_dollar(self) -> float:
        """Price performance, FLOP/s per USD of list price."""
        return self.flops / self.price

    def derated(self, max_tpp: float) -> ChipModel:
        """Return the export variant allowed under a TPP threshold.

        The variant keeps power and price but its FLOP/s are scaled so that
        ``tpp == max_tpp`` exactly (the modelled rule lets a chip *at* the
        threshold through). Chips already at or below the threshold are
        returned unchanged.

        Args:
            max_tpp: Threshold in TPP units, in (0, inf]; inf means uncontrolled.

        Raises:
            ValueError: if ``max_tpp`` is not in (0, inf]. A zero threshold is a
                ban, handled by the supply network (edge disallowed), not here.
        """
        limit = number("max_tpp", max_tpp, 0.0, allow_inf=True)
        if limit == 0.0:
            raise ValueError("max_tpp must be in (0, inf] to derate; 0 means an export ban")
        if self.tpp <= limit:
            return self
        return ChipModel(
            name=f"{self.name}-export",
            year=self.year,
            flops=limit / BF16_BITS * TERA,
            watts=self.watts,
            price=self.price,
        )


CALIBRATED_CHIPS: tuple[ChipModel, ...] = (
    ChipModel("A100", 2020.0, 312e12, 400.0, 10_000.0),
    ChipModel("H100", 2022.0, 989e12, 700.0, 27_500.0),
    ChipModel("H200", 2024.0, 989e12, 700.0, 30_000.0),
    ChipModel("B200", 2025.0, 2250e12, 1000.0, 35_000.0),
    ChipModel("GB200", 2025.0, 2500e12, 1200.0, 38_000.0),
)
"""Calibrated generations, from the chip table of docs/calibration.md "Hardware and chips".

Rows: A100 SXM (312 TFLOP/s BF16, 400 W, ~10k USD ?, 2020); H100 SXM (989 TFLOP/s,
700 W, 25-30k ? -> 27.5k midpoint, 2022); H200 (989 TFLOP/s, 700 W, 25-35k ? -> 30k,
2024); B200 (2250 TFLOP/s, 1000 W, 30-40k -> 35k, 2025); GB200 per GPU
(2500 TFLOP/s, 1200 W, ~2-3M USD per 72-GPU rack ? -> 2.75M / 72 ~ 38k, 2025).
Prices marked "?" in docs/calibration.md are uncertain; override via a custom roadmap.
"""


def _flagship(chips: Iterable[ChipModel]) -> ChipModel:
    """Newest chip; among same-year chips the fastest, then the best FLOP/$ (deterministic)."""
    return max(chips, key=lambda c: (c.year, c.flops, c.flops_per_dollar, c.name))


def extrapolate_roadmap(
    chips: tuple[ChipModel, ...] | list[ChipModel],
    until_year: float,
    cadence_years: float = 2.0,
    flops_per_watt_growth: float = 0.40,
    flops_per_dollar_growth: float = 0.30,
    watts_growth: float = 0.10,
) -> tuple[ChipModel, ...]:
    """Append extrapolated generations to a calibrated roadmap.

    Starting from the flagship of the newest year (newest, then fastest: GB200
    for the calibrated set), a generation is released every ``cadence_years``
    while its year is ``<= until_year``. After ``dy`` years a generation has

    - FLOP/W   = base FLOP/W   x (1 + flops_per_watt_growth)^dy,
    - FLOP/$   = base FLOP/$   x (1 + flops_per_dollar_growth)^dy,
    - watts    = base watts    x (1 + watts_growth)^dy,

    hence ``flops = FLOP/W x watts`` and ``price = flops / (FLOP/$)``. Defaults:
    about +40%/yr energy efficiency (docs/calibration.md: "+40-50%/yr (?)", sources
    range 30%/yr to a 2.7-yr doubling, so uncertain) and about 30%/yr cheaper
    price performance (Epoch AI ML hardware). Names are "Gen<year>", e.g. "Gen2027".

    Args:
        chips: Non-empty roadmap to extend; returned first, in the given order.
        until_year: Last calendar year a generation may be released (finite).
        cadence_years: Years between generations, in (0, inf).
        flops_per_watt_growth: Annual FLOP/W growth fraction, in [0, inf).
        flops_per_dollar_growth: Annual FLOP/$ growth fraction, in [0, inf).
        watts_growth: Annual TDP growth fraction, in (-1, inf).

    Returns:
        The input chips followed by the extrapolated generations (oldest first).

    Raises:
        ValueError: naming the offending argument and its allowed range.
    """
    chips = tuple(chips)
    if not chips or not all(isinstance(c, ChipModel) for c in chips):
        raise ValueError("chips must be a non-empty sequence of ChipModel")
    until = number("until_year", until_year, -math.inf)
    cadence = number("cadence_years", cadence_years, 0.0, low_open=True)
    g_fpw = number("flops_per_watt_growth", flops_per_watt_growth, 0.0)
    g_fpd = number("flops_per_dollar_growth", flops_per_dollar_growth, 0.0)
    g_w = number("watts_growth", watts_growth, -1.0, low_open=True)

    base = _flagship(chips)
    new: list[ChipModel] = []
    k = 1
    while base.year + k * cadence <= until + 1e-9:
        dy = k * cadence
        year = base.year + dy
        watts = base.watts * (1.0 + g_w) ** dy
        flops = base.flops_per_watt * (1.0 + g_fpw) ** dy * watts
        price = flops / (base.flops_per_dollar * (1.0 + g_fpd) ** dy)
        new.append(ChipModel(f"Gen{year:g}", year, flops, watts, price))
        k += 1
    return chips + tuple(new)
