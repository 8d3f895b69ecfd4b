"""Remove every trace a (test) tugd left: processes, runc state, mounts, cgroups, its directory.

    python -m tugboat.tools.cleanup --stale                 # /tmp/tt<token> whose tugd is gone
    python -m tugboat.tools.cleanup --dir /tmp/ttab12cd --cgroup-parent tugtest-ab12cd \
        [--link-prefix ttab12cd] [--chain-prefix TTab12cd]

The integration tests put a private tugd's data root, exec root (run/), socket and pidfile in one
directory (/tmp/tt<6 hex token>) and give it the cgroup parent tugtest-<token>; their teardown uses
``clean_daemon_dir`` from here (with ``link_prefix``/``chain_prefix`` also the daemon's network
interfaces and iptables chains, see ``clean_network``). ``--stale`` sweeps after sessions that were killed before their
teardown ran (`make clean`): a directory counts as stale when the pid in its tugd.pid is gone and no
process mentions the directory. Nothing here talks to a daemon: by then it is stopped or dead.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tugboat.store.fsutil import remove_tree

CGROUP_ROOT = Path("/sys/fs/cgroup")
STALE_GLOB = "tt*"
TOKEN_RE = re.compile(r"^tt([0-9a-f]{6})$")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def processes_mentioning(path: Path) -> list[tuple[int, str]]:
    """Processes (not this one) whose command line, cwd or root is at or under ``path``."""
    needle = str(path)
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        cmd = _cmdline(pid)
        where = [cmd]
        for link in ("cwd", "root"):
            with contextlib.suppress(OSError):
                where.append(os.readlink(f"/proc/{pid}/{link}"))
        if any(needle in w for w in where):
            out.append((pid, cmd))
    return out


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` in this mount namespace (repeated if mounts are stacked)."""
    prefix = str(path).rstrip("/")
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = _unescape(line.split()[4])
            if mp == prefix or mp.startswith(prefix + "/"):
                out.append(mp)
    return out


def unmount_all_under(path: Path) -> list[str]:
    """Unmount everything at or below ``path``, deepest first; lazily where a plain unmount fails."""
    done: list[str] = []
    for _ in range(20):
        mps = mounts_under(path)
        if not mps:
            break
        for mp in sorted(set(mps), key=lambda m: (m.count("/"), m), reverse=True):
            if subprocess.run(["umount", mp], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", mp], capture_output=True)
            done.append(mp)
    return done


def cgroup_dirs(parent: str) -> list[Path]:
    """The directory of cgroup ``parent`` in every hierarchy where it exists: each v1 controller
    (and v1's "unified" v2 mount), or the v2 root."""
    parent = parent.strip("/")
    if not parent or not CGROUP_ROOT.is_dir():
        return []
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        bases = [CGROUP_ROOT]
    else:
        bases = [d for d in sorted(CGROUP_ROOT.iterdir()) if d.is_dir() and not d.is_symlink()]
    return [b / parent for b in bases if (b / parent).is_dir()]


def cgroup_has_processes(top: Path) -> bool:
    for procs in top.rglob("cgroup.procs"):
        with contextlib.suppress(OSError):
            if procs.read_text().strip():
                return True
    return False


def remove_cgroup_tree(top: Path, attempts: int = 50) -> bool:
    """Kill what is left in the cgroup tree at ``top`` and rmdir it bottom-up. True when gone."""
    for _ in range(attempts):
        if not top.exists():
            return True
        dirs = sorted((Path(root) for root, _d, _f in os.walk(top)), key=lambda p: len(p.parts), reverse=True)
        for d in dirs:
            with contextlib.suppress(OSError):
                (d / "cgroup.freeze").write_text("0")          # a frozen v2 cgroup cannot die
            with contextlib.suppress(OSError):
                (d / "freezer.state").write_text("THAWED")
            for procs in ("cgroup.procs", "tasks"):
                with contextlib.suppress(OSError):
                    for pid in (d / procs).read_text().split():
                        with contextlib.suppress(OSError):
                            os.kill(int(pid), signal.SIGKILL)
            with contextlib.suppress(OSError):
                d.rmdir()
        if top.exists():
            time.sleep(0.1)
    return not top.exists()


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def netns_pins(exec_root: Path) -> list[str]:
    """Mounts under a daemon's ``<exec root>/netns``: pinned namespaces (and the directory's own
    shared bind mount, network/netns.py)."""
    return mounts_under(exec_root / "netns")


def links_with_prefix(prefix: str) -> list[str]:
    from tugboat.network.links import links_with_prefix as names  # pyroute2: only when asked

    return names(prefix)


def _own_chain(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + "-")


def iptables_chains(prefix: str) -> dict[str, list[str]]:
    """Chains of the filter and nat tables named ``prefix`` or ``prefix-*``."""
    out: dict[str, list[str]] = {}
    for table in ("filter", "nat"):
        r = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True)
        chains = [line[1:].split()[0] for line in r.stdout.splitlines() if line.startswith(":")]
        if found := [c for c in chains if _own_chain(c, prefix)]:
            out[table] = found
    return out


