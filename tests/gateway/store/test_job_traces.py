"""The job results a person's erasure looks through are where arq keeps them."""

from __future__ import annotations

from arq.constants import result_key_prefix

from gateway.store.job_traces import RESULT_PREFIX


def test_the_result_prefix_is_arqs():
    assert result_key_prefix == RESULT_PREFIX
