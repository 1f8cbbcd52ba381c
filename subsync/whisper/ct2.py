"""Read CTranslate2 Whisper checkpoints (faster-whisper format) into a transformers state dict.

The CTranslate2 binary (``model.bin``, format version 6) is a flat list of named tensors.
Whisper's layout there differs from transformers' in three ways, undone here:
self-attention ``linear_0`` is q|k|v fused, cross-attention ``linear_0`` is q and ``linear_1``
is k|v fused, and the output projection is an alias of the token embeddings.
Pure numpy: torch is only needed by the caller that builds the model.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError

SUPPORTED_BINARY_VERSIONS = (5, 6)

# CTranslate2 DataType enum -> numpy dtype (bfloat16 is read as raw uint16 and widened).
_DTYPES: dict[int, type[np.generic] | str] = {
    0: np.float32,
    1: np.int8,
    2: np.int16,
    3: np.int32,
    4: np.float16,
    5: "bfloat16",
}


@dataclass(frozen=True)
class WhisperDims:
    """The shape of a Whisper model, read off its tensors."""

    n_mels: int
    d_model: int
    encoder_layers: int
    decoder_layers: int
    encoder_heads: int
    decoder_heads: int
    ffn_dim: int
    vocab_size: int
    max_source_positions: int
    max_target_positions: int


def read_ct2_variables(data: bytes) -> dict[str, np.ndarray]:
    """Parse a CTranslate2 ``model.bin`` into ``{name: array}``, aliases resolved."""
    reader = _Reader(data)
    version = reader.u32()
    if version not in SUPPORTED_BINARY_VERSIONS:
        raise ModelError(f"unsupported CTranslate2 model format version {version}")
    spec_name = reader.string()
    if spec_name != "WhisperSpec":
        raise ModelError(f"CTranslate2 model is a {spec_name or 'unnamed spec'}, not a Whisper model")
    reader.u32()  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.u32()):
        name = reader.string()
        shape = tuple(reader.u32() for _ in range(reader.u8()))
        dtype_id = reader.u8()
        raw = reader.bytes(reader.u32())
        variables[name] = _to_array(raw, dtype_id, shape, name)
    for _ in range(reader.u32()):
        alias, target = reader.string(), reader.string()
        variables[alias] = variables[target]
    if reader.remaining():
        raise ModelError("CTranslate2 model file has trailing bytes; it is corrupt")
    return variables


def _to_array(raw: bytes, dtype_id: int, shape: tuple[int, ...], name: str) -> np.ndarray:
    dtype = _DTYPES.get(dtype_id)
    if dtype is None:
        raise ModelError(f"CTranslate2 variable {name} has unknown data type {dtype_id}")
    if dtype == "bfloat16":
        widened = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
        return widened.view(np.float32).reshape(shape)
    array = np.frombuffer(raw, dtype=np.dtype(dtype))
    if array.size != int(np.prod(shape, dtype=np.int64)):
        raise ModelError(f"CTranslate2 variable {name} has {array.size} values for shape {shape}")
    return array.reshape(shape)


class _Reader:
    """Little-endian cursor over the model file with bounds checks."""

    def __init__(self, data: bytes):
        self._data = data
        self._offset = 0

    def bytes(self, n: int) -> bytes:
        end = self._offset + n
        if end > len(self._data):
            raise ModelError("CTranslate2 model file is truncated")
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk

    def u8(self) -> int:
        return self.bytes(1)[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.bytes(4))[0]

    def string(self) -> str:
        (length,) = struct.unpack("<H", self.bytes(2))
        return self.bytes(length).rstrip(b"\0").decode("utf-8")

    def remaining(self) -> int:
        return len(self._data) - self._offset


def whisper_dims(variables: dict[str, np.ndarray]) -> WhisperDims:
    """Model hyper-parameters from tensor shapes and the stored head counts."""
    vocab_size, d_model = variables["decoder/embeddings/weight"].shape
    return WhisperDims(
        n_mels=variables["encoder/conv1/weight"].shape[1],
        d_model=d_model,
        encoder_layers=_count_layers(variables, "encoder"),
        decoder_layers=_count_layers(variables, "decoder"),
        encoder_heads=int(variables["encoder/num_heads"]),
        decoder_heads=int(variables["decoder/num_heads"]),
        ffn_dim=variables["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        vocab_size=vocab_size,
        max_source_positions=variables["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=variables["decoder/position_encodings/encodings"].shape[0],
    )


def _count_layers(variables: dict[str, np.ndarray], side: str) -> int:
    pattern = re.compile(rf"^{side}/layer_(\d+)/")
    return len({m.group(1) for m in map(pattern.match, variables) if m})


def to_transformers_state_dict(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename and split CTranslate2 Whisper tensors into ``WhisperForConditionalGeneration`` keys."""
    dims = whisper_dims(variables)
    state: dict[str, np.ndarray] = {}
    for name in ("conv1", "conv2"):
        state[f"model.encoder.{name}.weight"] = variables[f"encoder/{name}/weight"]
        state[f"model.encoder.{name}.bias"] = variables[f"encoder/{name}/bias"]
    state["model.encoder.embed_positions.weight"] = variables["encoder/position_encodings/encodings"]
    _copy_norm(state, variables, "model.encoder.layer_norm", "encoder/layer_norm")
    for i in range(dims.encoder_layers):
        src, dst = f"encoder/layer_{i}", f"model.encoder.layers.{i}"
        _copy_self_attention(state, variables, dst, src)
        _copy_ffn(state, variables, dst, src)

    state["model.decoder.embed_tokens.weight"] = variables["decoder/embeddings/weight"]
    state["model.decoder.embed_positions.weight"] = variables["decoder/position_encodings/encodings"]
    _copy_norm(state, variables, "model.decoder.layer_norm", "decoder/layer_norm")
    for i in range(dims.decoder_layers):
        src, dst = f"decoder/layer_{i}", f"model.decoder.layers.{i}"
        _copy_self_attention(state, variables, dst, src)
        _copy_fused_attention(state, variables, f"{dst}.encoder_attn", f"{src}/attention", cross=True)
        _copy_norm(state, variables, f"{dst}.encoder_attn_layer_norm", f"{src}/attention/layer_norm")
        _copy_ffn(state, variables, dst, src)
    return state


