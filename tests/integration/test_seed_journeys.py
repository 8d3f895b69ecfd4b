"""The journeys of the beginner notes on Docker (/work/shared/seeds/), step by step, through tug and the
real docker CLI: hello-world; a Dockerfile of the notes' instructions (CMD overridden at run); an
"nginx" image built on a base image and published with -p; redis-cli through exec (with and without
-it); a "mysql" server reached from another container by --link; an "svn" server on a named volume
with published ports, and one in a container attached to, then detached; the life cycle (create, start,
logs -f, pause, stop vs kill, restart, attach, rm); httpd serving a bind-mounted htdocs; and
commit/diff/cp. (The notes' docker-compose journey is not here: Tugboat has no compose support yet.)
The `-it` steps run in a real terminal (tmux). The stand-in images are in seed_images.py.

There is no registry here, so the notes' images are stand-ins built from busybox with the classic
builder: same names of commands and paths, same ports, the same way of being used. Host ports are
picked free at runtime. Every assertion also holds against the real Docker Engine
(TUGBOAT_TEST_TARGET=docker)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from .conftest import run_cmd
from .helpers import HEX64, ok, wait_until
from .seed_images import (
    CENTOS_SVN_FILES,
    HELLO_DOCKERFILE,
    HTTPD_DOCKERFILE,
    MYSQL_BASE,
    NGINX_DOCKERFILE,
    REDIS_FILES,
    SVN_FILES,
)
from .test_networking import free_port, host_address, http_get

HELLO = ("Hello from Docker!\n"
         "This message shows that your installation appears to be working correctly.\n")


def build(cli: Any, ctx: Path | str, *args: str) -> subprocess.CompletedProcess:
    """`docker build [args] ctx` with the classic builder, as the notes' Docker did."""
    return ok(run_cmd([str(cli.binary), "build", *args, str(ctx)], {**cli.env, "DOCKER_BUILDKIT": "0"},
                      timeout=120))


def context(root: Path, files: dict[str, str], executable: tuple[str, ...] = ()) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
        if name in executable:
            (root / name).chmod(0o755)
    return root


def state(cli: Any, name: str) -> dict[str, Any]:
    return dict(json.loads(ok(cli("inspect", name)).stdout)[0]["State"])


def status_of(cli: Any, name: str) -> str:
    out = ok(cli("ps", "-a", "--filter", f"name=^/?{name}$", "--format", "{{.Status}}")).stdout
    return out.strip()


def ask(host: str, port: int, line: str, timeout: float = 15) -> str:
    """One line to a line-oriented server on a published port, its whole answer (retried while the
    server is not listening yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=5) as s:
                s.sendall(line.encode() + b"\n")
                s.shutdown(socket.SHUT_WR)
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
            if data:
                return data.decode()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no answer from {host}:{port} to {line!r}")
        time.sleep(0.2)


def removed(cli: Any, name: str) -> bool:
    return bool(cli("inspect", name).returncode != 0)


def port_is_free(port: int) -> bool:
    """Nothing listens on the host port (connections in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


class Terminal:
    """A command in a real terminal (a tmux server of the test's own, killed at the end), for the
    notes' `-it` steps."""

    def __init__(self, cli: Any, *args: str) -> None:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in cli.env.items() if k in ("DOCKER_HOST", "TUG_HOST"))
        command = " ".join(shlex.quote(a) for a in (str(cli.binary), *args))
        self.name = f"tugseed{secrets.token_hex(4)}"
        self.socket = f"/tmp/{self.name}.tmux"
        subprocess.run(["tmux", "-S", self.socket, "new-session", "-d", "-s", self.name, "-x", "120", "-y", "40",
                        f"env {env} {command}; echo EXITED=$?; sleep 60"], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "-S", self.socket, "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True, check=False).stdout

    def type(self, line: str) -> None:
        subprocess.run(["tmux", "-S", self.socket, "send-keys", "-t", self.name, line, "Enter"], check=False)

    def expect(self, text: str, timeout: float = 20) -> None:
        try:
            wait_until(lambda: text in self.screen(), timeout=timeout, what=f"{text!r} on the screen")
        except AssertionError as e:
            raise AssertionError(f"{e}; the screen:\n{self.screen()}") from None

    def enter_until(self, text: str, timeout: float = 20) -> None:
        """Press Enter until ``text`` shows (keys typed before the client is ready may be lost)."""
        def pressed() -> bool:
            self.type("")
            time.sleep(0.3)
            return text in self.screen()
        wait_until(pressed, timeout=timeout, what=f"{text!r} on the screen")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, check=False)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)


