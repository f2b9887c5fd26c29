"""A BrowserAct-compatible API on loopback, for ``simulate``, ``demo`` and the tests.

``server`` (sockets, request log, faults), ``routes`` (one handler per endpoint), ``state``
(the catalog, tasks and lifecycles), ``scenario`` (the scenario format and the built-ins).
"""

from browseract_cli.endpoints import STATUS_PATH
from browseract_cli.simulator.server import RequestRecord, SimServer

__all__ = ["STATUS_PATH", "RequestRecord", "SimServer"]
