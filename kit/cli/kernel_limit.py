"""The kernel manager ``hvkit dashboard`` gives Voila: at most ``max_kernels`` kernels at once.

Voila starts one kernel per page load, and a dashboard kernel runs simulations; without a limit, a page reloaded
in a loop exhausts the machine. A page load beyond the limit gets HTTP 503 with a line saying why, and idle
kernels of closed pages are culled (``hvkit dashboard`` sets the culling options). Imported only by the Voila
server process (it needs jupyter_server).
"""
from __future__ import annotations

import uuid
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer

__all__ = ["LimitedKernelManager"]


class LimitedKernelManager(AsyncMappingKernelManager):
    """An ``AsyncMappingKernelManager`` that refuses to start more than ``max_kernels`` kernels."""

    max_kernels = Integer(4, config=True, help="Most kernels running at once; a page beyond it gets HTTP 503")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._starting: set[str] = set()

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        kernel_id: str | None = kwargs.pop("kernel_id", None)
        if kernel_id is not None and kernel_id in self:
            return await super().start_kernel(*args, kernel_id=kernel_id, **kwargs)
        running = len(set(self.list_kernel_ids()) | self._starting)  # a kernel being started counts once
        if running >= self.max_kernels:
            self.log.warning("refused a kernel: %d running, at most %d", running, self.max_kernels)
            raise web.HTTPError(503, reason=f"Busy: {running} dashboards are open, at most {self.max_kernels} at "
                                            f"once; close one or try again later")
        kernel_id = kernel_id or str(uuid.uuid4())
        self._starting.add(kernel_id)
        try:
            return await super().start_kernel(*args, kernel_id=kernel_id, **kwargs)
        finally:
            self._starting.discard(kernel_id)
