""".dockerignore matching (moby/patternmatcher semantics), cache keys, Go formatting, build args."""

from __future__ import annotations

import os

import pytest

from tugboat.api.dockerignore import PatternMatcher, read_patterns
from tugboat.engine.builder import gofmt
from tugboat.engine.builder.cache import ImageCache, cache_key
from tugboat.engine.builder.state import BuildArgs


def test_read_patterns():
    assert read_patterns("# c\n\n/abs/x\n!keep\n  spaced  \n./a/../b\n") == ["abs/x", "!keep", "spaced", "b"]


@pytest.mark.parametrize("patterns,path,excluded", [
    (["*.log"], "a.log", True),
    (["*.log"], "sub/a.log", False),
    (["**/*.log"], "sub/deep/a.log", True),
    (["**/*.log"], "a.log", True),
    (["*.log", "!keep.log"], "keep.log", False),
    (["!keep.log", "*.log"], "keep.log", True),
    (["build"], "build/out/x", True),
    (["/build"], "build", True),
    (["docs/**"], "docs/a/b", True),
    (["a?c"], "abc", True),
    (["a?c"], "a/c", False),
    (["[ab].txt"], "b.txt", True),
    (["**"], "anything/at/all", True),
    (["sub/*"], "sub/x/y", True),
])
def test_matches(patterns, path, excluded):
    assert PatternMatcher(read_patterns("\n".join(patterns))).matches(path) is excluded


def test_cache_key_ignores_hostname_and_image():
    a = {"Cmd": ["/bin/sh", "-c", "x"], "Env": ["A=1"], "Hostname": "abc", "Image": "sha256:1"}
    b = {"Cmd": ["/bin/sh", "-c", "x"], "Env": ["A=1"], "Hostname": "def", "Image": "sha256:2", "Labels": {}}
    assert cache_key(a) == cache_key(b)
    assert cache_key(a) != cache_key({**a, "Env": ["A=2"]})
    assert cache_key(a) != cache_key({**a, "Cmd": ["|1", "X=1", "/bin/sh", "-c", "x"]})


class _Store:
    def __init__(self, configs: dict[str, dict], parents: dict[str, str]) -> None:
        self.configs, self.parents = configs, parents

    def get(self, i: str) -> bytes:
        import json
        return json.dumps(self.configs[i]).encode()

    def ids(self) -> list[str]:
        return list(self.configs)

    def children(self, i: str) -> list[str]:
        return [c for c, p in self.parents.items() if p == i]

    def get_parent(self, i: str) -> str | None:
        return self.parents.get(i)


def test_cache_probe_newest_child_wins():
    cc = {"Cmd": ["/bin/sh", "-c", "echo"]}
    store = _Store({"p": {}, "old": {"created": "2026-01-01T00:00:00Z", "container_config": cc},
                    "new": {"created": "2026-02-01T00:00:00Z", "container_config": cc},
                    "other": {"created": "2026-03-01T00:00:00Z", "container_config": {"Cmd": ["x"]}}},
                   {"old": "p", "new": "p", "other": "p"})
    assert ImageCache(store).probe("p", cc) == "new"
    assert ImageCache(store).probe("p", {"Cmd": ["y"]}) is None
    assert ImageCache(store).probe("", {"Cmd": ["y"]}) is None


def test_cache_from_local_hit_must_be_a_source_ancestor():
    cc = {"Cmd": ["step2"]}
    store = _Store({"base": {}, "s1": {"container_config": cc}, "s2": {"container_config": {"Cmd": ["z"]}},
                    "elsewhere": {}},
                   {"s1": "base", "s2": "s1"})
    assert ImageCache(store).probe("base", cc) == "s1"
    assert ImageCache(store, ["s2"]).probe("base", cc) == "s1"
    assert ImageCache(store, ["elsewhere"]).probe("base", cc) is None   # dockerd ignores local hits then


