"""Silero VAD, the ``silero-vad`` package's own weights, as a stateless differentiable module.

The packaged TorchScript model is a streaming object: it keeps the LSTM state and the
audio context of the last 32-ms chunk inside itself and is called chunk by chunk. DNNGrad
needs one clean graph from a second of waveform to every window's speech probability, so
the same computation is written here in plain PyTorch over the packaged weights (copied
from ``silero_vad.load_silero_vad()``; nothing is downloaded): the STFT, convolutional
encoder and output head run batched over all chunks of a segment, the LSTM cell over the
chunk sequence from a zero state, exactly as the packaged ``audio_forward`` does.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from oneadapt.errors import ConfigurationError, ModelError
from oneadapt.models.base import Model
from oneadapt.tasks.vad import SpeechProbabilities, VadTask

NAME = "silero-vad"
"""The ``--model`` name this loader answers to."""
CHUNK_SAMPLES = {16000: 512, 8000: 256}
"""Samples per decision window at each rate Silero supports: 32 ms either way."""
WINDOW_SECONDS = 0.032
MAGNITUDE_EPS = 1e-20
"""Added under the STFT magnitude's square root: its gradient is NaN at an all-zero frame
(digital silence, the padded tail) otherwise. 1e-12 already moves probabilities by 3e-4
on quiet input; 1e-20 leaves them where the packaged model puts them."""


class _RateNetwork(nn.Module):
    """One sample rate's network (Silero keeps separate weights for 16 and 8 kHz)."""

    def __init__(self, packaged: torch.jit.ScriptModule, chunk: int) -> None:
        super().__init__()
        stft = packaged.stft
        self.hop = int(stft.hop_length)
        self.cutoff = int(stft.filter_length) // 2 + 1
        self.context = int(packaged.context_size_samples)
        self.reflect = tuple(stft.padding.padding)  # (left, right) reflection padding
        padded = self.context + chunk + sum(self.reflect)
        self.steps = (padded - int(stft.filter_length)) // self.hop + 1
        """STFT time steps per window."""
        self.register_buffer("basis", stft.forward_basis_buffer.detach().clone())
        self.encoder = nn.ModuleList()
        for block in packaged.encoder.children():
            conv = block.reparam_conv
            out_channels, in_channels, kernel = conv.weight.shape
            layer = nn.Conv1d(
                in_channels, out_channels, kernel, stride=conv.stride, padding=conv.padding
            )
            layer.load_state_dict({"weight": conv.weight, "bias": conv.bias})
            self.encoder.append(layer)
        rnn = packaged.decoder.rnn
        self.lstm = nn.LSTM(rnn.weight_ih.shape[1], rnn.weight_hh.shape[1], batch_first=True)
        self.lstm.load_state_dict(
            {
                "weight_ih_l0": rnn.weight_ih,
                "weight_hh_l0": rnn.weight_hh,
                "bias_ih_l0": rnn.bias_ih,
                "bias_hh_l0": rnn.bias_hh,
            }
        )
        head = dict(packaged.decoder.named_parameters())
        self.head = nn.Linear(self.lstm.hidden_size, 1)
        self.head.load_state_dict(
            {"weight": head["decoder.2.weight"][:, :, 0], "bias": head["decoder.2.bias"]}
        )

    def spectrogram(self, chunks: torch.Tensor) -> torch.Tensor:
        """[B, W, C] chunks -> STFT magnitudes [B, bins, W * steps] (frequency by time): the
        network's first stage, blind to phase."""
        batch, windows, _ = chunks.shape
        tails = chunks[:, :-1, -self.context :]  # each chunk sees the end of the one before
        context = torch.cat([chunks.new_zeros(batch, 1, self.context), tails], 1)
        x = torch.cat([context, chunks], -1).reshape(batch * windows, -1)
        x = nn.functional.pad(x[:, None], self.reflect, mode="reflect")
        spectrum = nn.functional.conv1d(x, self.basis, stride=self.hop)
        real, imag = spectrum[:, : self.cutoff], spectrum[:, self.cutoff :]
        x = torch.sqrt(real**2 + imag**2 + MAGNITUDE_EPS)  # [B * W, bins, steps]
        return x.reshape(batch, windows, self.cutoff, -1).transpose(1, 2).flatten(2)

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """:meth:`spectrogram`'s [B, bins, W * steps] -> [B, W] speech probabilities."""
        batch = spectrogram.shape[0]
        windows = spectrogram.shape[-1] // self.steps
        x = spectrogram.reshape(batch, self.cutoff, windows, self.steps).transpose(1, 2)
        x = x.reshape(batch * windows, self.cutoff, self.steps)
        for layer in self.encoder:
            x = torch.relu(layer(x))
        features = x.mean(-1).reshape(batch, windows, -1)  # the encoder ends at one time step
        hidden, _ = self.lstm(features)
        return torch.sigmoid(self.head(torch.relu(hidden)))[..., 0]


