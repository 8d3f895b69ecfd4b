"""Reference parsing, with cases from docker/distribution's reference tests
(restricted to the grammar dockerd 20.10 vendors: no IPv6 registries)."""

import pytest

from tugboat.engine import reference as r
from tugboat.errors import InvalidArgument

F64 = "f" * 64
DIG = "sha256:" + F64


@pytest.mark.parametrize("inp,name,domain,tag,digest", [
    ("test_com", "test_com", "", "", ""),
    ("test.com:tag", "test.com", "", "tag", ""),
    ("test.com:5000", "test.com", "", "5000", ""),
    ("test.com/repo:tag", "test.com/repo", "test.com", "tag", ""),
    ("test:5000/repo", "test:5000/repo", "test:5000", "", ""),
    ("test:5000/repo:tag", "test:5000/repo", "test:5000", "tag", ""),
    ("test:5000/repo@" + DIG, "test:5000/repo", "test:5000", "", DIG),
    ("test:5000/repo:tag@" + DIG, "test:5000/repo", "test:5000", "tag", DIG),
    ("lowercase:Uppercase", "lowercase", "", "Uppercase", ""),
    ("a/" * 127 + "a:tag-puts-this-over-max", "a/" * 127 + "a", "a", "tag-puts-this-over-max", ""),
    ("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "", ""),
    ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com",
     "some-long-tag", ""),
    ("b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io/test.example.com/my-app", "b.gcr.io",
     "test.example.com", ""),
    ("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage", "xn--n3h.com", "xn--n3h.com", ""),
    ("xn--7o8h.com/myimage:xn--7o8h.com@sha512:" + "f" * 128, "xn--7o8h.com/myimage", "xn--7o8h.com",
     "xn--7o8h.com", "sha512:" + "f" * 128),
    ("foo_bar.com:8080", "foo_bar.com", "", "8080", ""),
    ("foo/foo_bar.com:8080", "foo/foo_bar.com", "foo", "8080", ""),
])
def test_parse_valid(inp, name, domain, tag, digest):
    ref = r.parse(inp)
    assert isinstance(ref, r.Reference)
    assert str(ref) == inp
    assert (ref.name, ref.domain, ref.tag, ref.digest) == (name, domain, tag, digest)


@pytest.mark.parametrize("inp,msg", [
    ("", r.ERR_NAME_EMPTY),
    (":justtag", r.ERR_INVALID_FORMAT),
    ("@" + DIG, r.ERR_INVALID_FORMAT),
    ("repo@sha256:" + "f" * 34, r.ERR_DIGEST_LENGTH),
    ("validname@invaliddigest:" + F64, r.ERR_DIGEST_UNSUPPORTED),
    ("Uppercase:tag", r.ERR_UPPERCASE),
    ("test:5000/Uppercase/lowercase:tag", r.ERR_UPPERCASE),
    ("a/" * 128 + "a:tag", r.ERR_NAME_TOO_LONG),
    ("aa/asdf$$^/aa", r.ERR_INVALID_FORMAT),
    ("[fc00::1]:5000/repo", r.ERR_INVALID_FORMAT),
])
def test_parse_invalid(inp, msg):
    with pytest.raises(r.ReferenceError) as ei:
        r.parse(inp)
    assert str(ei.value) == msg
    assert isinstance(ei.value, InvalidArgument)


@pytest.mark.parametrize("name", [
    "docker/docker", "library/debian", "debian", "docker.io/docker/docker", "docker.io/library/debian",
    "docker.io/debian", "index.docker.io/docker/docker", "index.docker.io/library/debian",
    "index.docker.io/debian", "127.0.0.1:5000/docker/docker", "127.0.0.1:5000/library/debian",
    "127.0.0.1:5000/debian", "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "docker-rules/docker", "docker---rules/docker", "doc/docker", "d/docker", "jess/t", "dock__er/docker",
    "localhost/foo", "localhost:5000/x:tag",
])
def test_valid_names(name):
    r.parse_normalized_named(name)


@pytest.mark.parametrize("name", [
    "https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker",
    "-docker.io/docker/docker", "docker///docker", "docker.io/docker/Docker", "docker.io/docker///docker",
    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "docker-/docker",
    "-docker-/docker", "____/____", "_docker/_docker", "dock..er/docker", "dock_.er/docker",
    "dock-.er/docker", "docker/", "x" * 250 + "/docker",
    # dockerd 20.10 treats an uppercase first component as a (lowercase-violating) path
    "Docker/docker", "DOCKER/docker",
])
def test_invalid_names(name):
    with pytest.raises(r.ReferenceError):
        r.parse_normalized_named(name)


def test_error_messages_match_dockerd():
    with pytest.raises(r.ReferenceError, match="^invalid reference format: repository name must be lowercase$"):
        r.parse_normalized_named("Foo")
    with pytest.raises(r.ReferenceError, match=r"^invalid repository name \(" + "a" * 64 + r"\), cannot specify"):
        r.parse_normalized_named("a" * 64)
    with pytest.raises(r.ReferenceError, match="^invalid reference format$"):
        r.parse_normalized_named("")
    with pytest.raises(r.ReferenceError, match="^invalid tag format$"):
        r.parse_normalized_named("busybox").with_tag("-x")


