"""ParserPool (issue 10, item 1): a parse that crashes, exhausts memory or runs too long
fails that one list with a one-line ParseError; the worker is replaced and the next
list parses normally. Real worker processes, real crafted files, no mocks."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from scrapers.limits import DEFAULT_LIMITS, ParseLimits
from scrapers.parse import parse_attachment
from scrapers.records import ParsedList, ParseError
from scrapers.workers import ParserPool, _AnswerUnpickler

from test_hostile_parse import REF, far_cell_xlsx, grid_pdf, shared_string_bomb
from test_parse import sample_attachments

ROOT = Path(__file__).resolve().parents[1]
# Pre-checks opened wide, so the file reaches the native parser and the process limits act.
NO_PRECHECK = dataclasses.replace(
    DEFAULT_LIMITS, max_cells=10**15, max_rows=10**9, max_columns=10**9, max_text=10**15, max_grid_per_page=10**9
)


def _sample() -> tuple[bytes, object]:
    ref, path = sample_attachments()[0]
    return path.read_bytes(), ref


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_pool_results_equal_in_process_results() -> None:
    items = [(p.read_bytes(), ref) for ref, p in sample_attachments()]

    async def go() -> list[ParsedList]:
        pool = ParserPool(2)
        try:
            results = await asyncio.gather(*(pool.parse(data, ref) for data, ref in items))
            assert 1 <= len(pool.pids()) <= 2
            return list(results)
        finally:
            pool.close()

    assert asyncio.run(go()) == [parse_attachment(data, ref) for data, ref in items]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        # calamine asks for the 512 GB grid; under RLIMIT_AS that allocation fails and Rust aborts.
        (far_cell_xlsx, r"^the parser process died while reading this attachment \(SIGABRT: memory allocation of \d+ bytes failed\)$"),
        # 2 billion characters of shared-string copies: the cap ends it (an abort or a MemoryError).
        (shared_string_bomb, r"(died while reading this attachment \(SIGABRT|exceeded the memory limit|MemoryError)"),
    ],
)
def test_crash_fails_one_list_and_the_next_parses_in_a_new_worker(make, reason: str) -> None:  # type: ignore[no-untyped-def]
    data, ref = _sample()
    limits = dataclasses.replace(NO_PRECHECK, address_space=512 * 1024 * 1024)

    async def go() -> None:
        pool = ParserPool(1, limits)
        try:
            first = await pool.parse(data, ref)  # type: ignore[arg-type]
            [before] = pool.pids()
            with pytest.raises(ParseError, match=reason) as err:
                await pool.parse(make(), REF)
            assert "\n" not in str(err.value)
            assert not _alive(before)
            again = await pool.parse(data, ref)  # type: ignore[arg-type]
            [after] = pool.pids()
            assert after != before and again == first
        finally:
            pool.close()

    asyncio.run(go())


def test_timeout_kills_and_replaces_the_worker_and_spares_the_other_list() -> None:
    data, ref = _sample()
    limits = dataclasses.replace(NO_PRECHECK, wall_seconds=1.5)

    async def go() -> None:
        pool = ParserPool(2, limits)
        try:
            slow = asyncio.ensure_future(pool.parse(grid_pdf(200), REF))  # ~20 s of table finding
            fine = await pool.parse(data, ref)  # type: ignore[arg-type]
            assert fine.rows
            with pytest.raises(ParseError, match=r"^parsing took longer than 1.5 s: the parser process was stopped$"):
                await slow
            survivors = pool.pids()
            assert len(survivors) == 1 and _alive(survivors[0])
            # Both slots usable again: two lists at once.
            again = await asyncio.gather(pool.parse(data, ref), pool.parse(data, ref))  # type: ignore[arg-type]
            assert again[0] == again[1] == fine
        finally:
            pool.close()
        assert pool.pids() == []

    asyncio.run(go())


def test_in_process_pool_keeps_the_pre_checks() -> None:
    data, ref = _sample()

    async def go() -> None:
        pool = ParserPool(0)
        with pytest.raises(ParseError, match=r"row count exceeds the limit \(1048576 > 200000\)"):
            await pool.parse(far_cell_xlsx(), REF)
        assert (await pool.parse(data, ref)).rows  # type: ignore[arg-type]
        assert pool.pids() == []
        pool.close()

    asyncio.run(go())


def test_workers_are_recycled_after_max_tasks() -> None:
    data, ref = _sample()

    async def go() -> list[int]:
        pool = ParserPool(1, max_tasks=2)
        seen: list[int] = []
        try:
            for _ in range(3):
                await pool.parse(data, ref)  # type: ignore[arg-type]
                seen.extend(pool.pids())
        finally:
            pool.close()
        return seen

    seen = asyncio.run(go())
    # After list 1 the worker waits idle; after list 2 it is ended (no pid); list 3 gets a new one.
    assert len(seen) == 2 and seen[0] != seen[1]
    assert not _alive(seen[0]) and not _alive(seen[1])


async def _slow_parse_started() -> tuple[ParserPool, asyncio.Future[Any], int]:
    """A one-worker pool busy with a slow parse (60 s wall limit): the pool, the parse, the worker's pid."""
    pool = ParserPool(1, dataclasses.replace(NO_PRECHECK, wall_seconds=60))
    slow = asyncio.ensure_future(pool.parse(grid_pdf(200), REF))
    while not pool.pids():
        await asyncio.sleep(0.05)
    [pid] = pool.pids()
    return pool, slow, pid


