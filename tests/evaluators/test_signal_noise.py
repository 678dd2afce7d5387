"""Signal, noise and their ratio against a hand computation (Heineman et al. 2025 definitions)."""

from __future__ import annotations

import math

import pytest

from evaluators.signal_noise import relative_dispersion, relative_std, signal_and_noise


def test_figures_equal_a_hand_computation() -> None:
    result = signal_and_noise([40.0, 50.0, 60.0], [50.0, 52.0, 51.0, 53.0, 54.0, 58.0], last=5)
    assert result.signal == pytest.approx(20 / 50)  # (60 − 40) / mean 50
    tail_std = math.sqrt((1.6**2 + 2.6**2 + 0.6**2 + 0.4**2 + 4.4**2) / 5)  # last 5: 52, 51, 53, 54, 58; mean 53.6
    assert result.noise_points == pytest.approx(tail_std)
    assert result.noise == pytest.approx(tail_std / 53.6)
    assert result.ratio == pytest.approx(0.4 / (tail_std / 53.6))
    # trend through (0..4, tail): slope 15 / 10 = 1.5; residuals 1.4, −1.1, −0.6, −1.1, 1.4 → SSR 6.7 over 3
    assert result.step_change == pytest.approx(1.5)
    assert result.jitter == pytest.approx(math.sqrt(6.7 / 3))
    assert not result.noisy
    assert (result.models, result.checkpoints) == (3, 5)


def test_jitter_larger_than_the_trend_is_flagged() -> None:
    result = signal_and_noise([30.0, 60.0], [50.0, 53.0, 49.0, 52.0, 50.0])
    assert result.noisy
    assert result.jitter > result.step_change


def test_missing_sets_give_no_figure() -> None:
    result = signal_and_noise([55.0], [50.0])
    assert (result.signal, result.noise, result.ratio, result.noisy) == (None, None, None, False)


def test_definitions_refuse_too_few_scores() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        relative_dispersion([1.0])
    with pytest.raises(ValueError, match="at least 2"):
        relative_std([1.0])