def _jumps_into(prefix: str, table: str) -> list[list[str]]:
    """`-A CHAIN ...` rules of other chains whose target is one of ours, as argument lists."""
    r = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True)
    out = []
    for line in r.stdout.splitlines():
        if not line.startswith("-A "):
            continue
        args = shlex.split(line)
        target = args[args.index("-j") + 1] if "-j" in args[:-1] else ""
        if _own_chain(target, prefix) and not _own_chain(args[1], prefix):
            out.append(args[1:])
    return out


def clean_network(link_prefix: str | None = None, chain_prefix: str | None = None) -> list[str]:
    """Delete the interfaces named ``link_prefix*`` and the iptables chains ``chain_prefix[-*]`` of
    filter and nat with every jump into them. Returns what was removed."""
    removed: list[str] = []
    if link_prefix:
        from tugboat.network.links import disconnect_endpoint

        for name in links_with_prefix(link_prefix):
            disconnect_endpoint(name)   # any link by name; a veth takes its peer along
            removed.append(f"network interface {name}")
    if chain_prefix:
        for table, chains in iptables_chains(chain_prefix).items():
            for args in _jumps_into(chain_prefix, table):
                subprocess.run(["iptables", "-w", "-t", table, "-D", *args], capture_output=True)
            for verb in ("-F", "-X"):
                for chain in chains:
                    subprocess.run(["iptables", "-w", "-t", table, verb, chain], capture_output=True)
            removed += [f"iptables chain {table} {c}" for c in chains]
    return removed


