"""Small checks on input values (helpdesk/validation.py)."""

from __future__ import annotations

import pytest

from helpdesk import validation


@pytest.mark.parametrize(("text", "number"), [("42", 42), ("007", 7), ("0", 0)])
def test_ascii_digits_name_their_number(text, number):
    assert validation.ascii_int(text) == number


@pytest.mark.parametrize("text", ["", "²", "٣", "+1", "-1", " 1", "1_000", "1.0", "x"])
def test_other_text_names_no_number(text):
    assert validation.ascii_int(text) is None


@pytest.mark.parametrize(("value", "found"), [("12", 12), (12, 12), ("²", None), (True, None)])
def test_a_row_id_is_a_positive_whole_number_or_its_ascii_digits(value, found):
    assert validation.row_id(value) == found
    assert validation.row_id(str(2**63)) is None
