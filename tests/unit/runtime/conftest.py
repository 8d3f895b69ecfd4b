"""Fixtures for the runtime tests that need root and runc.

Every container test runs twice, against the C monitor (tug-monitor, built by
scripts/setup.sh or here) and against monitor.py: the two must behave the same.

Each test gets a private exec_root under tmp_path and a private cgroup parent
("tugtest-<random>"), a busybox rootfs bind-mounted as the container's root,
and a teardown that removes every container, mount, cgroup and monitor it made,
even when the test failed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tugboat.runtime import ContainerRuntime, ExitStatus, ProcessSpec, Started, StartRequest, cgroups
from tugboat.runtime.container_runtime import MONITOR_BINARY, proc_start_time
from tugboat.runtime.mounts import mountpoints

RUNC = shutil.which("runc")
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
APPLETS = ["sh", "echo", "sleep", "cat", "true", "false", "id", "hostname", "ls", "touch", "tty", "stat", "wc",
           "head", "tr", "grep", "pwd"]

MONITOR_SRC = Path(cgroups.__file__).with_name("monitor") / "tug-monitor.c"
MONITORS = ["c", "python"]

needs_root = pytest.mark.skipif(os.geteuid() != 0 or not RUNC or not os.path.exists(BUSYBOX),
                                reason="needs root, runc and busybox")


@dataclass(frozen=True)
class Mount:
    """Shaped like store.layers.Mount."""

    type: str
    source: str
    options: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("busybox-rootfs")
    root.chmod(0o755)  # pytest makes it 0700: "nobody" could not read /etc/passwd
    (root / "bin").mkdir()
    (root / "etc").mkdir()
    shutil.copy(BUSYBOX, root / "bin" / "busybox")
    for name in APPLETS:
        (root / "bin" / name).symlink_to("busybox")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                         "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (root / "etc" / "group").write_text("root:x:0:\nnobody:x:65534:\n")
    for d in ("proc", "sys", "dev", "tmp"):
        (root / d).mkdir()
    return root


@pytest.fixture(scope="session")
def c_monitor(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The C monitor: TUGBOAT_TEST_C_MONITOR (e.g. a sanitizer build), else
    setup.sh's build when it is current, else compiled here."""
    if os.environ.get("TUGBOAT_TEST_C_MONITOR"):
        return os.environ["TUGBOAT_TEST_C_MONITOR"]
    if MONITOR_BINARY.exists() and MONITOR_BINARY.stat().st_mtime >= MONITOR_SRC.stat().st_mtime:
        return str(MONITOR_BINARY)
    gcc = shutil.which("gcc") or shutil.which("cc")
    if not gcc:
        pytest.skip("no C compiler for the C monitor (scripts/setup.sh installs gcc)")
    out = tmp_path_factory.mktemp("monitor-bin") / "tug-monitor"
    subprocess.run([gcc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(out), str(MONITOR_SRC)],
                   check=True)
    return str(out)


def use_monitor(kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make ContainerRuntimes made from now on (also in subprocesses) use ``kind``;
    returns the C binary's path, or "python"."""
    value = request.getfixturevalue("c_monitor") if kind == "c" else "python"
    monkeypatch.setenv("TUGBOAT_MONITOR", value)
    return value


@pytest.fixture(params=MONITORS)
def monitor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    return use_monitor(request.param, request, monkeypatch)


class Harness:
    """Builds requests and tracks every container for teardown."""

    def __init__(self, tmp_path: Path, rootfs: Path, monitor: str = "python") -> None:
        self.monitor = monitor  # the C binary's path, or "python"
        self.tmp = tmp_path
        self.rootfs = rootfs
        self.exec_root = tmp_path / "exec"
        self.cgroup_parent = "tugtest-" + secrets.token_hex(4)
        self.rt = ContainerRuntime(self.exec_root, self.cgroup_parent, RUNC or "runc")
        self.ids: list[str] = []
        self.monitors: list[int] = []
        self.extra_runtimes: list[ContainerRuntime] = []

    def request(self, args: list[str], **kw: Any) -> StartRequest:
        cid = secrets.token_hex(32)
        self.ids.append(cid)
        proc = ProcessSpec(args=args, env=kw.pop("env", []), cwd=kw.pop("cwd", "/"), user=kw.pop("user", ""),
                           tty=kw.pop("tty", False), open_stdin=kw.pop("open_stdin", False),
                           stdin_once=kw.pop("stdin_once", False))
        data = self.tmp / "data" / cid
        base: dict[str, Any] = dict(id=cid, rootfs_mounts=[Mount("bind", str(self.rootfs))], process=proc,
                                    hostname=cid[:12], domainname="", host_config={}, labels={},
                                    etc_files={}, log_path=data / f"{cid}-json.log", state_dir=data)
        base.update(kw)
        return StartRequest(**base)

    def create(self, req: StartRequest) -> Started:
        st = self.rt.create(req)
        self.monitors.append(st.monitor.pid)
        exe = os.readlink(f"/proc/{st.monitor.pid}/exe")  # the container has not started: it lives
        if self.monitor == "python":
            assert "python" in os.path.basename(exe), exe
        else:
            assert os.path.samefile(exe, self.monitor), exe
        return st

    def watch(self, req: StartRequest, st: Started, rt: ContainerRuntime | None = None
              ) -> tuple[threading.Event, list[ExitStatus]]:
        done = threading.Event()
        got: list[ExitStatus] = []

        def on_exit(s: ExitStatus) -> None:
            got.append(s)
            done.set()

        (rt or self.rt).watch(req.id, st.monitor, req.state_dir, on_exit)
        return done, got

    def run(self, req: StartRequest, timeout: float = 20) -> ExitStatus:
        st = self.create(req)
        done, got = self.watch(req, st)
        self.rt.start(req.id)
        assert done.wait(timeout), "container did not exit"
        assert len(got) == 1
        return got[0]

    def teardown(self) -> list[str]:
        problems = []
        for rt in [self.rt, *self.extra_runtimes]:
            rt.shutdown()
        for cid in self.ids:
            try:
                self.rt.signal(cid, signal.SIGKILL)
            except Exception:
                pass
            try:
                self.rt.cleanup(cid)
            except Exception as e:
                problems.append(f"cleanup {cid}: {e}")
        deadline = time.monotonic() + 10  # a monitor drains and writes exit.json after its container died
        for pid in self.monitors:
            while proc_start_time(pid) is not None and time.monotonic() < deadline:
                time.sleep(0.02)
            if proc_start_time(pid) is not None:
                os.kill(pid, signal.SIGKILL)
                problems.append(f"monitor {pid} still running")
        left = [m for m in mountpoints() if m.startswith(str(self.exec_root))]
        if left:
            problems.append(f"mounts left: {left}")
        leftover = cgroups.remove("/" + self.cgroup_parent)
        if leftover:
            problems.append(f"cgroups left: {leftover}")
        return problems


@pytest.fixture
def h(tmp_path: Path, busybox_rootfs: Path, monitor: str) -> Iterator[Harness]:
    if os.geteuid() != 0 or not RUNC:
        pytest.skip("needs root and runc")
    harness = Harness(tmp_path, busybox_rootfs, monitor)
    try:
        yield harness
    finally:
        problems = harness.teardown()
    assert not problems, problems