def _copy_self_attention(state: dict, variables: dict, dst: str, src: str) -> None:
    """A layer's self-attention and its layer norm (encoder and decoder alike)."""
    _copy_fused_attention(state, variables, f"{dst}.self_attn", f"{src}/self_attention", cross=False)
    _copy_norm(state, variables, f"{dst}.self_attn_layer_norm", f"{src}/self_attention/layer_norm")


def _copy_norm(state: dict, variables: dict, dst: str, src: str) -> None:
    state[f"{dst}.weight"] = variables[f"{src}/gamma"]
    state[f"{dst}.bias"] = variables[f"{src}/beta"]


def _copy_ffn(state: dict, variables: dict, dst: str, src: str) -> None:
    _copy_norm(state, variables, f"{dst}.final_layer_norm", f"{src}/ffn/layer_norm")
    for ct2_name, hf_name in (("linear_0", "fc1"), ("linear_1", "fc2")):
        state[f"{dst}.{hf_name}.weight"] = variables[f"{src}/ffn/{ct2_name}/weight"]
        state[f"{dst}.{hf_name}.bias"] = variables[f"{src}/ffn/{ct2_name}/bias"]


def _copy_fused_attention(state: dict, variables: dict, dst: str, src: str, cross: bool) -> None:
    """Split fused projections; the key projection has no bias in Whisper (CT2 stores zeros)."""
    if cross:
        q_w, q_b = variables[f"{src}/linear_0/weight"], variables[f"{src}/linear_0/bias"]
        k_w, v_w = np.split(variables[f"{src}/linear_1/weight"], 2, axis=0)
        _, v_b = np.split(variables[f"{src}/linear_1/bias"], 2, axis=0)
        out = "linear_2"
    else:
        q_w, k_w, v_w = np.split(variables[f"{src}/linear_0/weight"], 3, axis=0)
        q_b, _, v_b = np.split(variables[f"{src}/linear_0/bias"], 3, axis=0)
        out = "linear_1"
    state[f"{dst}.q_proj.weight"], state[f"{dst}.q_proj.bias"] = q_w, q_b
    state[f"{dst}.k_proj.weight"] = k_w
    state[f"{dst}.v_proj.weight"], state[f"{dst}.v_proj.bias"] = v_w, v_b
    state[f"{dst}.out_proj.weight"] = variables[f"{src}/{out}/weight"]
    state[f"{dst}.out_proj.bias"] = variables[f"{src}/{out}/bias"]


def read_ct2_model(model_bin: Path | bytes) -> tuple[WhisperDims, dict[str, np.ndarray]]:
    """Dims and transformers state dict of a CTranslate2 Whisper ``model.bin`` (path or bytes)."""
    data = model_bin if isinstance(model_bin, bytes) else Path(model_bin).read_bytes()
    variables = read_ct2_variables(data)
    return whisper_dims(variables), to_transformers_state_dict(variables)
