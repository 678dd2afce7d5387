import pytest

from trainer.packing import (
    IGNORE_INDEX,
    Document,
    build_document,
    pack_greedy,
    percentage_bins,
    sort_documents,
)


def test_build_document_masks_bos_and_the_source_prefix():
    doc, cut = build_document(1, 2, source_ids=[5, 6], full_ids=[5, 6, 7, 8], max_length=10)
    assert doc.input_ids == (1, 5, 6, 7, 8, 2) and cut == 0
    assert doc.labels == (IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 7, 8, 2)


def test_a_token_spanning_the_boundary_is_trained_on():
    doc, _ = build_document(1, 2, source_ids=[5, 6], full_ids=[5, 9, 8], max_length=10)
    assert doc.labels == (IGNORE_INDEX, IGNORE_INDEX, 9, 8, 2)


def test_truncation_keeps_the_head_and_counts_the_cut():
    doc, cut = build_document(1, 2, source_ids=[], full_ids=list(range(10, 20)), max_length=5)
    assert doc.input_ids == (1, 10, 11, 12, 13) and cut == 7


def test_percentage_bins_cover_every_item_once():
    for count in (0, 1, 7, 100, 1234):
        for bins in (1, 3, 10, 30, 100):
            slices = percentage_bins(count, bins)
            assert slices[0][0] == 0 and slices[-1][1] == count
            assert all(a[1] == b[0] for a, b in zip(slices, slices[1:], strict=False))
    assert len(percentage_bins(10, 30)) == 25
    with pytest.raises(ValueError):
        percentage_bins(10, 0)


def test_greedy_packing_keeps_every_token_and_the_remainder():
    docs = [Document(tuple(range(n)), tuple(range(n)), c) for n, c in [(3, "b"), (5, "a"), (2, "a"), (4, "b"), (6, "a")]]
    ordered = sort_documents(docs)
    assert [(d.category, len(d)) for d in ordered] == [("a", 2), ("a", 5), ("a", 6), ("b", 3), ("b", 4)]
    packed = list(pack_greedy(ordered, 8))
    assert [len(p.input_ids) for p in packed] == [7, 6, 7]
    assert sum(p.documents for p in packed) == 5
    assert [t for p in packed for t in p.input_ids] == [t for d in ordered for t in d.input_ids]
