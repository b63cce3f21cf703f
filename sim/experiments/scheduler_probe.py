"""Whether a Dask scheduler answers, before a sweep (a probe) and during it (a lost one).

``dask.distributed.Client(address, timeout=...)`` bounds the TCP connect, but
when something else listens at the port (a web server, a closed-down service
that still accepts) the connection opens and the client then waits for the
Dask handshake forever. :func:`is_scheduler` opens its own Dask comm, sends the
``identity`` request and waits for the reply, everything under one
``asyncio`` deadline, so a wrong address fails in seconds whatever listens.

Once the sweep runs, a scheduler that goes away makes every pending future
fail with a closed comm or a cancellation; :func:`outcomes_of` turns that into
:class:`SchedulerLost`, so the sweep stores what finished and says so in one
line, with its own exit code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Any


class SchedulerLost(ValueError):
    """The Dask scheduler stopped answering in the middle of a sweep."""

    def __init__(self, address: str):
        self.report: Any = None  # the sweep's report, set once what finished is stored
        super().__init__(
            f"the Dask scheduler at {address} stopped answering during the sweep; the runs "
            "that finished are stored: restart it (or choose another --backend) and rerun "
            "the same command to resume"
        )


def quiet_client_errors() -> None:
    """Leave the reporting of a lost scheduler to :class:`SchedulerLost`.

    Dask's client logs its failed reconnection with a multi-line traceback on
    stderr before the futures fail; the sweep's one-line message says the same.
    """
    logging.getLogger("distributed.client").setLevel(logging.CRITICAL)


def outcomes_of(future: Any, address: str) -> Any:
    """``future.result()``, or :class:`SchedulerLost` if the scheduler went away.

    A run that raises is a failed row made in the worker, never an exception
    here, so a closed comm or a cancelled future means the cluster is gone.
    """
    try:
        return future.result()
    except (OSError, concurrent.futures.CancelledError, asyncio.CancelledError):
        raise SchedulerLost(address) from None


def is_scheduler(address: str, seconds: float) -> bool:
    """Whether a Dask scheduler answers ``identity`` at ``address`` within ``seconds``."""
    try:
        reply = asyncio.run(asyncio.wait_for(_identity(address, seconds), seconds))
    except Exception:  # noqa: BLE001 - refused, reset, garbage, timeout: all mean "not a scheduler"
        return False
    return isinstance(reply, dict) and reply.get("type") == "Scheduler"


async def _identity(address: str, seconds: float) -> Any:
    from distributed.comm import connect

    comm = await connect(address, timeout=seconds)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()
