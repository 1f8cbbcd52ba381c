"""Whisper's network in plain torch: the encoder, and the decoder teacher-forced over a window.

The layers, weight names and arithmetic are those of transformers' Whisper (the checkpoints
subsync converts and the hub's are in its layout), without importing transformers at run
time: that import pulls in torch.distributed, torch._dynamo and sympy, about 2.3 s of a
4.5 s model load on 2 cores (benchmarks/README.md, "Where the time goes").  Only what
alignment needs is here: no generation, no key-value cache, no training.  A test holds the
outputs to transformers' on the same weights.

Shapes: ``batch`` windows, ``frames`` = 1500 encoder frames a window, ``tokens`` the text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

ENGLISH_ONLY_VOCAB = 51864  # a multilingual vocabulary has 51865 tokens or more
FLOAT16_LIMIT = 65504.0 - 1000.0  # encoder states clamped here in float16, as transformers does


@dataclass(frozen=True)
class Dims:
    """A checkpoint's sizes, from its transformers ``config.json``."""

    n_mels: int
    d_model: int
    encoder_layers: int
    encoder_heads: int
    decoder_layers: int
    decoder_heads: int
    encoder_ffn: int
    decoder_ffn: int
    n_audio_ctx: int  # encoder positions (1500)
    n_text_ctx: int  # decoder positions (448)
    vocab_size: int

    @classmethod
    def from_config(cls, config: dict) -> Dims:
        """The sizes of a transformers Whisper ``config.json``; ValueError for one this
        network does not run (another activation, an output projection of its own)."""
        missing = [key for key in _CONFIG_KEYS.values() if key not in config]
        if missing:
            raise ValueError(f"config.json has no {missing[0]}: not a transformers Whisper checkpoint")
        if config.get("activation_function", "gelu") != "gelu":
            raise ValueError(f"activation {config['activation_function']}: Whisper's network is gelu")
        if not config.get("tie_word_embeddings", True):
            raise ValueError("an untied output projection (tie_word_embeddings false) is not Whisper's")
        return cls(**{field: int(config[key]) for field, key in _CONFIG_KEYS.items()})


_CONFIG_KEYS = {  # Dims field: its config.json key
    "n_mels": "num_mel_bins",
    "d_model": "d_model",
    "encoder_layers": "encoder_layers",
    "encoder_heads": "encoder_attention_heads",
    "decoder_layers": "decoder_layers",
    "decoder_heads": "decoder_attention_heads",
    "encoder_ffn": "encoder_ffn_dim",
    "decoder_ffn": "decoder_ffn_dim",
    "n_audio_ctx": "max_source_positions",
    "n_text_ctx": "max_target_positions",
    "vocab_size": "vocab_size",
}


def _embedding(n: int, dim: int) -> nn.Embedding:
    """An embedding whose weights are left unset, for the checkpoint's: drawing them (normal_)
    on the meta device imports torch._dynamo, a second of the load."""
    return nn.Embedding(n, dim, _weight=torch.empty(n, dim))


class Attention(nn.Module):
    """Multi-head attention; the query is scaled before the product, as Whisper trained it."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.scaling = self.head_dim**-0.5
        self.k_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_model)
        self.q_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(
        self, x: torch.Tensor, source: torch.Tensor | None = None, causal: bool = False, weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (batch, n, d_model) queries; source: (batch, m, d_model) keys and values (x if None).
        Returns (batch, n, d_model) and, with ``weights``, the (batch, heads, n, m) attention."""
        source = x if source is None else source
        q = self._heads(self.q_proj(x) * self.scaling)  # (batch, heads, n, head_dim)
        k = self._heads(self.k_proj(source))  # (batch, heads, m, head_dim)
        v = self._heads(self.v_proj(source))
        probs = None
        if weights:  # the explicit product, to return the attention (sdpa differs in the last bits)
            logits = torch.matmul(q, k.transpose(2, 3))  # (batch, heads, n, m)
            if causal:
                n = logits.shape[-1]
                future = torch.ones(n, n, dtype=torch.bool, device=x.device).triu(1)
                logits = logits.masked_fill(future, torch.finfo(logits.dtype).min)
            probs = logits.softmax(dim=-1)
            out = torch.matmul(probs, v)
        else:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=causal and q.shape[2] > 1, scale=1.0)
        out = out.transpose(1, 2).reshape(*x.shape[:-1], -1)  # (batch, n, d_model)
        return self.out_proj(out), probs

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], -1, self.n_heads, self.head_dim).transpose(1, 2).contiguous()


