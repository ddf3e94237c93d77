"""The dashboard charts' axis labels read as amounts (issue 34, item 7)."""

import pytest

from integrations.admin.charts import _short, bar_chart


@pytest.mark.parametrize(
    "value, shown",
    [
        (12.5, "12.5"),
        (28.125, "28.1"),
        (9.375, "9.38"),
        (0.25, "0.25"),
        (50, "50"),
        (250.0, "250"),
        (1234, "1.2k"),
        (2_500_000, "2.5M"),
    ],
)
def test_axis_values(value, shown):
    assert _short(value) == shown


def test_a_chart_scales_as_a_whole_with_quarter_gridlines():
    svg = bar_chart("Payout ($)", ["a", "b"], [("payout", "chart-c", [10, 50])], y_label="$")
    assert 'preserveAspectRatio="none"' not in svg
    assert svg.count('class="chart-grid"') == 3
    assert ">25</text>" in svg and ">12.5</text>" in svg