@contextlib.contextmanager
def terminal(cli: Any, *args: str) -> Any:
    t = Terminal(cli, *args)
    try:
        yield t
    finally:
        t.close()


# --------------------------------------------------------------------------------------------------
# 004: `docker run hello-world`, then the life cycle: ps -a, logs, start -i, rm, rmi


def test_hello_world(cli: Any, tmp_path: Path, token: str, track: Any) -> None:
    image = track.image(f"tt{token}/hello-world:latest")
    hello = "#!/bin/sh\necho\n" + "".join(f"echo '{line}'\n" for line in HELLO.splitlines())
    ctx = context(tmp_path, {"Dockerfile": 'FROM busybox\nCOPY hello /hello\nCMD ["/hello"]\n', "hello": hello},
                  executable=("hello",))
    out = build(cli, ctx, "-t", image).stdout
    assert f"Successfully tagged {image}\n" in out
    listed = ok(cli("images", f"tt{token}/hello-world", "--format", "{{.Repository}}:{{.Tag}}")).stdout
    assert listed == f"{image}\n"

    p = ok(cli("run", image))
    assert p.stdout == "\n" + HELLO
    ids = ok(cli("ps", "-a", "-q", "--no-trunc", "--filter", f"ancestor={image}")).stdout.split()
    assert len(ids) == 1 and HEX64.match(ids[0])
    cid = track.container(ids[0])
    assert ok(cli("ps", "-q", "--filter", f"ancestor={image}")).stdout == ""     # it has stopped
    ps = ok(cli("ps", "-a", "--filter", f"id={cid}", "--format", "{{.ID}} {{.Image}} {{.Command}} {{.Status}}"))
    short, img, command, status = ps.stdout.split(" ", 3)
    assert (short, img, command) == (cid[:12], image, '"/hello"') and status.startswith("Exited (0) ")
    # a stopped container keeps its output until it is removed; start -i shows the new run's
    assert ok(cli("logs", cid[:12])).stdout == "\n" + HELLO
    assert ok(cli("start", "-i", cid[:12])).stdout == "\n" + HELLO
    assert ok(cli("logs", cid[:12])).stdout == ("\n" + HELLO) * 2

    # an image still used by a container cannot be removed
    p = cli("rmi", image)
    assert p.returncode == 1
    assert f'unable to remove repository reference "{image}" (must force) - container {cid[:12]} is using' in p.stderr
    assert ok(cli("rm", cid[:12])).stdout == f"{cid[:12]}\n"
    assert cli("logs", cid).returncode == 1
    out = ok(cli("rmi", image)).stdout
    assert out.startswith(f"Untagged: {image}\nDeleted: sha256:")
    assert ok(cli("images", "-q", f"tt{token}/hello-world")).stdout == ""


# --------------------------------------------------------------------------------------------------
# 000/003: a Dockerfile of the notes' instructions; `docker build ./`, then with -t; CMD overridden


def test_dockerfile_build_and_cmd_override(cli: Any, tmp_path: Path, token: str, track: Any) -> None:
    ctx = context(tmp_path, {"Dockerfile": HELLO_DOCKERFILE, "index.html": "<h1>hi</h1>\n"})
    out = build(cli, f"{ctx}/").stdout            # `docker build ./`: an image known by its ID
    built = re.findall(r"Successfully built ([0-9a-f]{12})\n", out)
    assert len(built) == 1 and "Successfully tagged" not in out
    track.image(built[0])
    image = track.image(f"tt{token}/hello:latest")      # `docker build -t dudgns3tp/hello:latest ./`
    out = build(cli, f"{ctx}/", "-t", image).stdout
    assert out.endswith(f"Successfully built {built[0]}\nSuccessfully tagged {image}\n")   # all cached
    assert out.count(" ---> Using cache\n") == 8

    config = json.loads(ok(cli("image", "inspect", image)).stdout)[0]["Config"]
    assert config["Labels"] == {"maintainer": "test", "version": "1.0"}
    assert (config["WorkingDir"], config["ExposedPorts"]) == ("/app", {"8080/tcp": {}})
    assert {"GREETING=hello", "APP_HOME=/app"} <= set(config["Env"])
    assert (config["Entrypoint"], config["Cmd"]) == (["echo", "entry:"], ["default"])
    # "run command의 맨 끝에 CMD명령을 작성하여 덮어씌울 수 있다"; the ENTRYPOINT stays
    assert ok(cli("run", "--rm", image)).stdout == "entry: default\n"
    assert ok(cli("run", "--rm", image, "override", "args")).stdout == "entry: override args\n"
    p = ok(cli("run", "--rm", "--entrypoint", "cat", image, "built.txt", "index.html"))
    assert p.stdout == "built in /app for hello\n<h1>hi</h1>\n"
    history = ok(cli("history", "--no-trunc", "--format", "{{.CreatedBy}}", image)).stdout.splitlines()
    assert history[0] == '/bin/sh -c #(nop)  CMD ["default"]'
    assert history[1] == '/bin/sh -c #(nop)  ENTRYPOINT ["echo" "entry:"]'


