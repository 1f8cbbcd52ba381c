"""Errors that do not speak CLI below the CLI: the library raises errors that carry what
failed, with the values, in words that name no option; only the command line (cli.py and
its rendering module, render.py) turns them into advice about flags."""

from __future__ import annotations

import ast
import enum
import importlib
import pickle
import pkgutil
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import subsync
from helpers import JFK, JFK_TEXT, babble, dialogue_cues, srt_bytes, two_tracks, write_wav
from subsync import render
from subsync.cli import app
from subsync.cluster import ClusterAddressError, ClusterError, RayMissingError, connect
from subsync.errors import (
    AlignmentError,
    EnglishOnlyModelError,
    Int8NeedsCpuError,
    MissingExtraError,
    ModelError,
    ModelIsAFileError,
    NoCudaError,
    NoSpeechError,
    OffsetBeyondSearchError,
    RefusedError,
    SubsyncError,
)
from subsync.plot import check_available
from subsync.replay import ReplayListener
from subsync.whisper.model import BUNDLED_MODELS, resolve_model

PACKAGE = Path(subsync.__file__).resolve().parent
CLI_MODULES = {"subsync.cli", "subsync.render"}  # the command line's own: they may name options
FLAG = re.compile(r"--[a-z]")


def _flags(text: str) -> list[str]:
    return FLAG.findall(text)


def _cli(*args, **kwargs):
    """``subsync ARGS`` in this process (typer's runner): exit code, stdout and stderr apart."""
    return CliRunner().invoke(app, [str(arg) for arg in args], **kwargs)