def test_close_during_a_parse_fails_it_promptly() -> None:
    async def go() -> None:
        pool, slow, pid = await _slow_parse_started()
        await asyncio.sleep(0.3)
        started = time.monotonic()
        pool.close()
        with pytest.raises(ParseError, match="the parser process died"):
            await slow
        assert time.monotonic() - started < 30  # not the 60 s wall limit
        assert not _alive(pid)

    asyncio.run(go())


def test_a_cancelled_parse_ends_its_worker() -> None:
    async def go() -> int:
        pool, slow, pid = await _slow_parse_started()
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert pool.pids() == []
        pool.close()
        return pid

    pid = asyncio.run(go())
    deadline = time.monotonic() + 20
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_workers_exit_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, dataclasses, os, signal, sys
            sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'tests')!r}]
            from scrapers.limits import DEFAULT_LIMITS
            from scrapers.workers import ParserPool
            from test_hostile_parse import REF, grid_pdf

            async def main():
                pool = ParserPool(1, dataclasses.replace(DEFAULT_LIMITS, max_grid_per_page=10**9))
                task = asyncio.ensure_future(pool.parse(grid_pdf(200), REF))
                while not pool.pids():
                    await asyncio.sleep(0.05)
                print(pool.pids()[0], flush=True)
                await asyncio.sleep(0.5)
                os.kill(os.getpid(), signal.SIGKILL)  # no close(), no cleanup: the worker is busy

            asyncio.run(main())
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    worker = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 20
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)


def test_worker_answers_may_only_contain_parsed_list_types() -> None:
    hostile = pickle.dumps(os.system)
    with pytest.raises(pickle.UnpicklingError, match="unexpected posix.system"):
        _AnswerUnpickler(io.BytesIO(hostile)).load()
    data, ref = _sample()
    parsed = parse_attachment(data, ref)  # type: ignore[arg-type]
    assert _AnswerUnpickler(io.BytesIO(pickle.dumps(("ok", parsed)))).load() == ("ok", parsed)


def test_limits_travel_to_the_worker() -> None:
    data, ref = _sample()
    tight: ParseLimits = dataclasses.replace(DEFAULT_LIMITS, max_rows=3)

    async def go() -> None:
        pool = ParserPool(1, tight)
        try:
            with pytest.raises(ParseError, match=r"row count exceeds the limit \(\d+ > 3\)"):
                await pool.parse(data, ref)  # type: ignore[arg-type]
            assert len(pool.pids()) == 1  # a refused list is no reason to replace the worker
        finally:
            pool.close()

    asyncio.run(go())
