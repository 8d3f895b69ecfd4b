"""One dispatcher per instruction (moby builder/dockerfile/dispatchers.go).

Each step changes the stage's run config and commits: RUN and COPY/ADD a layer, the
rest an empty layer with a ``#(nop)`` Cmd that doubles as the history entry and the cache
key.  Before doing any work a step probes the cache with exactly the container config it
would commit, so a rebuild with nothing changed only reads image configs.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from typing import Any

from tugboat.engine.builder import gofmt
from tugboat.engine.builder.cache import ImageCache
from tugboat.engine.builder.instructions import Instruction
from tugboat.engine.builder.state import StageState, env_key
from tugboat.engine.builder.workspace import Workspace
from tugboat.engine.container_process import parse_signal
from tugboat.engine.image_changes import _healthcheck, expand, parse_port_spec
from tugboat.errors import InvalidArgument, TugboatError


class BuildFailed(TugboatError):
    """A step failed; ``code`` is the RUN's exit code (the CLI exits with it)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


def set_env(env: list[str], key: str, value: str) -> list[str]:
    out = [e for e in env]
    for i, e in enumerate(out):
        if env_key(e) == key:
            out[i] = f"{key}={value}"
            return out
    return out + [f"{key}={value}"]


def nop_cmd(state: StageState, comment: str, single_space: bool = False) -> list[str]:
    """withCmdComment ("#(nop) " + " " + comment) / withCmdCommentString ("#(nop) " + comment)."""
    if single_space:
        return state.shell() + ["#(nop) " + comment]
    return state.shell() + ["#(nop) ", comment]


_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand_heredoc(text: str, env: list[str]) -> str:
    vals = {e.partition("=")[0]: e.partition("=")[2] for e in env}
    return _VAR.sub(lambda m: vals.get(m.group(1) or m.group(2), ""), text)


