"""Integration test harness: a private tugd per session, driven through tug, the docker CLI and docker-py.

The ``tugd`` session fixture starts ``.venv/bin/tugd`` with everything under one directory,
/tmp/tt<token> (data/, run/ = exec root, tugd.sock, tugd.pid, tugd.log, an empty daemon.json) and the
cgroup parent tugtest-<token>, imports busybox with scripts/ensure-busybox.sh, and at the end removes
every container (force), stops tugd (SIGTERM, then SIGKILL) and forces away what is left
(tugboat.tools.cleanup: runc state, monitor processes, processes in its cgroups, mounts deepest
first, the cgroup dirs in every hierarchy, the directory). ``_leak_check`` then asserts that nothing
is left; what had to be forced is listed in the terminal summary ("tugd left these behind").

``TUGBOAT_TEST_TARGET=docker`` points the same tests at the real Docker Engine on
/var/run/docker.sock (``tug`` then runs the docker CLI too, restart tests skip): a way to check that an
assertion describes what Docker really does. With the default target nothing skips: if tugd cannot
start, runc is missing or we are not root, the tests fail.

Fixtures:
    tugd        Engine (.host "unix://...", .socket, .env with DOCKER_HOST and TUG_HOST, .data_root,
                .exec_root, .log_path, .pid, .restart(kill9=False), .stop(kill9=False), .start(),
                .target "tugd" | "docker")
    tug         tug(*args, input=None, check=False, timeout=60, text=None) -> CompletedProcess
    docker_cli  the same, running /usr/local/bin/docker against the engine under test
    cli         parametrized over both of the above (``cli.name`` is "tug" or "docker")
    dclient     docker.DockerClient(base_url=tugd.host) (docker-py, API version negotiated)
    new_name    new_name("web") -> a unique container name, force-removed after the test
    track       track.container(id_or_name) / track.image(ref): removed after the test
    isolated_tugd  like tugd, but a daemon of its own for one test (for tests that may wedge it)
    docker_engine  the real Docker Engine (started with `dockerd` if it does not answer, and then
                stopped at the end), with busybox:latest imported if absent; .cli(*args) runs docker on it
    token       this session's token, for image names (f"tt{token}/name:tag")

Environment: TUGBOAT_TEST_TARGET=docker (above); TUGBOAT_TEST_START_TIMEOUT (seconds, default 30);
TUGBOAT_TEST_IMPORT_WITH=docker imports busybox into tugd with the docker CLI instead of tug.
Slow tests (restarts, interop with Docker) are marked ``slow``: ``pytest -m "not slow"`` skips them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tugboat.tools.cleanup import clean_daemon_dir, leaks, remove_dir
from tugboat.tools.ping import ping, wait_for

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
TUGD = VENV_BIN / "tugd"
TUG = VENV_BIN / "tug"
# the docker 28 CLI of the machine image; else docker.io's own (20.10) CLI
DOCKER = Path(os.environ.get("TUGBOAT_DOCKER_CLI") or next(
    (p for p in ("/usr/local/bin/docker", "/usr/bin/docker") if os.path.exists(p)), "/usr/local/bin/docker"))
DOCKER_HOST = "unix:///var/run/docker.sock"
ENSURE_BUSYBOX = REPO / "scripts" / "ensure-busybox.sh"
TARGET = os.environ.get("TUGBOAT_TEST_TARGET", "tugd")
START_TIMEOUT = float(os.environ.get("TUGBOAT_TEST_START_TIMEOUT", "30"))


if TARGET not in ("tugd", "docker"):
    raise pytest.UsageError(f"TUGBOAT_TEST_TARGET must be 'tugd' or 'docker', not {TARGET!r}")

# One token per session: names, tags and the cgroup parent carry it, so that nothing clashes with
# another session (or, with the docker target, with what others keep in the real Docker).
TOKEN = secrets.token_hex(3)


# What the final clean-up had to remove by force after `rm -f` of every container and a clean stop of
# tugd: not a failure of the clean-up, but traces tugd itself left; shown in the terminal summary.
FORCED: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FORCED:
        terminalreporter.section("tugd left these behind (removed by force)")
        for line in FORCED:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


# --------------------------------------------------------------------------------------------------
# running commands


def run_cmd(argv: list[str], env: dict[str, str], input: str | bytes | None = None, check: bool = False,
            timeout: float = 60, text: bool | None = None) -> subprocess.CompletedProcess:
    """Run a command; text mode unless ``input`` is bytes or ``text=False``. ``check`` raises with
    the command's output in the message."""
    if text is None:
        text = not isinstance(input, bytes)
    p = subprocess.run(argv, env=env, input=input, capture_output=True, text=text, timeout=timeout,
                       stdin=subprocess.DEVNULL if input is None else None)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {p.returncode}\nstdout: {p.stdout!r}\nstderr: {p.stderr!r}")
    return p


