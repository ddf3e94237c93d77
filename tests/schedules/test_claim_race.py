"""Two dialers claiming at the same instant never get the same lead (PostgreSQL).

Each round queues N fresh leads, then releases two dialers together (a barrier,
one connection each); every lead must be claimed exactly once between them.
"""

import pytest
from django.utils import timezone

from integrations.models import ScheduleLead
from integrations.services import schedules
from tests import factories
from tests.races import run_rounds

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROUNDS = 25
LEADS_PER_ROUND = 12
# Each dialer asks for more than half: both get some, and together all of them.
CLAIM_LIMIT = 8


def test_two_dialers_never_claim_the_same_lead(postgres_only, ringba_setup):
    schedule = factories.ScheduleFactory(
        offer=ringba_setup["offer"], traffic_sources=[ringba_setup["source"]]
    )

    def queue_round(round_number: int) -> set[str]:
        now = timezone.now()
        leads = [
            ScheduleLead(
                schedule=schedule,
                traffic_source=ringba_setup["source"],
                caller_id=f"+1312555{round_number:02d}{index:02d}",
                received_at=now,
                updated_at=now,
                expires_at=now + timezone.timedelta(hours=1),
                next_attempt_at=now,
            )
            for index in range(LEADS_PER_ROUND)
        ]
        return {str(lead.uuid) for lead in ScheduleLead.objects.bulk_create(leads)}

    queued_by_round = {}

    def dialer(name: str):
        def claim(round_number: int) -> list[str]:
            leads = schedules.claim_due(schedule=schedule, holder=name, limit=CLAIM_LIMIT)
            return [str(lead.uuid) for lead in leads]

        return claim

    for round_number in range(ROUNDS):
        queued_by_round[round_number] = queue_round(round_number)
        [[got_a, got_b]] = run_rounds(1, [dialer("a"), dialer("b")])
        assert not isinstance(got_a, Exception) and not isinstance(got_b, Exception)
        assert not set(got_a) & set(got_b), f"round {round_number}: a lead claimed twice"
        assert set(got_a) | set(got_b) == queued_by_round[round_number]
        # Close the round: these leads are leased, the next round's are fresh.
        ScheduleLead.objects.filter(uuid__in=got_a + got_b).update(
            state="expired", lease_expires_at=None
        )
