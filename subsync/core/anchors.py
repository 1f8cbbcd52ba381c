"""Maps fitted through anchors: (subtitle time, heard media time) pairs of the heard lines.

`fit_anchors` robustly fits scale and offset (Theil-Sen and RANSAC candidates, then
Tukey-weighted least squares); `refine` moves a map, cuts included, onto such anchors.
Pure numpy.
"""

from __future__ import annotations

import numpy as np

from .timemap import FRAMERATE_RATIOS, Cut, TimeMap

# ---------------------------------------------------------------- robust anchor fit

MIN_ANCHORS_FOR_SCALE = 3
MIN_SPAN_FOR_SCALE_S = 20.0
RANSAC_TRIALS = 300
IRLS_ITERATIONS = 20


def fit_anchors(
    sub_s: np.ndarray,
    media_s: np.ndarray,
    weights: np.ndarray | None = None,
    prior: TimeMap | None = None,
    max_residual_s: float = 0.5,
) -> TimeMap:
    """Robust line media_s ~ scale * sub_s + offset through anchor pairs; (n,) arrays.

    Candidate lines (the prior's scale, Theil-Sen, RANSAC pairs) are ranked by
    the weight of anchors within max_residual_s; the best is polished by
    iteratively reweighted least squares (Tukey weights with cutoff
    max_residual_s, times the given weights).  With fewer than 3 usable anchors
    or a span under 20 s, only the offset is fitted (weighted median) and the
    prior's scale is kept.  No anchors: the prior (or identity) unchanged.
    """
    prior = prior or TimeMap.identity()
    sub, media, weight = _usable_anchors(sub_s, media_s, weights)  # (n,) each
    if sub.size == 0:
        return prior
    if sub.size < MIN_ANCHORS_FOR_SCALE or np.ptp(sub) < MIN_SPAN_FOR_SCALE_S:
        return TimeMap(prior.scale, weighted_median(media - prior.scale * sub, weight))
    lines = _candidate_lines(sub, media, weight, prior)  # (n_lines, 2)
    scale, offset = lines[np.argmax(_inlier_weight(lines, sub, media, weight, max_residual_s))]
    scale, offset = _irls(sub, media, weight, scale, offset, max_residual_s)
    inliers = np.abs(media - (scale * sub + offset)) <= max_residual_s
    if inliers.sum() < MIN_ANCHORS_FOR_SCALE or np.ptp(sub[inliers]) < MIN_SPAN_FOR_SCALE_S or scale <= 0:
        return TimeMap(prior.scale, weighted_median(media - prior.scale * sub, weight))
    return TimeMap(float(scale), float(offset))


