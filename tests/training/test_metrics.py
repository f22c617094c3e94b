"""Metrics: accuracy for class scores and single logits, mean absolute error, shape errors."""

import pytest
import torch

from widgets.training.metrics import accuracy, mean_absolute_error


def test_accuracy_takes_the_argmax_over_classes():
    output = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]])
    target = torch.tensor([0, 1, 1, 2])
    assert accuracy(output, target) == 0.5
    assert isinstance(accuracy(output, target), float)


def test_accuracy_thresholds_a_single_logit_at_zero():
    logits = torch.tensor([[1.5], [-0.2], [0.3], [-4.0]])
    assert accuracy(logits, torch.tensor([1, 0, 0, 0])) == 0.75
    assert accuracy(logits.squeeze(1), torch.tensor([1.0, 0.0, 1.0, 0.0])) == 1.0
    assert accuracy(logits, torch.tensor([[1], [1], [1], [0]])) == 0.75


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"expected a target of shape \[4\].*got \[3\]"):
        accuracy(torch.zeros(4, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"expected a target of shape \[4\].*got \[4, 1\]"):
        accuracy(torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"one logit per sample"):
        accuracy(torch.zeros(4, 1), torch.zeros(5))
    with pytest.raises(TypeError, match="expected the target as a torch.Tensor, got list"):
        accuracy(torch.zeros(2, 2), [0, 1])


def test_mean_absolute_error_needs_equal_shapes():
    assert mean_absolute_error(torch.tensor([1.0, 2.0]), torch.tensor([2.0, 4.0])) == 1.5
    with pytest.raises(ValueError, match=r"same shape, got \[3, 1\] and \[3\]"):
        mean_absolute_error(torch.zeros(3, 1), torch.zeros(3))
