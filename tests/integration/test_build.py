"""`docker build` (classic builder, DOCKER_BUILDKIT=0) through tug, the docker CLI and docker-py.

Every assertion here also holds against the real dockerd 20.10 (TUGBOAT_TEST_TARGET=docker),
except where a test says it checks a tugd extension (heredocs, COPY --chmod, skipped stages).
Images are named tt<token>/build-*: removed by the tracker after each test."""

from __future__ import annotations

import gc
import io
import itertools
import json
import os
import re
import tarfile
from pathlib import Path

import pytest

from .helpers import ok

TARGET = os.environ.get("TUGBOAT_TEST_TARGET", "tugd")
tugd_only = pytest.mark.skipif(TARGET == "docker", reason="a tugd extension: dockerd 20.10's classic builder lacks it")


def build_env(cli):
    env = dict(cli.env)
    env["DOCKER_BUILDKIT"] = "0"
    return env


def run_build(cli, ctx: Path | str, *args: str, input: str | bytes | None = None, timeout: float = 120):
    """`build [args] CONTEXT` (ctx "-": the context comes from stdin)."""
    from .conftest import run_cmd
    argv = [str(cli.binary), "build", *args, str(ctx)]
    return run_cmd(argv, build_env(cli), input=input, timeout=timeout)


