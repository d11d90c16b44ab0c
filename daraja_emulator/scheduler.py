"""Background thread that POSTs each scheduled callback when it falls due, in order."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from daraja_emulator.clock import Clock
from daraja_emulator.delivery import CallbackSender
from daraja_emulator.state import EmulatorState
from daraja_emulator.transaction import AsyncTransaction, ScheduledCallback

log = logging.getLogger(__name__)


class CallbackScheduler:
    """Sleeps on the state's wake-up event until the next callback is due, then delivers.

    The wait is `Event.wait(seconds until the next due time)`: new pushes, finished callbacks
    (a follow-up may be next), resets and `wake()` cut it short; there is no polling. Sends
    run on a small pool so that one slow callback receiver does not hold back the others.
    """

    def __init__(
        self,
        state: EmulatorState,
        sender: CallbackSender,
        clock: Clock,
        *,
        auto_deliver: bool,
        workers: int = 8,
    ) -> None:
        self._state = state
        self._sender = sender
        self._clock = clock
        self._auto_deliver = auto_deliver
        self._workers = workers
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> CallbackScheduler:
        """Start the thread (only when auto_deliver is on; otherwise callbacks wait for settle)."""
        if self._auto_deliver and self._thread is None:
            self._stopping.clear()
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="daraja-callback")
            self._thread = threading.Thread(
                target=self._run, name="daraja-callback-scheduler", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop waking up, let in-flight callbacks finish, drop ones not yet started."""
        self._stopping.set()
        self._state.wakeup.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def wake(self) -> None:
        """Re-check due times now (e.g. after a test moved its fake clock forward)."""
        self._state.wakeup.set()

    def run_once(self) -> list[str]:
        """Claim every due, unclaimed callback and hand it to the pool; their transactions' keys."""
        due = self._state.claim_due(self._clock())
        for transaction, callback in due:
            self._dispatch(transaction, callback)
        return [transaction.key for transaction, _ in due]

    def _dispatch(self, transaction: AsyncTransaction, callback: ScheduledCallback) -> None:
        if self._pool is None:
            self._deliver(transaction, callback)
        else:
            self._pool.submit(self._deliver, transaction, callback)

    def _deliver(self, transaction: AsyncTransaction, callback: ScheduledCallback) -> None:
        try:
            self._sender.deliver(transaction, callback)
        except Exception:  # keep the scheduler alive whatever one callback does
            log.exception("%s for %s failed", callback.kind, transaction.key)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._state.wakeup.clear()
            self.run_once()
            self._state.wakeup.wait(self._seconds_until_next_due())

    def _seconds_until_next_due(self) -> float | None:
        next_due = self._state.next_due_at()
        return None if next_due is None else max(0.0, next_due - self._clock())
