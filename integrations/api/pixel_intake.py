"""Where a pixel becomes clean: its token read, its offer found, every field checked.

The capture view calls this once per pixel, before anything is stored; the
services receive the ``CleanPixel`` and only store and match it (SPEC §4.2).
"""

from ..pixel.clean import CleanPixel
from ..pixel.parser import (
    MAX_LEAD_TOKEN_LENGTH,
    clean_pixel,
    lead_token_of,
    require_lead_token,
)
from ..rules.errors import Rejected, RejectionKind
from ..services.offer_cache import OfferConfig, get_offer_config


def offer_config_of(params: dict) -> OfferConfig | None:
    """Return the cached configuration the pixel's lead token names, or None.

    Read before the pixel is checked: the throttle keys on it, and
    ``clean_request_pixel`` checks the pixel against it.
    """
    token = lead_token_of(params)
    return get_offer_config(token) if token and len(token) <= MAX_LEAD_TOKEN_LENGTH else None


def clean_request_pixel(
    params: dict, config: OfferConfig | None, *, source_required: bool
) -> CleanPixel:
    """Return the pixel clean, or raise Rejected naming each field that must change.

    Unauthorized when the token is missing or names no active offer or schedule;
    invalid when a field breaks a rule. A schedule lead is always worked for one
    partner, so it must name its traffic source wherever it was posted.
    """
    require_lead_token(params)
    if config is None or not config.active:
        raise Rejected(RejectionKind.UNAUTHORIZED, ["lead_token: lead_token is invalid"])
    if config.schedule_id is not None:
        source_required = True
    return clean_pixel(params, config, source_required=source_required)