def clean_daemon_dir(tmp: Path, cgroup_parent: str, exec_root: Path | None = None,
                     link_prefix: str | None = None, chain_prefix: str | None = None) -> list[str]:
    """Force away whatever a stopped tugd left under ``tmp`` and in ``cgroup_parent``; remove ``tmp``.
    With ``link_prefix``/``chain_prefix`` also its interfaces and iptables chains (``clean_network``).

    Order matters: runc state first (it kills the containers it knows), then processes naming the
    directory (monitors), then whatever still sits in the cgroups, then pinned network namespaces
    (their veths go with them) and the network, then mounts, then the cgroup directories, and the
    directory itself only when nothing is mounted under it any more (never delete through a bind
    mount into the host). Returns what had to be removed."""
    forced: list[str] = []
    exec_root = exec_root or tmp / "run"
    runc_root = exec_root / "runc"
    if runc_root.is_dir() and shutil.which("runc"):
        r = subprocess.run(["runc", "--root", str(runc_root), "list", "-q"], capture_output=True, text=True)
        for cid in r.stdout.split():
            forced.append(f"runc container {cid}")
            subprocess.run(["runc", "--root", str(runc_root), "delete", "--force", cid], capture_output=True)
    for pid, cmd in processes_mentioning(tmp):
        forced.append(f"process {pid}: {cmd}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for d in cgroup_dirs(cgroup_parent):
        # the parent itself may stay behind (dockerd leaves its "docker" cgroup too); container
        # cgroups below it and processes in them are leftovers
        if cgroup_has_processes(d):
            forced.append(f"processes in {d}")
        elif any(c.is_dir() for c in d.iterdir()):
            forced.append(f"container cgroups under {d}")
        remove_cgroup_tree(d)
    time.sleep(0.2)
    for mp in unmount_all_under(exec_root / "netns"):
        forced.append(f"mount {mp}")
    forced += clean_network(link_prefix, chain_prefix)
    for mp in unmount_all_under(tmp):
        forced.append(f"mount {mp}")
    for d in cgroup_dirs(cgroup_parent):
        remove_cgroup_tree(d)
    remove_dir(tmp)
    return forced


def remove_dir(path: Path) -> None:
    """Delete ``path`` unless something is mounted under it (never delete through a bind mount into
    the host). Iterative: a container can nest directories deeper than Python's recursion limit."""
    if path.exists() and not mounts_under(path):
        with contextlib.suppress(OSError):
            remove_tree(path)


def leaks(tmp: Path, cgroup_parent: str, exec_root: Path | None = None,
          link_prefix: str | None = None, chain_prefix: str | None = None) -> list[str]:
    """What is still there of a daemon dir after clean-up (empty when all is gone); with the
    prefixes also interfaces and iptables chains (or jumps into them) of that daemon."""
    out = [f"still mounted: {m}" for m in mounts_under(tmp)]
    if exec_root is not None and not (exec_root == tmp or tmp in exec_root.parents):
        out += [f"netns still pinned: {m}" for m in netns_pins(exec_root)]
    if link_prefix:
        out += [f"network interface left: {n}" for n in links_with_prefix(link_prefix)]
    if chain_prefix:
        for table, chains in iptables_chains(chain_prefix).items():
            out += [f"iptables chain left: {table} {c}" for c in chains]
        for table in ("filter", "nat"):
            out += [f"iptables jump left: {table} {' '.join(a)}" for a in _jumps_into(chain_prefix, table)]
    out += [f"process {pid} mentions {tmp}: {cmd}" for pid, cmd in processes_mentioning(tmp)]
    out += [f"cgroup left: {d}" for d in cgroup_dirs(cgroup_parent)]
    if tmp.exists():
        out.append(f"directory left: {tmp}")
    return out


def stale_dirs(base: Path = Path("/tmp")) -> list[tuple[Path, str]]:
    """(dir, cgroup parent) of test daemons whose tugd is gone."""
    out = []
    for d in sorted(base.glob(STALE_GLOB)):
        m = TOKEN_RE.match(d.name)
        if not m or not d.is_dir():
            continue
        pidfile = d / "tugd.pid"
        with contextlib.suppress(OSError, ValueError):
            if _pid_alive(int(pidfile.read_text().strip())):
                continue
        if any("tugd" in cmd for _pid, cmd in processes_mentioning(d)):
            continue
        out.append((d, f"tugtest-{m.group(1)}"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cleanup", description="remove what a stopped test tugd left behind")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--stale", action="store_true", help="every /tmp/tt<token> whose tugd is gone")
    g.add_argument("--dir", type=Path, help="one daemon directory")
    p.add_argument("--cgroup-parent", default="", help="with --dir: its cgroup parent")
    p.add_argument("--link-prefix", help="with --dir: also delete network interfaces named so")
    p.add_argument("--chain-prefix", help="with --dir: also delete iptables chains PREFIX, PREFIX-*")
    ns = p.parse_args(argv)
    if os.geteuid() != 0:
        print("cleanup: needs root", file=sys.stderr)
        return 1
    targets = stale_dirs() if ns.stale else [(ns.dir, ns.cgroup_parent)]
    net = {"link_prefix": ns.link_prefix, "chain_prefix": ns.chain_prefix}
    rc = 0
    for d, parent in targets:
        forced = clean_daemon_dir(d, parent, **net)
        left = leaks(d, parent, **net)
        print(f"cleanup: {d}: removed {len(forced)} leftovers" + (f"; STILL THERE: {left}" if left else ""))
        rc |= bool(left)
    return rc


if __name__ == "__main__":
    sys.exit(main())
