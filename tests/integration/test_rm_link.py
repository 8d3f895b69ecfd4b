"""`docker rm --link /client/alias` removes a legacy link, not a container (DELETE
/containers/client/alias?link=1, as dockerd's rmLink): the link leaves HostConfig.Links and the
running client's /etc/hosts, both containers stay; dockerd's errors for other names."""

from __future__ import annotations

import json
from typing import Any

from .helpers import ok


def test_rm_link_removes_only_the_link(cli: Any, new_name: Any) -> None:
    db, client = new_name("db"), new_name("client")
    ok(cli("run", "-d", "--name", db, "busybox", "sleep", "300"))
    ok(cli("run", "-d", "--name", client, "--link", f"{db}:db", "busybox", "sleep", "300"))
    assert "\tdb " in ok(cli("exec", client, "cat", "/etc/hosts")).stdout

    p = ok(cli("rm", "--link", f"/{client}/db"))
    assert p.stdout == f"/{client}/db\n"
    assert json.loads(ok(cli("inspect", "-f", "{{json .HostConfig.Links}}", client)).stdout) in (None, [])
    assert "\tdb " not in ok(cli("exec", client, "cat", "/etc/hosts")).stdout
    running = ok(cli("inspect", "-f", "{{.State.Running}}", client, db)).stdout
    assert running == "true\ntrue\n"

    again = cli("rm", "-l", f"/{client}/db")
    assert again.returncode == 1 and again.stderr == f"Error response from daemon: No such container: {client}/db\n"
    default = cli("rm", "--link", client)
    assert default.returncode == 1
    assert default.stderr == ("Error response from daemon: Conflict, cannot remove the default link name "
                              "of the container\n")
    nosuch = cli("rm", "--link", f"/{new_name('nosuch')}/db")
    assert nosuch.returncode == 1 and "No such container: " in nosuch.stderr
    ok(cli("rm", "-f", client, db))
