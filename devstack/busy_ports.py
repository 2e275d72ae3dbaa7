"""Refuse to start the local stack on a port something else listens on, and say who holds it.

Without this a taken port looks "ready" (something answers there) and the stack fails a minute
later inside a gRPC timeout. The holder is found in /proc (Linux): the listening socket's inode in
/proc/net/tcp{,6}, then the process with that inode among its file descriptors.
"""

from __future__ import annotations

import contextlib
import errno
import re
import socket
from collections.abc import Mapping
from pathlib import Path

PROC = Path("/proc")
TCP_LISTEN = "0A"
# Command lines are shown to name the holder; values of flags like these are not.
SECRET_FLAG = re.compile(r"secret|password|token|key", re.IGNORECASE)


class PortInUse(RuntimeError):
    """A port the stack needs is taken (the message names the port, its part and the holder)."""


def refuse_busy_ports(ports: Mapping[str, int]) -> None:
    """Raise PortInUse naming every port in ``ports`` (part → port) that cannot be bound now."""
    busy = [(part, port) for part, port in ports.items() if not bindable(port)]
    if busy:
        lines = [f"  port {port} ({part}) is in use by {holder(port)}" for part, port in busy]
        raise PortInUse(
            "\n".join(
                [
                    "ports the local stack needs are taken:",
                    *lines,
                    "stop what holds them (or free the ports) and start again",
                ]
            )
        )


def bindable(port: int) -> bool:
    """True if a server could listen on 127.0.0.1:``port`` now (TIME_WAIT leftovers are fine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def holder(port: int) -> str:
    """Describe the process listening on ``port``: "pid N (command line)", or why it is unknown."""
    inodes = listening_inodes(port)
    if not inodes:
        return "another process (no listening socket found in /proc/net/tcp)"
    for pid_dir in PROC.iterdir():
        if not pid_dir.name.isdigit():
            continue
        with contextlib.suppress(OSError):  # gone meanwhile, or another user's process
            for fd in (pid_dir / "fd").iterdir():
                with contextlib.suppress(OSError):
                    target = fd.readlink().name
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        return f"pid {pid_dir.name} ({command_line(pid_dir)})"
    return "a process of another user (its pid is not visible to us)"


def listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on ``port`` on any address, IPv4 or IPv6."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in (PROC / "net" / table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == TCP_LISTEN:
                    inodes.add(fields[9])
    return inodes


def command_line(pid_dir: Path) -> str:
    """The process's command line, with what follows a secret-looking flag masked."""
    words = [w.decode(errors="replace") for w in (pid_dir / "cmdline").read_bytes().split(b"\0")]
    words = [w for w in words if w]
    shown = [_masked(previous, word) for previous, word in zip(["", *words], words, strict=False)]
    return " ".join(shown)[:200] or "no command line"


def _masked(previous: str, word: str) -> str:
    if previous.startswith("-") and "=" not in previous and SECRET_FLAG.search(previous):
        return "***"  # --key-secret VALUE
    flag, equals, _ = word.partition("=")
    if equals and flag.startswith("-") and SECRET_FLAG.search(flag):
        return f"{flag}=***"  # --key-secret=VALUE
    return word
