"""The receiver's durable buffer: an append-only journal on local disk, fsync'd before every ack.

Layout: ``<journal>/<writer>/<sequence>.open`` while a segment is written, renamed ``.sealed``
when it is full or old enough (the micro-batch trigger), deleted by the lander once every row of it
is committed to Iceberg. ``<writer>`` is ``<pid>-<process start time>``: one directory per
receiver process, so workers never share a file, and a directory whose process is gone holds
orphans the lander seals and lands after a crash.

Frame: 4-byte big-endian length, 4-byte CRC32, payload. A crash mid-write leaves a torn tail
that fails its length or CRC and is skipped: it was never acknowledged, and the provider resends.

Group commit: concurrent appends share one ``fdatasync`` (an append returns once an fsync that
started after its write has finished), so durability costs one disk flush per batch of requests,
not one per request.

The :class:`Buffer` protocol is the seam for a broker (Kafka: a topic per provider, the event id
as key, offsets committed after the Iceberg commit) when one receiver is not enough.
"""

from __future__ import annotations

import asyncio
import os
import struct
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

FRAME = struct.Struct(">II")
OPEN, SEALED = ".open", ".sealed"


class Buffer(Protocol):
    """Where accepted deliveries wait for landing. ``append`` returns only once the entry is durable."""

    async def append(self, payload: bytes) -> None: ...

    def rotate_if_due(self) -> None: ...

    def pending(self) -> int: ...

    async def close(self) -> None: ...


def frame(payload: bytes) -> bytes:
    """One journal entry as written to disk."""
    return FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def entries(data: bytes) -> Iterator[bytes]:
    """The entries of a segment's bytes, stopping at a torn or corrupt tail."""
    offset = 0
    while offset + FRAME.size <= len(data):
        length, crc = FRAME.unpack_from(data, offset)
        start = offset + FRAME.size
        payload = data[start:start + length]
        if len(payload) != length or zlib.crc32(payload) != crc:
            return
        yield payload
        offset = start + length


def writer_id(pid: int | None = None) -> str | None:
    """``<pid>-<start time>`` of a live process (Linux ``/proc``; the start time tells a reused pid
    apart), else ``<pid>-0`` where ``/proc`` is missing; None when the process is gone."""
    pid = os.getpid() if pid is None else pid
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return f"{pid}-0"
    # Field 22 (start time) comes after the command name, which is in parentheses and may hold spaces.
    return f"{pid}-{stat.rsplit(')', 1)[1].split()[19]}"


@dataclass
class _Segment:
    path: Path
    fd: int
    opened: float = field(default_factory=time.monotonic)
    count: int = 0
    waiting: list[asyncio.Future[None]] = field(default_factory=list)
    flushing: bool = False
    closing: bool = False


class Journal:
    """The writer side, used from one asyncio event loop (one per receiver process)."""

    def __init__(self, folder: Path, *, segment_events: int, segment_seconds: float) -> None:
        self.folder = Path(folder) / (writer_id() or f"{os.getpid()}-0")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.segment_events = segment_events
        self.segment_seconds = segment_seconds
        self._sequence = max((int(p.stem) for p in self.folder.iterdir() if p.stem.isdigit()), default=0)
        self._current: _Segment | None = None
        self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-fsync")
        self._sealed: dict[Path, int] = {}  # sealed segment -> entries, until the lander removes it
        self.appended = 0

    async def append(self, payload: bytes) -> None:
        """Write one entry and return once it is on disk."""
        segment = self._current if self._current is not None and not self._current.closing else self._open()
        os.write(segment.fd, frame(payload))
        segment.count += 1
        self.appended += 1
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        segment.waiting.append(done)
        if not segment.flushing:
            segment.flushing = True
            asyncio.get_running_loop().create_task(self._flush(segment))
        if segment.count >= self.segment_events:
            self._retire(segment)
        await done

    def rotate_if_due(self) -> None:
        """Seal the current segment when it is old enough (called periodically, so an idle receiver
        still hands its last deliveries to the lander)."""
        segment = self._current
        if segment is not None and segment.count and time.monotonic() - segment.opened >= self.segment_seconds:
            self._retire(segment)

    def pending(self) -> int:
        """Entries journaled by this writer and not landed yet (its sealed segments still on disk,
        plus the open one): the buffer depth. One ``stat`` per sealed segment."""
        self._sealed = {path: count for path, count in self._sealed.items() if path.exists()}
        current = self._current.count if self._current is not None else 0
        return current + sum(self._sealed.values())

    async def close(self) -> None:
        """Seal the current segment (graceful shutdown)."""
        if self._current is not None:
            segment = self._current
            self._retire(segment)
            while segment.flushing or segment.waiting:
                await asyncio.sleep(0.005)
        self._syncer.shutdown(wait=True)

    def _open(self) -> _Segment:
        self._sequence += 1
        path = self.folder / f"{self._sequence:012d}{OPEN}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._current = _Segment(path, fd)
        return self._current

    def _retire(self, segment: _Segment) -> None:
        """No new writes go to ``segment``; it is sealed once its last fsync is done."""
        segment.closing = True
        if self._current is segment:
            self._current = None
        if not segment.flushing:
            self._seal(segment)

    def _seal(self, segment: _Segment) -> None:
        os.close(segment.fd)
        if segment.count:
            sealed = segment.path.with_suffix(SEALED)
            segment.path.rename(sealed)
            _sync_directory(segment.path.parent)
            self._sealed[sealed] = segment.count
        else:
            segment.path.unlink(missing_ok=True)

    async def _flush(self, segment: _Segment) -> None:
        loop = asyncio.get_running_loop()
        try:
            while segment.waiting:
                batch, segment.waiting = segment.waiting, []
                try:
                    await loop.run_in_executor(self._syncer, os.fdatasync, segment.fd)
                except OSError as exc:
                    for done in batch:
                        done.set_exception(exc)
                    continue
                for done in batch:
                    done.set_result(None)
        finally:
            segment.flushing = False
            if segment.closing:
                self._seal(segment)


def _sync_directory(folder: Path) -> None:
    """Make a rename durable (the directory entry is what changed)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JournalReader:
    """The lander's side: sealed segments of every writer, oldest first; orphans of dead writers sealed."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def seal_orphans(self) -> int:
        """Seal the open segments of writers that are no longer running. Returns how many."""
        sealed = 0
        if not self.folder.is_dir():
            return 0
        for writer in self.folder.iterdir():
            if not writer.is_dir() or writer_id(_pid(writer.name)) == writer.name:
                continue
            for segment in writer.glob(f"*{OPEN}"):
                segment.rename(segment.with_suffix(SEALED))
                sealed += 1
            if not any(writer.iterdir()):
                writer.rmdir()
        return sealed

    def sealed(self) -> list[Path]:
        """Sealed segments, per writer in sequence order."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob(f"*/*{SEALED}"), key=lambda p: (p.parent.name, p.name))

    @staticmethod
    def read(segment: Path) -> list[bytes]:
        return list(entries(segment.read_bytes()))

    @staticmethod
    def done(segment: Path) -> None:
        """Forget a landed segment (its rows are committed to Iceberg)."""
        segment.unlink(missing_ok=True)


def _pid(name: str) -> int:
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() else -1
