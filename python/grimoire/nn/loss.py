"""Loss modules (primer 6.3), PyTorch's names; the math lives in ``functional``."""

from __future__ import annotations

from ..autograd import Tensor, TensorLike
from . import functional as F
from .module import Module


class MSELoss(Module):
    """Mean squared error (regression)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:  # noqa: A002
        return F.mse_loss(input, target, self.reduction)


class L1Loss(Module):
    """Mean absolute error (robust regression)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:  # noqa: A002
        return F.l1_loss(input, target, self.reduction)


class BCEWithLogitsLoss(Module):
    """Binary cross-entropy on logits, stable form."""

    def __init__(self, reduction: str = "mean", pos_weight: TensorLike | None = None):
        super().__init__()
        self.reduction, self.pos_weight = reduction, pos_weight

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, self.reduction, self.pos_weight)


class CrossEntropyLoss(Module):
    """Softmax cross-entropy on logits with class-index targets (fused forward and backward)."""

    def __init__(self, reduction: str = "mean", ignore_index: int = -100, label_smoothing: float = 0.0):
        super().__init__()
        self.reduction, self.ignore_index, self.label_smoothing = reduction, ignore_index, label_smoothing

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:  # noqa: A002
        return F.cross_entropy(input, target, self.reduction, self.ignore_index, self.label_smoothing)


class NLLLoss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:  # noqa: A002
        return F.nll_loss(input, target, self.reduction)


class MultiMarginLoss(Module):
    """Multiclass hinge loss (the SVM loss)."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.margin, self.reduction = margin, reduction

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:  # noqa: A002
        return F.multi_margin_loss(input, target, self.margin, self.reduction)


class HingeEmbeddingLoss(Module):
    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.margin, self.reduction = margin, reduction

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:  # noqa: A002
        return F.hinge_embedding_loss(input, target, self.margin, self.reduction)