class SileroVAD(nn.Module):
    """Speech probability per 32-ms window of mono audio at 16 or 8 kHz."""

    def __init__(self, packaged: torch.jit.ScriptModule, version: str) -> None:
        super().__init__()
        self.networks = nn.ModuleDict(
            {
                "16000": _RateNetwork(packaged._model, CHUNK_SAMPLES[16000]),
                "8000": _RateNetwork(packaged._model_8k, CHUNK_SAMPLES[8000]),
            }
        )
        self.eval().requires_grad_(False)  # frozen: DNNGrad wants input gradients only
        digest = hashlib.sha256()
        for tensor in self.state_dict().values():
            digest.update(tensor.numpy().tobytes())
        self.id = f"{NAME}-{version}-{digest.hexdigest()[:12]}"
        """Stable identity (family, package version, weights hash) for cached results."""

    def forward(self, audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Differentiable: float audio [B, N] in -1..1 -> probabilities [B, ceil(N / chunk)];
        a partial last window is zero-padded, as the packaged model does."""
        return self.from_spectrogram(self.spectrogram(audio, sample_rate))

    def spectrogram(self, audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """The first stage: float audio [B, N] -> STFT magnitudes [B, bins, steps] of the
        network for ``sample_rate`` (129 bins at 16 kHz, 65 at 8 kHz; 4 steps a window)."""
        if sample_rate not in CHUNK_SAMPLES:
            raise ConfigurationError(
                f"Silero VAD runs at {sorted(CHUNK_SAMPLES)} Hz, not {sample_rate}.",
                "Resample the audio to 16000 or 8000 Hz.",
            )
        chunk = CHUNK_SAMPLES[sample_rate]
        pad = -audio.shape[-1] % chunk
        chunks = nn.functional.pad(audio, (0, pad)).reshape(audio.shape[0], -1, chunk)
        return self.networks[str(sample_rate)].spectrogram(chunks)

    def from_spectrogram(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """The rest: :meth:`spectrogram`'s magnitudes -> probabilities [B, W] (the number of
        bins says which rate's network made them)."""
        (network,) = [n for n in self.networks.values() if n.cutoff == spectrogram.shape[1]]
        return network(spectrogram)

    def infer(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Probabilities [W] for one float32 mono signal, without gradients."""
        with torch.no_grad():
            audio = torch.from_numpy(np.ascontiguousarray(samples, np.float32))[None]
            return self.forward(audio, sample_rate)[0].numpy()


class SileroVadModel(Model[SpeechProbabilities]):
    """Silero VAD behind the :class:`Model` interface: one item is one second of decoded
    audio at the coded rate, so an item's length is its sample rate, and the network of
    that rate runs on it (the 8 kHz one on narrowband audio).

    Its input tensor is the STFT magnitude spectrogram (the network's first, fixed stage),
    not the waveform: the codec changes the phase of what it codes far more than its
    magnitudes, and the VAD sees magnitudes only, so InputGrad against the waveform counts
    changes the VAD cannot see (gradcheck on real speech: the waveform estimate put accuracy
    changes at 9-15 times the measured ones)."""

    modality = "audio"
    output_type = SpeechProbabilities

    def __init__(self, vad: SileroVAD) -> None:
        self.vad = vad
        self.id = vad.id

    def task(self, classes: Sequence[str] | None = None) -> VadTask:
        """Voice activity (it has no classes to choose)."""
        return VadTask()

    def input_tensor(self, items: Sequence[np.ndarray]) -> torch.Tensor:
        """Seconds of float32 samples -> spectrograms [N, 1, bins, steps] (frequency by time:
        the DNNGrad map is a picture of it)."""
        audio = torch.from_numpy(np.stack([np.asarray(a, np.float32) for a in items]))
        with torch.no_grad():
            return self.vad.spectrogram(audio, int(audio.shape[-1]))[:, None]

    def forward(self, x: torch.Tensor) -> list[SpeechProbabilities]:
        return [SpeechProbabilities(p) for p in self.vad.from_spectrogram(x[:, 0])]


def load_silero_vad() -> SileroVAD:
    """The packaged Silero VAD weights (``pip install silero-vad``), made differentiable."""
    try:
        import silero_vad
    except ModuleNotFoundError:
        raise ModelError(
            "the silero-vad package is not installed.", "Run `pip install silero-vad`."
        ) from None
    with warnings.catch_warnings():  # the package's importlib and torch.jit.load deprecations
        warnings.simplefilter("ignore", DeprecationWarning)
        packaged = silero_vad.load_silero_vad()
    return SileroVAD(packaged, silero_vad.__version__)