@pytest.mark.parametrize("familiar,full,domain,path", [
    ("fooo/bar", "docker.io/fooo/bar", "docker.io", "fooo/bar"),
    ("ubuntu", "docker.io/library/ubuntu", "docker.io", "library/ubuntu"),
    ("nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", "docker.io", "nonlibrary/ubuntu"),
    ("other/library", "docker.io/other/library", "docker.io", "other/library"),
    ("127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000", "private/moonbase"),
    ("127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000", "privatebase"),
    ("example.com/private/moonbase", "example.com/private/moonbase", "example.com", "private/moonbase"),
    ("example.com:8000/privatebasee", "example.com:8000/privatebasee", "example.com:8000", "privatebasee"),
    ("ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base"),
    ("foo", "docker.io/library/foo", "docker.io", "library/foo"),
    ("library/foo/bar", "docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
    ("store/foo/bar", "docker.io/store/foo/bar", "docker.io", "store/foo/bar"),
])
def test_normalize_and_familiarize(familiar, full, domain, path):
    for s in (familiar, full):
        ref = r.parse_normalized_named(s)
        assert str(ref) == full
        assert (ref.domain, ref.path) == (domain, path)
        assert ref.familiar_name() == familiar


def test_ambiguous_hub_names():
    assert str(r.parse_normalized_named("index.docker.io/fooo/bar")) == "docker.io/fooo/bar"
    assert str(r.parse_normalized_named("docker.io/foo")) == "docker.io/library/foo"
    assert str(r.parse_normalized_named("library/ubuntu")) == "docker.io/library/ubuntu"


def test_tag_and_digest_together():
    short = "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
    ref = r.parse_normalized_named(short)
    assert str(ref) == "docker.io/library/" + short
    assert ref.is_tagged and ref.is_canonical
    assert ref.familiar() == short


def test_normalize_helpers():
    assert r.normalize("busybox") == "docker.io/library/busybox:latest"
    assert r.normalize("user/app") == "docker.io/user/app:latest"
    assert str(r.parse_normalized_named("user/app")) == "docker.io/user/app"
    assert r.normalize("localhost:5000/x:tag") == "localhost:5000/x:tag"
    assert r.familiar("docker.io/library/busybox:latest") == "busybox:latest"
    assert r.familiar("docker.io/user/app:1") == "user/app:1"
    assert r.familiar("localhost:5000/x:tag") == "localhost:5000/x:tag"
    assert r.short_id("sha256:" + "ab" * 32) == "ab" * 6


@pytest.mark.parametrize("inp,expected", [
    ("redis", "docker.io/library/redis"),
    ("redis:latest", "docker.io/library/redis:latest"),
    ("dmcgowan/myapp@" + DIG, "docker.io/dmcgowan/myapp@" + DIG),
    ("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
     "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"),
    ("sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
     "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"),
    ("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
     "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9"),
])
def test_parse_any_reference(inp, expected):
    ref = r.parse_any_reference(inp)
    assert str(ref) == expected
    assert isinstance(ref, r.DigestRef) == expected.startswith("sha256:")


@pytest.mark.parametrize("d,msg", [
    ("sha256", r.ERR_DIGEST_FORMAT),
    ("sha256:", r.ERR_DIGEST_FORMAT),
    ("sha256:" + "F" * 64, r.ERR_DIGEST_FORMAT),
    ("sha256:abc", r.ERR_DIGEST_LENGTH),
    ("md5:" + "a" * 32, r.ERR_DIGEST_UNSUPPORTED),
    ("md5:!!", r.ERR_DIGEST_FORMAT),
])
def test_digest_validation(d, msg):
    with pytest.raises(r.ReferenceError, match="^" + msg + "$"):
        r.validate_digest(d)


@pytest.mark.parametrize("pattern,name,ok", [
    ("abc", "abc", True), ("*", "abc", True), ("*c", "abc", True), ("a*", "a", True),
    ("a*", "ab/c", False), ("a*/b", "abc/b", True), ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True), ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False), ("ab[c]", "abc", True), ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False), ("ab[^c]", "abc", False), ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True), ("a\\*b", "ab", False), ("a?b", "a☺b", True), ("a?b", "a/b", False),
    ("busy*", "busybox", True), ("busybox:*", "busybox:latest", True),
])
def test_path_match(pattern, name, ok):
    assert r.path_match(pattern, name) is ok


@pytest.mark.parametrize("pattern", ["[", "[^", "[^bc", "a[", "ab[-c]", "a\\", "[x-]"])
def test_path_match_bad_pattern(pattern):
    with pytest.raises(r.BadPattern, match="syntax error in pattern"):
        r.path_match(pattern, "a")


def test_familiar_match():
    ref = r.parse_normalized_named("busybox:latest")
    assert r.familiar_match("busy*", ref)
    assert r.familiar_match("busybox:lat*", ref)
    assert not r.familiar_match("docker.io/*", ref)
