"""The journal: frames survive any cut as a clean prefix, concurrent appends all land, segments seal
by size and age, and a dead writer's open segment is handed to the lander."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pipelines.webhooks.journal import OPEN, SEALED, Journal, JournalReader, entries, frame, writer_id


@given(st.lists(st.binary(max_size=300), max_size=20), st.data())
def test_a_cut_anywhere_leaves_a_prefix_of_whole_entries(payloads: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(frame(p) for p in payloads)
    cut = data.draw(st.integers(0, len(stream)))
    read = list(entries(stream[:cut]))
    assert read == payloads[:len(read)]
    if cut == len(stream):
        assert read == payloads


@given(st.binary(max_size=2000))
def test_any_bytes_read_as_entries_without_error(garbage: bytes) -> None:
    assert isinstance(list(entries(garbage)), list)


@given(st.lists(st.binary(min_size=1, max_size=50), min_size=1, max_size=10), st.integers(0, 7))
def test_a_flipped_bit_never_passes_as_a_different_entry(payloads: list[bytes], bit: int) -> None:
    stream = bytearray(b"".join(frame(p) for p in payloads))
    position = len(stream) - 1  # inside the last entry's payload
    stream[position] ^= 1 << bit
    assert list(entries(bytes(stream))) == payloads[:-1]


def test_concurrent_appends_are_all_durable_and_sealed_by_count(tmp_path: Path) -> None:
    async def run() -> Journal:
        journal = Journal(tmp_path, segment_events=100, segment_seconds=60)
        await asyncio.gather(*(journal.append(f"entry-{i}".encode()) for i in range(1_050)))
        assert journal.pending() == 1_050
        await journal.close()
        return journal

    journal = asyncio.run(run())
    reader = JournalReader(tmp_path)
    segments = reader.sealed()
    assert len(segments) == 11 and not list(tmp_path.rglob(f"*{OPEN}"))
    read = [entry for segment in segments for entry in reader.read(segment)]
    assert sorted(read) == sorted(f"entry-{i}".encode() for i in range(1_050))
    for segment in segments:
        reader.done(segment)
    assert journal.pending() == 0


def test_an_idle_segment_is_sealed_by_age(tmp_path: Path) -> None:
    async def run() -> list[Path]:
        journal = Journal(tmp_path, segment_events=1_000, segment_seconds=0.05)
        await journal.append(b"one")
        journal.rotate_if_due()
        before = JournalReader(tmp_path).sealed()
        await asyncio.sleep(0.1)
        journal.rotate_if_due()
        await asyncio.sleep(0.01)
        assert len(JournalReader(tmp_path).sealed()) == 1
        await journal.close()
        return before

    assert asyncio.run(run()) == []


def test_the_open_segment_of_a_dead_writer_is_sealed_for_landing(tmp_path: Path) -> None:
    dead = tmp_path / "999999999-12345"  # no such process
    dead.mkdir()
    (dead / f"000000000001{OPEN}").write_bytes(frame(b"acknowledged") + b"\x00\x00\x00\x09torn")
    alive = tmp_path / (writer_id() or "")
    alive.mkdir()
    (alive / f"000000000001{OPEN}").write_bytes(frame(b"still being written"))
    reader = JournalReader(tmp_path)
    assert reader.seal_orphans() == 1
    assert [p.name for p in reader.sealed()] == [f"000000000001{SEALED}"]
    assert reader.read(reader.sealed()[0]) == [b"acknowledged"]  # the torn tail is not an entry
    assert (alive / f"000000000001{OPEN}").exists()
