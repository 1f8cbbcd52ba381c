"""Per-line decisions as inference: which lines are off the map, and where they belong.

The model.  Under the global map a line's voice starts at ``mapped + lead + e``: ``lead``
is the file's own (how long after a line's start its voice starts, the same for the
whole file), ``e`` the line's displacement.  Most lines are *on* the map, ``e`` drawn
from N(0, spread) (the subtitler's own scatter, or a file's per-line jitter); a share
``off_share`` are *off*, ``e`` uniform over the reach of a window.  What the listener
hears is the voice plus an error drawn from its measured distribution (listener_errors.py,
speech and singing apart, tails included).  ``lead``, ``spread`` and ``off_share`` are
estimated from the file itself (EM, with a prior that one line in twenty is off, worth
twenty lines of evidence); the speech errors apply unless the file's residuals are likelier
under the singing ones by a likelihood ratio test at FALSE_CHANGE_RATE.  A line's best place is the displacement with the most
posterior mass within ``tolerance`` of it; the line moves there only when it is more
than ``tolerance`` from where it is, and moving is at least HARM_WEIGHT times likelier
to make it right than to make it wrong.  The file's lead is kept, its own linger too
(the whole line moves).  A global map other than the speech
activity's replaces it only when the heard lines are likelier under it by a likelihood
ratio test at FALSE_CHANGE_RATE; an offset alone does only when the lead it would leave is
beyond LEAD_RANGE_S (within it, an offset cannot be told from the file's lead).

Pure numpy; the engine gathers the residuals (heard start minus mapped start of the lines
heard with confidence, over speech).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from enum import Enum
from statistics import NormalDist

import numpy as np

from . import listener_errors

GRID_STEP_S = 0.01  # displacements and errors are weighed on this grid
REACH_S = 4.0  # an off line's displacement: uniform within +- this (a window's
# padding, windows.PAD_S, plus its lines' own spread)
KERNEL_GRID_S = (0.02, 0.03, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3)
# the measured errors are smoothed by a Gaussian kernel; its width
# is chosen from these by likelihood, leaving one recording out
# (kernel_width; listener_errors.py carries the chosen widths)
TAIL_SHARE = 0.05  # the smoothed errors are mixed with this share of errors uniform over
# twice the reach: other recordings' errors are not the measured ones.
# Set out of sample (benchmarks/decision_model.py: errors fitted on
# half the recordings, drawn from the others) so that on files whose
# only fault is global fewer than 1 line in 100 moves (0.01 / 0.03 let
# 1.4 % of speech lines and 4.7 % of sung ones move)
MIN_SPREAD_S = 0.04  # the subtitler's own scatter is never taken below this (a frame
# of 25 fps video, and the grid)
MAX_SPREAD_S = 1.5
PRIOR_OFF_SHARE = 0.05  # before any evidence, one line in twenty is off ...
PRIOR_LINES = 20.0  # ... a belief worth this many lines
MAX_OFF_SHARE = 0.5  # the map is what most lines follow
LEAD_RANGE_S = (-0.5, 0.5)  # the file's lead is looked for within this: professional lead-ins
# are 0-250 ms (the benchmark's human convention draws 0-300 ms),
# and no subtitler starts lines half a second from their voice
EM_ROUNDS = 20
HARM_WEIGHT = 3.0  # a line moves when that makes it right this many times likelier
# than it makes it wrong: harm counts three times a gain
FALSE_CHANGE_RATE = 0.01  # a refined map replaces the incumbent at this rate when wrong


class Action(str, Enum):
    """What was done to a line (the value is what reports and JSON show)."""

    KEPT = "kept"  # heard on the map: its timing kept (moved by the map)
    RETIMED = "retimed"  # heard off the map: moved to where it is heard
    MAPPED = "mapped"  # not heard surely enough: moved by the map
    UNALIGNED = "unaligned"  # no words to hear: moved by the map

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ErrorModel:
    """The listener's error distribution: density of heard start minus reference start
    (measured on the bench: the references' own lead is in it), per second,
    on the grid of differences (-2 * REACH_S .. 2 * REACH_S)."""

    name: str
    density: np.ndarray  # (n_grid,)

    def __call__(self, difference_s: np.ndarray) -> np.ndarray:
        x = np.asarray(difference_s) / GRID_STEP_S + (self.density.size - 1) / 2
        return np.interp(x, np.arange(self.density.size), self.density, left=self.density[0], right=self.density[-1])


def error_model(name: str, errors_s: np.ndarray, kernel_s: float) -> ErrorModel:
    """An ErrorModel from measured errors (n,) seconds: a Gaussian kernel density of width
    ``kernel_s``, mixed with TAIL_SHARE uniform over the reach."""
    half = int(round(2 * REACH_S / GRID_STEP_S))
    grid = np.arange(-half, half + 1) * GRID_STEP_S  # (n_grid,)
    errors = np.asarray(errors_s, dtype=np.float64).reshape(-1)
    kernel = np.exp(-0.5 * ((grid[:, None] - errors[None, :]) / kernel_s) ** 2).sum(axis=1)
    kernel /= kernel.sum() * GRID_STEP_S
    tail = np.full(grid.size, 1 / (4 * REACH_S))
    return ErrorModel(name, (1 - TAIL_SHARE) * kernel + TAIL_SHARE * tail)


def kernel_width(errors_by_recording: list[np.ndarray]) -> float:
    """The width on KERNEL_GRID_S under which each recording's errors (s) are likeliest
    when the model is made from the other recordings' (leave one recording out): how far
    another recording's errors stray from the measured ones."""
    parts = [np.asarray(e, dtype=np.float64).reshape(-1) for e in errors_by_recording if np.size(e)]
    if len(parts) < 2:
        return float(np.median(KERNEL_GRID_S))

    def held_out(kernel_s: float) -> float:
        return sum(
            float(np.sum(np.log(error_model("", np.concatenate(parts[:k] + parts[k + 1 :]), kernel_s)(part) + 1e-300)))
            for k, part in enumerate(parts)
        )

    return float(max(KERNEL_GRID_S, key=held_out))


@functools.cache
def measured() -> tuple[ErrorModel, ...]:
    """The measured error models: speech, then singing (listener_errors.py)."""
    return (
        error_model("speech", np.array(listener_errors.SPEECH_START_ERRORS_MS) / 1000, listener_errors.SPEECH_KERNEL_S),
        error_model(
            "singing", np.array(listener_errors.SINGING_START_ERRORS_MS) / 1000, listener_errors.SINGING_KERNEL_S
        ),
    )


@dataclass(frozen=True)
class FileFit:
    """The file's parameters under the model, and how well they explain its residuals."""

    lead_s: float
    spread_s: float
    off_share: float
    log_likelihood: float
    errors: str  # the error model's name

    def describe(self) -> str:
        return (
            f"lead {self.lead_s * 1000:+.0f} ms, spread {self.spread_s * 1000:.0f} ms, "
            f"{100 * self.off_share:.1f} % off ({self.errors} errors)"
        )


def _displacements() -> np.ndarray:
    half = int(round(REACH_S / GRID_STEP_S))
    return np.arange(-half, half + 1) * GRID_STEP_S  # (n_e,)


def _prior(spread_s: float, off_share: float) -> tuple[np.ndarray, np.ndarray]:
    """(on, off) prior mass of each displacement on the grid, (n_e,) each, summing to 1 together."""
    e = _displacements()
    on = np.exp(-0.5 * (e / spread_s) ** 2)
    return (1 - off_share) * on / on.sum(), off_share * np.full(e.size, 1 / e.size)


def _joint(
    residuals_s: np.ndarray, errors: ErrorModel, lead_s: float, spread_s: float, off_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """(on, off) joint mass of each line and displacement, (n, n_e) each."""
    e = _displacements()
    likelihood = errors(residuals_s[:, None] - lead_s - e[None, :])  # (n, n_e) per second
    on, off = _prior(spread_s, off_share)
    return likelihood * on, likelihood * off


def fit(residuals_s: np.ndarray, errors: ErrorModel) -> FileFit:
    """The file's lead, spread and share of off lines from its residuals (n,) seconds
    (heard start minus mapped start), by EM."""
    r = np.asarray(residuals_s, dtype=np.float64).reshape(-1)
    if not r.size:
        return FileFit(0.0, MIN_SPREAD_S, PRIOR_OFF_SHARE, 0.0, errors.name)
    e = _displacements()
    lead = float(np.clip(np.median(r), *LEAD_RANGE_S))
    spread, off_share = 0.1, PRIOR_OFF_SHARE
    for _ in range(EM_ROUNDS):
        on, off = _joint(r, errors, lead, spread, off_share)
        total = on.sum(axis=1) + off.sum(axis=1) + 1e-300  # (n,)
        p_on = on / total[:, None]  # (n, n_e) posterior mass
        w_on = p_on.sum(axis=1)  # (n,)
        off_share = float(
            np.clip((np.sum(1 - w_on) + PRIOR_OFF_SHARE * PRIOR_LINES) / (r.size + PRIOR_LINES), 0.0, MAX_OFF_SHARE)
        )
        if w_on.sum() > 0:
            spread = float(np.clip(np.sqrt(np.sum(p_on * e[None, :] ** 2) / w_on.sum()), MIN_SPREAD_S, MAX_SPREAD_S))
        lead = _best_lead(r, errors, lead, spread, off_share)
    return FileFit(lead, spread, off_share, log_likelihood(r, errors, lead, spread, off_share), errors.name)


def _best_lead(r: np.ndarray, errors: ErrorModel, lead_s: float, spread_s: float, off_share: float) -> float:
    """The lead, within a few grid steps of ``lead_s``, under which ``r`` is likeliest."""
    leads = np.clip(lead_s + np.arange(-5, 6) * GRID_STEP_S, *LEAD_RANGE_S)
    marginal = _marginal(errors, spread_s, off_share)
    scores = [np.sum(np.log(marginal(r - lead) + 1e-300)) for lead in leads]
    return float(leads[int(np.argmax(scores))])


def _marginal(errors: ErrorModel, spread_s: float, off_share: float) -> ErrorModel:
    """The density of a residual minus the lead, the displacement summed out: the prior
    convolved with the errors (on the errors' grid)."""
    on, off = _prior(spread_s, off_share)
    return ErrorModel(errors.name, np.convolve(errors.density, on + off, mode="same"))


def log_likelihood(
    residuals_s: np.ndarray, errors: ErrorModel, lead_s: float, spread_s: float, off_share: float
) -> float:
    """log p(residuals | parameters), the lines independent."""
    r = np.asarray(residuals_s, dtype=np.float64).reshape(-1)
    return float(np.sum(np.log(_marginal(errors, spread_s, off_share)(r - lead_s) + 1e-300)))


def best_fit(residuals_s: np.ndarray, models: tuple[ErrorModel, ...] | None = None) -> FileFit:
    """The fit under the first error model (speech: what subtitles mostly are), unless
    another explains the residuals better by the likelihood ratio test at FALSE_CHANGE_RATE
    (then the best of those): a sharper distribution fits a clean file's residuals a little
    better whatever is heard, and is no proof that it is sung."""
    fits = [fit(residuals_s, model) for model in (models or measured())]
    default, others = fits[0], fits[1:]
    return max((f for f in others if rejects(default, f)), key=lambda f: f.log_likelihood, default=default)


def wrong_share(file_fit: FileFit, tolerance_s: float) -> float:
    """The share of the file's lines that its fit expects beyond ``tolerance_s`` of the map
    (off, or on and scattered that far)."""
    on_beyond = 1 - math.erf(tolerance_s / file_fit.spread_s / math.sqrt(2))
    return file_fit.off_share + (1 - file_fit.off_share) * on_beyond


@dataclass(frozen=True)
class Verdict:
    """Per line (n,): the posterior probability that it is wrong where it is (off beyond
    the tolerance), that moving it makes it right, and that moving it makes a right line
    wrong; the displacement it moves by (0 for the lines that stay)."""

    wrong: np.ndarray
    gain: np.ndarray
    harm: np.ndarray
    shift_s: np.ndarray
    moves: np.ndarray  # (n,) bool


def judge(
    residuals_s: np.ndarray, file_fit: FileFit, tolerance_s: float, models: tuple[ErrorModel, ...] | None = None
) -> Verdict:
    """Each line's decision under ``file_fit``.  Its best place is the displacement with
    the most posterior mass within ``tolerance_s`` of it; it moves there when the chance
    that this makes it right (it was wrong) is at least HARM_WEIGHT times the chance that
    it makes it wrong (it was right).  A line heard beyond the reach of any window from
    where the map puts it stays (the listener failed there)."""
    r = np.asarray(residuals_s, dtype=np.float64).reshape(-1)
    errors = next(m for m in (models or measured()) if m.name == file_fit.errors)
    on, off = _joint(r, errors, file_fit.lead_s, file_fit.spread_s, file_fit.off_share)
    mass = on + off
    mass /= mass.sum(axis=1, keepdims=True) + 1e-300  # (n, n_e) posterior
    e = _displacements()
    steps = np.arange(e.size) - e.size // 2  # (n_e,) e in grid steps
    k = int(round(tolerance_s / GRID_STEP_S))
    cumulative = np.pad(np.cumsum(mass, axis=1), ((0, 0), (1, 0)))  # (n, n_e + 1)
    centre = np.arange(e.size)
    near = cumulative[:, np.minimum(centre + k + 1, e.size)] - cumulative[:, np.maximum(centre - k, 0)]  # (n, n_e)
    best = np.argmax(near, axis=1)  # (n,)
    right_here = np.abs(steps) <= k  # (n_e,)
    right_there = np.abs(steps[None, :] - steps[best][:, None]) <= k  # (n, n_e)
    gain = np.sum(mass * (~right_here[None, :] & right_there), axis=1)
    harm = np.sum(mass * (right_here[None, :] & ~right_there), axis=1)
    within_reach = np.abs(r - file_fit.lead_s) <= REACH_S  # (n,) else the listener failed
    moves = (gain >= HARM_WEIGHT * harm) & (gain > 0) & (np.abs(steps[best]) > k) & within_reach
    wrong = 1 - np.sum(mass[:, right_here], axis=1)
    return Verdict(wrong, gain, harm, np.where(moves, e[best], 0.0), moves)


def refit_shift(
    incumbent_residuals_s: np.ndarray,
    refined_residuals_s: np.ndarray,
    models: tuple[ErrorModel, ...] | None = None,
    keep_lead: bool = True,
    tolerance_s: float = 0.25,
) -> float | None:
    """Do the heard lines reject the incumbent map for a refined one with another drift?
    A likelihood ratio test, each map with the file's parameters fitted under it (the
    lead takes up any offset), at FALSE_CHANGE_RATE (one degree of freedom: the drift).
    None when they do not; else the offset (seconds) that gives the refined map the lead
    the incumbent shows (a map fitted through heard starts puts lines on their voice:
    the file's own lead is kept, not the listener's onsets; without ``keep_lead``, when
    the incumbent's offset says nothing of the lead, the lines go on their voice)."""
    incumbent = best_fit(incumbent_residuals_s, models)
    refined = best_fit(refined_residuals_s, models)
    if not rejects(incumbent, refined):
        return None
    if lead_beyond_range(incumbent) or wrong_share(incumbent, tolerance_s) > 0.5 or not keep_lead:
        return refined.lead_s  # no lead to keep (most lines off under it): on the voice
    return refined.lead_s - incumbent.lead_s


def rejects(incumbent: FileFit, refined: FileFit, alternatives: int = 1) -> bool:
    """Does the refined fit reject the incumbent one, by the likelihood ratio test at
    FALSE_CHANGE_RATE (one degree of freedom)?  For two maps (each fit made under one) with
    another offset this is a test of the lead: within LEAD_RANGE_S the lead takes up any
    offset, and only residuals no lead in range explains reject the incumbent.  When the
    refined fit is the likeliest of ``alternatives`` tried, the rate is shared among them
    (Bonferroni), so the incumbent still falls at most at FALSE_CHANGE_RATE."""
    return 2 * (refined.log_likelihood - incumbent.log_likelihood) >= chi2_one_df(FALSE_CHANGE_RATE / alternatives)


def chi2_one_df(rate: float) -> float:
    """The chi-square quantile of one degree of freedom exceeded at ``rate`` (6.63 at 0.01)."""
    return NormalDist().inv_cdf(1 - rate / 2) ** 2


def lead_beyond_range(file_fit: FileFit) -> bool:
    """Is the lead the file shows under a map at the edge of LEAD_RANGE_S?  No subtitler
    starts lines half a second from their voice: the map is off by an offset."""
    return not LEAD_RANGE_S[0] + GRID_STEP_S < file_fit.lead_s < LEAD_RANGE_S[1] - GRID_STEP_S
