import pytest

from trainer.loader import BucketSampler, epoch_order


def test_buckets_are_visited_in_order_and_shuffled_inside():
    ranges = [(0, 5), (5, 12), (12, 15)]
    order = epoch_order(ranges, seed=1, epoch=0)
    assert sorted(order[:5]) == list(range(5)) and sorted(order[5:12]) == list(range(5, 12))
    assert sorted(order[12:]) == [12, 13, 14]
    assert order == epoch_order(ranges, seed=1, epoch=0)
    assert order != epoch_order(ranges, seed=1, epoch=1)


def test_ranks_split_the_epoch_evenly_and_resume_skips_consumed_items():
    ranges = [(0, 6), (6, 11)]
    samplers = [BucketSampler(ranges, rank=r, world_size=2, seed=3) for r in range(2)]
    parts = [list(s) for s in samplers]
    assert len(parts[0]) == len(parts[1]) == 5
    assert not set(parts[0]) & set(parts[1])
    samplers[0].set_start_index(2)
    assert list(samplers[0]) == parts[0][2:] and len(samplers[0]) == 3


def test_collate_masks_by_length_even_where_eos_equals_pad():
    torch = pytest.importorskip("torch")
    from trainer.loader import collate

    batch = collate([([1, 5, 2, 1, 6, 2], [-100, 5, 2, -100, 6, 2]), ([1, 7, 2], [-100, 7, 2])], pad_id=2)
    assert batch["attention_mask"].tolist() == [[1] * 6, [1, 1, 1, 0, 0, 0]]
    assert batch["input_ids"][1].tolist() == [1, 7, 2, 2, 2, 2]
    assert batch["labels"][1].tolist() == [-100, 7, 2, -100, -100, -100]
    assert collate([([1, 2], [1, 2])], pad_id=0, pad_to=4)["input_ids"].shape == torch.Size([1, 4])