# --------------------------------------------------------------------------------------------------
# 002: an nginx image built on a base image; two containers of it published with -p; exec -it bash


def test_nginx_built_and_published(cli: Any, tmp_path: Path, token: str, track: Any, new_name: Any) -> None:
    image = track.image(f"tt{token}/ubuntu-nginx-build:latest")
    build(cli, context(tmp_path, {"Dockerfile": NGINX_DOCKERFILE}), "-t", image)
    config = json.loads(ok(cli("image", "inspect", image)).stdout)[0]["Config"]
    assert config["ExposedPorts"] == {"8080/tcp": {}}

    # "하나의 이미지로 여러 컨테이너 생성이 가능하다. 이때 포트는 겹치지 않도록 한다."
    web1, web2 = new_name("nginx"), new_name("nginx")
    port1, port2 = free_port(), free_port()
    ok(cli("run", "-d", "-p", f"{port1}:8080", "--name", web1, image))
    ok(cli("run", "-d", "-p", f"{port2}:8080", "--name", web2, image))
    for addr in ("127.0.0.1", host_address()):
        for port in (port1, port2):
            assert http_get(f"http://{addr}:{port}/") == "<h1>Welcome to nginx!</h1>\n"
    assert f"8080/tcp -> 0.0.0.0:{port1}\n" in ok(cli("port", web1)).stdout
    assert ok(cli("port", web2, "8080/tcp")).stdout.startswith(f"0.0.0.0:{port2}\n")
    ports = ok(cli("ps", "--filter", f"name={web1}", "--format", "{{.Ports}}")).stdout
    assert ports.startswith(f"0.0.0.0:{port1}->8080/tcp")

    # the same host port twice: the second container is created but cannot start
    web3 = new_name("nginx")
    p = cli("run", "-d", "-p", f"{port1}:8080", "--name", web3, image)
    assert p.returncode == 125
    assert f"Bind for 0.0.0.0:{port1} failed: port is already allocated" in p.stderr
    assert status_of(cli, web3) == "Created"
    assert http_get(f"http://127.0.0.1:{port1}/") == "<h1>Welcome to nginx!</h1>\n"   # web1 is unharmed

    with terminal(cli, "exec", "-it", web1, "/bin/bash") as term:
        term.expect("/var/www/html #")
        term.type("echo '<h1>edited inside</h1>' > index.html; ls | tr a-z A-Z")
        term.expect("INDEX.HTML")
        term.type("exit 3")
        term.expect("EXITED=3")
    assert http_get(f"http://127.0.0.1:{port1}/") == "<h1>edited inside</h1>\n"
    assert http_get(f"http://127.0.0.1:{port2}/") == "<h1>Welcome to nginx!</h1>\n"
    assert state(cli, web1)["Running"]

    names = ok(cli("ps", "-a", "--filter", f"ancestor={image}", "--format", "{{.Names}}")).stdout.split()
    assert sorted(names) == sorted([web1, web2, web3])
    ok(cli("rm", "-f", web1, web2, web3))
    # the host ports are free again
    for port in (port1, port2):
        wait_until(functools.partial(port_is_free, port), timeout=5, what=f"host port {port} to be released")


# --------------------------------------------------------------------------------------------------
# 000: a redis server in a container; redis-cli through exec, with and without -it; stop vs kill