Runner = Callable[..., subprocess.CompletedProcess]


class CLI:
    """A client command line bound to one engine: ``cli("ps", "-a", check=True).stdout``."""

    def __init__(self, name: str, binary: Path, env: dict[str, str]) -> None:
        self.name = name
        self.binary = binary
        self.env = env

    def __call__(self, *args: str, input: str | bytes | None = None, check: bool = False, timeout: float = 60,
                 text: bool | None = None) -> subprocess.CompletedProcess:
        return run_cmd([str(self.binary), *args], self.env, input=input, check=check, timeout=timeout, text=text)

    def __repr__(self) -> str:
        return f"CLI({self.name})"


# --------------------------------------------------------------------------------------------------
# stopping processes (the forced clean-up itself is in tugboat.tools.cleanup)


def _stop_process(proc: subprocess.Popen | None, pid: int | None, grace: float) -> None:
    if proc is not None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        return
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------------
# engines


@dataclass
class Engine:
    """The engine under test (a private tugd, or the real Docker with TUGBOAT_TEST_TARGET=docker)."""

    target: str
    host: str
    tmp: Path | None = None
    cgroup_parent: str = ""
    proc: subprocess.Popen | None = None
    # what the final clean-up had to remove by force after `rm -f` of every container and a clean stop
    forced: list[str] = field(default_factory=list)
    token: str = ""   # of its directory, bridge ("tt<token>", also its veths' prefix) and chains ("TT<token>")

    @property
    def socket(self) -> Path:
        return Path(self.host[len("unix://"):])

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY")}
        env.update(DOCKER_HOST=self.host, TUG_HOST=self.host)
        return env

    @property
    def data_root(self) -> Path:
        assert self.tmp is not None, "no data root with the docker target"
        return self.tmp / "data"

    @property
    def exec_root(self) -> Path:
        assert self.tmp is not None, "no exec root with the docker target"
        return self.tmp / "run"

    @property
    def log_path(self) -> Path:
        assert self.tmp is not None
        return self.tmp / "tugd.log"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def log_tail(self, lines: int = 40) -> str:
        if self.tmp is None:
            return ""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- the private daemon

    def start(self) -> None:
        if self.target != "tugd":
            raise RuntimeError("the docker target is not started by the tests")
        assert self.tmp is not None
        if not TUGD.exists():
            raise RuntimeError(f"{TUGD} not found: run scripts/setup.sh")
        if shutil.which("runc") is None:
            raise RuntimeError("runc not found in PATH: install the Debian package runc (scripts/setup.sh)")
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        argv = [str(TUGD), "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
                "-H", self.host, "--pidfile", str(self.tmp / "tugd.pid"),
                "--cgroup-parent", self.cgroup_parent, "--config-file", str(self.tmp / "daemon.json"),
                "--log-level", "debug"]
        log = open(self.log_path, "ab")
        try:
            log.write(f"\n==== {time.strftime('%H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, cwd="/")
        finally:
            log.close()
        rc = wait_for(self.host, START_TIMEOUT, self.proc.pid)
        if rc != 0:
            why = (f"exited with {self.proc.poll()}" if rc == 2
                   else f"did not answer /_ping within {START_TIMEOUT:g}s")
            with contextlib.suppress(Exception):
                _stop_process(self.proc, None, 5)
            raise RuntimeError(f"tugd {why}; last lines of {self.log_path}:\n{self.log_tail()}")

    def stop(self, kill9: bool = False, grace: float = 15) -> None:
        if self.proc is None:
            return
        if kill9:
            self.proc.kill()
            self.proc.wait(10)
        else:
            _stop_process(self.proc, None, grace)
        self.proc = None

    def restart(self, kill9: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL with kill9) and start a new tugd on the same roots and socket."""
        if self.target != "tugd":
            pytest.skip("restart tests need the private tugd (not the docker target)")
        self.stop(kill9=kill9)
        self.start()

    # -- the end

    def teardown(self) -> None:
        """Remove every container, stop the daemon and clean everything under tmp away."""
        if self.target != "tugd":
            return
        assert self.tmp is not None
        if self.proc is not None and self.proc.poll() is None:
            try:
                import docker

                client = docker.APIClient(base_url=self.host, version="1.41", timeout=15)
                deadline = time.monotonic() + 60          # a hung daemon must not hang the session
                for c in client.containers(all=True):
                    if time.monotonic() > deadline:
                        self.forced.append("gave up removing containers through the API (too slow)")
                        break
                    try:
                        client.remove_container(c["Id"], force=True)
                    except docker.errors.APIError as e:
                        self.forced.append(f"rm -f {c['Id'][:12]} failed: {e}")
                for n in client.networks():      # user networks: their bridges are not tt<token>*
                    if n["Name"] not in ("bridge", "host", "none"):
                        self.forced.append(f"network {n['Name']}")
                        try:
                            client.remove_network(n["Id"])
                        except docker.errors.APIError as e:
                            self.forced.append(f"network rm {n['Name']} failed: {e}")
                client.close()
            except Exception as e:  # the daemon may be broken; the rest cleans up by force
                self.forced.append(f"could not remove containers through the API: {e}")
        self.stop()
        self._drop_daemon_network()
        self.forced.extend(clean_daemon_dir(self.tmp, self.cgroup_parent, self.exec_root, **self._net_prefixes))

    def leaks(self) -> list[str]:
        if self.target != "tugd" or self.tmp is None:
            return []
        return leaks(self.tmp, self.cgroup_parent, self.exec_root, **self._net_prefixes)

    @property
    def _net_prefixes(self) -> dict[str, str | None]:
        """Its interfaces (bridge tt<token>, veths tt<token>*) and iptables chains (TT<token>-*)."""
        return {"link_prefix": f"tt{self.token}" if self.token else None,
                "chain_prefix": f"TT{self.token}" if self.token else None}

    def _drop_daemon_network(self) -> None:
        """What a cleanly stopped tugd keeps by design (as dockerd keeps docker0 and its chains): the
        default bridge, the chains, the shared bind mount of the netns directory. Removed here without
        counting as forced; anything else (veths, pinned namespaces) the forced clean-up reports."""
        if not self.token:
            return
        from tugboat.network.links import remove_bridge
        from tugboat.tools.cleanup import clean_network

        remove_bridge(f"tt{self.token}")
        clean_network(chain_prefix=f"TT{self.token}")
        pins = self.exec_root / "netns"
        if pins.is_dir() and not any(pins.iterdir()):
            subprocess.run(["umount", str(pins)], capture_output=True)


def _free_second_octet() -> int:
    """A 10.X.0.0/16 with no route on the host (other sessions' bridges included)."""
    import ipaddress

    from tugboat.network.links import host_routes

    taken = [ipaddress.ip_network(r) for r in host_routes()]
    for _ in range(100):
        x = secrets.choice(range(100, 251))
        if not any(n.overlaps(ipaddress.ip_network(f"10.{x}.0.0/16")) for n in taken):
            return x
    raise RuntimeError("no free 10.X.0.0/16 for the test daemon's networks")


def network_config(token: str) -> dict[str, Any]:
    """daemon.json of a private tugd: bridge tt<token> (its veths carry that prefix too) with a /24
    in 10.X.0.0/16, user networks from the /17 beside it, iptables chains TT<token>-*."""
    x = _free_second_octet()
    return {"bridge": f"tt{token}", "bip": f"10.{x}.0.1/24",
            "default-address-pools": [{"base": f"10.{x}.128.0/17", "size": 24}],
            "iptables-chain-prefix": f"TT{token}", "veth-prefix": f"tt{token}"}


def ensure_busybox(host: str, cli: Path) -> None:
    env = {**os.environ, "CLI": str(cli)}
    r = subprocess.run([str(ENSURE_BUSYBOX), host], env=env, capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise RuntimeError(f"{ENSURE_BUSYBOX} {host} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")


@dataclass
class DockerEngine:
    """The real Docker Engine (reference for interop tests)."""

    host: str = DOCKER_HOST
    started: subprocess.Popen | None = None
    root: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY")}
        env.update(DOCKER_HOST=self.host)
        return env

    def cli(self, *args: str, input: str | bytes | None = None, check: bool = False, timeout: float = 120,
            text: bool | None = None) -> subprocess.CompletedProcess:
        return run_cmd([str(DOCKER), *args], self.env, input=input, check=check, timeout=timeout, text=text)


def start_docker_engine(log_dir: Path) -> DockerEngine:
    """The Docker Engine on /var/run/docker.sock when one answers; otherwise (a fresh CI machine:
    setup.sh installs docker.io but nothing starts it) a private dockerd of the tests' own, with its
    own roots and socket under a short /tmp dir and no bridge or iptables rules, so that stopping
    it leaves nothing on the host."""
    eng = DockerEngine()
    if ping(eng.host):
        return eng
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise RuntimeError("dockerd not found: install the Debian package docker.io (scripts/setup.sh)")
    root, _ = _new_daemon_dir()
    (root / "daemon.json").write_text("{}\n")
    eng.host, eng.root = f"unix://{root}/docker.sock", root
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "dockerd.log", "ab") as log:
        eng.started = subprocess.Popen(
            [dockerd, "--data-root", str(root / "data"), "--exec-root", str(root / "exec"), "-H", eng.host,
             "--pidfile", str(root / "docker.pid"), "--config-file", str(root / "daemon.json"),
             "--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd="/")
    if wait_for(eng.host, 60, eng.started.pid) != 0:
        tail = (log_dir / "dockerd.log").read_text(errors="replace").splitlines()[-30:]
        stop_docker_engine(eng)
        raise RuntimeError(f"dockerd did not come up on {eng.host}:\n" + "\n".join(tail))
    return eng


def stop_docker_engine(eng: DockerEngine) -> None:
    """Stop a dockerd the tests started (and everything under its private dir); a running
    system dockerd is left alone."""
    if eng.started is None:
        return
    _stop_process(eng.started, None, 30)
    if eng.root is not None:
        remove_dir(eng.root)


# --------------------------------------------------------------------------------------------------
# fixtures


def _new_daemon_dir() -> tuple[Path, str]:
    """/tmp/tt<token>: short on purpose. Unix socket paths must fit in 107 bytes, and the runtime puts
    <exec-root>/containers/<64-hex id>/console.sock there (88 bytes after the exec root)."""
    while True:
        token = secrets.token_hex(3)
        path = Path(f"/tmp/tt{token}")
        try:
            path.mkdir(mode=0o711)
            return path, token
        except FileExistsError:
            continue


@contextlib.contextmanager
def private_tugd(engines: list[Engine], extra_config: dict[str, Any] | None = None) -> Iterator[Engine]:
    """A tugd of its own (dir, roots, socket, cgroup parent) with busybox; every trace removed after.
    ``extra_config``: more daemon.json keys (e.g. "userns-remap")."""
    if os.geteuid() != 0:
        raise RuntimeError("the integration tests need root (tugd mounts, runc, cgroups)")
    tmp, token = _new_daemon_dir()
    try:
        # never the host's /etc/tugboat/daemon.json; networking of its own (bridge, subnets, chains)
        (tmp / "daemon.json").write_text(json.dumps({**network_config(token), **(extra_config or {})}, indent=1)
                                         + "\n")
        eng = Engine(target="tugd", host=f"unix://{tmp}/tugd.sock", tmp=tmp, cgroup_parent=f"tugtest-{token}",
                     token=token)
        engines.append(eng)
        try:
            eng.start()
            # TUGBOAT_TEST_IMPORT_WITH=docker: import busybox with the docker CLI (while tug lacks `import`)
            ensure_busybox(eng.host, DOCKER if os.environ.get("TUGBOAT_TEST_IMPORT_WITH") == "docker" else TUG)
            yield eng
        finally:
            eng.teardown()
            FORCED.extend(eng.forced)
    finally:
        remove_dir(tmp)


def _host_network_names() -> set[str]:
    """The host's interfaces and iptables chains: a test run must add none (whatever their names)."""
    names = {"link " + line.split()[0].split("@")[0]
             for line in subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout.splitlines()
             if line.strip()}
    for table in ("filter", "nat"):
        out = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True).stdout
        names |= {f"chain {table} {line[1:].split()[0]}" for line in out.splitlines() if line.startswith(":")}
    return names


@pytest.fixture(scope="session")
def _leak_check() -> Iterator[list[Engine]]:
    """Set up before any daemon, torn down after all: asserts the clean-up left nothing, neither in
    the private daemons' own names nor anywhere else on the host's network."""
    engines: list[Engine] = []
    before = _host_network_names()
    yield engines
    problems = [leak for e in engines for leak in e.leaks()]
    problems += sorted(f"{name} (new on the host)" for name in _host_network_names() - before)
    assert not problems, "the test session left traces behind:\n" + "\n".join(problems)



@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerEngine]:
    """The real Docker Engine, started if needed (and then stopped at the end), with busybox:latest."""
    eng = start_docker_engine(tmp_path_factory.mktemp("dockerd"))
    ensure_busybox(eng.host, DOCKER)
    try:
        yield eng
    finally:
        stop_docker_engine(eng)


@pytest.fixture(scope="session")
def tugd(_leak_check: list[Engine], request: pytest.FixtureRequest) -> Iterator[Engine]:
    if TARGET == "docker":
        docker = request.getfixturevalue("docker_engine")
        yield Engine(target="docker", host=docker.host)
        return
    with private_tugd(_leak_check) as eng:
        yield eng


@pytest.fixture
def isolated_tugd(_leak_check: list[Engine], request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A tugd for one test only, for tests that may wedge or kill it (the session's tugd is unharmed).
    With the docker target: the real Docker Engine."""
    if TARGET == "docker":
        docker = request.getfixturevalue("docker_engine")
        yield Engine(target="docker", host=docker.host)
        return
    with private_tugd(_leak_check) as eng:
        yield eng


@pytest.fixture
def tug(tugd: Engine) -> CLI:
    """tug against the engine under test (the docker CLI with the docker target)."""
    if tugd.target == "docker":
        return CLI("docker", DOCKER, tugd.env)
    return CLI("tug", TUG, tugd.env)


@pytest.fixture
def docker_cli(tugd: Engine) -> CLI:
    """The real docker CLI (28.x, negotiating API 1.41) against the engine under test."""
    return CLI("docker", DOCKER, tugd.env)


CLI_NAMES = ["tug", "docker"] if TARGET == "tugd" else ["docker"]


@pytest.fixture(params=CLI_NAMES)
def cli(request: pytest.FixtureRequest, tugd: Engine) -> CLI:
    """Each test using it runs once with tug and once with the docker CLI."""
    if request.param == "tug":
        return CLI("tug", TUG, tugd.env)
    return CLI("docker", DOCKER, tugd.env)


@pytest.fixture
def dclient(tugd: Engine) -> Iterator[Any]:
    import docker

    client = docker.DockerClient(base_url=tugd.host, timeout=60)
    yield client
    client.close()


class Tracker:
    """Objects a test created, removed (forcibly, ignoring errors) when the test ends."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.containers: list[str] = []
        self.images: list[str] = []
        self._n = 0

    def name(self, hint: str = "c") -> str:
        self._n += 1
        n = f"tt{TOKEN}-{hint}-{self._n}-{secrets.token_hex(2)}"
        self.containers.append(n)
        return n

    def container(self, ref: str) -> str:
        self.containers.append(ref.strip())
        return ref.strip()

    def image(self, ref: str) -> str:
        self.images.append(ref.strip())
        return ref.strip()

    def cleanup(self) -> None:
        if not self.containers and not self.images:
            return
        import docker

        client = docker.APIClient(base_url=self.host, version="1.41", timeout=60)
        try:
            for c in reversed(self.containers):
                with contextlib.suppress(Exception):
                    client.remove_container(c, force=True)
            for i in reversed(self.images):
                with contextlib.suppress(Exception):
                    client.remove_image(i, force=True)
        finally:
            client.close()


@pytest.fixture
def track(tugd: Engine) -> Iterator[Tracker]:
    t = Tracker(tugd.host)
    yield t
    t.cleanup()


@pytest.fixture
def new_name(track: Tracker) -> Callable[[str], str]:
    """new_name("web") -> "tt<token>-web-<n>-<hex>", a container name removed after the test."""
    return track.name


@pytest.fixture(scope="session")
def token() -> str:
    """This session's token: put it in image names (tt<token>/...) so they never clash."""
    return TOKEN


@pytest.fixture(scope="session")
def debian_image(tugd: Engine) -> str:
    """debian:bookworm in the engine under test, from scripts/ensure-debian.sh (debootstrap, cached
    in /var/cache/tugboat between sessions); left in the engine, like busybox."""
    cli = DOCKER if tugd.target == "docker" else TUG
    script = REPO / "scripts" / "ensure-debian.sh"
    r = subprocess.run([str(script), tugd.host], env={**os.environ, "CLI": str(cli)}, capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"{script} {tugd.host} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return "debian:bookworm"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: restarts tugd or moves images through the real Docker Engine")
