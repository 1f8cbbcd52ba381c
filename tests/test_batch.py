"""Batch folders: pairing by name, outputs, and going on past a broken pair."""

from __future__ import annotations

from pathlib import Path

import pytest

from subsync import batch
from subsync.errors import MediaError, RefusedError


@pytest.mark.parametrize(
    "name, ok",
    [
        ("Show.S01E02.srt", True),
        ("Show.S01E02.en.srt", True),
        ("Show.S01E02.eng.forced.srt", True),
        ("Show.S01E02.pt-BR.sdh.vtt", True),
        ("Show.S01E02.ass", True),
        ("Show.S01E02.en.txt", False),
        ("Show.S01E03.srt", False),
        ("Show.S01E020.srt", False),
        ("Show.S01E02.a.b.c.d.srt", False),
        ("Show.S01E02.director's cut.srt", False),
    ],
)
def test_subtitle_names_that_belong_to_a_media_file(name, ok):
    assert batch.subtitle_matches("Show.S01E02", name) is ok


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"")


def test_find_pairs_by_name_longest_media_first_and_outputs_left_out(tmp_path):
    _touch(
        tmp_path,
        "Show.S01E01.mkv",
        "Show.S01E01.en.srt",
        "Show.S01E01.fr.srt",
        "Show.S01E01.en.synced.srt",
        "Show.S01E02.mp4",
        "Show.S01E02.part2.mp4",
        "Show.S01E02.part2.srt",
        "Lonely.srt",
        "NoSubs.avi",
        "Season 2/Show.S02E01.mkv",
        "Season 2/Show.S02E01.eng.forced.srt",
    )
    flat = batch.find_pairs([tmp_path])
    assert sorted((p.media.name, p.subs.name) for p in flat.pairs) == [
        ("Show.S01E01.mkv", "Show.S01E01.en.srt"),
        ("Show.S01E01.mkv", "Show.S01E01.fr.srt"),
        ("Show.S01E02.part2.mp4", "Show.S01E02.part2.srt"),
    ]
    assert [p.name for p in flat.unpaired_subs] == ["Lonely.srt"]
    assert sorted(p.name for p in flat.media_without_subs) == ["NoSubs.avi", "Show.S01E02.mp4"]
    deep = batch.find_pairs([tmp_path], recursive=True)
    assert ("Show.S02E01.mkv", "Show.S02E01.eng.forced.srt") in [(p.media.name, p.subs.name) for p in deep.pairs]


def test_outputs_next_to_the_inputs_or_mirrored_under_out_dir(tmp_path):
    pair = batch.Pair(tmp_path / "S2" / "Ep.mkv", tmp_path / "S2" / "Ep.en.srt", tmp_path)
    assert batch.output_for(pair) == tmp_path / "S2" / "Ep.en.synced.srt"
    assert batch.output_for(pair, ".fixed", tmp_path / "out", "vtt") == tmp_path / "out" / "S2" / "Ep.en.fixed.vtt"


class _Result:
    def __init__(self, log):
        self.log = log

    def save(self, path, kind=None):
        Path(path).write_text("synced")
        self.log.append(path)

    def header(self):
        return {"offset_s": 1.0, "scale": 1.0, "cuts": [], "counts": {"retimed": 2}}

    def report(self):
        return {**self.header(), "lines": []}


def test_run_goes_on_past_broken_and_refused_pairs_and_skips_finished_ones(tmp_path):
    _touch(tmp_path, "a.mkv", "a.srt", "b.mkv", "b.srt", "c.mkv", "c.srt", "d.mkv", "d.srt", "d.synced.srt")
    pairs = batch.find_pairs([tmp_path]).pairs
    written = []

    def fake_sync(pair, progress):
        progress("aligning lines", 1, 2)
        if pair.media.name == "b.mkv":
            raise MediaError("b.mkv: no audio stream")
        if pair.media.name == "c.mkv":
            raise RefusedError("c.srt: no line of it is heard")
        return _Result(written)

    seen = []
    outcomes = list(
        batch.run(
            pairs, fake_sync, skip_existing=True, progress=lambda k, pair, stage, done, total: seen.append((k, stage))
        )
    )
    assert [(o.pair.media.name, o.status) for o in outcomes] == [
        ("a.mkv", "synced"),
        ("b.mkv", "failed"),
        ("c.mkv", "refused"),
        ("d.mkv", "skipped"),
    ]
    assert outcomes[1].message == "b.mkv: no audio stream"
    assert written == [tmp_path / "a.synced.srt"] and not (tmp_path / "b.synced.srt").exists()
    assert (0, "aligning lines") in seen
    record = outcomes[0].record()
    assert record["status"] == "synced" and record["offset_s"] == 1.0 and "lines" not in record


