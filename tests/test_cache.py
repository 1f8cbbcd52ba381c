"""The media-analysis cache: media analysed once, the same bytes out with and without it,
a copy hits, a changed file misses, least recently used entries go first, and two
processes writing at once leave whole entries."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time

import numpy as np
import pytest

from helpers import babble, distorted_srt, ffmpeg, film, replay_listener, script, write_wav
from subsync import analysis, api
from subsync.cache import MediaCache
from subsync.fingerprint import BLOCK_BYTES, SAMPLED_BLOCKS, fingerprint


@pytest.fixture(scope="module")
def episode(tmp_path_factory):
    """Four minutes of speech-like audio (WAV) with its lines, and a subtitle 3.2 s late."""
    folder = tmp_path_factory.mktemp("episode")
    truth = film(240.0, seed=11)
    media = write_wav(folder / "episode.wav", babble(240.0, [(s, e) for s, e, _ in truth], seed=11))
    subs = folder / "episode.srt"
    subs.write_bytes(distorted_srt(truth, 1.0, 3.2))
    return media, subs, truth


def _synced(media, subs, truth, cache) -> bytes:
    return api.sync(media, subs, model=replay_listener(script(truth)), cache=cache).to_bytes()


def _decodes(monkeypatch) -> list:
    """Every whole decode of a media file from now on (analysis.stream_audio_parts calls)."""
    calls: list = []
    stream_audio_parts = analysis.stream_audio_parts

    def counted(*args, **kwargs):
        calls.append(args[0])
        return stream_audio_parts(*args, **kwargs)

    monkeypatch.setattr(analysis, "stream_audio_parts", counted)
    return calls


@pytest.mark.parametrize(
    "in_memory_s, part_min_s", [(600.0, 600.0), (60.0, 600.0), (60.0, 60.0)], ids=["sliced", "seeks", "parts"]
)
def test_the_same_bytes_with_and_without_the_cache_and_a_warm_run_decodes_nothing(
    episode, tmp_path, monkeypatch, in_memory_s, part_min_s
):
    """A 4-minute track, sliced from memory (decoded whole on every run), or heard by seeks
    (as a track longer than IN_MEMORY_S is), or also analysed in parts (as a track longer
    than 2 x PART_MIN_S in an indexed container is: the episode's AAC in Matroska, in four):
    the same bytes with the cache cold, warm and without it; a warm run of a long track
    decodes nothing whole."""
    media, subs, truth = episode
    monkeypatch.setattr(analysis, "IN_MEMORY_S", in_memory_s)
    if part_min_s < 600.0:
        from subsync import media as media_mod

        monkeypatch.setattr(media_mod, "PART_MIN_S", part_min_s)
        parts: list[int] = []
        decode_parts = media_mod._decode_parts
        monkeypatch.setattr(media_mod, "_decode_parts", lambda *args: parts.append(len(args[2])) or decode_parts(*args))
        media = media.with_suffix(".mkv")
        ffmpeg("-i", media.with_suffix(".wav"), "-c:a aac -ar 48000 -ac 2", media)
    decodes = _decodes(monkeypatch)
    cache = MediaCache(tmp_path / "cache")
    uncached = _synced(media, subs, truth, False)
    cold = _synced(media, subs, truth, cache)
    assert len(decodes) == 2 and len(list((tmp_path / "cache").glob("*.npz"))) == 1
    warm = _synced(media, subs, truth, cache)
    assert len(decodes) == 2  # the warm run read the analysis, not the media (a short one: load_audio)
    assert uncached == cold == warm
    other = tmp_path / "other.srt"  # a second subtitle of the same media: a hit as well
    other.write_bytes(distorted_srt(truth, 1.0, -1.4))
    assert api.sync(media, other, model=replay_listener(script(truth)), cache=cache).time_map.offset_s == (
        pytest.approx(1.4, abs=0.05)
    )
    assert len(decodes) == 2
    if part_min_s < 600.0:
        assert parts == [4, 4]  # (the uncached run's decode and the cold one's, in four parts)


def test_a_copy_hits_and_a_changed_file_misses(episode, tmp_path, monkeypatch):
    media = episode[0]
    cache = MediaCache(tmp_path / "cache")
    analysis.analysed(media, None, cache)
    decodes = _decodes(monkeypatch)
    copy = tmp_path / "copy.wav"
    shutil.copyfile(media, copy)  # (a new modification time: the content is what counts)
    analysis.analysed(copy, None, cache)
    assert decodes == []
    changed = tmp_path / "changed.wav"
    data = bytearray(media.read_bytes())
    data[-1000:] = bytes(1000)  # the last 1000 bytes silenced: the same size
    changed.write_bytes(bytes(data))
    analysis.analysed(changed, None, cache)
    assert decodes == [changed]
    analysis.analysed(media, None, cache)  # (the original: still a hit)
    assert len(decodes) == 1


def test_the_fingerprint_samples_blocks_spread_over_a_large_file(tmp_path):
    """A large file is read in SAMPLED_BLOCKS blocks, not whole: a byte changed in a sampled
    block changes the digest, its size and time do not enter it."""
    path = tmp_path / "big.bin"
    size = SAMPLED_BLOCKS * BLOCK_BYTES * 4
    data = bytearray(np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes())
    path.write_bytes(bytes(data))
    before = fingerprint(path)
    os.utime(path, (1, 1))
    assert fingerprint(path).digest == before.digest and not before.same_stat(path)
    data[-1] ^= 0xFF  # the last block is always sampled
    path.write_bytes(bytes(data))
    assert fingerprint(path).digest != before.digest
    data.append(0)
    path.write_bytes(bytes(data))
    assert fingerprint(path).size == size + 1


def test_the_least_recently_used_entries_go_first(tmp_path):
    entry = {"speech": np.zeros(25_000, np.float32)}  # 100 kB each
    cache = MediaCache(tmp_path, max_bytes=350_000)
    for k, key in enumerate("abc"):
        cache.put(key, entry)
        os.utime(cache.folder / f"{key}.npz", (1000 + k, 1000 + k))
    assert cache.get("a") is not None  # used now: b is the least recently used
    cache.put("d", entry)
    assert sorted(p.stem for p in cache.folder.glob("*.npz")) == ["a", "c", "d"]
    assert cache.size_bytes <= 350_000


def test_a_damaged_entry_is_a_miss_and_goes(tmp_path):
    cache = MediaCache(tmp_path)
    cache.put("x", {"speech": np.ones(10, np.float32)})
    (tmp_path / "x.npz").write_bytes(b"PK\x03\x04 not a whole zip")
    assert cache.get("x") is None and not (tmp_path / "x.npz").exists()
    assert cache.get("never") is None
    with pytest.raises(ValueError):
        cache.get("../escape")


@pytest.mark.parametrize("offset, value", [(10, 99), (8, 1)], ids=["unknown compression", "encrypted"])
def test_an_entry_whose_zip_header_was_damaged_is_a_miss(tmp_path, offset, value):
    """A damaged central directory can name a compression method zipfile does not know
    (NotImplementedError) or claim encryption (RuntimeError): a miss, and the entry goes."""
    cache = MediaCache(tmp_path)
    cache.put("x", {"states": np.ones((1, 15, 8), np.float32)})
    data = bytearray((tmp_path / "x.npz").read_bytes())
    header = data.index(b"PK\x01\x02")  # the central directory's first file header
    data[header + offset] = value
    (tmp_path / "x.npz").write_bytes(bytes(data))
    assert cache.get("x") is None and not (tmp_path / "x.npz").exists()


def test_an_entry_that_is_not_an_analysis_is_decoded_again(episode, tmp_path, monkeypatch):
    media, _, _ = episode
    cache = MediaCache(tmp_path)
    first = analysis.analysed(media, None, cache)
    (entry,) = tmp_path.glob("*.npz")
    MediaCache(tmp_path).put(entry.stem, {"speech": np.zeros((2, 2), np.float32)})  # a wrong shape
    decodes = _decodes(monkeypatch)
    again = analysis.analysed(media, None, cache)
    assert len(decodes) == 1 and np.array_equal(again.speech, first.speech)


def test_a_cache_that_cannot_be_written_is_no_error(episode, tmp_path):
    media, subs, truth = episode
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache's folder should be")
    assert _synced(media, subs, truth, MediaCache(blocked / "media")) == _synced(media, subs, truth, False)


def _writer(folder: str, key: str, value: float, rounds: int) -> None:
    cache = MediaCache(folder)
    for _ in range(rounds):
        cache.put(key, {"speech": np.full(200_000, value, np.float32)})


def test_two_processes_writing_at_once_leave_whole_entries(tmp_path):
    """Two writers replace the same entry 30 times each while this process reads it: every
    read is one writer's whole entry (or none yet), never a mix or a part."""
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(tmp_path), "shared", value, 30)) for value in (1.0, 2.0)]
    for writer in writers:
        writer.start()
    cache, seen = MediaCache(tmp_path), set()
    deadline = time.monotonic() + 60
    while any(w.is_alive() for w in writers) and time.monotonic() < deadline:
        got = cache.get("shared")
        if got is not None:
            speech = got["speech"]
            assert speech.size == 200_000 and len(set(np.unique(speech))) == 1
            seen.add(float(speech[0]))
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert cache.get("shared") is not None and seen <= {1.0, 2.0}
    assert not [p for p in tmp_path.iterdir() if p.suffix != ".npz"]  # no temp file left


