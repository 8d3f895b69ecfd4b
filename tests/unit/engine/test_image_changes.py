"""`import -c` / `commit -c` changes; expected values captured from dockerd 20.10."""

import pytest

from tugboat.engine.image_changes import apply_changes, expand, parse_words
from tugboat.errors import InvalidArgument


@pytest.mark.parametrize("changes,expected", [
    (['CMD ["/bin/x"]'], {"Cmd": ["/bin/x"]}),
    (["CMD echo hi && ls"], {"Cmd": ["/bin/sh", "-c", "echo hi && ls"]}),
    (['ENTRYPOINT ["/a","b"]'], {"Entrypoint": ["/a", "b"], "Cmd": None}),
    (["ENTRYPOINT top -b"], {"Entrypoint": ["/bin/sh", "-c", "top -b"], "Cmd": None}),
    (["ENV A=1 B=\"x y\"", "ENV C ${A}-$B z"], {"Env": ["A=1", "B=x y", "C=1-x y z"]}),
    (["EXPOSE 80 443/udp 8000-8001"], {"ExposedPorts": {"80/tcp": {}, "443/udp": {}, "8000/tcp": {}, "8001/tcp": {}}}),
    (['LABEL a=b "c d"=e'], {"Labels": {"a": "b", "c d": "e"}}),
    (["WORKDIR /a", "WORKDIR b/../c"], {"WorkingDir": "/a/c"}),
    (["WORKDIR rel"], {"WorkingDir": "/rel"}),
    (["VOLUME /data /x"], {"Volumes": {"/data": {}, "/x": {}}}),
    (['VOLUME ["/v"]'], {"Volumes": {"/v": {}}}),
    (["ONBUILD RUN echo hi"], {"OnBuild": ["RUN echo hi"]}),
    (["USER nobody"], {"User": "nobody"}),
    (["CMD"], {"Cmd": ["/bin/sh", "-c"]}),
    (['cmd ["x"]'], {"Cmd": ["x"]}),
    (['CMD ["a", '], {"Cmd": ["/bin/sh", "-c", '["a",']}),
    (["HEALTHCHECK --interval=5s CMD true"], {"Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000}}),
    (['HEALTHCHECK CMD ["curl", "x"]'], {"Healthcheck": {"Test": ["CMD", "curl", "x"]}}),
    (["HEALTHCHECK NONE"], {"Healthcheck": {"Test": ["NONE"]}}),
    (["CMD a", "ENTRYPOINT b"], {"Cmd": ["/bin/sh", "-c", "a"], "Entrypoint": ["/bin/sh", "-c", "b"]}),
    (["ENV A=1", "ENV A=2"], {"Env": ["A=2"]}),
    (["# a comment", ""], {}),
])
def test_changes(changes, expected):
    assert apply_changes({}, changes) == expected


@pytest.mark.parametrize("change,msg", [
    ("STOPSIGNAL SIGKILL", "stopsignal is not a valid change command"),
    ("RUN ls", "run is not a valid change command"),
    ("FOO bar", "foo is not a valid change command"),
    ("ENV", "ENV requires at least one argument"),
    ("EXPOSE abc", "Invalid containerPort: abc"),
    ("LABEL a", "LABEL must have two arguments"),
    ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
    ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("VOLUME", "VOLUME requires at least one argument"),
    ("EXPOSE 80/xyz", "Invalid proto: xyz"),
])
def test_invalid_changes(change, msg):
    with pytest.raises(InvalidArgument) as ei:
        apply_changes({}, [change])
    assert str(ei.value) == msg


def test_changes_apply_on_a_copy_and_keep_existing():
    base = {"Env": ["PATH=/bin"], "Cmd": ["sh"], "Labels": {"a": "1"}}
    out = apply_changes(base, ["ENV X=$PATH:/x", "LABEL b=2"])
    assert out["Env"] == ["PATH=/bin", "X=/bin:/x"] and out["Labels"] == {"a": "1", "b": "2"}
    assert base == {"Env": ["PATH=/bin"], "Cmd": ["sh"], "Labels": {"a": "1"}}
    # ENTRYPOINT without CMD in the same changes resets the inherited CMD (dockerd does)
    assert apply_changes(base, ["ENTRYPOINT x"])["Cmd"] is None


def test_builder_may_allow_more():
    assert apply_changes({}, ["STOPSIGNAL SIGTERM"], allowed=frozenset({"stopsignal"})) == {"StopSignal": "SIGTERM"}


def test_words_and_expansion():
    assert parse_words('a=b "c d"=e f\\ g') == ["a=b", '"c d"=e', "f\\ g"]
    env = ["A=1", "E="]
    assert expand("'$A' \"$A\" \\$A ${A} ${B:-d} ${A:+alt} ${E:-x} ${E-x}", env) == "$A 1 $A 1 d alt x "