def test_redis_cli_through_exec(cli: Any, tmp_path: Path, token: str, track: Any, new_name: Any) -> None:
    image = track.image(f"tt{token}/redis:latest")
    build(cli, context(tmp_path, REDIS_FILES, executable=("redis-server", "redis-cli", "redis-session")),
          "-t", image)
    name = new_name("redis")
    cid = ok(cli("run", "-d", "--name", name, image)).stdout.strip()
    assert HEX64.match(cid)
    wait_until(lambda: "Ready to accept connections" in cli("logs", name).stdout, what="redis to start")
    assert ok(cli("ps", "--filter", f"name={name}", "--format", "{{.Names}}")).stdout == f"{name}\n"

    # "-it가 없다면 redis-cli를 키기만 하고 밖으로 다시 나와버린다": no stdin, the prompt ends at once
    p = ok(cli("exec", cid[:12], "redis-cli"))
    assert p.stdout == "127.0.0.1:6379> "
    with terminal(cli, "exec", "-it", cid[:12], "redis-cli") as term:
        term.expect("127.0.0.1:6379>")
        term.type("set greeting hello")
        term.expect("\nOK\n")
        term.type("get greeting")
        term.expect('\n"hello"\n')
        term.type("quit")
        term.expect("EXITED=0")
    assert ok(cli("exec", name, "redis-cli", "get", "greeting")).stdout == '"hello"\n'
    assert ok(cli("exec", name, "redis-cli", "get", "nosuchkey")).stdout == "(nil)\n"
    # "실행중인 컨테이너에서 터미널 생활 즐기기": a shell in the container
    with terminal(cli, "exec", "-it", name, "sh") as term:
        term.expect("/data #")
        term.type("ls /data; cat greeting; echo")
        term.expect("greeting\nhello\n")
        term.type("exit")
        term.expect("EXITED=0")

    # stop lets the server finish; kill does not wait
    ok(cli("stop", name))
    assert state(cli, name)["ExitCode"] == 0
    assert "Redis is now ready to exit, bye bye" in ok(cli("logs", name)).stdout
    ok(cli("start", name))
    wait_until(lambda: cli("logs", name).stdout.count("Ready to accept connections") == 2, what="restart")
    assert ok(cli("exec", name, "redis-cli", "get", "greeting")).stdout == '"hello"\n'   # same container
    ok(cli("kill", name))
    st = state(cli, name)
    assert (st["Running"], st["ExitCode"]) == (False, 137)
    assert status_of(cli, name).startswith("Exited (137) ")


# --------------------------------------------------------------------------------------------------
# 003: a mysql image (FROM mysql + ENV), its data on a host dir, a notebook container using it by --link


