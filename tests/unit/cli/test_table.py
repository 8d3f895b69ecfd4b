"""tabwriter(minwidth 10, padding 3) alignment as docker's table output uses it."""

from __future__ import annotations

from tugboat.cli.formatter import ContainerRow, render_rows
from tugboat.cli.table import tabwrite


def test_columns_padded_to_widest_cell_plus_3_min_10() -> None:
    text = "CONTAINER ID\tIMAGE\tPORTS\tNAMES\nabc\tbusybox\t\tweb\n"
    assert tabwrite(text) == ("CONTAINER ID   IMAGE     PORTS     NAMES\n"
                              "abc            busybox             web\n")


def test_last_cell_is_not_padded_and_blocks_are_per_column() -> None:
    text = "a\tb\nlonger-cell\tc\nno-tabs-here\n"
    assert tabwrite(text) == "a             b\nlonger-cell   c\nno-tabs-here\n"


def test_version_layout_minwidth_20_padding_1() -> None:
    assert tabwrite(" Version:\t1\n API version:\t1.41\n", 20, 1) == \
        " Version:           1\n API version:       1.41\n"


def test_render_rows_table_header_from_titles() -> None:
    import io
    out = io.StringIO()
    rows = [ContainerRow({"Id": "f" * 64, "Names": ["/web"], "Image": "busybox", "Command": "sleep 300",
                          "Created": 0, "State": "running", "Status": "Up 3 seconds"}, now=10)]
    render_rows("table {{.ID}}\t{{.Names}}\t{{.Status}}", rows, {"ID": "CONTAINER ID", "Names": "NAMES",
                                                                "Status": "STATUS"}, out)
    assert out.getvalue() == ("CONTAINER ID   NAMES     STATUS\n"
                              "ffffffffffff   web       Up 3 seconds\n")


def test_simple_templates_skip_the_engine() -> None:
    from tugboat.cli.formatter import simple_fields
    assert simple_fields("{{.ID}}\t{{ .Names }}") == [(False, ""), (True, "ID"), (False, "\t"), (True, "Names"),
                                                     (False, "")]
    assert simple_fields("{{.Label \"x\"}}") is None
    assert simple_fields("{{- .ID}}") is None
    assert simple_fields("{{json .}}") is None