def write(ctx: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        p = ctx / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    return ctx


def image_name(token: str, track, hint: str) -> str:
    return track.image(f"tt{token}/build-{hint}:latest")


def inspect(cli, ref: str) -> dict:
    return json.loads(ok(cli("image", "inspect", ref)).stdout)[0]


def history(cli, ref: str) -> list[str]:
    out = ok(cli("history", "--no-trunc", "--format", "{{.CreatedBy}}", ref)).stdout
    return out.splitlines()


def track_built(cli, track, out: str) -> str | None:
    """Track the image a build printed ("Successfully built <id>"), tagged or not."""
    m = re.search(r"Successfully built ([0-9a-f]{12})", out)
    return track.image(m.group(1)) if m else None


def track_marked(cli, track, marker: str) -> None:
    """Track every image whose newest history entry mentions ``marker`` (stages dockerd builds
    although the target does not need them, intermediate images of replaced tags)."""
    ids = ok(cli("images", "-a", "-q", "--no-trunc")).stdout.split()
    for i in dict.fromkeys(ids):
        top = ok(cli("history", "--no-trunc", "--format", "{{.CreatedBy}}", i)).stdout.splitlines()[:1]
        if top and marker in top[0]:
            track.image(i)


def run_out(cli, ref: str, *cmd: str) -> str:
    return ok(cli("run", "--rm", ref, *cmd)).stdout


# --------------------------------------------------------------------------------------------
def test_basic_build_output_and_image(cli, tmp_path, token, track):
    name = image_name(token, track, "basic")
    write(tmp_path, {"Dockerfile": "FROM busybox\nENV A=1 B=\"two words\"\nRUN echo hi-$A > /f\n"
                                   "COPY a.txt /a.txt\nCMD [\"cat\", \"/f\"]\n",
                     "a.txt": "hello\n"})
    p = ok(run_build(cli, tmp_path, "-t", name))
    out = p.stdout
    assert "Step 1/5 : FROM busybox\n" in out
    assert re.search(r"Step 3/5 : RUN echo hi-\$A > /f\n ---> Running in [0-9a-f]{12}\n", out)
    assert re.search(r"Removing intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\n", out)
    assert re.search(r"Successfully built [0-9a-f]{12}\n", out)
    assert f"Successfully tagged {name}\n" in out
    assert run_out(cli, name) == "hi-1\n"
    assert run_out(cli, name, "cat", "/a.txt") == "hello\n"
    cfg = inspect(cli, name)["Config"]
    assert cfg["Cmd"] == ["cat", "/f"]
    assert "B=two words" in cfg["Env"]


def test_history_matches_classic_builder(cli, tmp_path, token, track):
    name = image_name(token, track, "hist")
    write(tmp_path, {"Dockerfile": "FROM busybox\nARG FOO=bar\nENV A=1\nRUN echo $FOO\nWORKDIR /w\n"
                                   "LABEL l1=v1\nEXPOSE 80 90/udp\nVOLUME /data\nUSER nobody\n"
                                   "STOPSIGNAL SIGKILL\nHEALTHCHECK --interval=5s CMD true\n"
                                   "SHELL [\"/bin/sh\", \"-ec\"]\nENTRYPOINT [\"echo\"]\nCMD [\"sh\"]\n"
                                   "COPY a.txt /a.txt\n",
                     "a.txt": "hello\n"})
    os.chmod(tmp_path / "a.txt", 0o644)
    ok(run_build(cli, tmp_path, "--build-arg", "FOO=zz", "-t", name))
    hist = history(cli, name)
    expected = [
        # dockerd's content hash (tarsum v1 of the uploaded header + content)
        "/bin/sh -ec #(nop) COPY file:00ec16333078d287782d462baefc8bb9eb0231dc3aefba3ca3e2f7e5cf0cadda in /a.txt ",
        '/bin/sh -ec #(nop)  CMD ["sh"]',
        '/bin/sh -ec #(nop)  ENTRYPOINT ["echo"]',
        "/bin/sh -ec #(nop)  SHELL [/bin/sh -ec]",
        "/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"true\"] \"5s\" \"0s\" \"0s\" '\\x00'}",
        "/bin/sh -c #(nop)  STOPSIGNAL SIGKILL",
        "/bin/sh -c #(nop)  USER nobody",
        "/bin/sh -c #(nop)  VOLUME [/data]",
        "/bin/sh -c #(nop)  EXPOSE 80 90/udp",
        "/bin/sh -c #(nop)  LABEL l1=v1",
        "/bin/sh -c #(nop) WORKDIR /w",
        "|1 FOO=zz /bin/sh -c echo $FOO",
        "/bin/sh -c #(nop)  ENV A=1",
        "/bin/sh -c #(nop)  ARG FOO=bar",
    ]
    assert hist[:len(expected)] == expected
    info = inspect(cli, name)
    assert info["Config"]["WorkingDir"] == "/w"
    assert info["Config"]["User"] == "nobody"
    assert info["Config"]["ExposedPorts"] == {"80/tcp": {}, "90/udp": {}}
    assert info["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5000000000}
    assert info["Config"]["Shell"] == ["/bin/sh", "-ec"]
    assert info["Config"]["StopSignal"] == "SIGKILL"


def test_run_failure_reports_exit_code(cli, tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox\nRUN exit 3\n"})
    p = run_build(cli, tmp_path, "--force-rm")
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert "The command '/bin/sh -c exit 3' returned a non-zero code: 3" in p.stderr


@pytest.mark.parametrize("dockerfile,message", [
    ("FROM busybox\nRUN true\nFORM x\n", "dockerfile parse error line 3: unknown instruction: FORM"),
    ("FROM busybox a b c d\n", "dockerfile parse error line 1: FROM requires either one or three arguments"),
    ("RUN true\n", "no build stage in current context"),
    ("# only a comment\n", "failed to parse Dockerfile: file with no instructions"),
    ("FROM busybox\nENV a\n", "failed to parse Dockerfile: ENV must have two arguments"),
    ("FROM busybox\nCOPY --bogus=1 a b\n", "dockerfile parse error line 2: Unknown flag: bogus"),
    ("FROM busybox AS 1x\n", 'invalid name for build stage: "1x"'),
    ("FROM busybox\nCMD [\"a\", 1]\n",
     "failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only"),
])
def test_malformed_dockerfile(cli, tmp_path, dockerfile, message):
    write(tmp_path, {"Dockerfile": dockerfile})
    p = run_build(cli, tmp_path)
    assert p.returncode != 0
    assert message in p.stderr, p.stderr


def test_copy_missing_file(cli, tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY nothere /x\n"})
    p = run_build(cli, tmp_path)
    assert p.returncode == 1
    assert ("COPY failed: file not found in build context or excluded by .dockerignore: "
            "stat nothere: file does not exist") in p.stderr


def test_cache_hit_and_miss(cli, tmp_path, token, track):
    name = image_name(token, track, "cache")
    unique = os.urandom(6).hex()   # a step no earlier build (or run of this test) has cached
    write(tmp_path, {"Dockerfile": f"FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b\nENV X={unique}\n",
                     "a.txt": f"one {unique}\n"})
    first = ok(run_build(cli, tmp_path, "-t", name)).stdout
    track_built(cli, track, first)
    assert "Using cache" not in first.split("Step 2/4")[1]
    second = ok(run_build(cli, tmp_path, "-t", name)).stdout
    assert second.count(" ---> Using cache\n") == 3
    assert "Running in" not in second
    built = [re.search(r"Successfully built (\w+)", out) for out in (first, second)]
    assert built[0] and built[1], (first, second)
    assert built[0].group(1) == built[1].group(1)
    (tmp_path / "a.txt").write_text(f"two {unique}\n")
    third = ok(run_build(cli, tmp_path, "-t", name)).stdout
    track_built(cli, track, third)
    assert " ---> Using cache" not in third
    assert run_out(cli, name, "cat", "/b") == f"two {unique}\n"
    nocache = ok(run_build(cli, tmp_path, "--no-cache", "-t", name)).stdout
    track_built(cli, track, nocache)
    assert "Using cache" not in nocache


def test_multistage_target_and_copy_from(cli, tmp_path, token, track):
    name = image_name(token, track, "multi")
    marker = f"other-{os.urandom(4).hex()}"
    write(tmp_path, {"Dockerfile": (
        "FROM busybox AS base\nRUN echo base > /base.txt\n"
        "FROM base AS builder\nRUN echo built > /artifact\n"
        f"FROM busybox AS other\nRUN echo {marker} > /other\n"
        "FROM busybox\nCOPY --from=builder /artifact /from-builder\nCOPY --from=0 /base.txt /from-index\n"
        "COPY --from=busybox /bin/busybox /bb\nCMD [\"cat\", \"/from-builder\"]\n")})
    ok(run_build(cli, tmp_path, "-t", name))
    track_marked(cli, track, marker)   # dockerd builds the unneeded stage (a dangling image)
    assert run_out(cli, name) == "built\n"
    assert run_out(cli, name, "cat", "/from-index") == "base\n"
    assert run_out(cli, name, "sh", "-c", "test -x /bb && echo ok") == "ok\n"
    tgt = image_name(token, track, "multi-target")
    out = ok(run_build(cli, tmp_path, "--target", "builder", "-t", tgt)).stdout
    assert "RUN echo built > /artifact" in out
    assert "FROM busybox AS other" not in out.split("Successfully built")[0].split("RUN echo built")[1]
    assert run_out(cli, tgt, "cat", "/artifact", "/base.txt") == "built\nbase\n"
    p = run_build(cli, tmp_path, "--target", "nosuch")
    assert p.returncode != 0
    assert "failed to reach build target nosuch in Dockerfile" in p.stderr


def test_copy_rules_and_add(cli, tmp_path, token, track):
    name = image_name(token, track, "copy")
    src = tmp_path / "ctx"
    write(src, {"a.txt": "A\n", "b.txt": "B\n", "c.md": "C\n", "dir/sub/f": "F\n", "dir/g": "G\n"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        data = b"inside\n"
        ti = tarfile.TarInfo("x/inner.txt")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    (src / "arch.tar.gz").write_bytes(buf.getvalue())
    os.chmod(src / "a.txt", 0o751)
    write(src, {"Dockerfile": (
        "FROM busybox\nWORKDIR /w\nCOPY *.txt /multi/\nCOPY dir /d\nCOPY dir/ rel/\nCOPY a.txt .\n"
        "COPY --chown=1:2 b.txt /owned\nADD arch.tar.gz /unpacked/\nADD c.md /added/\n")})
    ok(run_build(cli, src, "-t", name))
    out = run_out(cli, name, "sh", "-c",
                  "cat /multi/a.txt /multi/b.txt /d/sub/f /d/g /w/rel/g /w/a.txt /unpacked/x/inner.txt "
                  "/added/c.md; stat -c '%u:%g %a' /owned /w/a.txt; ls /multi")
    assert out == "A\nB\nF\nG\nG\nA\ninside\nC\n1:2 644\n0:0 751\na.txt\nb.txt\n"
    write(src, {"Dockerfile": "FROM busybox\nCOPY a.txt b.txt /notadir\n"})
    p = run_build(cli, src)
    assert p.returncode != 0
    assert "When using COPY with more than one source file, the destination must be a directory and end with a /" \
        in p.stderr


def test_dockerignore(cli, tmp_path, token, track):
    name = image_name(token, track, "ignore")
    write(tmp_path, {".dockerignore": "# comment\n*.log\n**/secret*\n!keep.log\n/build\n",
                     "a.log": "x", "keep.log": "k", "sub/secret.txt": "s", "sub/ok.txt": "o",
                     "build/out": "b", "Dockerfile": "FROM busybox\nCOPY . /ctx/\n"})
    ok(run_build(cli, tmp_path, "-t", name))
    listing = run_out(cli, name, "find", "/ctx", "-type", "f").split()
    assert sorted(listing) == ["/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/keep.log", "/ctx/sub/ok.txt"]
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY a.log /\n"})
    p = run_build(cli, tmp_path)
    assert p.returncode == 1
    assert "COPY failed: file not found in build context or excluded by .dockerignore: stat a.log" in p.stderr


def test_args_env_onbuild(cli, tmp_path, token, track):
    parent = image_name(token, track, "onbuild-parent")
    child = image_name(token, track, "onbuild-child")
    write(tmp_path, {"Dockerfile": (
        "ARG BASE=busybox\nARG UNUSED_META\nFROM ${BASE}\nARG BASE\nARG V=default\nENV E1=$V E2=${V:-x}-${NOPE:-alt}\n"
        "ENV OLD old style value\nRUN echo \"$BASE $V $E1 $E2\" > /args\n"
        "ONBUILD RUN echo triggered > /trig\nLABEL \"key with space\"=\"v $V\"\n")})
    ok(run_build(cli, tmp_path, "--build-arg", "V=given", "-t", parent))
    assert run_out(cli, parent, "cat", "/args") == "busybox given given given-alt\n"
    info = inspect(cli, parent)
    assert info["Config"]["OnBuild"] == ["RUN echo triggered > /trig"]
    assert info["Config"]["Labels"]["key with space"] == "v given"
    assert "OLD=old style value" in info["Config"]["Env"]
    assert "V=given" not in info["Config"]["Env"]
    write(tmp_path, {"Dockerfile": f"FROM {parent}\nRUN cat /trig\n"})
    out = ok(run_build(cli, tmp_path, "-t", child)).stdout
    assert "# Executing 1 build trigger\n" in out
    assert run_out(cli, child, "cat", "/trig") == "triggered\n"
    assert not inspect(cli, child)["Config"]["OnBuild"]
    write(tmp_path, {"Dockerfile": "FROM busybox\nARG X\nRUN echo $X\n"})
    out = ok(run_build(cli, tmp_path, "--build-arg", "X=1", "--build-arg", "NOTUSED=2")).stdout
    track_built(cli, track, out)
    assert "[Warning] One or more build-args [NOTUSED] were not consumed\n" in out


def test_escape_directive_and_continuations(cli, tmp_path, token, track):
    name = image_name(token, track, "escape")
    write(tmp_path, {"Dockerfile": (
        "# escape=`\nFROM busybox\nRUN echo one `\n    two `\n# a comment inside\n    three > /f\n"
        "ENV P=C:\\path\n")})
    ok(run_build(cli, tmp_path, "-t", name))
    assert run_out(cli, name, "cat", "/f") == "one two three\n"
    assert "P=C:\\path" in inspect(cli, name)["Config"]["Env"]


def test_dockerfile_flag_stdin_and_tar_context(cli, tmp_path, token, track):
    ctx = write(tmp_path / "ctx", {"f.txt": "F\n"})
    outside = write(tmp_path / "elsewhere", {"My.Dockerfile": "FROM busybox\nCOPY f.txt /f\n"})
    a = image_name(token, track, "outside")
    ok(run_build(cli, ctx, "-f", str(outside / "My.Dockerfile"), "-t", a))
    assert run_out(cli, a, "cat", "/f") == "F\n"
    b = image_name(token, track, "stdin-df")
    ok(run_build(cli, ctx, "-f", "-", "-t", b, input="FROM busybox\nCOPY f.txt /g\n"))
    assert run_out(cli, b, "cat", "/g") == "F\n"
    c = image_name(token, track, "stdin-ctx")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for n, data in (("Dockerfile", b"FROM busybox\nCOPY h /h\n"), ("h", b"H\n")):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    ok(run_build(cli, "-", "-t", c, input=buf.getvalue()))
    assert run_out(cli, c, "cat", "/h") == "H\n"
    d = image_name(token, track, "stdin-only")
    ok(run_build(cli, "-", "-t", d, input="FROM busybox\nRUN echo x > /x\n"))
    assert run_out(cli, d, "cat", "/x") == "x\n"


def test_quiet_iidfile_labels(cli, tmp_path, token, track):
    name = image_name(token, track, "quiet")
    write(tmp_path, {"Dockerfile": f"FROM busybox\nRUN echo {os.urandom(4).hex()}\n"})
    iid = tmp_path / "iid"
    p = ok(run_build(cli, tmp_path, "-q", "--iidfile", str(iid), "--label", "a=b", "-t", name,
                     "-t", name.replace(":latest", ":two")))
    track.image(name.replace(":latest", ":two"))
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", p.stdout)
    assert iid.read_text() == p.stdout   # docker writes what -q printed, newline included
    info = inspect(cli, name)
    assert info["Id"] == p.stdout.strip()
    assert info["Config"]["Labels"] == {"a": "b"}
    assert sorted(info["RepoTags"]) == sorted([name, name.replace(":latest", ":two")])


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")   # docker-py's stream socket
def test_dockerpy_build(dclient, tmp_path, token, track):
    import docker.errors
    name = image_name(token, track, "py")
    write(tmp_path, {"Dockerfile": "FROM busybox\nARG A\nRUN echo py-$A > /p\nCMD [\"cat\", \"/p\"]\n"})
    image, logs = dclient.images.build(path=str(tmp_path), tag=name, buildargs={"A": "x"}, rm=True)
    text = "".join(chunk.get("stream", "") for chunk in logs)
    assert "Successfully built" in text
    assert image.id.startswith("sha256:")
    assert dclient.containers.run(name, remove=True) == b"py-x\n"
    write(tmp_path, {"Dockerfile": "FROM busybox\nRUN exit 7\n"})
    with pytest.raises(docker.errors.BuildError) as e:
        dclient.images.build(path=str(tmp_path), forcerm=True)
    assert "returned a non-zero code: 7" in str(e.value)
    del e
    gc.collect()   # docker-py leaves the failed stream's socket to the GC: let it warn here


@tugd_only
def test_heredocs(cli, tmp_path, token, track):
    name = image_name(token, track, "heredoc")
    write(tmp_path, {"Dockerfile": (
        "FROM busybox\nARG WHO=world\nRUN <<EOF\necho hello > /h1\necho $WHO >> /h1\nEOF\n"
        "COPY <<EOT /etc/greeting\nhi ${WHO}\nEOT\nRUN cat > /h2 <<X\nfed\nX\n")})
    ok(run_build(cli, tmp_path, "-t", name))
    assert run_out(cli, name, "cat", "/h1", "/etc/greeting", "/h2") == "hello\nworld\nhi world\nfed\n"


@tugd_only
def test_cache_survives_restart(tugd, tug, tmp_path, token, track):
    name = image_name(token, track, "restart")
    write(tmp_path, {"Dockerfile": f"FROM busybox\nRUN echo {os.urandom(4).hex()} > /r\n"})
    ok(run_build(tug, tmp_path, "-t", name))
    tugd.restart()
    out = ok(run_build(tug, tmp_path, "-t", name)).stdout
    assert " ---> Using cache\n" in out


@tugd_only
def test_copy_chmod_link_and_healthcheck_none(cli, tmp_path, token, track):
    name = image_name(token, track, "chmod")
    write(tmp_path, {"f": "x", "Dockerfile": (
        "FROM busybox\nHEALTHCHECK CMD true\nHEALTHCHECK NONE\nCOPY --chmod=700 --link f /f\n"
        "ADD --chmod=640 f /g\n")})
    ok(run_build(cli, tmp_path, "-t", name))
    assert run_out(cli, name, "stat", "-c", "%a", "/f", "/g") == "700\n640\n"
    assert inspect(cli, name)["Config"]["Healthcheck"] == {"Test": ["NONE"]}


@tugd_only
def test_add_url_without_network_fails_clearly(cli, tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox\nADD http://127.0.0.1:9/nothing.txt /x\n"})
    p = run_build(cli, tmp_path)
    assert p.returncode == 1
    assert "failed to GET http://127.0.0.1:9/nothing.txt" in p.stderr


def test_cache_from_and_builder_prune(cli, tmp_path, token, track):
    name = image_name(token, track, "cachefrom")
    write(tmp_path, {"Dockerfile": f"FROM busybox\nRUN echo {os.urandom(4).hex()} > /c\n"})
    ok(run_build(cli, tmp_path, "-t", name))
    out = ok(run_build(cli, tmp_path, "--cache-from", name, "-t", name)).stdout
    assert " ---> Using cache\n" in out
    p = ok(cli("builder", "prune", "-f"))
    assert "Total reclaimed space:" in p.stdout


def test_cache_from_a_loaded_image(cli, tmp_path, token, track):
    """--cache-from an image that came by `load` (no intermediate images, no parent links): its
    history stands in for them, every step is a cache hit and the result is that very image."""
    name = image_name(token, track, "cachefrom-loaded")
    marker = os.urandom(4).hex()
    write(tmp_path, {"f.txt": marker, "Dockerfile": (
        f"FROM busybox\nENV M={marker}\nCOPY f.txt /f\nRUN cat /f > /g\nWORKDIR /w\nCMD [\"cat\", \"/g\"]\n")})
    ok(run_build(cli, tmp_path, "-t", name))
    image_id = inspect(cli, name)["Id"]
    saved = ok(cli("save", name, text=False)).stdout
    ok(cli("rmi", name))   # the intermediate images go with it
    assert "Loaded image: " + name in ok(cli("load", input=saved)).stdout.decode()
    out = ok(run_build(cli, tmp_path, "--cache-from", name, "-t", name)).stdout
    assert out.count(" ---> Using cache\n") == 5, out
    assert "Running in" not in out
    assert inspect(cli, name)["Id"] == image_id
    assert run_out(cli, name) == marker


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")   # docker-py's stream socket
def test_api_stream_shape(dclient, tmp_path, token, track):
    """The raw JSON stream as dockerd writes it: Step lines, aux ID before Successfully built."""
    name = image_name(token, track, "api")
    write(tmp_path, {"Dockerfile": f"FROM busybox\nRUN echo {os.urandom(4).hex()}\n"})
    items = list(dclient.api.build(path=str(tmp_path), tag=name, decode=True, rm=True))
    streams = "".join(i.get("stream", "") for i in items)
    assert streams.startswith("Step 1/2 : FROM busybox\n ---> ")
    aux = [i for i in items if "aux" in i]
    assert aux and aux[-1]["aux"]["ID"].startswith("sha256:")
    keys = [next(iter(i)) for i in items]
    assert keys.index("aux") < max(n for n, i in enumerate(items) if "Successfully built" in i.get("stream", ""))
    assert items[-1] == {"stream": f"Successfully tagged {name}\n"}
    gc.collect()


def test_rm_false_keeps_intermediate_containers(cli, tmp_path, track):
    marker = os.urandom(4).hex()
    write(tmp_path, {"Dockerfile": f"FROM busybox\nRUN echo {marker}\n"})
    out = ok(run_build(cli, tmp_path, "--rm=false")).stdout
    track_built(cli, track, out)
    running = re.search(r"Running in ([0-9a-f]{12})", out)
    assert running, out
    cid = running.group(1)
    track.container(cid)
    assert "Removing intermediate container" not in out
    assert ok(cli("inspect", "--format", "{{.State.Status}}", cid)).stdout.strip() == "exited"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")   # docker-py
def test_gzip_context_through_api(dclient, tmp_path, token, track):
    name = image_name(token, track, "gzip")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for n, data in (("Dockerfile", b"FROM busybox\nCOPY g /g\n"), ("g", b"gz\n")):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    items = list(dclient.api.build(fileobj=buf, custom_context=True, encoding="gzip", tag=name, rm=True,
                                   decode=True))
    assert not [i for i in items if "error" in i], items
    assert dclient.containers.run(name, ["cat", "/g"], remove=True) == b"gz\n"
    gc.collect()


def test_changes_below_a_volume_are_discarded(cli, tmp_path, token, track):
    name = image_name(token, track, "volume")
    write(tmp_path, {"Dockerfile": (
        "FROM busybox\nRUN mkdir /data && echo before > /data/kept\nVOLUME /data\n"
        "RUN echo lost > /data/new && echo changed > /data/kept && echo ok > /other && cat /data/kept\n")})
    out = ok(run_build(cli, tmp_path, "-t", name)).stdout
    assert "\nchanged\n" in out   # the step itself saw its write to the volume
    assert run_out(cli, name, "sh", "-c", "cat /other /data/kept; ls /data") == "ok\nbefore\nkept\n"


def test_run_resources_add_host_and_shm(cli, tmp_path, track):
    write(tmp_path, {"Dockerfile": f"FROM busybox\nRUN grep myhost /etc/hosts && df -k /dev/shm # {os.urandom(4).hex()}\n"})
    out = ok(run_build(cli, tmp_path, "--add-host", "myhost:10.1.2.3", "--shm-size", "8m")).stdout
    track_built(cli, track, out)
    assert "10.1.2.3\tmyhost" in out or "10.1.2.3 myhost" in out
    assert re.search(r"\s8192\s", out), out


@pytest.fixture
def http_files(tmp_path):
    """A plain HTTP server on 127.0.0.1 serving a directory (what ADD <url> fetches; the engine's
    daemon downloads, from the host's network)."""
    import functools
    import http.server
    import threading
    root = tmp_path / "www"
    root.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_add_remote_url_and_chown_history(cli, tmp_path, http_files, token, track):
    """ADD <url>: saved under the URL's name with mode 0600, a remote archive is NOT unpacked, the
    history names the bare content sum; --chown's history form is dockerd's ("--chown=X<sum>")."""
    www, base = http_files
    (www / "r.txt").write_text("remote\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        ti = tarfile.TarInfo("inner.txt")
        ti.size = 3
        tf.addfile(ti, io.BytesIO(b"in\n"))
    (www / "r.tar.gz").write_bytes(buf.getvalue())
    ctx = write(tmp_path / "ctx", {"l.txt": "local\n", "Dockerfile": (
        f"FROM busybox\nADD {base}/r.txt /r/\nADD {base}/r.tar.gz /t/\n"
        f"ADD --chown=nobody:nogroup {base}/r.txt /owned\nCOPY --chown=1:2 l.txt /l\n")})
    name = image_name(token, track, "addurl")
    ok(run_build(cli, ctx, "-t", name))
    out = run_out(cli, name, "sh", "-c", "stat -c '%n %a %u:%g' /r/r.txt /t/r.tar.gz /owned /l; ls /t")
    assert out == "/r/r.txt 600 0:0\n/t/r.tar.gz 600 0:0\n/owned 600 65534:65534\n/l 644 1:2\nr.tar.gz\n"
    hist = history(cli, name)[:4]
    assert re.fullmatch(r"/bin/sh -c #\(nop\) COPY --chown=1:2file:[0-9a-f]{64} in /l ", hist[0]), hist
    assert re.fullmatch(r"/bin/sh -c #\(nop\) ADD --chown=nobody:nogroup[0-9a-f]{64} in /owned ", hist[1]), hist
    assert re.fullmatch(r"/bin/sh -c #\(nop\) ADD [0-9a-f]{64} in /t/ ", hist[2]), hist
    assert hist[1].split("nogroup")[1] == hist[3].split("ADD ")[1].replace("/r/", "/owned")


def test_predefined_proxy_args_and_arg_scope(cli, tmp_path, token, track):
    """The proxy args need no ARG: RUN sees them, history and the image do not; an ARG is visible
    only in the stage that declares it (a meta ARG only in FROM lines unless redeclared)."""
    name = image_name(token, track, "proxy")
    marker = os.urandom(4).hex()
    write(tmp_path, {"Dockerfile": (
        f"ARG META=m1\nFROM busybox AS first\nARG STAGE=s1\nRUN echo first-$STAGE-$META-{marker} > /first\n"
        f"FROM busybox\nARG META\nCOPY --from=first /first /\n"
        f"RUN echo \"p=$HTTP_PROXY n=$no_proxy s=$STAGE m=$META {marker}\" > /o\n")})
    ok(run_build(cli, tmp_path, "--build-arg", "HTTP_PROXY=http://proxy:3128", "--build-arg",
                 "no_proxy=.local", "-t", name))
    track_marked(cli, track, marker)   # stage "first" stays behind as untagged images, as with dockerd
    assert run_out(cli, name, "cat", "/first", "/o") == \
        f"first-s1--{marker}\np=http://proxy:3128 n=.local s= m=m1 {marker}\n"
    assert history(cli, name)[0] == f'|1 META=m1 /bin/sh -c echo "p=$HTTP_PROXY n=$no_proxy s=$STAGE m=$META {marker}" > /o'
    assert not [e for e in inspect(cli, name)["Config"]["Env"] if "proxy" in e.lower()]


def test_from_pulls_missing_base_and_pull_flag(cli, tmp_path, tmp_path_factory, token, track):
    """FROM an image that is not here pulls it; --pull pulls a newer one although one is here."""
    from .test_registry import serve_registry
    with serve_registry(tmp_path_factory.mktemp("registry")) as reg:
        base = track.image(f"{reg.addr}/tt{token}/base-{cli.name}:1")
        for version in ("v1", "v2"):
            write(tmp_path / version, {"Dockerfile": f"FROM busybox\nRUN echo {version}-{os.urandom(4).hex()} > /v\n"})
            ok(run_build(cli, tmp_path / version, "-t", base))
            if version == "v1":
                v1 = inspect(cli, base)["Id"]
            ok(cli("push", base, timeout=120))
        track.image(v1)
        ok(cli("tag", v1, base))   # here: v1; in the registry: v2
        child = write(tmp_path / "child", {"Dockerfile": f"FROM {base}\nRUN cat /v\n"})
        out = ok(run_build(cli, child, "--no-cache")).stdout
        track_built(cli, track, out)
        assert "\nv1-" in out and "Pulling from" not in out
        out = ok(run_build(cli, child, "--pull", "--no-cache")).stdout
        track_built(cli, track, out)
        assert f"Pulling from tt{token}/base-{cli.name}" in out and "\nv2-" in out, out
        ok(cli("rmi", base))
        out = ok(run_build(cli, child, "--no-cache")).stdout
        track_built(cli, track, out)
        assert "Pulling from" in out and "\nv2-" in out, out


def test_run_steps_network_mode(cli, tmp_path, track):
    """RUN containers join the engine's default network (an eth0 besides lo); --network none and
    --network host pass through to them."""
    marker = os.urandom(4).hex()
    write(tmp_path, {"Dockerfile": f"FROM busybox\nRUN echo {marker}; cat /proc/net/dev | sed 1,2d | cut -d: -f1\n"})
    seen = {}
    for mode in ("default", "none", "host"):
        out = ok(run_build(cli, tmp_path, "--no-cache", "--network", mode)).stdout
        track_built(cli, track, out)
        lines = out.split(f"{marker}\n")[1].splitlines()
        seen[mode] = {ln.strip() for ln in itertools.takewhile(lambda ln: not ln.startswith(("Removing", " --->")), lines)}
    assert seen["none"] == {"lo"}
    assert "eth0" in seen["default"] and "lo" in seen["default"]
    host_now = {line.split(":")[0].strip() for line in Path("/proc/net/dev").read_text().splitlines()[2:]}
    assert (seen["host"] & host_now) - {"lo"}, (seen["host"], host_now)   # the host's own interfaces


def test_history_empty_layer_flags(cli, tmp_path, token, track):
    """Config-only steps are empty layers in the image config's history; RUN, COPY and WORKDIR add
    layers, unless the step changed nothing (dockerd's layer.IsEmpty), as `docker save` shows."""
    name = image_name(token, track, "emptylayer")
    write(tmp_path, {"f": os.urandom(4).hex(), "Dockerfile": "FROM busybox\nENV A=1\nRUN touch /r\nRUN true\nCOPY f /f\n"
                                                               "WORKDIR /w\nLABEL x=y\nCMD [\"sh\"]\n"})
    ok(run_build(cli, tmp_path, "-t", name))
    with tarfile.open(fileobj=io.BytesIO(ok(cli("save", name, text=False)).stdout)) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))   # type: ignore[arg-type]
        config = json.load(tf.extractfile(manifest[0]["Config"]))   # type: ignore[arg-type]
    base_len = len(inspect(cli, "busybox")["RootFS"]["Layers"])
    flags = [bool(h.get("empty_layer")) for h in config["history"]][-7:]
    assert flags == [True, False, True, False, False, True, True]
    assert len(config["rootfs"]["diff_ids"]) == base_len + 3
    assert len(manifest[0]["Layers"]) == base_len + 3


def test_copy_cache_key_is_content_and_mode_not_mtime(cli, tmp_path, token, track):
    """A COPY step is cached while the files' content and metadata that matters (mode) are the
    same; touching a file (mtime only) keeps the cache, chmod or an edit of the same size miss it."""
    name = image_name(token, track, "copykey")
    f = tmp_path / "d" / "f.txt"
    write(tmp_path, {"d/f.txt": f"one {os.urandom(4).hex()}\n", "Dockerfile": "FROM busybox\nCOPY d /d\n"})
    os.chmod(f, 0o644)

    def build() -> str:
        out = ok(run_build(cli, tmp_path, "-t", name)).stdout
        track_built(cli, track, out)
        return out

    build()
    os.utime(f, (1_000_000_000, 1_000_000_000))
    assert " ---> Using cache\n" in build()
    os.chmod(f, 0o600)
    assert " ---> Using cache\n" not in build()
    f.write_text(f.read_text().replace("one", "two"))
    assert " ---> Using cache\n" not in build()
    assert run_out(cli, name, "sh", "-c", "stat -c %a /d/f.txt; cat /d/f.txt").startswith("600\ntwo ")


def test_image_prune_drops_the_cache_of_untagged_builds(cli, tmp_path, track):
    """The classic cache is the intermediate images: pruning dangling images takes an untagged
    build's result with its intermediates, and the next build starts cold.  (The prune is filtered
    by a label of this test's own: other dangling images are not this test's to remove.)"""
    marker = os.urandom(4).hex()
    write(tmp_path, {"Dockerfile": f"FROM busybox\nRUN echo {marker} > /a\nRUN echo b > /b\n"})
    label = ("--label", f"tugboat-test={marker}")
    out = ok(run_build(cli, tmp_path, *label)).stdout
    track_built(cli, track, out)
    assert " ---> Using cache\n" in ok(run_build(cli, tmp_path, *label)).stdout
    pruned = ok(cli("image", "prune", "-f", "--filter", f"label=tugboat-test={marker}")).stdout
    assert pruned.count("deleted: sha256:") >= 3, pruned   # the result (LABEL) and the two RUN images
    again = ok(run_build(cli, tmp_path, *label)).stdout
    track_built(cli, track, again)
    assert " ---> Using cache\n" not in again
