"""Row-for-row comparison of two builds (cx_value.compare), on hand-made rows."""

from datetime import UTC, date, datetime
from decimal import Decimal

from cx_value.compare import compare_column_names, compare_rows

COLUMNS = ["customer_id", "month", "revenue"]


def test_same_rows_in_another_order_with_last_digit_noise_are_equal() -> None:
    left = [("a", date(2024, 1, 1), 0.1 + 0.2), ("b", date(2024, 2, 1), None)]
    right = [("b", date(2024, 2, 1), None), ("a", date(2024, 1, 1), 0.3)]
    assert compare_rows("t", COLUMNS, left, right) == []


def test_decimal_and_float_of_one_amount_are_equal_but_a_cent_is_not() -> None:
    assert compare_rows("t", COLUMNS, [("a", None, Decimal("10.25"))], [("a", None, 10.25)]) == []
    differences = compare_rows("t", COLUMNS, [("a", None, 10.25)], [("a", None, 10.26)])
    assert len(differences) == 1
    assert "revenue: 10.25 != 10.26" in str(differences[0])


def test_a_null_differs_from_zero() -> None:
    differences = compare_rows("t", COLUMNS, [("a", None, 0.0)], [("a", None, None)])
    assert [d.kind for d in differences] == ["row"]


def test_a_missing_row_is_a_row_count_difference() -> None:
    differences = compare_rows("t", COLUMNS, [("a", None, 1.0)], [])
    assert str(differences[0]) == "t: row count: 1 != 0"


def test_zone_aware_and_naive_utc_timestamps_are_equal() -> None:
    naive = datetime(2024, 1, 1, 12, 30)
    aware = naive.replace(tzinfo=UTC)
    assert compare_rows("t", ["at"], [(naive,)], [(aware,)]) == []


def test_relative_tolerance_is_relative() -> None:
    big = 1e12
    assert compare_rows("t", ["x"], [(big,)], [(big * (1 + 1e-10),)]) == []
    assert compare_rows("t", ["x"], [(big,)], [(big * (1 + 1e-8),)]) != []


def test_column_names_compare_case_insensitively_and_in_order() -> None:
    assert compare_column_names("t", ["A", "b"], ["a", "B"]) == []
    assert compare_column_names("t", ["a", "b"], ["b", "a"]) != []