class Steps:
    """Dispatches the instructions of one build; the executor supplies the wiring."""

    def __init__(self, ws: Workspace, cache: ImageCache | None, emit: Callable[[str], None],
                 escape: str, network: str, cancelled: Callable[[], bool],
                 copy_step: Callable[[StageState, Instruction, Callable[[str], str]], None],
                 rm: bool = True, force_rm: bool = False, host_config: dict[str, Any] | None = None) -> None:
        self.ws = ws
        self.cache = cache
        self.emit = emit
        self.escape = escape
        self.network = network
        self.cancelled = cancelled
        self.copy_step = copy_step
        self.rm = rm
        self.force_rm = force_rm
        self.host_config = host_config or {}

    def cleanup(self, cid: str, failed: bool = False) -> None:
        """--rm (default) removes intermediate containers of steps that worked; --force-rm
        also those of a failed step, which dockerd otherwise leaves for inspection."""
        if self.force_rm or (self.rm and not failed):
            self.ws.remove_container(cid, self.emit)

    # --- helpers -----------------------------------------------------------------------------
    def expander(self, state: StageState) -> Callable[[str], str]:
        env = state.expansion_env()
        return lambda word: expand(word, env, self.escape)

    def probe(self, state: StageState, container_config: dict[str, Any]) -> bool:
        if self.cache is None:
            return False
        hit = self.cache.probe(state.image_id, container_config)
        if not hit:
            return False
        self.emit(" ---> Using cache\n")
        state.image_id = hit
        return True

    def commit(self, state: StageState, comment: str, single_space: bool = False,
               workdir: str = "") -> None:
        """A config-only step (WORKDIR also creates its directory) through a nop container."""
        cc = state.copy_config()
        cc["Cmd"] = nop_cmd(state, comment, single_space)
        if self.probe(state, cc):
            return
        if not state.image_id:
            self.ws.new_image(state, cc, "", None)
            return
        cid = self.ws.create_container(state, {**cc, "Entrypoint": [""]} if not cc.get("Cmd") else cc)
        self.emit(f" ---> Running in {cid[:12]}\n")
        try:
            if workdir:
                from tugboat.engine.builder.context import scoped_path
                with self.ws.mounted(cid) as root:
                    target = scoped_path(root, workdir)
                    if not target.is_dir():
                        target.mkdir(mode=0o755, parents=True)
            self.ws.commit_rw(state, cid, cc, container_id=cid)
        finally:
            self.cleanup(cid)

    # --- dispatch ----------------------------------------------------------------------------
    def dispatch(self, state: StageState, ins: Instruction, cmd_set: dict[str, bool]) -> None:
        getattr(self, "do_" + ins.kind)(state, ins, cmd_set)

    def do_env(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        ex = self.expander(state)
        pairs = []
        env = state.env()
        for k, v in zip(ins.args[0::2], ins.args[1::2], strict=False):
            k, v = ex(k), ex(v)
            pairs.append(f"{k}={v}")
            env = set_env(env, k, v)
        state.config["Env"] = env
        self.commit(state, "ENV " + " ".join(pairs))

    def do_label(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        ex = self.expander(state) if "noexp" not in ins.flags else (lambda w: w)
        labels = dict(state.config.get("Labels") or {})
        pairs = []
        for k, v in zip(ins.args[0::2], ins.args[1::2], strict=False):
            k, v = ex(k), ex(v)
            labels[k] = v
            pairs.append(f"{k}={v}")
        state.config["Labels"] = labels
        self.commit(state, "LABEL " + " ".join(pairs))

    def do_maintainer(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        state.maintainer = ins.args[0]
        self.commit(state, "MAINTAINER " + ins.args[0])

    def do_expose(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        ex = self.expander(state)
        words = [ex(w) for w in ins.args]
        ports = dict(state.config.get("ExposedPorts") or {})
        for w in words:
            for p in parse_port_spec(w):
                ports[p] = {}
        state.config["ExposedPorts"] = ports
        self.commit(state, "EXPOSE " + " ".join(words))

    def do_user(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        state.config["User"] = self.expander(state)(ins.args[0])
        self.commit(state, "USER " + state.config["User"])

    def do_volume(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        ex = self.expander(state)
        vols = [ex(v.strip()) for v in ins.args]
        volumes = dict(state.config.get("Volumes") or {})
        for v in vols:
            if not v:
                raise InvalidArgument("VOLUME specified can not be an empty string")
            volumes[v] = {}
        state.config["Volumes"] = volumes
        self.commit(state, "VOLUME " + gofmt.value_list(vols))

    def do_stopsignal(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        sig = self.expander(state)(ins.args[0])
        try:
            parse_signal(sig)
        except TugboatError:
            raise InvalidArgument(f"Invalid signal: {sig}") from None
        state.config["StopSignal"] = sig
        self.commit(state, "STOPSIGNAL " + sig)

    def do_healthcheck(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        body = ins.args[1:]
        text = " ".join([*ins.node.flags, ins.args[0],
                         json.dumps(body) if ins.exec_form else " ".join(body)])
        hc = _healthcheck(text)
        if hc.get("Test") == ["NONE"]:
            hc = {"Test": ["NONE"]}
        state.config["Healthcheck"] = hc
        self.commit(state, "HEALTHCHECK " + gofmt.healthcheck(hc))

    def do_shell(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        state.config["Shell"] = list(ins.args)
        self.commit(state, "SHELL " + gofmt.value_list(list(ins.args)))

    def _command_line(self, state: StageState, ins: Instruction) -> list[str]:
        if ins.exec_form:
            return list(ins.args)
        return state.shell() + list(ins.args) if ins.args else []

    def do_cmd(self, state: StageState, ins: Instruction, cmd_set: dict[str, bool]) -> None:
        cmd = self._command_line(state, ins)
        state.config["Cmd"] = cmd
        cmd_set["cmd"] = True
        self.commit(state, "CMD " + gofmt.quote_list(cmd))

    def do_entrypoint(self, state: StageState, ins: Instruction, cmd_set: dict[str, bool]) -> None:
        ep = self._command_line(state, ins)
        state.config["Entrypoint"] = ep if (ep or ins.exec_form) else None
        if not cmd_set.get("cmd"):
            state.config["Cmd"] = None
        self.commit(state, "ENTRYPOINT " + gofmt.quote_list(ep))

    def do_onbuild(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        expr = re.sub(r"(?i)^\s*ONBUILD\s*", "", ins.node.original, count=1).strip()
        state.config["OnBuild"] = list(state.config.get("OnBuild") or []) + [expr]
        self.commit(state, "ONBUILD " + expr)

    def do_workdir(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        path = self.expander(state)(ins.args[0])
        if not posixpath.isabs(path):
            path = posixpath.join("/", state.config.get("WorkingDir") or "/", path)
        path = posixpath.normpath(path)
        if path.startswith("//"):
            path = path[1:]
        state.config["WorkingDir"] = path
        self.commit(state, "WORKDIR " + path, single_space=True, workdir=path)

    def do_arg(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        ex = self.expander(state)
        parts = []
        for word in ins.args:
            key, eq, default = word.partition("=")
            state.args.add_arg(key, ex(default) if eq else None)
            parts.append(f"{key}={ex(default)}" if eq else key)
        self.commit(state, "ARG " + " ".join(parts))

    def do_copy(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        self.copy_step(state, ins, self.expander(state))

    do_add = do_copy

    # --- RUN ---------------------------------------------------------------------------------
    def run_command(self, state: StageState, ins: Instruction) -> list[str]:
        if ins.exec_form:
            return list(ins.args)
        line = ins.args[0] if ins.args else ""
        if ins.node.heredocs:
            doc = ins.node.heredocs[0]
            if len(ins.node.heredocs) == 1 and re.fullmatch(r"<<-?\s*['\"]?" + doc.name + r"['\"]?", line.strip()):
                return state.shell() + [doc.content]
            script = line
            for d in ins.node.heredocs:
                script += "\n" + d.content + d.name
            return state.shell() + [script]
        return state.shell() + [line]

    def do_run(self, state: StageState, ins: Instruction, _: dict[str, bool]) -> None:
        cmd = self.run_command(state, ins)
        build_args = state.args.filter_allowed(state.env())
        save_cmd = list(cmd)
        if build_args:
            shown = sorted(a for a in build_args if state.args.is_referenced_or_not_builtin(env_key(a)))
            save_cmd = [f"|{len(shown)}", *shown, *cmd]
        probe_cfg = state.copy_config()
        probe_cfg["Cmd"] = save_cmd
        probe_cfg["Entrypoint"] = None
        if self.probe(state, probe_cfg):
            return
        run_cfg = state.copy_config()
        run_cfg.update(Cmd=cmd, Entrypoint=[""], Env=state.env() + build_args)
        run_cfg.pop("Healthcheck", None)
        if not state.image_id:
            raise BuildFailed("RUN needs a base image with a shell: FROM scratch has none")
        with self.ws.volume_dirs(sorted(state.config.get("Volumes") or {})) as vols:
            cid = self.ws.create_container(state, run_cfg, self.network,
                                           [f"{host}:{path}" for path, host in vols], self.host_config)
            self.emit(f" ---> Running in {cid[:12]}\n")
            try:
                if vols:
                    self.ws.seed_volumes(cid, vols)
                code = self.ws.run(cid, lambda data: self.emit(data.decode("utf-8", errors="replace")),
                                   self.cancelled)
            except BaseException:
                self.cleanup(cid, failed=True)
                raise
            if code != 0:
                self.cleanup(cid, failed=True)
                raise BuildFailed(f"The command '{' '.join(cmd)}' returned a non-zero code: {code}", code)
            try:
                self.ws.commit_rw(state, cid, probe_cfg, container_id=cid)
            finally:
                self.cleanup(cid)
