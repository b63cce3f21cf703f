"""How a sweep hands its runs to workers: every run once, in order, smaller batches at the end."""

from __future__ import annotations

import pytest

from sim.sweep import _guided_batches, batch_size


@pytest.mark.parametrize(("runs", "workers"), [(400, 2), (37, 2), (1000, 4), (3, 8), (0, 2)])
def test_guided_batches_cover_every_run_once_and_shrink(runs, workers):
    plan = list(range(runs))
    batches = list(_guided_batches(plan, workers))
    assert [run for batch in batches for run in batch] == plan
    sizes = [len(batch) for batch in batches]
    assert sizes == sorted(sizes, reverse=True)  # never a larger batch after a smaller one
    assert all(1 <= size <= 16 for size in sizes)
    if runs:
        assert sizes[0] == batch_size(runs, workers)
        assert sizes[-workers * 2 :] == [1] * min(len(sizes), workers * 2)  # a fine-grained tail