def _error_line(result) -> str:
    """The one ``subsync: error:`` line the run ended with."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("subsync: error: "), result.stderr
    assert sum(line.startswith("subsync: error: ") for line in lines) == 1, result.stderr
    return lines[-1].removeprefix("subsync: error: ")


@pytest.fixture
def jfk_srt(tmp_path) -> Path:
    path = tmp_path / "jfk.srt"
    path.write_text(f"1\n00:00:02,800 --> 00:00:13,000\n{JFK_TEXT}\n")
    return path


def _dialogue(folder: Path, n: int, offset_s: float) -> tuple[Path, Path]:
    """Speech-like audio over ``n`` irregular cues (WAV) and their subtitle ``offset_s`` late,
    its text ("Hello 1", ...) never spoken."""
    cues = dialogue_cues(n)
    media = write_wav(folder / "dialogue.wav", babble(cues[-1][1] + 5.0, cues))
    subs = folder / "dialogue.srt"
    subs.write_bytes(srt_bytes(cues, offset_s))
    return media, subs


def _no_cuda() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")


# ---------------------------------------------------------------- the library's errors carry values


def test_a_silent_track_names_the_track_with_speech_as_a_value(tmp_path, jfk_srt):
    """The Python API: the refusal carries the other track's index and tag; its message
    says so in words, and names no option."""
    with pytest.raises(NoSpeechError) as raised:
        subsync.sync(two_tracks(tmp_path), jfk_srt, audio_track="0", fast=True)
    exc = raised.value
    assert (exc.speaking_track, exc.speaking_language) == (1, "eng")
    assert str(exc).endswith("; audio track 1 (eng) has speech") and not _flags(str(exc))
    assert isinstance(exc, RefusedError) and exc.exit_code == 3 and exc.result is None
    # The command line's words for the same error name the option.
    assert render.failure(exc).message == f"refused: {exc}: --audio-track 1; nothing written"


def test_the_cli_names_the_audio_track_option(tmp_path, jfk_srt):
    done = _cli("fix", two_tracks(tmp_path), jfk_srt, "-o", tmp_path / "out.srt", "--audio-track", "0", "--fast")
    assert done.exit_code == 3
    assert _error_line(done).endswith("; audio track 1 (eng) has speech: --audio-track 1; nothing written")
    assert not (tmp_path / "out.srt").exists()


def test_a_refusal_carries_the_detected_language(tmp_path):
    """Text not heard in a minute of speech whose language was detected: the refusal says
    which language the speech was taken for, and carries it; the command line alone says
    which option gives another."""
    media, subs = _dialogue(tmp_path, 14, offset_s=2.0)
    listener = ReplayListener([], language="en")
    with pytest.raises(RefusedError) as raised:
        subsync.sync(media, subs, model=listener)
    exc = raised.value
    assert exc.detected_language == "en" and exc.result.detected_language == "en"
    assert str(exc) == exc.result.refusal
    assert str(exc).endswith("(the speech was taken for language 'en')") and not _flags(str(exc))
    cli = render.failure(exc)
    assert cli.reason == str(exc)[:-1] + "; if it is another, give it with --language)"
    assert cli.message == f"refused: {cli.reason}; nothing written (--force writes it anyway)"
    # Forced, the result keeps the plain refusal; the summary words it for the command line.
    forced = subsync.sync(media, subs, model=listener, force=True)
    assert forced.refusal == str(exc) and forced.detected_language == "en"
    assert render.summary(forced).endswith(f"WRITTEN DESPITE THE SELF-CHECK (--force): {cli.reason}")
    # Given, the language is no guess: no note, no advice.
    with pytest.raises(RefusedError) as given:
        subsync.sync(media, subs, model=listener, language="en")
    assert given.value.detected_language is None and "taken for language" not in str(given.value)
    assert render.reason(given.value) == str(given.value)


def test_a_map_at_the_edge_of_the_search_carries_the_bound(tmp_path):
    """Subtitles 21 s late, offsets searched within 20 s, nothing heard: the error carries
    the bound searched and names the inputs; the command line says to raise --max-offset."""
    media, subs = _dialogue(tmp_path, 60, offset_s=21.0)
    with pytest.raises(OffsetBeyondSearchError) as raised:
        subsync.sync(media, subs, model=ReplayListener([]), max_offset_s=20.0, cuts=False)
    exc = raised.value
    assert isinstance(exc, AlignmentError)
    assert (exc.subs, exc.media, exc.max_offset_s) == (str(subs), str(media), 20.0)
    assert not _flags(str(exc)) and "(+-20 s)" in str(exc)
    assert render.reason(exc) == (
        f"{subs}: no line is heard in {media} within the searched offsets (+-20 s); "
        "if the subtitles are further off, raise --max-offset"
    )


@pytest.mark.model
def test_an_english_only_model_asked_for_french(tmp_path, jfk_srt):
    """tiny.en asked to hear French through the Python API: the error carries the model
    and the language; only the command line names --language."""
    with pytest.raises(EnglishOnlyModelError) as raised:
        subsync.sync(JFK, jfk_srt, model="tiny.en", device="cpu", language="fr")
    exc = raised.value
    assert isinstance(exc, ModelError) and (exc.model, exc.language) == ("tiny.en", "fr")
    assert str(exc) == "model tiny.en is English-only; language 'fr' needs a multilingual model such as base"
    done = _cli(
        "fix", JFK, jfk_srt, "-o", tmp_path / "out.srt", "--model", "tiny.en", "--language", "fr", "--device", "cpu"
    )
    assert done.exit_code == 1
    assert _error_line(done) == "model tiny.en is English-only; --language fr needs a multilingual model such as base"


def test_a_model_that_is_a_file(tmp_path):
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"\0")
    with pytest.raises(ModelIsAFileError) as raised:
        resolve_model(str(weights))
    exc = raised.value
    assert (exc.model, exc.bundled) == (str(weights), tuple(BUNDLED_MODELS)) and not _flags(str(exc))
    assert (
        render.reason(exc) == f"--model {weights} is a file; give a model directory, a hub id or one of: base, tiny.en"
    )


def test_cuda_asked_for_without_a_gpu(tmp_path, jfk_srt):
    _no_cuda()
    from subsync.whisper.model import WhisperModel

    with pytest.raises(NoCudaError) as raised:
        WhisperModel("tiny.en", device="cuda:1")
    exc = raised.value
    assert exc.device == "cuda:1" and str(exc) == "device 'cuda:1' was asked for, but torch sees no CUDA GPU"
    done = _cli("fix", JFK, jfk_srt, "-o", tmp_path / "out.srt", "--device", "cuda")
    assert done.exit_code == 1
    assert _error_line(done) == "--device cuda was asked for, but torch sees no CUDA GPU"


def test_int8_on_a_gpu():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from subsync.whisper.model import WhisperModel

    with pytest.raises(Int8NeedsCpuError) as raised:
        WhisperModel("tiny.en", device="cuda", int8=True)
    assert raised.value.device == "cuda" and not _flags(str(raised.value))
    assert render.reason(raised.value) == "int8 runs on the CPU only; use --device cpu or drop --int8"


def test_a_missing_plot_extra(monkeypatch, tmp_path, jfk_srt):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # not installed, as far as imports go
    with pytest.raises(MissingExtraError) as raised:
        check_available()
    exc = raised.value
    assert (exc.feature, exc.extra, exc.module) == ("drawing a plot", "plot", "matplotlib")
    assert str(exc) == "drawing a plot needs matplotlib: pip install 'subsync-whisper[plot]'"
    done = _cli("fix", JFK, jfk_srt, "-o", tmp_path / "out.srt", "--plot", tmp_path / "p.png")
    assert done.exit_code == 1
    assert _error_line(done) == "--plot needs matplotlib: pip install 'subsync-whisper[plot]'"
    assert not (tmp_path / "out.srt").exists()


def test_a_missing_ray_extra(monkeypatch, tmp_path, jfk_srt):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RayMissingError) as raised:
        connect("auto")
    exc = raised.value
    assert isinstance(exc, ClusterError) and isinstance(exc, MissingExtraError)  # either clause catches it
    assert (exc.extra, exc.module) == ("ray", "Ray") and not _flags(str(exc))
    (tmp_path / "a.flac").write_bytes(JFK.read_bytes())
    (tmp_path / "a.srt").write_bytes(jfk_srt.read_bytes())
    done = _cli("batch", tmp_path, "--ray", "auto")
    assert done.exit_code == 1
    assert _error_line(done) == "--ray needs Ray: pip install 'subsync-whisper[ray]'"


def test_a_cluster_address_that_is_none(tmp_path, jfk_srt):
    pytest.importorskip("ray")
    with pytest.raises(ClusterAddressError) as raised:
        connect("nowhere")
    assert raised.value.address == "nowhere" and not _flags(str(raised.value))
    (tmp_path / "a.flac").write_bytes(JFK.read_bytes())
    (tmp_path / "a.srt").write_bytes(jfk_srt.read_bytes())
    done = _cli("batch", tmp_path, "--ray", "::1:80")
    assert done.exit_code == 1
    assert _error_line(done) == "--ray: '::1:80' is not auto, host:port or ray://host[:port]"


def test_structured_errors_survive_pickling():
    """Errors cross process boundaries (worker processes, cluster actors) whole."""
    for exc in (
        EnglishOnlyModelError("tiny.en", "fr"),
        NoCudaError("cuda"),
        Int8NeedsCpuError("cuda:0"),
        MissingExtraError("drawing a plot", "plot", "matplotlib"),
        RayMissingError(),
        ClusterAddressError("nowhere"),
        OffsetBeyondSearchError("a.srt", "a.mkv", 20.0),
        NoSpeechError("a.mkv: no speech", speaking_track=2, speaking_language="fre"),
        ModelIsAFileError("m.bin", ("base",)),
    ):
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc) and vars(back) == vars(exc)


def test_the_batch_library_reports_the_librarys_words_and_the_cli_its_own(tmp_path, jfk_srt):
    """batch.run (the library) records a failed pair in the library's words; the command
    line's ``explain`` gives its own."""
    from subsync import batch

    movie = two_tracks(tmp_path)
    (tmp_path / "commentary.srt").write_bytes(jfk_srt.read_bytes())
    pairs = batch.find_pairs([tmp_path]).pairs
    synchronizer = subsync.Synchronizer(ReplayListener([]), audio_track="0", fast=True)

    def sync(pair, report):
        return synchronizer.sync(pair.media, pair.subs, progress=report)

    (plain,) = batch.run(pairs, sync)
    (worded,) = batch.run(pairs, sync, explain=render.failure)
    assert plain.pair.media == movie and plain.status == worded.status == "refused"
    assert not _flags(plain.message) and not _flags(plain.error)
    assert worded.message == plain.message + ": --audio-track 1"
    assert worded.error == f"refused: {worded.message}; nothing written"


