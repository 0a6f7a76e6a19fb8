import pytest

from pillarbox.masterproto import RECORD_SIZE, Status, decode_statuses, encode_status


@pytest.mark.parametrize("status, pid", [(Status.AVAILABLE, 1), (Status.UNAVAILABLE, 4242),
                                         (Status.CONNECTION, 2**31 - 1)])
def test_round_trip(status, pid):
    records, rest = decode_statuses(encode_status(status, pid))
    assert records == [(status, pid)] and rest == b""


def test_records_split_across_reads_are_reassembled():
    stream = encode_status(Status.AVAILABLE, 10) + encode_status(Status.CONNECTION, 11)
    first, rest = decode_statuses(stream[:RECORD_SIZE + 3])
    assert first == [(Status.AVAILABLE, 10)] and len(rest) == 3
    second, rest = decode_statuses(rest + stream[RECORD_SIZE + 3:])
    assert second == [(Status.CONNECTION, 11)] and rest == b""


def test_unknown_status_code_is_passed_through_not_fatal():
    import struct
    records, _ = decode_statuses(struct.pack("=ii", 99, 7))
    assert records == [(99, 7)]


def test_record_is_atomic_on_a_pipe():
    import select
    assert RECORD_SIZE <= select.PIPE_BUF
