"""The domain model; one module per entity family."""

from .adjustments import (
    ADJUSTMENT_DUE,
    AdjustmentStatus,
    RingbaAdjustment,
    RingbaAdjustmentAttempt,
)
from .api_clients import ApiClient
from .calls import Call
from .deliveries import DUE_STATUSES, DeliveryStatus, PostbackAttempt, PostbackDelivery
from .destinations import DestinationHealth
from .leads import Lead
from .ledger import LedgerEntry, LedgerKind, LedgerSide
from .numbers import Number, NumberToken
from .offers import ContactField, DuplicatePolicy, Offer
from .payments import Payment
from .preferences import UserPreferences
from .reconciliation import (
    Difference,
    ReconciliationRow,
    ReconciliationRun,
    ReconciliationSource,
)
from .rejections import RejectedPixel
from .schedules import (
    OPEN_STATES,
    Schedule,
    ScheduleContactField,
    ScheduleLead,
    ScheduleLeadState,
    ScheduleLeadTransition,
)
from .stats import StatsHour
from .traffic_sources import AdjustmentMode, PartnerRingbaToken, TrafficSource
from .triggers import CustomFieldMapping, Event, EventTrigger, HttpMethod, TriggerTemplate

__all__ = [
    "ADJUSTMENT_DUE",
    "DUE_STATUSES",
    "OPEN_STATES",
    "AdjustmentMode",
    "AdjustmentStatus",
    "ApiClient",
    "Call",
    "ContactField",
    "CustomFieldMapping",
    "DeliveryStatus",
    "DestinationHealth",
    "Difference",
    "DuplicatePolicy",
    "Event",
    "EventTrigger",
    "HttpMethod",
    "Lead",
    "LedgerEntry",
    "LedgerKind",
    "LedgerSide",
    "Number",
    "NumberToken",
    "Offer",
    "PartnerRingbaToken",
    "Payment",
    "PostbackAttempt",
    "PostbackDelivery",
    "ReconciliationRow",
    "ReconciliationRun",
    "ReconciliationSource",
    "RejectedPixel",
    "RingbaAdjustment",
    "RingbaAdjustmentAttempt",
    "Schedule",
    "ScheduleContactField",
    "ScheduleLead",
    "ScheduleLeadState",
    "ScheduleLeadTransition",
    "StatsHour",
    "TrafficSource",
    "TriggerTemplate",
    "UserPreferences",
]