def _usable_anchors(sub_s, media_s, weights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sub = np.asarray(sub_s, dtype=np.float64).reshape(-1)
    media = np.asarray(media_s, dtype=np.float64).reshape(-1)
    if sub.shape != media.shape:
        raise ValueError(f"{sub.size} subtitle times but {media.size} media times")
    weight = np.ones_like(sub) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if weight.shape != sub.shape:
        raise ValueError(f"{weight.size} weights for {sub.size} anchors")
    keep = np.isfinite(sub) & np.isfinite(media) & np.isfinite(weight) & (weight > 0)
    return sub[keep], media[keep], weight[keep]


def _candidate_lines(sub: np.ndarray, media: np.ndarray, weight: np.ndarray, prior: TimeMap) -> np.ndarray:
    """(scale, offset) rows: prior scale with median offset, Theil-Sen, and RANSAC pair lines."""
    lines: list[tuple[float, float]] = [
        (prior.scale, weighted_median(media - prior.scale * sub, weight)),
        _theil_sen(sub, media, weight),
    ]
    rng = np.random.default_rng(0)
    first = rng.choice(sub.size, RANSAC_TRIALS, p=weight / weight.sum())
    second = rng.choice(sub.size, RANSAC_TRIALS, p=weight / weight.sum())
    apart = np.abs(sub[second] - sub[first]) >= MIN_SPAN_FOR_SCALE_S / 4
    first, second = first[apart], second[apart]
    slopes = (media[second] - media[first]) / (sub[second] - sub[first])
    lines += list(zip(slopes, media[first] - slopes * sub[first]))
    rows = np.array(lines, dtype=np.float64)  # (n, 2): scale, offset
    return rows[np.isfinite(rows).all(axis=1) & (rows[:, 0] > 0)]


def _theil_sen(sub: np.ndarray, media: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Weighted Theil-Sen line over (a sample of) anchor pairs."""
    n = sub.size
    if n * (n - 1) // 2 > 200_000:
        rng = np.random.default_rng(1)
        i, j = rng.integers(0, n, 200_000), rng.integers(0, n, 200_000)
    else:
        i, j = np.triu_indices(n, k=1)
    dt = sub[j] - sub[i]
    ok = np.abs(dt) > 1e-9
    if not ok.any():
        return 1.0, weighted_median(media - sub, weight)
    slope = weighted_median((media[j] - media[i])[ok] / dt[ok], (weight[i] * weight[j])[ok])
    return slope, weighted_median(media - slope * sub, weight)


def _inlier_weight(
    lines: np.ndarray, sub: np.ndarray, media: np.ndarray, weight: np.ndarray, max_residual_s: float
) -> np.ndarray:
    """Total weight of anchors within max_residual_s of each line; (n_lines,)."""
    residual = media[None, :] - (lines[:, :1] * sub[None, :] + lines[:, 1:])  # (n_lines, n)
    return ((np.abs(residual) <= max_residual_s) * weight[None, :]).sum(axis=1)


def _irls(
    sub: np.ndarray, media: np.ndarray, weight: np.ndarray, scale: float, offset: float, cutoff_s: float
) -> tuple[float, float]:
    """Iteratively reweighted least squares with Tukey bisquare weights."""
    for _ in range(IRLS_ITERATIONS):
        residual = media - (scale * sub + offset)
        tukey = np.clip(1 - (residual / cutoff_s) ** 2, 0, None) ** 2
        fitted = _weighted_line(sub, media, weight * tukey)
        if fitted is None:
            break
        change = abs(fitted[0] - scale) * np.ptp(sub) + abs(fitted[1] - offset)
        scale, offset = fitted
        if change < 1e-6:
            break
    return scale, offset


def _weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float] | None:
    total = w.sum()
    if total <= 0 or np.count_nonzero(w) < 2:
        return None
    mx, my = (w * x).sum() / total, (w * y).sum() / total
    sxx = (w * (x - mx) ** 2).sum()
    if sxx <= 1e-12:
        return None
    slope = (w * (x - mx) * (y - my)).sum() / sxx
    return float(slope), float(my - slope * mx)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


# ---------------------------------------------------------------- anchors from heard lines

MIN_RATIO_SPAN_S = 4.0  # anchors spanning less than this only fix the offset
SNAP_DRIFT_S = 0.25  # a fitted scale snaps to a framerate ratio that differs by less than
MIN_SNAP_FRACTION = 0.0005  # this drift over the anchors' span, clipped to these fractions
MAX_SNAP_FRACTION = 0.01
ANCHOR_RESIDUAL_S = 0.5  # anchors farther than this from a map count as outliers


def fit_subtitle_anchors(sub_s: np.ndarray, media_s: np.ndarray, weights: np.ndarray, prior: TimeMap) -> TimeMap:
    """The map through (subtitle start, heard start) anchors of aligned lines; (n,) arrays.

    Enough anchors over a long enough span: a robust fit (fit_anchors), snapped to a
    standard framerate ratio within the slope's noise.  A short span: the standard ratio
    that explains the anchors clearly best (else the prior's).  Fewer than 3: the offset.
    """
    sub = np.asarray(sub_s, dtype=np.float64)
    media = np.asarray(media_s, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if sub.size >= MIN_ANCHORS_FOR_SCALE and np.ptp(sub) >= MIN_SPAN_FOR_SCALE_S:
        fitted = fit_anchors(sub, media, weights, prior=prior, max_residual_s=ANCHOR_RESIDUAL_S)
        return _snap_to_ratio(fitted, sub, media, weights)
    if sub.size >= MIN_ANCHORS_FOR_SCALE and np.ptp(sub) >= MIN_RATIO_SPAN_S:
        return _best_ratio(prior, sub, media, weights)
    return TimeMap(prior.scale, offset_at(prior.scale, sub, media, weights))


def offset_at(scale: float, sub_s: np.ndarray, media_s: np.ndarray, weights: np.ndarray) -> float:
    """The weighted-median offset of anchors at a given scale."""
    return weighted_median(media_s - scale * sub_s, weights)


def _spread(time_map: TimeMap, sub: np.ndarray, media: np.ndarray, weights: np.ndarray) -> float:
    """Weighted median distance of anchors from the map (capped per anchor)."""
    return weighted_median(np.minimum(np.abs(media - time_map(sub)), ANCHOR_RESIDUAL_S), weights)


def _best_ratio(prior: TimeMap, sub: np.ndarray, media: np.ndarray, weights: np.ndarray) -> TimeMap:
    """Anchors spanning too little time for a fitted slope: choose among the standard
    ratios (the prior's scale unless another explains the anchors clearly better)."""
    best = TimeMap(prior.scale, offset_at(prior.scale, sub, media, weights))
    for scale in FRAMERATE_RATIOS:
        candidate = TimeMap(float(scale), offset_at(float(scale), sub, media, weights))
        if _spread(candidate, sub, media, weights) < 0.7 * _spread(best, sub, media, weights) - 0.01:
            best = candidate
    return best


def _snap_to_ratio(fitted: TimeMap, sub: np.ndarray, media: np.ndarray, weights: np.ndarray) -> TimeMap:
    """Prefer an exact framerate ratio (or no drift) next to a fitted scale.

    A fit through lines that span little time has a noisy slope.  Among the standard
    ratios within the slope's noise (SNAP_DRIFT_S over the anchors' span), the one that
    explains the anchors best replaces the fit if it explains them about as well.
    """
    span = max(float(np.ptp(sub)), 1e-9)
    tolerance = float(np.clip(SNAP_DRIFT_S / span, MIN_SNAP_FRACTION, MAX_SNAP_FRACTION))
    ratios = [float(r) for r in (1.0, *FRAMERATE_RATIOS) if abs(r / fitted.scale - 1) <= tolerance]
    if not ratios:
        return fitted
    standards = [TimeMap(r, offset_at(r, sub, media, weights)) for r in ratios]
    spreads = [_spread(m, sub, media, weights) for m in standards]
    best = standards[int(np.argmin(spreads))]
    return best if min(spreads) <= _spread(fitted, sub, media, weights) * 1.25 + 0.01 else fitted


MIN_PIECE_ANCHORS = 5  # a piece of a cut map moves by its own residual when heard this often


def refine(
    prior: TimeMap, sub_s: np.ndarray, media_s: np.ndarray, weights: np.ndarray, free_scale: bool = True
) -> TimeMap:
    """``prior`` fitted through anchors (subtitle start, heard media start), (n,) each.

    A map with cuts is fitted as one line through the anchors with the cuts' jumps taken
    out (scale and first offset; the offset only, at the prior's scale, unless
    ``free_scale``), then each piece with MIN_PIECE_ANCHORS anchors or more near the line
    moves by their weighted median residual."""
    jumps = prior.offsets_at(sub_s) - prior.offset_s  # (n,) 0 before any cut
    if free_scale:
        fitted = fit_subtitle_anchors(sub_s, media_s - jumps, weights, prior.without_cuts())
    else:
        fitted = TimeMap(prior.scale, offset_at(prior.scale, sub_s, media_s - jumps, weights))
    refined = prior.shifted(fitted.scale, fitted.offset_s - prior.offset_s)
    if not prior.cuts:
        return refined
    residual = media_s - refined(sub_s)
    piece = np.searchsorted([cut.at_s for cut in refined.cuts], sub_s, side="right")  # (n,) 0 = first
    offsets = [refined.offset_s, *(cut.offset_s for cut in refined.cuts)]
    for k in range(len(offsets)):
        members = (piece == k) & (np.abs(residual) <= ANCHOR_RESIDUAL_S)
        if members.sum() >= MIN_PIECE_ANCHORS:
            offsets[k] += weighted_median(residual[members], weights[members])
    cuts = tuple(Cut(cut.at_s, offset) for cut, offset in zip(refined.cuts, offsets[1:]))
    return TimeMap(refined.scale, offsets[0], cuts)
