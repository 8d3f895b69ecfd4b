"""Running a parsed Dockerfile: stages, FROM, ONBUILD triggers, COPY/ADD, the output.

The output is dockerd's classic builder text ("Step 2/5 : RUN ...", " ---> Running in",
" ---> <id>", "Successfully built"), emitted through a callback as ``{"stream": ...}``
items; the service turns the callback into the streamed response.  Stages the target
does not need (by FROM <stage> or COPY --from) are skipped, as BuildKit does.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from tugboat.engine.builder.cache import ImageCache
from tugboat.engine.builder.context import BuildContext, has_wildcards, resolve_in, scoped_path
from tugboat.engine.builder.copier import Copier, Source, parse_chmod, parse_chown
from tugboat.engine.builder.instructions import Instruction, Stage, parse_instruction
from tugboat.engine.builder.options import BuildOptions
from tugboat.engine.builder.parser import Node, parse
from tugboat.engine.builder.state import DEFAULT_PATH, BuildArgs, StageState, env_key
from tugboat.engine.builder.steps import BuildFailed, Steps, expand_heredoc, nop_cmd
from tugboat.engine.builder.tarsum import source_hash
from tugboat.engine.builder.workspace import Workspace
from tugboat.engine.image_changes import expand
from tugboat.errors import InvalidArgument, NotFound, TugboatError

Emit = Callable[[dict[str, Any]], None]


def needed_stages(stages: list[Stage], target: int) -> list[int]:
    """Indexes of the stages ``target`` depends on (itself included), in order."""
    names = {s.name: s.index for s in stages if s.name}
    need: set[int] = set()

    def visit(i: int) -> None:
        if i in need:
            return
        need.add(i)
        st = stages[i]
        base = st.base.lower()
        if base in names and names[base] < i:
            visit(names[base])
        for ins in st.instructions:
            src = ins.flags.get("from", "") if ins.kind == "copy" else ""
            if src.lower() in names and names[src.lower()] < i:
                visit(names[src.lower()])
            elif src.isdigit() and int(src) < i:
                visit(int(src))
    visit(target)
    return sorted(need)


class Executor:
    def __init__(self, ws: Workspace, ctx: BuildContext, stages: list[Stage], meta: list[Instruction],
                 escape: str, options: BuildOptions, emit: Emit, cancelled: Callable[[], bool],
                 pull: Callable[[str, str], Iterator[dict[str, Any]]] | None) -> None:
        self.ws = ws
        self.ctx = ctx
        self.stages = stages
        self.meta = meta
        self.escape = escape
        self.opts = options
        self._emit = emit
        self.cancelled = cancelled
        self.pull = pull
        cache_from = []
        for ref in options.cache_from:
            try:
                cache_from.append(ws.images.resolve(ref).id)
            except NotFound:
                continue
        self.cache = None if options.no_cache else \
            ImageCache(ws.images.store, cache_from, lambda cfg: str(ws.images.create_image(cfg)))
        self.args = BuildArgs(options.build_args)
        self.results: dict[int, str] = {}      # stage index -> image id
        self.steps = Steps(ws, self.cache, self.text, escape, options.network_mode, cancelled,
                           self.copy_step, options.rm, options.force_rm, options.host_config)
        self.step_no = 0
        self.total = 0

    def text(self, s: str) -> None:
        if not self.opts.quiet:
            self._emit({"stream": s})

    # --- the whole build ---------------------------------------------------------------------
    def run(self) -> str:
        target = len(self.stages) - 1
        if self.opts.target:
            found = [s.index for s in self.stages if s.name == self.opts.target.lower()]
            if not found:
                raise InvalidArgument(f"failed to reach build target {self.opts.target} in Dockerfile")
            target = found[0]
        order = needed_stages(self.stages, target)
        for k in sorted(self.opts.labels):   # dockerd: one LABEL step per --label, sorted
            kv = [k, self.opts.labels[k]]
            node = Node("label", kv, f"LABEL {k}={kv[1]}", 0, 0)
            self.stages[target].instructions.append(Instruction("label", node, kv, {"noexp": "1"}))
        self.total = len(self.meta) + sum(1 + len(self.stages[i].instructions) for i in order)
        for ins in self.meta:
            self.print_step(ins)
            for word in ins.args:
                key, eq, default = word.partition("=")
                self.args.add_meta(key, expand(default, self.args.meta_env(), self.escape) if eq else None)
        image_id = ""
        for i in order:
            image_id = self.run_stage(self.stages[i])
            self.results[i] = image_id
            if image_id and not self.opts.quiet:   # dockerd sends no aux with q=1
                self._emit({"aux": {"ID": image_id}})
        unused = self.args.unused()
        if unused:
            self.text(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        if not image_id:
            raise BuildFailed("No image was generated. Is your Dockerfile empty?")
        return image_id

    def print_step(self, ins: Instruction) -> None:
        self.step_no += 1
        self.text(f"Step {self.step_no}/{self.total} : {ins.step_text().splitlines()[0]}")
        self.text("\n")

    def run_stage(self, stage: Stage) -> str:
        self.print_step(stage.from_instr)
        state = StageState(stage.name, args=self.args.clone_for_stage())
        self.begin(state, stage)
        self.text(f" ---> {state.image_id[7:19]}\n")
        cmd_set: dict[str, bool] = {}
        for ins in stage.instructions:
            if self.cancelled():
                raise BuildFailed("context canceled")
            self.print_step(ins)
            self.steps.dispatch(state, ins, cmd_set)
            self.text(f" ---> {state.image_id[7:19]}\n")
        return state.image_id

    # --- FROM --------------------------------------------------------------------------------
    def resolve_image(self, ref: str, platform: str = "", force_pull: bool = False) -> str:
        if not force_pull:
            try:
                return str(self.ws.images.resolve(ref).id)
            except NotFound:
                if self.pull is None:
                    raise
        if self.pull is None:
            return str(self.ws.images.resolve(ref).id)
        for msg in self.pull(ref, platform):
            if not self.opts.quiet:
                self._emit(msg)
        return str(self.ws.images.resolve(ref).id)

    def begin(self, state: StageState, stage: Stage) -> None:
        base = expand(stage.base, self.args.meta_env(), self.escape)
        if not base:
            raise InvalidArgument("base name (" + stage.base + ") should not be blank")
        by_name = {s.name: s.index for s in self.stages if s.name and s.index < stage.index}
        config: dict[str, Any]
        if base.lower() == "scratch":
            state.image_id, config = "", {}
        elif base.lower() in by_name and by_name[base.lower()] in self.results:
            state.image_id = self.results[by_name[base.lower()]]
            config = self.ws.image_config(state.image_id).get("config") or {}
        else:
            state.image_id = self.resolve_image(base, stage.platform, self.opts.pull)
            config = self.ws.image_config(state.image_id).get("config") or {}
        state.config = {k: v for k, v in dict(config).items() if k not in ("Hostname", "Domainname")}
        env = list(state.config.get("Env") or [])
        if not any(env_key(e) == "PATH" for e in env):
            env.append(DEFAULT_PATH)
        state.config["Env"] = env
        triggers = list(state.config.get("OnBuild") or [])
        state.config["OnBuild"] = []
        if triggers:
            self.text(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
        cmd_set: dict[str, bool] = {}
        for trigger in triggers:
            for node in parse(trigger).nodes:
                ins = parse_instruction(node)
                if ins.kind in ("onbuild", "from", "maintainer"):
                    raise InvalidArgument(f"{ins.kind.upper()} isn't allowed as an ONBUILD trigger")
                self.steps.dispatch(state, ins, cmd_set)

    # --- COPY / ADD --------------------------------------------------------------------------
    @contextmanager
    def source_root(self, ins: Instruction, ex: Callable[[str], str], stack: ExitStack) -> Iterator[Path]:
        src = ins.flags.get("from", "")
        if not src:
            yield self.ctx.root
            return
        names = {s.name: s.index for s in self.stages if s.name}
        if src.lower() in names and names[src.lower()] in self.results:
            image_id = self.results[names[src.lower()]]
        elif src.isdigit() and int(src) in self.results:
            image_id = self.results[int(src)]
        else:
            try:
                image_id = self.resolve_image(src)
            except TugboatError as e:
                raise BuildFailed(f"invalid from flag value {src}: {e.message}") from None
        rw = stack.enter_context(self.ws.rw_layer(image_id))
        yield stack.enter_context(self.ws.mounted(rw))

    def copy_step(self, state: StageState, ins: Instruction, ex: Callable[[str], str]) -> None:
        kind = ins.kind.upper()
        is_add = ins.kind == "add"
        args = [ex(a) for a in ins.args]
        heredocs = {f"<<{d.name}": d for d in ins.node.heredocs}
        heredocs.update({f"<<-{d.name}": d for d in ins.node.heredocs})
        dest, srcs = args[-1], args[:-1]
        with ExitStack() as stack:
            root = stack.enter_context(self.source_root(ins, ex, stack))
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="build-src-",
                                                                      dir=self.ctx.root.parent)))
            # a context source is a name until the cache misses: a cached COPY unpacks nothing
            infos: list[tuple[Source | str, str]] = []
            from_context = root == self.ctx.root
            for s in srcs:
                if s in heredocs:
                    doc = heredocs[s]
                    path = tmp / doc.name
                    content = expand_heredoc(doc.content, state.expansion_env()) if doc.expand else doc.content
                    path.write_text(content)
                    path.chmod(0o644)
                    infos.append((Source(path, doc.name), source_hash(tmp, doc.name)))
                elif is_add and s.startswith(("http://", "https://")):
                    path = download(s, tmp)   # named by its bare content sum, as dockerd's remote sources
                    infos.append((Source(path, path.name, remote=True),
                                  source_hash(tmp, path.name).removeprefix("file:")))
                else:
                    matches = self.ctx.resolve_sources(s) if from_context else resolve_in(root, s)
                    if not matches:
                        if has_wildcards(s):
                            raise BuildFailed(f"{kind} failed: no source files were specified")
                        where = "build context or excluded by .dockerignore" if from_context else "image"
                        raise BuildFailed(f"{kind} failed: file not found in {where}: stat {s}: "
                                          "file does not exist")
                    for m in matches:
                        if from_context:
                            infos.append((m, self.ctx.checksum(m)))
                            continue
                        path = scoped_path(root, m)
                        rel = str(path.relative_to(root))
                        infos.append((Source(path, m or "."), source_hash(root, "" if rel == "." else rel)))
            if len(infos) > 1 and not dest.endswith("/"):
                raise BuildFailed(f"When using {kind} with more than one source file, the destination "
                                  "must be a directory and end with a /")
            hashes = [h for _, h in infos]
            src_hash = hashes[0] if len(hashes) == 1 else \
                "multi:" + hashlib.sha256(",".join(hashes).encode()).hexdigest()
            cc = state.copy_config()
            # dockerd: "%s %s%s in %s " with "--chown=<spec>" glued to the sum (sic)
            chown = f"--chown={ex(ins.flags['chown'])}" if ins.flags.get("chown") else ""
            cc["Cmd"] = nop_cmd(state, f"{kind} {chown}{src_hash} in {dest} ", single_space=True)
            if ins.flags.get("chmod"):   # BuildKit's flag: dockerd 20.10 has no history form for it
                cc["Cmd"][-1] += f"--chmod={ins.flags['chmod']} "
            if self.steps.probe(state, cc):
                return
            dest_abs = dest if dest.startswith("/") else \
                posixpath.join("/", state.config.get("WorkingDir") or "/", dest)
            dir_hint = dest.endswith("/") or dest in (".", "") or len(infos) > 1
            chmod = parse_chmod(ins.flags.get("chmod", ""))
            with self.ws.rw_layer(state.image_id) as rw:
                with self.ws.mounted(rw) as rootfs:
                    owner = parse_chown(ex(ins.flags.get("chown", "")), rootfs)
                    sources = [i if isinstance(i, Source) else Source(self.ctx.paths([i])[0], i or ".")
                               for i, _ in infos]
                    Copier(rootfs, owner, chmod, unpack=is_add, idmap=getattr(self.ws.layers, "idmap", None)
                           ).copy(sources, posixpath.normpath(dest_abs), dir_hint)
                self.ws.commit_rw(state, rw, cc)


def download(url: str, tmp: Path) -> Path:
    """ADD <url>: the file is saved as the URL's last path element, mode 0600, with the
    server's Last-Modified time (as dockerd)."""
    name = posixpath.basename(url.split("?", 1)[0].rstrip("/")) or "__unnamed__"
    path = tmp / name
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(path, "wb") as f:  # noqa: S310
            shutil.copyfileobj(resp, f)
            modified = resp.headers.get("Last-Modified")
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise BuildFailed(f"failed to GET {url}: {getattr(e, 'reason', e)}") from None
    path.chmod(0o600)
    if modified:
        try:
            ts = parsedate_to_datetime(modified).timestamp()
            os.utime(path, (ts, ts))
        except (TypeError, ValueError):
            pass
    return path