def test_the_language_detected_is_remembered_with_the_analysis(episode, monkeypatch):
    """A model's detection of the spoken language is kept beside the media's analysis: the
    next run on this media with this model does not detect it again (nor decode the audio
    it would detect from), and writes the same bytes."""
    from helpers import use_replay
    from subsync.core.hearing import Hearing
    from subsync.replay import ReplayListener

    media, subs, truth = episode
    use_replay(monkeypatch, script(truth))
    detections: list = []
    detect = ReplayListener.detect_language
    monkeypatch.setattr(  # (reading the pieces, as the Whisper listener does)
        ReplayListener, "detect_language", lambda self, pieces: detections.append(len(pieces)) or detect(self, pieces)
    )
    decoded: list = []
    voiced = Hearing._voiced_pieces
    monkeypatch.setattr(Hearing, "_voiced_pieces", lambda self: decoded.append(1) or voiced(self))
    first = api.sync(media, subs)
    again = api.sync(media, subs)
    assert len(detections) == 1 and detections[0] > 0 and first.to_bytes() == again.to_bytes()
    assert len(decoded) == 1  # the second run decoded no pieces for a language it remembered
    assert again.language == first.language == "en" and again.detected_language == "en"
    api.sync(media, subs, model="another")  # another model detects for itself
    api.sync(media, subs, cache=False)
    assert len(detections) == 3


