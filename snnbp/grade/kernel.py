"""A Jupyter kernel in a separate process that runs code with a time limit (the grader's driver).

:class:`Kernel` starts the kernel in its own process group (its own stdout/stderr dropped), refuses
oversized messages on its own ZeroMQ sockets, interrupts code that runs past its time limit and
kills a kernel that does not stop; :meth:`Kernel.run` returns an :class:`Execution`. Nothing in this
module judges anything: :mod:`snnbp.grade.notebook` does, in the grader's process.
"""
from __future__ import annotations

import os
import queue
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Execution", "Kernel", "MAX_MESSAGE_BYTES", "GRACE", "shorten"]

#: larger kernel messages are dropped unread (ZeroMQ) unless a :class:`Kernel` is given another limit
MAX_MESSAGE_BYTES = 65 * 2 ** 20
GRACE = 10.0                     # seconds a kernel gets to stop after an interrupt


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Execution:
    """What happened to one piece of code in the kernel: ``status`` is ``"ok"``, ``"error"``,
    ``"timeout"`` or ``"dead"`` (the kernel died or was killed); ``error`` is ``"Name: value"``."""

    status: str
    seconds: float
    error: str = ""
    result: str | None = None        # the text/plain value of the user expression, if asked for


class Kernel:
    """A Jupyter kernel in a separate process, in ``cwd``; runs code with a time limit.

    Use as a context manager: the kernel (and its process group) is killed on exit. Messages longer
    than ``max_message_bytes`` are dropped unread, so a kernel cannot flood the caller's memory.
    """

    def __init__(self, kernel_name: str = "python3", cwd: str | Path | None = None, startup_timeout: float = 60.0,
                 max_message_bytes: int = MAX_MESSAGE_BYTES):
        import zmq
        from jupyter_client.manager import KernelManager

        self.manager = KernelManager(kernel_name=kernel_name)
        self.dead = False
        env = dict(os.environ, MPLBACKEND="agg", PYDEVD_DISABLE_FILE_VALIDATION="1")
        # The kernel process's own stdout/stderr (not the notebook's output) are dropped.
        self.manager.start_kernel(cwd=str(cwd) if cwd else None, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Our own sockets refuse oversized messages, so a kernel cannot flood the grader's memory.
        self.context = zmq.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, int(max_message_bytes))
        self.client = self.manager.client(context=self.context)
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=startup_timeout)
        except RuntimeError:
            self.close()
            raise

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the channels and kill the kernel process."""
        try:
            self.client.stop_channels()
        finally:
            if self.manager.has_kernel:
                self.manager.shutdown_kernel(now=True)
            self.context.destroy(linger=0)
        self.dead = True

    def run(self, code: str, timeout: float, *, expression: str | None = None, history: bool = True) -> Execution:
        """Execute ``code``; after ``timeout`` seconds interrupt it, and kill the kernel if it does not stop.

        ``expression`` is evaluated after the code (a Jupyter *user expression*) and its text
        comes back in :attr:`Execution.result`, apart from anything the code prints.
        """
        if self.dead:
            return Execution("dead", 0.0, "the kernel is no longer running")
        start = time.monotonic()
        try:
            return self._run(code, timeout, start, expression, history)
        except Exception as error:  # noqa: BLE001 - a kernel whose messages cannot be read has failed this code
            return Execution("error", time.monotonic() - start,
                             f"the kernel's messages were unreadable "
                             f"({type(error).__name__}: {shorten(str(error), 100)})")

    def _run(self, code: str, timeout: float, start: float, expression: str | None, history: bool) -> Execution:
        expressions = {"result": expression} if expression else {}
        msg_id = self.client.execute(code, store_history=history, allow_stdin=False, stop_on_error=False,
                                     user_expressions=expressions)
        status = self._wait_idle(msg_id, start + max(timeout, 0.0))
        if status == "timeout":
            self.manager.interrupt_kernel()
            if self._wait_idle(msg_id, time.monotonic() + GRACE) != "idle":
                self.close()
            return Execution("timeout", time.monotonic() - start, f"stopped after {timeout:g} s (time limit)")
        if status == "dead":
            self.close()
            return Execution("dead", time.monotonic() - start, "the kernel died (the code crashed or exited)")
        return self._reply(msg_id, start)

    def _wait_idle(self, msg_id: str, deadline: float) -> str:
        """Read output messages until the kernel is idle after ``msg_id``: ``"idle"``, ``"timeout"`` or ``"dead"``.

        Everything the code prints is read and dropped (a submission's output is not kept).
        """
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            try:
                msg = self.client.get_iopub_msg(timeout=min(1.0, left))
            except queue.Empty:
                if not self.manager.is_alive():
                    return "dead"
                continue
            if (_field(msg, "parent_header", "msg_id") == msg_id and msg.get("msg_type") == "status"
                    and _field(msg, "content", "execution_state") == "idle"):
                return "idle"

    def _reply(self, msg_id: str, start: float) -> Execution:
        while True:
            try:
                msg = self.client.get_shell_msg(timeout=GRACE)
            except queue.Empty:
                return Execution("error", time.monotonic() - start, "the kernel sent no reply")
            if _field(msg, "parent_header", "msg_id") == msg_id:
                break
        content, seconds = msg["content"], time.monotonic() - start
        if content.get("status") != "ok":
            name, value = str(content.get("ename", "Error")), str(content.get("evalue", ""))
            return Execution("error", seconds, shorten(f"{name}: {value}" if value else name, 1000))
        value = content.get("user_expressions", {}).get("result", {})
        text = value.get("data", {}).get("text/plain") if value.get("status") == "ok" else None
        return Execution("ok", seconds, result=text if isinstance(text, str) else None)


def _field(msg: dict, part: str, key: str):
    """``msg[part][key]``, or ``None`` when the message lacks it (a kernel's messages are not trusted)."""
    value = msg.get(part) if isinstance(msg, dict) else None
    return value.get(key) if isinstance(value, dict) else None
