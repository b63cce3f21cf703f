"""The shared scaling law and the relative-loss equation (docs/model.md section 1).

Everything here is numpy only, vectorized over arrays, and knows nothing of
agents. Every function broadcasts its array arguments and returns a numpy
scalar for scalar input.

Units: compute in logical FLOP (dense, full precision, ``6 N D``), time in
years, gamma in efficiency doublings per year, loss in nats per token.

Numerical care: the relative-loss bracket ``1 + (2^(gamma t) - 1)/(gamma ln 2)``
cancels catastrophically as gamma -> 0 if written naively, so it is computed
with ``expm1``/``log1p`` and an exact gamma = 0 branch (where it is ``1 + t``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LN2 = float(np.log(2.0))
SECONDS_PER_YEAR = 365.25 * 24 * 3600
PF_DAY_FLOP = 1e15 * 86400

ArrayLike = float | np.ndarray


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------


def _as_array(name: str, value: ArrayLike) -> np.ndarray:
    """Return ``value`` as a float array, rejecting NaN with a named error."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a number, got {value!r}") from error
    if np.isnan(array).any():
        raise ValueError(f"{name} must be a number, got NaN")
    return array


def _check_range(
    name: str,
    value: ArrayLike,
    low: float,
    high: float = np.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> np.ndarray:
    """Check every element of ``value`` lies in the interval and return it.

    Raises:
        ValueError: naming ``name`` and the allowed interval.
    """
    array = _as_array(name, value)
    below = array <= low if low_open else array < low
    above = array >= high if high_open else array > high
    if below.any() or above.any():
        bad = array[below | above].flat[0] if array.ndim else float(array)
        left = "(" if low_open else "["
        right = ")" if high_open or np.isinf(high) else "]"
        raise ValueError(f"{name} must be in {left}{low:g}, {high:g}{right}, got {bad:g}")
    return array


def _scalar(array: np.ndarray) -> ArrayLike:
    """Unwrap 0-d arrays so scalar input gives a scalar result."""
    return array[()] if array.ndim == 0 else array


# --------------------------------------------------------------------------
# Static law: logical compute and L(C)
# --------------------------------------------------------------------------


def logical_compute(n_params: ArrayLike, tokens: ArrayLike) -> ArrayLike:
    """Logical compute ``C = 6 N D`` in FLOP.

    Args:
        n_params: total parameters N (all MoE experts included), >= 0.
        tokens: training tokens D, >= 0.
    """
    n = _check_range("n_params", n_params, 0.0)
    d = _check_range("tokens", tokens, 0.0)
    return _scalar(6.0 * n * d)


def loss(compute: ArrayLike, E: float, K: float, kappa: float) -> ArrayLike:
    """The shared law ``L(C) = E + K C^-kappa``.

    Args:
        compute: logical compute in FLOP, > 0.
        E: irreducible loss floor, >= 0.
        K: scale of the reducible loss, > 0.
        kappa: scaling exponent, > 0.
    """
    c = _check_range("compute", compute, 0.0, low_open=True)
    _check_range("E", E, 0.0)
    _check_range("K", K, 0.0, low_open=True)
    _check_range("kappa", kappa, 0.0, low_open=True)
    return _scalar(E + K * np.exp(-kappa * np.log(c)))


@dataclass(frozen=True)
class ChinchillaFit:
    """A parametric fit ``L(N, D) = E + A N^-alpha + B D^-beta``.

    Attributes:
        E, A, B, alpha, beta: the published fit constants.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    @property
    def kappa(self) -> float:
        """Compute exponent of the reducible loss, ``alpha beta / (alpha + beta)``."""
        return self.alpha * self.beta / (self.alpha + self.beta)

    @property
    def G(self) -> float:
        """Split constant ``(alpha A / (beta B))^(1 / (alpha + beta))``."""
        return (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))

    @property
    def K(self) -> float:
        """Law scale ``(A G^-alpha + B G^beta) 6^kappa`` of ``L = E + K C^-kappa``."""
        return (self.A * self.G**-self.alpha + self.B * self.G**self.beta) * 6.0**self.kappa

    def loss_nd(self, n_params: ArrayLike, tokens: ArrayLike) -> ArrayLike:
        """Loss of a model with N parameters trained on D tokens."""
        n = _check_range("n_params", n_params, 0.0, low_open=True)
        d = _check_range("tokens", tokens, 0.0, low_open=True)
        return _scalar(self.E + self.A * n**-self.alpha + self.B * d**-self.beta)

    def optimal_split(self, compute: ArrayLike) -> tuple[ArrayLike, ArrayLike]:
        """Compute-optimal ``(N, D)``: ``N = G (C/6)^(beta/(alpha+beta))``, ``D = C/(6N)``."""
        c = _check_range("compute", compute, 0.0, low_open=True)
        n = self.G * (c / 6.0) ** (self.beta / (self.alpha + self.beta))
        return _scalar(n), _scalar(c / (6.0 * n))


@dataclass(frozen=True)
class ParameterSet:
    """A named scaling law with its compute-optimal allocation rule.

    Attributes:
        name: the key users pass (``kaplan``, ``hoffmann2022``, ...).
        E: irreducible loss (nats/token).
        K: reducible-loss scale (with compute in FLOP).
        kappa: compute exponent.
        source: where the numbers come from.
        fit: the parametric N/D fit behind it, if any.
        tokens_per_param: a fixed D/N rule instead of the fit's split, if set.
    """

    name: str
    E: float
    K: float
    kappa: float
    source: str
    fit: ChinchillaFit | None = None
    tokens_per_param: float | None = None

    def loss(self, compute: ArrayLike) -> ArrayLike:
        """``L(C)`` along this law."""
        return loss(compute, self.E, self.K, self.kappa)

    def compute_optimal(self, compute: ArrayLike) -> tuple[ArrayLike, ArrayLike]:
        """Compute-optimal parameters N and tokens D for a budget C (FLOP)."""
        c = _check_range("compute", compute, 0.0, low_open=True)
        if self.tokens_per_param is not None:
            n = np.sqrt(c / (6.0 * self.tokens_per_param))
            return _scalar(n), _scalar(self.tokens_per_param * n)
        if self.fit is not None:
            return self.fit.optimal_split(c)
        n = KAPLAN_N_OPT_SCALE * (c / PF_DAY_FLOP) ** KAPLAN_N_OPT_EXPONENT
        return _scalar(n), _scalar(c / (6.0 * n))

    def optimal_loss(self, compute: ArrayLike) -> ArrayLike:
        """Loss at the compute-optimal split: the fit's ``L(N, D)`` where there is one."""
        if self.fit is None:
            return self.loss(compute)
        n, d = self.compute_optimal(compute)
        return self.fit.loss_nd(n, d)


KAPLAN_KAPPA = 0.050
KAPLAN_CC_FLOP = 3.1e8 * PF_DAY_FLOP
KAPLAN_N_OPT_SCALE = 1.3e9
KAPLAN_N_OPT_EXPONENT = 0.73

HOFFMANN2022 = ChinchillaFit(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
BESIROGLU2024 = ChinchillaFit(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)


def _from_fit(name: str, fit: ChinchillaFit, source: str, **extra) -> ParameterSet:
    return ParameterSet(name, fit.E, fit.K, fit.kappa, source, fit=fit, **extra)


PARAMETER_SETS: dict[str, ParameterSet] = {
    "kaplan": ParameterSet(
        "kaplan",
        E=0.0,
        K=KAPLAN_CC_FLOP**KAPLAN_KAPPA,
        kappa=KAPLAN_KAPPA,
        source="Kaplan et al. 2020 (arXiv 2001.08361): L = (C_c/C)^0.050, C_c = 3.1e8 PF-days;"
        " N_opt = 1.3e9 (C/PF-day)^0.73",
    ),
    "hoffmann2022": _from_fit(
        "hoffmann2022", HOFFMANN2022, "Hoffmann et al. 2022 (arXiv 2203.15556), parametric fit"
    ),
    "besiroglu2024": _from_fit(
        "besiroglu2024", BESIROGLU2024, "Besiroglu et al. 2024 (arXiv 2404.10102), replication fit"
    ),
    "tokens20": _from_fit(
        "tokens20",
        BESIROGLU2024,
        "Rule of thumb D = 20 N, so N = sqrt(C/120) (Hoffmann et al. 2022); loss from the"
        " Besiroglu et al. 2024 fit",
        tokens_per_param=20.0,
    ),
}


def parameter_set(name: str) -> ParameterSet:
    """Look up a named parameter set.

    Raises:
        ValueError: if ``name`` is not one of :data:`PARAMETER_SETS`.
    """
    try:
        return PARAMETER_SETS[name]
    except KeyError:
        allowed = ", ".join(PARAMETER_SETS)
        raise ValueError(f"params must be one of {allowed}, got {name!r}") from None


# --------------------------------------------------------------------------
# Time- and efficiency-aware law: the relative-loss equation
# --------------------------------------------------------------------------


SERIES_BELOW = 1e-8
"""Below this ``|x|`` (``x = gamma ln2 dt``) the step integral uses ``expm1(x)/x ~ 1 + x/2``."""


def _expm1_ratio(y: np.ndarray) -> np.ndarray:
    """``expm1(y) / y`` with its limit 1 at y = 0; a two-term series for tiny |y|.

    The series keeps subnormal arguments (gamma = 5e-324) exact, where the
    direct quotient of two subnormals is off by a factor of two.
    """
    tiny = np.abs(y) < SERIES_BELOW
    safe = np.where(tiny, 1.0, y)
    return np.where(tiny, 1.0 + y / 2.0, np.expm1(safe) / safe)


def _log1p_ratio(y: np.ndarray) -> np.ndarray:
    """``log1p(y) / y`` with its limit 1 at y = 0; a two-term series for tiny |y|."""
    tiny = np.abs(y) < SERIES_BELOW
    safe = np.where(tiny, 1.0, y)
    return np.where(tiny, 1.0 - y / 2.0, np.log1p(safe) / safe)


def exponential_integral(x: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """``expm1(rate * x) / rate``, equal to ``x`` in the limit rate -> 0.

    This is the integral of ``e^(rate s)`` over ``[0, x]``, computed without
    cancellation for any rate >= 0.
    """
    return x * _expm1_ratio(rate * x)


def _integral_with_limits(x: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """:func:`exponential_integral`, with its limits where ``x`` or ``rate`` is infinite.

    Infinity, or 0 for ``x = 0``. The inputs are checked non-negative and not
    NaN, so a NaN can only come from ``inf / inf`` or ``inf * 0`` at such a limit.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        growth = exponential_integral(x, rate)
    return np.where(x == 0.0, 0.0, np.where(np.isnan(growth), np.inf, growth))


def efficiency_integral(t: ArrayLike, dt: ArrayLike, gamma: ArrayLike) -> ArrayLike:
    """Exact ``integral_t^(t+dt) 2^(gamma tau) d tau`` in years.

    ``= 2^(gamma t) (2^(gamma dt) - 1) / (gamma ln 2)``, and ``dt`` at gamma = 0.
    A model that adds this times ``E0 P`` each step reproduces the closed
    form for any step length.

    Args:
        t: start of the step in years, >= 0.
        dt: step length in years, >= 0.
        gamma: efficiency doublings per year, >= 0.
    """
    t = _check_range("t", t, 0.0)
    dt = _check_range("dt", dt, 0.0)
    gamma = _check_range("gamma", gamma, 0.0)
    rate = gamma * LN2
    with np.errstate(over="ignore", invalid="ignore"):
        exponent = np.where((rate == 0.0) | (t == 0.0), 0.0, rate * t)  # 0 * inf is 0 here
        integral = np.exp(exponent) * _integral_with_limits(dt, rate)
    return _scalar(np.where(dt == 0.0, 0.0, np.where(np.isnan(integral), np.inf, integral)))


def compute_growth(t: ArrayLike, gamma: ArrayLike) -> ArrayLike:
    """The bracket ``C(t)/C0 = 1 + (2^(gamma t) - 1) / (gamma ln 2)``; ``1 + t`` at gamma 0.

    Args:
        t: years since the baseline year, >= 0.
        gamma: efficiency doublings per year, >= 0.
    """
    t = _check_range("t", t, 0.0)
    gamma = _check_range("gamma", gamma, 0.0)
    return _scalar(1.0 + _integral_with_limits(t, gamma * LN2))


def relative_loss(t: ArrayLike, gamma: ArrayLike, kappa: ArrayLike) -> ArrayLike:
    """The relative-loss equation ``R(t) = L(t)/L0 = [C(t)/C0]^(-kappa)`` (E = 0).

    With a floor E > 0 the same expression is the relative excess loss
    ``X(t) = (L(t) - E)/(L0 - E)``; see :func:`relative_excess_loss`.

    Args:
        t: years since the baseline year, >= 0.
        gamma: efficiency doublings per year, >= 0.
        kappa: scaling exponent, > 0.
    """
    kappa = _check_range("kappa", kappa, 0.0, low_open=True)
    t = _check_range("t", t, 0.0)
    gamma = _check_range("gamma", gamma, 0.0)
    log_growth = np.log1p(_integral_with_limits(t, gamma * LN2))
    # R = 1 at t = 0 for any kappa (inf * 0 would be NaN); t = inf gives the limit 0.
    with np.errstate(invalid="ignore"):
        exponent = np.where(log_growth == 0.0, 0.0, -kappa * log_growth)
    return _scalar(np.exp(exponent))


def relative_excess_loss(t: ArrayLike, gamma: ArrayLike, kappa: ArrayLike) -> ArrayLike:
    """The floor form ``X(t) = (L(t) - E) / (L0 - E)`` (docs/model.md 1.4): R's bracket."""
    return relative_loss(t, gamma, kappa)


def loss_at_time(
    t: ArrayLike, gamma: ArrayLike, kappa: ArrayLike, L0: ArrayLike, E: ArrayLike = 0.0
) -> ArrayLike:
    """Absolute loss ``L(t) = E + (L0 - E) X(t)`` starting from loss ``L0`` > E."""
    E = _check_range("E", E, 0.0)
    L0 = _as_array("L0", L0)
    if (L0 <= E).any():
        raise ValueError("L0 must be greater than the floor E")
    return _scalar(E + (L0 - E) * relative_excess_loss(t, gamma, kappa))


def _log_fleet_factor(r_target: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """``log(R*^(-1/kappa))``, kept in log space so tiny kappa does not overflow."""
    return -np.log(r_target) / kappa


def fleet_factor(r_target: ArrayLike, kappa: ArrayLike) -> ArrayLike:
    """Unfold in space: the fleet multiple ``R*^(-1/kappa)`` that reaches R* in one year at gamma 0.

    Args:
        r_target: target relative loss, in (0, 1].
        kappa: scaling exponent, > 0.
    """
    r = _check_range("r_target", r_target, 0.0, 1.0, low_open=True)
    kappa = _check_range("kappa", kappa, 0.0, low_open=True)
    return _scalar(np.exp(_log_fleet_factor(r, kappa)))


def time_to_target(r_target: ArrayLike, gamma: ArrayLike, kappa: ArrayLike) -> ArrayLike:
    """Years until R(t) reaches R*: the inverse of :func:`relative_loss`.

    ``t* = log2(1 + gamma ln2 (R*^(-1/kappa) - 1)) / gamma`` and
    ``R*^(-1/kappa) - 1`` at gamma = 0. Evaluated in log space, so the answer
    stays finite wherever it is representable.

    Args:
        r_target: target relative loss, in (0, 1].
        gamma: efficiency doublings per year, >= 0.
        kappa: scaling exponent, > 0.
    """
    r = _check_range("r_target", r_target, 0.0, 1.0, low_open=True)
    gamma = _check_range("gamma", gamma, 0.0)
    kappa = _check_range("kappa", kappa, 0.0, low_open=True)
    z = _log_fleet_factor(r, kappa)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        excess = np.expm1(z)  # compute multiple still needed beyond the baseline year
        log_excess = z + np.log(-np.expm1(-z))
        rate = gamma * LN2
        safe_rate = np.where(rate == 0.0, 1.0, rate)
        log_arg = np.log(safe_rate) + log_excess
        # log1p(e^a) computed as logaddexp(0, a) stays finite for huge a.
        huge = np.logaddexp(0.0, log_arg) / safe_rate
        moderate = excess * _log1p_ratio(rate * excess)
        years = np.where(rate == 0.0, excess, np.where(log_arg < 30.0, moderate, huge))
    years = np.where(np.isinf(rate), 0.0, years)  # the limit of infinitely fast efficiency
    return _scalar(np.where(z == 0.0, 0.0, years))


def optimal_run_length(gamma: ArrayLike, usable_share: ArrayLike = 0.0) -> ArrayLike:
    """Years of the training run that ends at a release deadline with the most logical compute.

    A lab whose effective FLOP/s grow as ``2^(gamma t)`` (hardware, software
    and data efficiency) and whose run can use a share ``u`` of the gains
    made while it is in progress gets, from a run started at ``s`` that ends
    at the deadline ``T``, ``C(s) ~ 2^(gamma s) integral_0^(T - s) 2^(u gamma
    tau) d tau``. Setting ``dC/ds = 0`` gives ``2^(u gamma L) = 1 / (1 - u)``
    for the run length ``L = T - s`` (docs/model.md 3.22):

        ``L* = -ln(1 - u) / (u gamma ln 2)``,  ``1 / (gamma ln 2)`` at ``u = 0``.

    A longer run wastes time on hardware and algorithms that waiting would
    improve; a shorter one trains too briefly. With ``u = 1`` or
    ``gamma = 0`` nothing is gained by waiting: ``L*`` is infinite (the run
    spans the whole time to the deadline).

    Args:
        gamma: efficiency doublings per year, >= 0.
        usable_share: share u of mid-run gains the run can use, in [0, 1].
    """
    gamma = _check_range("gamma", gamma, 0.0)
    u = _check_range("usable_share", usable_share, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        waiting = np.where(u == 0.0, 1.0, -np.log1p(-u) / np.where(u == 0.0, 1.0, u))
        years = waiting / (gamma * LN2)
    return _scalar(np.where((gamma == 0.0) | (u == 1.0), np.inf, years))