def test_the_command_line_keeps_the_analysis_unless_told_not_to(episode, tmp_path, monkeypatch, media_cache):
    """``fix --no-cache`` leaves the cache as it was; ``fix`` keeps the media's analysis (and
    its detected language) there; both write the same bytes."""
    from helpers import invoke, use_replay

    media, subs, truth = episode
    use_replay(monkeypatch, script(truth))
    uncached, cached = tmp_path / "uncached.srt", tmp_path / "cached.srt"
    done = invoke("fix", media, subs, "-o", uncached, "--no-cache")
    assert done.returncode == 0, done.stderr
    assert list(media_cache.iterdir()) == []
    done = invoke("fix", media, subs, "-o", cached)
    assert done.returncode == 0, done.stderr
    assert len(list(media_cache.glob("*.npz"))) == 2  # the analysis, the language the model detected
    assert cached.read_bytes() == uncached.read_bytes()


@pytest.mark.model
def test_a_second_subtitle_of_the_same_cues_reads_the_windows_encoder_states(base_model, tmp_path, monkeypatch):
    """The sonnet reading synced from its mistimed subtitle, then from a copy of the same
    cues 1.7 s later (a re-download): the second run's windows hold the same samples, so it
    encodes none of them, and writes the same bytes as a run without the cache.  A kept
    entry of another shape, or one that cannot be read, is encoded again."""
    from pathlib import Path

    from subsync.cache import STATES_FOLDER
    from subsync.subtitles import parse_srt_bytes, read_srt, render_srt
    from subsync.whisper.listener import WhisperListener

    examples = Path(__file__).parent.parent / "examples"
    media, first = examples / "sonnet001.mp3", read_srt(examples / "sonnet001.mistimed.srt")
    second = parse_srt_bytes(render_srt(first, [(c.start_s + 1.7, c.end_s + 1.7) for c in first.cues]), "second.srt")
    encodes: list = []
    encode = base_model.encode
    monkeypatch.setattr(base_model, "encode", lambda mel: encodes.append(mel.shape[0]) or encode(mel))
    cache = MediaCache(tmp_path / "cache")
    api.sync(media, first, model=WhisperListener(base_model, cache.states()), cache=cache, language="en")
    kept = sorted((tmp_path / "cache" / STATES_FOLDER).glob("*.npz"))
    assert len(kept) == len(encodes) >= 2  # (one entry a window heard)
    encodes.clear()
    listener = WhisperListener(base_model, cache.states())
    warm = api.sync(media, second, model=listener, cache=cache, language="en")
    assert encodes == [] and listener.states_reused >= 2
    uncached = api.sync(media, second, model=WhisperListener(base_model), cache=False, language="en")
    assert warm.to_bytes() == uncached.to_bytes() and len(encodes) == listener.states_reused
    encodes.clear()
    MediaCache(kept[0].parent).put(kept[0].stem, {"states": np.zeros((1, 3, 4), np.float32)})  # another shape
    kept[1].write_bytes(b"PK\x03\x04 not a whole zip")
    again = api.sync(media, second, model=WhisperListener(base_model, cache.states()), cache=cache, language="en")
    assert again.to_bytes() == uncached.to_bytes() and len(encodes) == 2


@pytest.mark.model
def test_encoder_states_are_kept_by_the_samples_and_what_else_they_depend_on(base_model):
    """The key of a window's encoder states: the same samples give the same key, one sample
    changed another, and so does another thread count (torch may sum in another order)."""
    import torch

    samples = np.random.default_rng(3).normal(0.0, 0.1, 16000 * 5).astype(np.float32)
    key = base_model.states_key(samples)
    assert base_model.states_key(samples.copy()) == key
    changed = samples.copy()
    changed[123] += 1e-6
    assert base_model.states_key(changed) != key
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        assert base_model.states_key(samples) != key
    finally:
        torch.set_num_threads(threads)


def test_encoder_states_kept_on_one_processor_are_not_read_on_another(monkeypatch):
    """The states' key names the processor and the instruction set torch's kernels use
    (a shared SUBSYNC_HOME, a cluster's nodes): another gives another key."""
    from subsync.whisper import model

    here = model._cpu_identity()
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    assert model._cpu_identity() != here
