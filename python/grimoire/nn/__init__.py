"""``grimoire.nn``: layers and models with PyTorch's names, on :mod:`grimoire.autograd` (primer 5).

Parameters, ``state_dict`` keys, shapes and gate orders are PyTorch's, so a PyTorch state_dict
converted to NumPy loads as it is and gives the same outputs.
"""

from __future__ import annotations

from . import functional
from .activation import GELU, Dropout, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, SwiGLU, Tanh
from .attention import KVCache, MultiheadAttention
from .blocks import BasicBlock, DenseBlock, DenseLayer
from .containers import ModuleDict, ModuleList, Sequential
from .conv import AvgPool2d, Conv2d, GlobalAvgPool2d, MaxPool2d
from .layers_ext import (
    ELU,
    AdaptiveAvgPool2d,
    BCELoss,
    Conv1d,
    ConvTranspose2d,
    GroupNorm,
    HuberLoss,
    KLDivLoss,
    LeakyReLU,
    Mish,
    SmoothL1Loss,
    Upsample,
)
from .linear import Embedding, Flatten, Identity, Linear
from .linear_attention import LinearAttention
from .loss import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HingeEmbeddingLoss,
    L1Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
)
from .module import Module, Parameter, load_safetensors, save_safetensors
from .moe import MoE
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm
from .perceptron import Perceptron
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .transformer import (
    GPT,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from .vit import ViT

__all__ = [
    "functional",
    "Module",
    "Parameter",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "Linear",
    "Identity",
    "Flatten",
    "Embedding",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "GELU",
    "SiLU",
    "SwiGLU",
    "Softmax",
    "LogSoftmax",
    "Dropout",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "RMSNorm",
    "RNN",
    "LSTM",
    "GRU",
    "MultiheadAttention",
    "LinearAttention",
    "LeakyReLU",
    "ELU",
    "Mish",
    "KLDivLoss",
    "BCELoss",
    "HuberLoss",
    "SmoothL1Loss",
    "AdaptiveAvgPool2d",
    "Upsample",
    "GroupNorm",
    "Conv1d",
    "ConvTranspose2d",
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "KVCache",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerDecoder",
    "GPT",
    "Transformer",
    "BasicBlock",
    "DenseLayer",
    "DenseBlock",
    "ViT",
    "MoE",
    "MSELoss",
    "L1Loss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "MultiMarginLoss",
    "HingeEmbeddingLoss",
    "save_safetensors",
    "load_safetensors",
    "Perceptron",
]
