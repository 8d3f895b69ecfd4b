"""runc's error output cleaned to its message. No root needed."""

from tugboat.runtime.runc import clean_error

MSG = 'runc create failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH'


def test_json_log_line():
    out = ('{"level":"warning","msg":"something odd","time":"2024-01-02T03:04:05Z"}\n'
           '{"level":"error","msg":"' + MSG.replace('"', '\\"') + '","time":"2024-01-02T03:04:05Z"}\n')
    assert clean_error(out) == MSG


def test_logrus_text_line():
    out = 'time="2024-01-02T03:04:05Z" level=error msg="' + MSG.replace('"', '\\"') + '"\n'
    assert clean_error(out) == MSG


def test_plain_text():
    assert clean_error(MSG + "\n") == MSG
    assert clean_error("") == ""
