"""Small measuring helpers: process spawning, percentiles, RSS."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import requests

from devstack.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_FRAMEWORK = str(Path(sys.executable).parent / "functions-framework")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def import_time(statement: str, runs: int) -> float:
    """Median seconds for a new interpreter to run ``statement`` (whole process)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", statement],
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )
        samples.append(time.perf_counter() - start)
    return median(samples)


def serve_function(
    target: str, source: Path, env: Mapping[str, str], signature: str = "http"
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            FUNCTIONS_FRAMEWORK,
            "--target",
            target,
            "--source",
            str(source),
            "--signature-type",
            signature,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}"


def cold_start(
    target: str,
    source: Path,
    env: Mapping[str, str],
    request: Callable[[str], requests.Response],
    timeout: float = 60.0,
) -> float:
    """Seconds from spawning a function's process to its first 200 answer."""
    start = time.perf_counter()
    process, url = serve_function(target, source, env)
    try:
        while time.perf_counter() - start < timeout:
            try:
                if request(url).status_code == 200:
                    return time.perf_counter() - start
            except requests.ConnectionError:
                pass
            time.sleep(0.005)
        raise TimeoutError(f"{target} gave no 200 within {timeout}s")
    finally:
        process.kill()
        process.wait()


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (functions-framework serves from a worker)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                children = (task / "children").read_text().split()
            except FileNotFoundError:
                continue  # the thread ended between the listing and the read
            total += sum(rss_kib(int(child)) for child in children)
    except FileNotFoundError:
        return total  # the process ended while we read it: it holds no memory now
    return total