def test_a_video_wins_over_an_audio_track_of_the_same_name_and_clashing_outputs_are_found(tmp_path):
    _touch(tmp_path, "Movie.mka", "Movie.mkv", "Movie.srt", "Movie.ass")
    found = batch.find_pairs([tmp_path])
    assert {p.media.name for p in found.pairs} == {"Movie.mkv"}
    assert [p.name for p in found.media_without_subs] == ["Movie.mka"]
    assert batch.collisions(found.pairs) == []
    assert len(batch.collisions(found.pairs, kind="vtt")) == 1  # both would be Movie.synced.vtt


def test_one_naming_rule_for_fix_and_batch(tmp_path):
    """fix's default output (SUBS.synced.EXT) and batch's (--suffix, --out-dir) are one rule."""
    assert batch.output_path(tmp_path / "movie.en.srt") == tmp_path / "movie.en.synced.srt"
    assert batch.output_path(tmp_path / "movie.en.srt", kind="ass") == tmp_path / "movie.en.synced.ass"
    assert batch.output_path(tmp_path / "movie") == tmp_path / "movie.synced.srt"
    pair = batch.Pair(tmp_path / "S2" / "Ep.mkv", tmp_path / "S2" / "Ep.vtt", tmp_path)
    assert batch.output_for(pair, ".x", tmp_path / "out") == batch.output_path(
        pair.subs, ".x", None, tmp_path / "out", tmp_path
    )


def test_batch_table_and_json_lines_report(tmp_path):
    import json

    from subsync import render

    a = batch.Pair(tmp_path / "a.mkv", tmp_path / "a.srt", tmp_path)
    b = batch.Pair(tmp_path / "b.mkv", tmp_path / "b.srt", tmp_path)
    outcomes = [
        batch.Outcome(
            a,
            tmp_path / "a.synced.srt",
            "synced",
            "",
            1.25,
            {"offset_s": -2.5, "scale": 1.0, "cuts": [], "counts": {"retimed": 3}},
        ),
        batch.Outcome(b, tmp_path / "b.synced.srt", "failed", "b.srt: not an SRT file", 0.5),
    ]
    found = batch.Found((a, b), (tmp_path / "Extras.srt",), ())
    lines = render.batch_table(outcomes, found)
    assert lines[0].split() == ["status", "subtitle", "offset", "drift", "cuts", "re-timed", "time"]
    assert lines[1].split() == ["synced", str(a.subs), "-2.500", "s", "+0.000", "%", "0", "3", "1.2", "s"]
    assert lines[2].split() == ["failed", str(b.subs), "0.5", "s"]
    assert lines[3:] == [
        f"failed: {b.subs}: b.srt: not an SRT file",
        "1 synced, 0 skipped, 0 refused, 1 failed; 1 subtitle(s) without media",
    ]
    assert [o.exit_status for o in outcomes] == [0, 1]
    report = tmp_path / "new" / "folder" / "batch.jsonl"
    render.write_batch_report(report, outcomes)
    records = [json.loads(line) for line in report.read_text().splitlines()]
    assert [(r["status"], r["message"], r["seconds"]) for r in records] == [
        ("synced", "", 1.25),
        ("failed", "b.srt: not an SRT file", 0.5),
    ]
    assert records[0]["offset_s"] == -2.5 and "offset_s" not in records[1]


@pytest.mark.parametrize(
    "language, forced, sdh, kind, name",
    [
        ("eng", False, False, "srt", "movie.en.srt"),
        ("eng", True, False, "srt", "movie.en.forced.srt"),
        ("fre", False, True, "ass", "movie.fr.sdh.ass"),
        ("pt-BR", False, False, "vtt", "movie.pt.vtt"),
        ("tlh", False, False, "srt", "movie.tlh.srt"),
        (None, True, False, "srt", "movie.forced.srt"),
    ],
)
def test_sidecars_are_named_as_media_servers_read_them(tmp_path, language, forced, sdh, kind, name):
    assert batch.sidecar_path(tmp_path / "movie.mkv", language, forced, sdh, kind) == tmp_path / name
