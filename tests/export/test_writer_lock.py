"""Issue 21: write_package's pool never has two threads inside USD or Alembic at once.

USD and Alembic take locks of their own while holding (or re-taking) the GIL, so two pool threads
in them together can deadlock (seen in a fresh worker's first ``Usd.Stage.CreateInMemory``). The
real deadlock is rare and needs a fresh process; this test measures its precondition instead: the
writers' library entry points are wrapped to count the threads inside, and each call lingers until a
second thread comes in, so unserialised writers overlap with certainty.
"""

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic3d import Abc
from pxr import Usd

from machcreator.export import package
from machcreator.export.package import read_manifest, validate_package, write_package

#: how long a call waits for a second thread to enter (each serialised call waits this long)
LINGER_S = 0.3
#: write_package's own limit here: an unserialised write may really deadlock, which fails, not hangs
WRITE_TIMEOUT_S = 300.0


class Occupancy:
    """Counts the threads inside the wrapped library calls, and the most at any one time."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.inside = 0
        self.most_inside = 0
        self.threads: set[int] = set()
        self.calls = 0

    def wrap(self, fn):
        def entered(*args, **kwargs):
            with self.cond:
                self.inside += 1
                self.most_inside = max(self.most_inside, self.inside)
                self.threads.add(threading.get_ident())
                self.calls += 1
                self.cond.notify_all()
                self.cond.wait_for(lambda: self.inside > 1, timeout=LINGER_S)
            try:
                return fn(*args, **kwargs)
            finally:
                with self.cond:
                    self.inside -= 1
        return entered


@pytest.fixture
def occupancy(monkeypatch) -> Occupancy:
    occ = Occupancy()
    # the first library call of each writer: write_groom_usd's stage, write_groom_abc's archive
    monkeypatch.setattr(Usd.Stage, "CreateInMemory", staticmethod(occ.wrap(Usd.Stage.CreateInMemory)))
    monkeypatch.setattr(Abc, "OArchive", occ.wrap(Abc.OArchive))
    # at least 4 pool threads even on a machine with fewer cores, or nothing could overlap
    monkeypatch.setattr(package, "ThreadPoolExecutor",
                        lambda max_workers: ThreadPoolExecutor(max_workers=max(max_workers, 4)))
    return occ


def test_write_package_never_has_two_threads_inside_usd_or_alembic(fisherman_result, occupancy, tmp_path):
    ch = fisherman_result.character
    assert len(ch.grooms) >= 2
    small = {k: v[:8, :8] for k, v in ch.textures.items()}  # fast to encode: the grooms are the point
    result = dataclasses.replace(fisherman_result, character=dataclasses.replace(ch, textures=small))
    out = tmp_path / "pkg"
    errors: list[BaseException] = []

    def write() -> None:
        try:
            write_package(result, out)
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    writer.join(WRITE_TIMEOUT_S)
    assert not writer.is_alive(), f"write_package still running after {WRITE_TIMEOUT_S} s: deadlocked"
    assert not errors, errors
    assert occupancy.calls == 2 * len(ch.grooms)  # one .abc and one .usdc each
    assert occupancy.most_inside == 1
    assert len(occupancy.threads) >= 2 and writer.ident not in occupancy.threads  # still the pool's work
    assert len(read_manifest(out).grooms) == len(ch.grooms)
    assert validate_package(out) == []
