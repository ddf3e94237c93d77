"""The domain model; one module per entity family."""

from .api_clients import ApiClient
from .calls import Call
from .deliveries import DUE_STATUSES, DeliveryStatus, PostbackAttempt, PostbackDelivery
from .destinations import DestinationHealth
from .leads import Lead
from .numbers import Number, NumberToken
from .offers import ContactField, DuplicatePolicy, Offer
from .payments import Payment
from .preferences import UserPreferences
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
from .traffic_sources import TrafficSource
from .triggers import CustomFieldMapping, Event, EventTrigger, HttpMethod, TriggerTemplate

__all__ = [
    "DUE_STATUSES",
    "OPEN_STATES",
    "ApiClient",
    "Call",
    "ContactField",
    "CustomFieldMapping",
    "DeliveryStatus",
    "DestinationHealth",
    "DuplicatePolicy",
    "Event",
    "EventTrigger",
    "HttpMethod",
    "Lead",
    "Number",
    "NumberToken",
    "Offer",
    "Payment",
    "PostbackAttempt",
    "PostbackDelivery",
    "RejectedPixel",
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
