"""Dates and times as an operations console needs them: to the second, with the zone.

Django's English default ("Nov. 30, 2026, 10:17 a.m.") hides the seconds that tell
a pixel from its call and the zone the account manager is reading in.
"""

DATETIME_FORMAT = "Y-m-d H:i:s T"
DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