def test_mysql_by_link(cli: Any, tmp_path: Path, token: str, track: Any, new_name: Any) -> None:
    base = track.image(f"tt{token}/mysql:8")
    build(cli, context(tmp_path / "mysql", MYSQL_BASE, executable=("mysqld", "mysql-session")), "-t", base)
    # the note's Dockerfile, under its own file name: FROM mysql:버전 + the two ENV
    ctx = context(tmp_path / "proj", {"mysql_Dockerfile": f"FROM {base}\n\nENV MYSQL_ROOT_PASSWORD=jjcoding\n"
                                                          "ENV MYSQL_DATABASE=jjdb\n"})
    image = track.image(f"tt{token}/mysql-jj:latest")
    build(cli, ctx, "--tag", image, "-f", str(ctx / "mysql_Dockerfile"))
    notebook = track.image(f"tt{token}/datascience-notebook:latest")
    build(cli, context(tmp_path / "nb", {"Dockerfile": "FROM busybox\nRUN mkdir -p /home/jovyan/work\n"
                                                         "WORKDIR /home/jovyan\nEXPOSE 8888\n"
                                                         'CMD ["httpd", "-f", "-p", "8888", "-h", "/home/jovyan"]\n'}),
          "-t", notebook)

    mysqldata = tmp_path / "mysqldata"        # "sudo rm -rf mysqldata/": the dir does not exist
    db = new_name("mysql")
    ok(cli("run", "--rm", "-d", "--name", db, "-v", f"{mysqldata}:/var/lib/mysql", image))
    wait_until(lambda: "ready for connections" in cli("logs", db).stdout, what="mysqld to start")
    assert (mysqldata / "jjdb").is_dir()      # the engine made the host dir; the server's data is in it
    assert ok(cli("port", db)).stdout == ""   # no -p: not reachable from outside

    work = tmp_path / "work"
    work.mkdir()
    (work / "notebook.ipynb").write_text('{"cells": []}\n')
    client = new_name("notebook")
    port = free_port()
    ok(cli("run", "--rm", "-d", "-p", f"{port}:8888", "-v", f"{work}:/home/jovyan/work", "--link",
           f"{db}:mysqldb", "--name", client, notebook))
    assert http_get(f"http://{host_address()}:{port}/work/notebook.ipynb") == '{"cells": []}\n'

    # the alias is a host name in the client; the link brings the server's port and ENV
    env = dict(line.split("=", 1) for line in ok(cli("exec", client, "env")).stdout.splitlines() if "=" in line)
    ip = ok(cli("inspect", "--format", "{{.NetworkSettings.IPAddress}}", db)).stdout.strip()
    assert env["MYSQLDB_PORT_3306_TCP"] == f"tcp://{ip}:3306"
    assert (env["MYSQLDB_PORT_3306_TCP_ADDR"], env["MYSQLDB_PORT_3306_TCP_PORT"]) == (ip, "3306")
    assert env["MYSQLDB_ENV_MYSQL_ROOT_PASSWORD"] == "jjcoding" and env["MYSQLDB_ENV_MYSQL_DATABASE"] == "jjdb"
    hosts = ok(cli("exec", client, "cat", "/etc/hosts")).stdout
    assert any(line.split()[:2] == [ip, "mysqldb"] for line in hosts.splitlines()), hosts
    connect = "echo \"$1 $2 $3\" | nc -w 5 mysqldb 3306"
    p = ok(cli("exec", client, "sh", "-c", connect, "-", "root", "jjcoding", "jjdb"))
    assert p.stdout == "connected to jjdb\n"
    p = ok(cli("exec", client, "sh", "-c", connect, "-", "root", "wrong", "jjdb"))
    assert p.stdout == "ERROR 1045 (28000): Access denied for user 'root'\n"

    # --rm: stopped, both are gone; the data stays on the host
    ok(cli("stop", client, db))
    for name in (client, db):
        wait_until(functools.partial(removed, cli, name), what=f"{name} removed")
    assert (mysqldata / "jjdb").is_dir()


# --------------------------------------------------------------------------------------------------
# 001: an svn server on a named volume, with its ports published; exec -t / -it; the volume outlives it


def test_svn_server_on_a_named_volume(cli: Any, tmp_path: Path, token: str, track: Any, new_name: Any) -> None:
    image = track.image(f"tt{token}/svn-server:latest")
    build(cli, context(tmp_path, SVN_FILES, executable=("init", "svnadmin", "svn", "htpasswd", "svnserve-session")),
          "-t", image)
    volume = f"tt{token}-svn-root-{secrets.token_hex(2)}"
    assert ok(cli("volume", "create", volume)).stdout == f"{volume}\n"
    try:
        name = new_name("svn-server")
        web, svn = free_port(), free_port()
        ok(cli("run", "-dit", "--name", name, "-v", f"{volume}:/home/svn", "-p", f"{web}:80", "-p", f"{svn}:3690",
               "-w", "/home/svn", image))
        p = ok(cli("exec", "-t", name, "htpasswd", "-b", "/etc/subversion/passwd", "svnadmin", "secret"))
        assert p.stdout == "Adding password for user svnadmin\n"     # -t: \r\n, read as \n in text mode
        assert ok(cli("exec", name, "cat", "/etc/subversion/passwd")).stdout.startswith("svnadmin:$1$")

        with terminal(cli, "exec", "-it", name, "svnadmin", "create", "test_repo") as term:
            term.expect("EXITED=0")
        with terminal(cli, "exec", "-it", name, "/bin/sh") as term:
            term.expect("/home/svn #")
            term.type("svn info svn://localhost:3690/test_repo")
            term.expect("Path: test_repo\nURL: svn://localhost/test_repo\nRevision: 0\n")
            term.type("exit")
            term.expect("EXITED=0")
        # both published ports, from the host
        assert ask(host_address(), svn, "info test_repo").endswith("Revision: 0\n")
        assert http_get(f"http://127.0.0.1:{web}/test_repo/format") == "5\n"

        # the volume is in use; the repository outlives the container
        inuse = cli("volume", "rm", volume)
        assert inuse.returncode == 1 and "volume is in use" in inuse.stderr
        ok(cli("rm", "-f", name))
        assert volume in ok(cli("volume", "ls", "-q")).stdout.split()
        assert ok(cli("run", "--rm", "-v", f"{volume}:/home/svn", "busybox", "ls", "/home/svn")).stdout == \
            "test_repo\n"
        again = new_name("svn-server")
        ok(cli("run", "-dit", "--name", again, "-v", f"{volume}:/home/svn", "-p", f"{web}:80", "-p",
               f"{svn}:3690", "-w", "/home/svn", image))
        assert ask("127.0.0.1", svn, "info test_repo").startswith("Path: test_repo\n")
        assert ask("127.0.0.1", svn, "info other").startswith("svn: E170013: Unable to connect")
        ok(cli("rm", "-f", again))
    finally:
        for c in track.containers:
            cli("rm", "-f", c)
        rm = cli("volume", "rm", volume)
    assert rm.returncode == 0 and rm.stdout == f"{volume}\n", rm.stderr


