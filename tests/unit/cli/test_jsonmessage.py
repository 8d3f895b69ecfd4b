"""docker's progress display: plain lines off a terminal, in-place rewriting on one."""

import io

import pytest

from tugboat.cli.jsonmessage import StreamError, display, progress_bar

PULL = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb"},
    {"status": "Downloading", "progressDetail": {"current": 500_000, "total": 1_000_000}, "id": "aaa"},
    {"status": "Pull complete", "progressDetail": {}, "id": "bbb"},
    {"status": "Digest: sha256:abc"},
]


def test_progress_bar_like_docker():
    assert progress_bar({}) == ""
    assert progress_bar({"current": 500_000, "total": 1_000_000}) == (
        "[" + "=" * 25 + ">" + " " * 25 + "]    500kB/1MB")
    assert progress_bar({"current": 2_000}) == "     2kB"


def test_not_a_terminal_prints_status_lines_without_bars():
    out = io.StringIO()
    display(PULL, out, tty=False)
    assert out.getvalue() == ("latest: Pulling from library/busybox\naaa: Pulling fs layer\n"
                              "bbb: Pulling fs layer\nbbb: Pull complete\nDigest: sha256:abc\n")


def test_terminal_rewrites_each_layer_line_in_place():
    out = io.StringIO()
    display(PULL, out, tty=True)
    s = out.getvalue()
    # aaa got line 0 and bbb line 1; aaa's download is drawn two lines up, then back down
    assert "\x1b[2A\x1b[2K\raaa: Downloading [" + "=" * 25 + ">" in s
    assert s.count("\n") == 4      # header line, one new line per layer, the digest line
    assert s.endswith("\x1b[2K\rDigest: sha256:abc\n")


def test_errors_are_raised():
    with pytest.raises(StreamError, match="manifest unknown"):
        display([{"errorDetail": {"message": "manifest unknown"}, "error": "manifest unknown"}], io.StringIO())
