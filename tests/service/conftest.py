"""Real servers for the service tests (see serving.py)."""

import pytest
from serving import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server with 2 workers shared by a test module."""
    s = ServerProcess(tmp_path_factory.mktemp("serve") / "data", workers=2).start()
    yield s
    s.stop()
