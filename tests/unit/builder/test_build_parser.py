"""The Dockerfile parser and instruction checks: directives, continuations, heredocs, forms,
and dockerd 20.10's error texts (verified against the reference daemon)."""

from __future__ import annotations

import pytest

from tugboat.engine.builder.instructions import parse_stages
from tugboat.engine.builder.parser import ParseError, extract_flags, parse


def nodes(text: str):
    return parse(text).nodes


def test_basic_forms_and_line_numbers():
    ns = nodes("FROM busybox\n\nrun echo hi\nCMD [\"a\", \"b\"]\nCMD not [json\n")
    assert [(n.cmd, n.start_line) for n in ns] == [("from", 1), ("run", 3), ("cmd", 4), ("cmd", 5)]
    assert ns[1].args == ["echo hi"] and not ns[1].json
    assert ns[2].args == ["a", "b"] and ns[2].json
    assert ns[3].args == ["not [json"] and not ns[3].json


def test_continuations_comments_and_empty_lines():
    r = parse("FROM busybox\nRUN echo a \\\n  # comment inside\n\n  b \\\n  c\nENV X=1\n")
    run = r.nodes[1]
    assert run.args == ["echo a   b   c"]
    assert (run.start_line, run.end_line) == (2, 6)
    assert r.nodes[2].start_line == 7
    assert r.warnings and "Empty continuation line" in r.warnings[0]


def test_escape_directive_backtick():
    r = parse("# escape=`\nFROM busybox\nRUN dir c:\\ `\n  && echo x\n")
    assert r.escape == "`"
    assert r.nodes[1].args == ["dir c:\\   && echo x"]


def test_directives_only_at_top():
    r = parse("FROM busybox\n# escape=`\nRUN echo a \\\n b\n")
    assert r.escape == "\\"
    assert r.nodes[1].args == ["echo a  b"]
    r = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox\n")
    assert (r.syntax, r.escape) == ("docker/dockerfile:1", "`")
    with pytest.raises(ParseError, match="only one escape parser directive"):
        parse("# escape=`\n# escape=\\\nFROM x\n")


def test_env_and_label_both_syntaxes():
    ns = nodes('FROM x\nENV A=1 B="two words" C=a\\ b\nENV OLD value with spaces\nLABEL "k 1"=v\n')
    assert ns[1].args == ["A", "1", "B", '"two words"', "C", "a\\ b"]
    assert ns[2].args == ["OLD", "value with spaces"]
    assert ns[3].args == ['"k 1"', "v"]
    with pytest.raises(ParseError, match="ENV must have two arguments"):
        parse("FROM x\nENV a\n")
    with pytest.raises(ParseError, match="can't find = in"):
        parse("FROM x\nENV a=1 b\n")


def test_flags_and_onbuild_and_healthcheck():
    ns = nodes("FROM x\nCOPY --chown=1:2 --from=stage a b\nONBUILD RUN echo t\n"
               "HEALTHCHECK --interval=5s CMD [\"true\"]\n")
    assert ns[1].flags == ["--chown=1:2", "--from=stage"] and ns[1].args == ["a", "b"]
    assert ns[2].sub is not None and ns[2].sub.cmd == "run"
    assert ns[3].flags == ["--interval=5s"] and ns[3].args == ["CMD", "true"] and ns[3].json
    assert extract_flags('--a="x y" rest') == ("rest", ["--a=x y"])
    assert extract_flags("-- --notaflag") == ("--notaflag", [])


def test_heredocs():
    r = parse("FROM x\nRUN <<EOF\necho a\necho b\nEOF\nCOPY <<-'A' /f\n\tline $X\n\tA\nRUN echo after\n")
    run, copy, after = r.nodes[1], r.nodes[2], r.nodes[3]
    assert run.heredocs[0].content == "echo a\necho b\n" and run.heredocs[0].expand
    assert copy.heredocs[0].content == "line $X\n" and not copy.heredocs[0].expand
    assert after.start_line == 9
    with pytest.raises(ParseError, match="unterminated heredoc"):
        parse("FROM x\nRUN <<EOF\necho\n")


@pytest.mark.parametrize("text,message", [
    ("", "file with no instructions"),
    ("# only\n", "file with no instructions"),
    ("FROM x\nCMD [\"a\", 1]\n", "when using JSON array syntax, arrays must be comprised of strings only"),
])
def test_parser_errors(text, message):
    with pytest.raises(ParseError, match=message.replace("[", r"\[")):
        parse(text)


@pytest.mark.parametrize("text,message", [
    ("FROM busybox\nRUN true\nFORM x\n", "dockerfile parse error line 3: unknown instruction: FORM"),
    ("FROM busybox a b c d\n", "dockerfile parse error line 1: FROM requires either one or three arguments"),
    ("RUN true\n", "no build stage in current context"),
    ("FROM busybox\nENV\n", "dockerfile parse error line 2: ENV requires at least one argument"),
    ("FROM busybox\nWORKDIR\n", "dockerfile parse error line 2: WORKDIR requires exactly one argument"),
    ("FROM busybox\nHEALTHCHECK --foo=1 CMD true\n", "dockerfile parse error line 2: Unknown flag: foo"),
    ("FROM busybox\nCOPY --bogus=1 a b\n", "dockerfile parse error line 2: Unknown flag: bogus"),
    ("FROM busybox\nCOPY a\n", "dockerfile parse error line 2: COPY requires at least two arguments"),
    ("FROM busybox\nSHELL /bin/sh\n", "SHELL requires the arguments to be in JSON form"),
    ("FROM busybox\nONBUILD ONBUILD RUN x\n", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM busybox\nONBUILD FROM x\n", "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM busybox AS 1x\n", 'invalid name for build stage: "1x", name can\'t start with a number or contain symbols'),
])
def test_instruction_errors(text, message):
    with pytest.raises(ParseError) as e:
        parse_stages(parse(text).nodes)
    assert e.value.message.endswith(message)
    if message.startswith("dockerfile parse error") or "line" not in e.value.message:
        assert e.value.message == message


def test_stages_and_meta_args():
    stages, meta = parse_stages(parse("ARG B=busybox\nFROM $B AS First\nRUN a\nFROM first\nCOPY --from=0 a b\n").nodes)
    assert [m.args for m in meta] == [["B=busybox"]]
    assert [(s.name, s.base, len(s.instructions)) for s in stages] == [("first", "$B", 1), ("", "first", 1)]
    assert stages[1].instructions[0].flags == {"from": "0"}