# --------------------------------------------------------------------------------------------------
# 001, first part: a container created with -i -t, started, attached to (leaving it ends the server);
# then the detached way (-dit with -p), the server started through `exec -ti ... bash`


def test_svn_attached_then_detached(cli: Any, tmp_path: Path, token: str, track: Any, new_name: Any) -> None:
    image = track.image(f"tt{token}/centos-java-svn:latest")
    build(cli, context(tmp_path, CENTOS_SVN_FILES, executable=("bash", "svnadmin", "svnserve", "svnserve-session")),
          "-t", image)
    name = new_name("centos")
    cid = ok(cli("create", "-i", "-t", "--name", name, image)).stdout.strip()
    assert HEX64.match(cid)
    ps = ok(cli("ps", "-a", "--filter", f"name={name}", "--format", "{{.ID}} {{.Command}} {{.Status}} {{.Names}}"))
    assert ps.stdout == f'{cid[:12]} "bash" Created {name}\n'
    assert ok(cli("start", name)).stdout == f"{name}\n"
    with terminal(cli, "attach", name) as term:
        term.enter_until("/ #")         # attach shows nothing until the shell has something to say
        term.type("svnadmin create /home/svn/test_repo; ls /home/svn | tr a-z A-Z")
        term.expect("TEST_REPO")
        term.type("exit")
        term.expect("EXITED=0")
    assert status_of(cli, name).startswith("Exited (0) ")     # leaving the shell ended the container

    # the same name again is a conflict while the old container exists
    port = free_port()
    again = cli("run", "-dit", "--name", name, "-p", f"{port}:3690", image)
    assert again.returncode == 125
    assert f'Conflict. The container name "/{name}" is already in use by container "{cid}"' in again.stderr
    ok(cli("rm", name))
    ok(cli("run", "-dit", "--name", name, "-p", f"{port}:3690", image))
    with terminal(cli, "exec", "-ti", name, "bash") as term:
        term.expect("/ #")
        term.type("svnadmin create /home/svn/test_repo && svnserve -d -r /home/svn --listen-port 3690; "
                  "echo $((6*7))DONE")
        term.expect("42DONE")
        term.type("exit")
        term.expect("EXITED=0")
    # the daemon outlives the exec that started it, and answers on the published port
    assert ask(host_address(), port, "info test_repo") == \
        "Path: test_repo\nURL: svn://localhost/test_repo\nRevision: 0\n"
    # attached to the detached container's shell, and off again with the detach keys: it runs on
    with terminal(cli, "attach", name) as term:
        term.enter_until("/ #")
        subprocess.run(["tmux", "-S", term.socket, "send-keys", "-t", term.name, "C-p", "C-q"], check=False)
        term.expect("read escape sequence")
        term.expect("EXITED=1")
    assert state(cli, name)["Running"]
    assert ask("127.0.0.1", port, "info test_repo").endswith("Revision: 0\n")
    ok(cli("rm", "-f", name))


# --------------------------------------------------------------------------------------------------
# 000/003/004: the life cycle: create + start, logs -f, pause, restart, stop, rm (running: refused)

LOOP = "trap 'echo graceful; exit 0' TERM; echo started; while :; do sleep 0.1; done"


