import csv
import io

import pytest

from app.csv_safe import SafeCsvWriter, safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("示例大学", "示例大学"),
        ("a=b", "a=b"),
        (None, ""),
        (-5, -5),
        (2.5, 2.5),
        (True, "true"),
    ],
)
def test_safe_cell_neutralises_formulas_only(value, expected):
    assert safe_cell(value) == expected


def test_writer_writes_neutralised_rows():
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer, lineterminator="\n")
    writer.writerow(["name", "value"])
    writer.writerows([['=HYPERLINK("x")', -3], ["ok", 4]])
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert rows == [["name", "value"], ['\'=HYPERLINK("x")', "-3"], ["ok", "4"]]
