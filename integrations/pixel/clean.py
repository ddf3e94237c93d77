"""The clean pixel: what the capture API hands to the services once every rule passed.

Services store and match it; they never parse a pixel's raw parameters
(``pixel.parser`` does, at the API boundary; an import-linter contract says so).
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..rules.ringba import is_test_call_id

if TYPE_CHECKING:  # a type only; the API reads the configuration from the cache
    from ..services.offer_cache import OfferConfig

# Warnings kept on a lead and sent back; a pixel with thousands of bad keys must not
# make a huge row or answer.
MAX_WARNINGS = 50


@dataclass(frozen=True)
class CleanPixel:
    """A pixel that passed every rule, ready to be stored as a lead."""

    # As sent (stripped): the cache key of ``config``. A credential: never in a repr,
    # so a logged or printed pixel cannot carry it.
    lead_token: str = field(repr=False)
    config: "OfferConfig"
    # None for a lead sent without traffic_source_id (TrackDrive's POST /api/v1/leads).
    traffic_source_pk: int | None
    traffic_source_public_id: int | None
    caller_id: str
    ringba_call_uuid: str | None
    tokens: dict
    warnings: list[str]

    @property
    def is_test(self) -> bool:
        """A sample or test pixel: the curl on the posting instructions, a test fire."""
        return is_test_call_id(self.ringba_call_uuid)

    def warnings_after(self, kept: list[str]) -> list[str]:
        """A repeat's warnings added to those a stored lead kept: once each, the newest
        ``MAX_WARNINGS``."""
        return list(dict.fromkeys([*kept, *self.warnings]))[-MAX_WARNINGS:]
