"""A partner's books for reconciliation tests: the demo's showcase, on a fixed day.

Our calls, one per label, and the partner's call log in Ringba's API shape
(``integrations.devtools.reconciliation_showcase``), with ids ``RGB-A`` … and the
period 2026-11-01 … 2026-11-10.
"""

from datetime import UTC, datetime

from integrations.devtools import reconciliation_showcase as showcase

DAY = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
FROM, TO = showcase.period_of(DAY)
PERIOD = {"period_from": FROM, "period_to": TO}
EXPECTED = showcase.expected_labels("RGB")
REPORT_HEADER = showcase.REPORT_HEADER
as_csv = showcase.as_csv


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def make_books(partner, ringba_trigger) -> dict:
    """Our calls, one per label, and the partner's Ringba call log for the same period."""
    books = showcase.build_books(
        offer=partner["offer"],
        source=partner["source"],
        number=partner["number"],
        trigger=ringba_trigger,
        day=DAY,
        prefix="RGB",
    )
    return {**books, "source": partner["source"]}


def labels(run) -> dict:
    return {row.ringba_call_id: row.label for row in run.rows.all()}
