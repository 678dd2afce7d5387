import pytest

from trainer.schedule import default_warmup, lr_factor


def test_linear_warmup_then_cosine_to_ten_percent():
    assert [lr_factor(s, 4, 20) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    decay = [lr_factor(s, 4, 20) for s in range(4, 21)]
    assert decay[0] == pytest.approx(1.0)
    assert decay[-1] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(decay, decay[1:], strict=False))
    assert lr_factor(100, 4, 20) == pytest.approx(0.1)


def test_default_warmup_is_two_and_a_half_percent():
    assert default_warmup(4000) == 100 and default_warmup(10) == 1