class EncoderLayer(nn.Module):
    def __init__(self, d_model: int, n_heads: int, ffn: int) -> None:
        super().__init__()
        self.self_attn = Attention(d_model, n_heads)
        self.self_attn_layer_norm = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, ffn)
        self.fc2 = nn.Linear(ffn, d_model)
        self.final_layer_norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.self_attn_layer_norm(x))[0]
        x = x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))
        return x.clamp(-FLOAT16_LIMIT, FLOAT16_LIMIT) if x.dtype == torch.float16 else x


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, n_heads: int, ffn: int) -> None:
        super().__init__()
        self.self_attn = Attention(d_model, n_heads)
        self.self_attn_layer_norm = nn.LayerNorm(d_model)
        self.encoder_attn = Attention(d_model, n_heads)
        self.encoder_attn_layer_norm = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, ffn)
        self.fc2 = nn.Linear(ffn, d_model)
        self.final_layer_norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, audio: torch.Tensor, weights: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (batch, tokens, d_model); audio: (batch, frames, d_model). With ``weights``, also
        the cross-attention (batch, heads, tokens, frames)."""
        x = x + self.self_attn(self.self_attn_layer_norm(x), causal=True, weights=weights)[0]
        attended, cross = self.encoder_attn(self.encoder_attn_layer_norm(x), audio, weights=weights)
        x = x + attended
        return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x)))), cross


class Encoder(nn.Module):
    def __init__(self, dims: Dims) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(dims.n_mels, dims.d_model, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(dims.d_model, dims.d_model, kernel_size=3, stride=2, padding=1)
        self.embed_positions = _embedding(dims.n_audio_ctx, dims.d_model)
        self.layers = nn.ModuleList(
            EncoderLayer(dims.d_model, dims.encoder_heads, dims.encoder_ffn) for _ in range(dims.encoder_layers)
        )
        self.layer_norm = nn.LayerNorm(dims.d_model)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel: (batch, n_mels, 3000) -> (batch, 1500, d_model)."""
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).permute(0, 2, 1)  # (batch, frames, d_model)
        x = x + self.embed_positions.weight
        for layer in self.layers:
            x = layer(x)
        return self.layer_norm(x)


class Decoder(nn.Module):
    def __init__(self, dims: Dims) -> None:
        super().__init__()
        self.embed_tokens = _embedding(dims.vocab_size, dims.d_model)
        self.embed_positions = _embedding(dims.n_text_ctx, dims.d_model)
        self.layers = nn.ModuleList(
            DecoderLayer(dims.d_model, dims.decoder_heads, dims.decoder_ffn) for _ in range(dims.decoder_layers)
        )
        self.layer_norm = nn.LayerNorm(dims.d_model)

    def forward(
        self, tokens: torch.Tensor, audio: torch.Tensor, cross_layers: frozenset[int] = frozenset()
    ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """tokens: (batch, n) ids; audio: (batch, frames, d_model).  Returns the (batch, n,
        d_model) hidden states and, for each layer in ``cross_layers``, its cross-attention
        (batch, heads, n, frames)."""
        x = self.embed_tokens(tokens) + self.embed_positions.weight[: tokens.shape[1]]
        explicit = bool(cross_layers)  # every layer alike, as the measured listener ran (see Attention)
        crosses = {}
        for index, layer in enumerate(self.layers):
            x, cross = layer(x, audio, weights=explicit)
            if index in cross_layers and cross is not None:
                crosses[index] = cross
        return self.layer_norm(x), crosses


class _EncoderDecoder(nn.Module):  # (the checkpoint's "model." prefix)
    def __init__(self, dims: Dims) -> None:
        super().__init__()
        self.encoder = Encoder(dims)
        self.decoder = Decoder(dims)


class Whisper(nn.Module):
    """Encoder, decoder and the output projection (tied to the token embedding)."""

    def __init__(self, dims: Dims) -> None:
        super().__init__()
        self.dims = dims
        self.model = _EncoderDecoder(dims)
        self.proj_out = nn.Linear(dims.d_model, dims.vocab_size, bias=False)
        self.proj_out.weight = self.model.decoder.embed_tokens.weight

    @property
    def multilingual(self) -> bool:
        return self.dims.vocab_size > ENGLISH_ONLY_VOCAB


def load(directory: Path, device: str, dtype: torch.dtype) -> Whisper:
    """The network of a transformers-layout Whisper checkpoint (``config.json`` and
    ``model.safetensors``, sharded or not, or ``pytorch_model.bin``), in eval mode."""
    dims = Dims.from_config(json.loads((directory / "config.json").read_text()))
    with torch.device("meta"):  # no storage and no random weights: every one is assigned below
        network = Whisper(dims)
    state = {name: tensor.to(dtype) for name, tensor in _weights(directory).items()}
    state.setdefault("proj_out.weight", state["model.decoder.embed_tokens.weight"])
    missing, unexpected = network.load_state_dict(state, strict=False, assign=True)
    if missing:
        raise ValueError(f"the checkpoint lacks {', '.join(missing[:3])}")
    del unexpected  # (a checkpoint may carry more, e.g. an unused classifier head)
    network.proj_out.weight = network.model.decoder.embed_tokens.weight  # (tied again: assign replaced both)
    return network.to(device).eval()


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    """Every tensor of the checkpoint, by transformers name."""
    from safetensors.torch import load_file

    single = directory / "model.safetensors"
    if single.is_file():
        return load_file(single)
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return {name: tensor for shard in shards for name, tensor in load_file(directory / shard).items()}
    legacy = directory / "pytorch_model.bin"
    if legacy.is_file():
        return torch.load(legacy, map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"{directory} has no model.safetensors or pytorch_model.bin")