def test_container_life_cycle(cli: Any, new_name: Any) -> None:
    name = new_name("life")
    # `docker run` = `docker create <이미지 이름>` + `docker start <이름>`
    cid = ok(cli("create", "--name", name, "busybox", "sh", "-c", LOOP)).stdout.strip()
    assert status_of(cli, name) == "Created"
    assert ok(cli("start", cid)).stdout == f"{cid}\n"
    assert status_of(cli, name).startswith("Up ")
    follow = subprocess.Popen([str(cli.binary), "logs", "-f", name], env=cli.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ok(cli("pause", name))
        assert status_of(cli, name).endswith("(Paused)")
        p = cli("exec", name, "true")
        assert p.returncode == 1 and f"Container {name} is paused, unpause the container before exec" in p.stderr
        ok(cli("unpause", name))
        # "실행중인 컨테이너는 먼저 중지한 후에 삭제 가능"
        p = cli("rm", name)
        assert p.returncode == 1
        assert f"You cannot remove a running container {cid}. Stop the container before attempting removal " \
               "or force remove" in p.stderr
        # stop: the process is asked to end (SIGTERM) and does so in its own time
        assert ok(cli("stop", name)).stdout == f"{name}\n"
        out, err = follow.communicate(timeout=30)        # logs -f ends with the container
        assert (out, err) == (b"started\ngraceful\n", b"")
    finally:
        if follow.poll() is None:
            follow.kill()
        follow.communicate()
    st = state(cli, name)
    assert (st["Running"], st["ExitCode"]) == (False, 0)
    ok(cli("restart", name))
    wait_until(lambda: cli("logs", name).stdout == "started\ngraceful\nstarted\n", what="the restart")
    ok(cli("kill", name))
    assert status_of(cli, name).startswith("Exited (137) ")
    assert ok(cli("rm", name)).stdout == f"{name}\n"
    p = cli("start", name)
    assert p.returncode == 1 and f"No such container: {name}" in p.stderr

    # "Background에서 실행중인 container에 접속": attach follows the output to the end, and its status
    runner = new_name("attach")
    ok(cli("run", "-d", "--name", runner, "busybox", "sh", "-c", "sleep 1; echo out; echo err >&2; exit 3"))
    p = cli("attach", runner)
    assert (p.returncode, p.stdout, p.stderr) == (3, "out\n", "err\n")
    p = cli("attach", runner)
    assert (p.returncode, p.stderr) == (1, "You cannot attach to a stopped container, start it first\n")

    # --rm -d: the stopped container removes itself
    gone = new_name("rm")
    ok(cli("run", "--rm", "-d", "--name", gone, "busybox", "sh", "-c", LOOP))
    ok(cli("stop", gone))
    wait_until(functools.partial(removed, cli, gone), what="--rm to remove the container")


# --------------------------------------------------------------------------------------------------
# 003: httpd in the foreground with -p, killed; then its htdocs bind-mounted from the host


def test_httpd_with_bind_mounted_htdocs(cli: Any, tmp_path: Path, token: str, track: Any,
                                        new_name: Any) -> None:
    image = track.image(f"tt{token}/httpd:latest")
    build(cli, context(tmp_path / "httpd", {"Dockerfile": HTTPD_DOCKERFILE}), "-t", image)

    # `docker run -p 포트번호:80 --name apache httpd`, in the foreground until the container ends
    apache, port = new_name("apache"), free_port()
    fg = subprocess.Popen([str(cli.binary), "run", "-p", f"{port}:80", "--name", apache, image], env=cli.env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert http_get(f"http://{host_address()}:{port}/") == "<html><body><h1>It works!</h1></body></html>\n"
        ok(cli("kill", apache))
        out, err = fg.communicate(timeout=30)
        assert (fg.returncode, out, err) == (137, b"", b"")
    finally:
        if fg.poll() is None:
            fg.kill()
        fg.communicate()
    assert status_of(cli, apache).startswith("Exited (137) ")
    ok(cli("rm", apache))

    # `docker run -v 호스트PC에서의폴더경로:Container절대경로 httpd`
    htdocs = tmp_path / "htdocs"
    htdocs.mkdir()
    (htdocs / "index.html").write_text("<h1>my page v1</h1>\n")
    site, port = new_name("apache"), free_port()
    ok(cli("run", "-d", "-p", f"{port}:80", "--name", site, "-v", f"{htdocs}:/usr/local/apache2/htdocs", image))
    url = f"http://127.0.0.1:{port}"
    assert http_get(f"{url}/") == "<h1>my page v1</h1>\n"
    (htdocs / "index.html").write_text("<h1>my page v2</h1>\n")      # edited on the host: served at once
    assert http_get(f"{url}/") == "<h1>my page v2</h1>\n"
    (htdocs / "about.html").write_text("about\n")
    assert http_get(f"http://{host_address()}:{port}/about.html") == "about\n"
    ok(cli("exec", site, "sh", "-c", "echo from-container > /usr/local/apache2/htdocs/log.txt"))
    assert (htdocs / "log.txt").read_text() == "from-container\n"
    mounts = json.loads(ok(cli("inspect", "--format", "{{json .Mounts}}", site)).stdout)
    assert [(m["Type"], m["Source"], m["Destination"], m["RW"]) for m in mounts] == \
        [("bind", str(htdocs), "/usr/local/apache2/htdocs", True)]
    ok(cli("rm", "-f", site))
    assert sorted(os.listdir(htdocs)) == ["about.html", "index.html", "log.txt"]   # the files stay
    assert "Images" in ok(cli("system", "df")).stdout


# --------------------------------------------------------------------------------------------------
# 002/003/004: "install" into a running container (-it), diff, commit to an image, cp both ways

INSTALL = ("mkdir -p /etc/nginx && echo 'worker_processes 1;' > /etc/nginx/nginx.conf && "
           "printf '#!/bin/sh\\necho nginx version: nginx/1.18.0\\n' > /usr/sbin/nginx && chmod +x /usr/sbin/nginx"
           " && rm /bin/vi && nginx -v")


def test_commit_diff_cp(cli: Any, tmp_path: Path, token: str, track: Any, new_name: Any) -> None:
    name = new_name("ubuntu")
    with terminal(cli, "run", "-it", "--name", name, "busybox", "sh") as term:
        term.expect("/ #")
        term.type(INSTALL)
        term.expect("nginx version: nginx/1.18.0")
        term.type("exit")
        term.expect("EXITED=0")
    diff = ok(cli("diff", name)).stdout.splitlines()
    assert sorted(diff) == ["A /etc/nginx", "A /etc/nginx/nginx.conf", "A /usr/sbin/nginx", "C /bin", "C /etc",
                            "C /usr", "C /usr/sbin", "D /bin/vi"], diff

    image = track.image(f"tt{token}/ubuntu-nginx:latest")
    out = ok(cli("commit", "-m", "install nginx", name, f"tt{token}/ubuntu-nginx")).stdout
    assert out.startswith("sha256:")
    images = ok(cli("images", f"tt{token}/ubuntu-nginx", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")).stdout
    assert images == f"{image} {out.strip()[7:19]}\n"
    history = ok(cli("history", "--format", "{{.Comment}}", image)).stdout.splitlines()
    assert history[0] == "install nginx"
    p = cli("run", "--rm", image, "sh", "-c", "nginx -v; cat /etc/nginx/nginx.conf; ls /bin/vi")
    assert (p.returncode, p.stdout) == (1, "nginx version: nginx/1.18.0\nworker_processes 1;\n")
    assert "/bin/vi: No such file or directory" in p.stderr

    # cp: a file out to the host, a file and a dir into the (stopped) container
    ok(cli("cp", f"{name}:/etc/nginx/nginx.conf", str(tmp_path)))
    assert (tmp_path / "nginx.conf").read_text() == "worker_processes 1;\n"
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>Welcome</h1>\n")
    (tmp_path / "default.conf").write_text("server { listen 80; }\n")
    ok(cli("cp", str(tmp_path / "default.conf"), f"{name}:/etc/nginx/"))
    ok(cli("cp", str(site), f"{name}:/var/www"))          # /var/www exists: the dir goes into it
    diff = ok(cli("diff", name)).stdout.splitlines()
    assert {"A /etc/nginx/default.conf", "C /var/www", "A /var/www/site", "A /var/www/site/index.html"} <= \
        set(diff), diff
    ok(cli("cp", f"{name}:/var/www/site", str(tmp_path / "back")))     # "back" does not exist: the copy
    assert (tmp_path / "back" / "index.html").read_text() == "<h1>Welcome</h1>\n"
