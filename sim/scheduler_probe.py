"""Ask an address whether a Dask scheduler answers there, within a deadline.

``dask.distributed.Client(address, timeout=...)`` bounds the TCP connect, but
when something else listens at the port (a web server, a closed-down service
that still accepts) the connection opens and the client then waits for the
Dask handshake forever. :func:`is_scheduler` opens its own Dask comm, sends the
``identity`` request and waits for the reply, everything under one
``asyncio`` deadline, so a wrong address fails in seconds whatever listens.
"""

from __future__ import annotations

import asyncio
from typing import Any


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