# ---------------------------------------------------------------- no option named below the CLI


def _library_modules() -> dict[str, Path]:
    modules = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }
    return {name: path for name, path in modules.items() if name not in CLI_MODULES}


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _strings(node: ast.AST):
    for inner in ast.walk(node):
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            yield inner.lineno, inner.value


def message_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string literal in what a library error or refusal says, in
    source order: the arguments of ``raise``, of any exception built (``MediaError(...)``,
    returned to be raised), of an exception class's ``__init__`` (the message it builds),
    and the refusals the engine hands back (``refusal=...``)."""
    return sorted(set(_message_strings(tree)))


def _message_strings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            yield from _strings(node.exc)
        elif isinstance(node, ast.Call) and _called(node).endswith(("Error", "Exception")):
            yield from _strings(node)
        elif isinstance(node, ast.ClassDef) and any(
            name.endswith(("Error", "Exception"))
            for name in (
                node.name,
                *(base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "") for base in node.bases),
            )
        ):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    yield from _strings(item)
        elif (isinstance(node, ast.keyword) and node.arg == "refusal") or (
            isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "refusal" for t in node.targets)
        ):
            yield from _strings(node.value)


def test_the_check_finds_messages_and_a_flag_in_one():
    """The static check below reads the messages it means to (so it can fail)."""
    flagged = ast.parse(
        'def f(x):\n    raise ModelError(f"int8 runs on the CPU only; use --device cpu, not {x}")\n'
        "class E(SubsyncError):\n    def __init__(self, n):\n"
        '        super().__init__(f"give --audio-track {n}")\n'
        'def g():\n    return MediaError("try --fast")\n'
        'p = replace(p, refusal=f"(if it is another, give it with --language)")\n'
    )
    assert [_flags(text) for _, text in message_strings(flagged)] == [["--d"], ["--a"], ["--f"], ["--l"]]
    found = {text for path in _library_modules().values() for _, text in message_strings(ast.parse(path.read_text()))}
    for expected in (
        "is English-only; language ",
        "no speech detected in ",
        "(+-",
        " is not auto, host:port or ",
        " was asked for, but torch sees no CUDA GPU",
        "drawing a plot",
        "another episode, or no dialogue?",
    ):
        assert any(expected in text for text in found), expected


def test_no_library_message_names_an_option():
    """No error or refusal raised below the command line says ``--flag``: a Python caller
    is never told to pass one."""
    offending = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
        for path in _library_modules().values()
        for line, text in message_strings(ast.parse(path.read_text()))
        if _flags(text)
    ]
    assert not offending, "\n".join(offending)


def _literals(tree: ast.AST):
    """(line, text) of the string literals of a module that are values, not docstrings."""
    docstrings = {
        id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_library_value_names_an_option():
    """Broader than the messages: no string a library module computes with (a hint built
    apart and joined to a message later, an enum's value, a reason in the report) names
    an option; docstrings may."""
    assert _flags(" ".join(text for _, text in _literals(ast.parse('"""--doc"""\nx = "a --flag"\n')))) == ["--f"]
    offending = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
        for path in _library_modules().values()
        for line, text in _literals(ast.parse(path.read_text()))
        if _flags(text)
    ]
    assert not offending, "\n".join(offending)


def test_only_the_command_line_imports_its_rendering_module():
    for name, path in _library_modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported = {
                    node.module or "",
                    *(f"{node.module}.{a.name}" if node.module else a.name for a in node.names),
                }
                assert not any(m == "render" or m.endswith(".render") for m in imported), (name, imported)
            elif isinstance(node, ast.Import):
                assert not any(a.name == "subsync.render" for a in node.names), name


def test_no_enum_value_is_an_option():
    """Kinds of things (where a language came from, why a track was chosen...) are values a
    Python caller reads, and the JSON report prints: none is a flag."""
    members = []
    for info in pkgutil.walk_packages([str(PACKAGE)], "subsync."):
        if info.name == "subsync.__main__":  # (running it runs the command line)
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, enum.Enum) and value.__module__ == module.__name__:
                members += [(value.__name__, member.name, member.value) for member in value]
    assert any(name == "LanguageSource" for name, _, _ in members)
    assert not [m for m in members if isinstance(m[2], str) and _flags(m[2])], members
    from subsync.api import LanguageSource

    assert (LanguageSource.SPOKEN.value, LanguageSource.SUBS.value) == ("spoken", "subs")


def test_existing_handlers_still_catch():
    """The structured errors are the old ones' subclasses: ``except ModelError``,
    ``except RefusedError``, ``except AlignmentError``, ``except ClusterError`` and
    ``except SubsyncError`` catch them as before."""
    assert issubclass(EnglishOnlyModelError, ModelError) and issubclass(NoCudaError, ModelError)
    assert issubclass(Int8NeedsCpuError, ModelError) and issubclass(ModelIsAFileError, ModelError)
    assert issubclass(OffsetBeyondSearchError, AlignmentError) and issubclass(NoSpeechError, RefusedError)
    assert issubclass(ClusterAddressError, ClusterError) and issubclass(RayMissingError, ClusterError)
    assert all(issubclass(cls, SubsyncError) for cls in (MissingExtraError, ClusterError, RefusedError))