def test_cache_from_a_source_without_parents_restores_steps():
    """dockerd's ImageCache: a loaded image's history entries stand in for its lost intermediates."""
    h0 = {"created": "t0", "created_by": "ADD base"}
    h1 = {"created": "t1", "created_by": "/bin/sh -c #(nop)  ENV A=1", "empty_layer": True}
    h2 = {"created": "t2", "created_by": "/bin/sh -c echo > /x"}
    store = _Store({"base": {"history": [h0], "rootfs": {"diff_ids": ["l0"]}},
                    "src": {"history": [h0, h1, h2], "rootfs": {"diff_ids": ["l0", "l2"]}, "os": "linux"}}, {})
    made: list[dict] = []

    def put(cfg: dict) -> str:
        made.append(cfg)
        store.configs[f"r{len(made)}"] = cfg
        return f"r{len(made)}"

    def set_parent(i: str, p: str) -> None:
        store.parents[i] = p
    store.set_parent = set_parent   # type: ignore[attr-defined]
    cache = ImageCache(store, ["src"], put)
    assert cache.probe("base", {"Cmd": ["/bin/sh", "-c", "echo > /x"]}) is None   # not the next step
    step1 = {"Cmd": ["/bin/sh", "-c", "#(nop) ", "ENV A=1"], "Env": ["A=1"]}
    assert cache.probe("base", step1) == "r1"
    assert made[0]["history"] == [h0, h1] and made[0]["rootfs"]["diff_ids"] == ["l0"]
    assert made[0]["config"] == step1 and store.parents["r1"] == "base"
    assert cache.probe("r1", {"Cmd": ["/bin/sh", "-c", "echo > /x"]}) == "src"   # the last step: itself
    assert store.parents["src"] == "r1"


def test_gofmt():
    assert gofmt.quote_list(["sh", "-c", 'a "b"']) == '["sh" "-c" "a \\"b\\""]'
    assert gofmt.healthcheck({"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000}) == \
        "&{[\"CMD-SHELL\" \"true\"] \"5s\" \"0s\" \"0s\" '\\x00'}"
    assert gofmt.duration(90_000_000_000) == "1m30s"
    assert gofmt.duration(1_500_000_000) == "1.5s"
    assert gofmt.duration(3_600_000_000_000) == "1h0m0s"
    assert gofmt.quote_rune(65) == "'A'"


def test_build_args_scoping():
    args = BuildArgs({"FOO": "opt", "HTTP_PROXY": "http://p", "UNUSED": "u"})
    args.add_meta("BASE", "busybox")
    assert args.meta_env() == ["BASE=busybox"]
    stage = args.clone_for_stage()
    assert stage.filter_allowed([]) == ["HTTP_PROXY=http://p"]
    stage.add_arg("FOO", "default")
    stage.add_arg("BASE", None)
    assert stage.filter_allowed(["BASE=env-wins"]) == ["FOO=opt", "HTTP_PROXY=http://p"]
    assert stage.filter_allowed([]) == ["FOO=opt", "BASE=busybox", "HTTP_PROXY=http://p"]
    assert not stage.is_referenced_or_not_builtin("HTTP_PROXY")
    assert args.unused() == ["UNUSED"]


def test_tarsum_matches_dockerd(tmp_path):
    """Vectors from dockerd 20.10: COPY a.txt ("hello\\n", 0644, root) and a directory d/sub/f."""
    from tugboat.engine.builder.tarsum import Header, source_hash
    (tmp_path / "a.txt").write_text("hello\n")
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "f").write_text("x\n")
    headers = {"a.txt": Header("a.txt", 0o644, 0, 0, 6, "0"), "d": Header("d/", 0o755, 0, 0, 0, "5"),
               "d/sub": Header("d/sub/", 0o755, 0, 0, 0, "5"), "d/sub/f": Header("d/sub/f", 0o644, 0, 0, 2, "0")}
    assert source_hash(tmp_path, "a.txt", headers) == \
        "file:00ec16333078d287782d462baefc8bb9eb0231dc3aefba3ca3e2f7e5cf0cadda"
    assert source_hash(tmp_path, "d", headers) == \
        "dir:62eb204bbaa0857ed24e38d30f383bfa2cbf3aad9771cd8d226b3e4c1b847219"


def test_image_source_hash_matches_dockerd(tmp_path):
    """COPY --from=0 /d/s/f (root-owned, "hi\\n", 0640): dockerd 20.10 names it file:a949d878..."""
    from tugboat.engine.builder.tarsum import source_hash
    f = tmp_path / "d" / "s" / "f"
    f.parent.mkdir(parents=True)
    f.write_text("hi\n")
    f.chmod(0o640)
    if os.geteuid() != 0:
        pytest.skip("needs root-owned files")
    assert source_hash(tmp_path, "d/s/f") == \
        "file:a949d8785df9191bb7f4b61232951e7d875519807506a0450425c0b3c7e2ee2a"
