"""A partner's side of a reconciliation: its Ringba calls, one at a time.

Two sources give the same rows (``TheirCall``): Ringba's call-log API with the
partner's token, read a page (at most 1000 calls) at a time, and the CSV a partner
exports from Ringba's call details report, read a line at a time. Neither is ever
held whole: a month of a busy partner is 100,000 calls.

CSV columns are found by their header, case, spaces and punctuation aside, under
Ringba's API column ids (``inboundCallId``, ``callDt``, ``inboundPhoneNumber``,
``hasConverted``, ``conversionAmount``) or the report's own names for the same
data ("Inbound Call ID", "Call Date", "Caller ID", "Converted", "Revenue", …).
A value that cannot be read stops the reading with the row and column named
(``PartnerLogError``); the caller discards everything read so far.

Times without a zone are UTC (export the report in UTC); Ringba's API gives
epoch milliseconds.
"""

import codecs
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings

from ..infra.secrets_at_rest import SecretUnreadable, decrypt
from ..outbound import postbacks
from ..rules import ringba
from ..rules.phones import InvalidPhoneNumber, normalize_phone

# The largest page answer read (1000 calls of five columns is ~200 KB).
MAX_PAGE_BYTES = 16 * 1024 * 1024
CSV_FIELD_LIMIT = 10_000  # characters in one cell; a longer one is not a call log


class PartnerLogError(ValueError):
    """The partner's side could not be read; the message says where and why."""


@dataclass(frozen=True)
class TheirCall:
    ringba_call_id: str
    called_at: datetime  # aware, UTC
    caller_id: str  # E.164 when readable, else as given
    converted: bool
    amount: Decimal
    line: int  # the CSV line or the API record's position, for messages


# Our field → the header names that mean it (normalized: lower case, letters and digits).
COLUMN_NAMES = {
    "ringba_call_id": ("inboundcallid", "callid", "ringbacallid", "inboundcall"),
    "called_at": (
        "calldt",
        "calldate",
        "calldatetime",
        "calldateutc",
        "calldatetimeutc",
        "callstart",
        "date",
        "datetime",
    ),
    "caller_id": ("inboundphonenumber", "callerid", "caller", "callernumber", "inbound"),
    "converted": ("hasconverted", "converted", "conversion", "isconverted"),
    "amount": ("conversionamount", "revenue", "conversionrevenue", "conversionvalue"),
}
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
)
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "converted"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", ""})


def _normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def read_csv(stream, *, name: str = "the file") -> Iterator[TheirCall]:
    """Rows of a call details CSV (a binary stream), streamed; PartnerLogError on a bad one."""
    text = codecs.getreader("utf-8-sig")(stream, errors="strict")
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is None:
            raise PartnerLogError(f"{name} is empty: export the call details report as CSV")
        columns = _columns(header, name)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            values = {field: _cell(row, index) for field, index in columns.items()}
            yield _their_call(values, line, where=f"{name}, line {line}")
    except UnicodeDecodeError:
        raise PartnerLogError(
            f"{name}, line {reader.line_num + 1}: not UTF-8 text; export the report as CSV"
        ) from None
    except csv.Error as exc:
        raise PartnerLogError(f"{name}, line {reader.line_num}: {exc}") from None


def file_period(stream, *, name: str = "the file") -> tuple[date, date] | None:
    """The first and last UTC day a call details CSV covers (None if it has no calls).

    Read once through, then rewound: the period of an upload nobody dated.
    """
    first = last = None
    for their in read_csv(stream, name=name):
        day = their.called_at.date()
        first = day if first is None or day < first else first
        last = day if last is None or day > last else last
    stream.seek(0)
    return (first, last) if first else None


def _columns(header: list[str], name: str) -> dict[str, int]:
    found = {}
    positions = {_normalized(title): index for index, title in reversed(list(enumerate(header)))}
    for field, names in COLUMN_NAMES.items():
        for candidate in names:
            if candidate in positions:
                found[field] = positions[candidate]
                break
    missing = []
    if "called_at" not in found:
        missing.append("the call's date (callDt or 'Call Date')")
    if "ringba_call_id" not in found and "caller_id" not in found:
        missing.append("the call id (inboundCallId or 'Inbound Call ID') or the caller")
    if "converted" not in found and "amount" not in found:
        missing.append("the conversion (hasConverted or conversionAmount / 'Revenue')")
    if missing:
        shown = ", ".join(title for title in header[:12] if title.strip()) or "none"
        raise PartnerLogError(
            f"{name}: no column for {'; no column for '.join(missing)}. Columns found: {shown}"
        )
    return found


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def _their_call(values: dict, line: int, *, where: str) -> TheirCall:
    amount = _amount(values.get("amount", ""), f"{where}, column conversionAmount")
    if "converted" in values:
        converted = _flag(values["converted"], f"{where}, column hasConverted")
    else:
        converted = amount > 0
    return TheirCall(
        ringba_call_id=values.get("ringba_call_id", ""),
        called_at=_moment(values["called_at"], f"{where}, column callDt"),
        caller_id=_caller(values.get("caller_id", "")),
        converted=converted,
        amount=amount,
        line=line,
    )


def _amount(text, where: str) -> Decimal:
    if isinstance(text, int | float):
        return Decimal(str(text)).quantize(Decimal("0.01"))
    cleaned = str(text or "").replace("$", "").replace(",", "").strip()
    if not cleaned:
        return Decimal("0.00")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise PartnerLogError(f"{where}: {str(text)[:40]!r} is not an amount") from None
    if not value.is_finite() or abs(value) >= 10**8:
        raise PartnerLogError(f"{where}: {str(text)[:40]!r} is not an amount")
    return value.quantize(Decimal("0.01"))


def _flag(text, where: str) -> bool:
    if isinstance(text, bool):
        return text
    word = str(text or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise PartnerLogError(f"{where}: {str(text)[:40]!r} is not true or false")


def _moment(text, where: str) -> datetime:
    if isinstance(text, int | float) or (isinstance(text, str) and text.isdigit()):
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(text))
        except OverflowError:
            raise PartnerLogError(f"{where}: {text!r} is not a date") from None
    cleaned = str(text or "").strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    moment = None
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        for layout in DATE_FORMATS:
            try:
                moment = datetime.strptime(cleaned, layout)
                break
            except ValueError:
                continue
    if moment is None:
        raise PartnerLogError(
            f"{where}: {cleaned[:40]!r} is not a date; use 2024-03-28 15:16:49 (UTC) or ISO 8601"
        )
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _caller(text: str) -> str:
    if not text:
        return ""
    try:
        return normalize_phone(text)
    except InvalidPhoneNumber:
        return text[:32]


def read_api(
    source, *, start: datetime, end: datetime, page_size: int = ringba.CALL_LOG_PAGE_SIZE
) -> Iterator[TheirCall]:
    """The partner's calls in [start, end) from Ringba's call-log API, a page at a time."""
    if not source.ringba_account_id or not source.has_ringba_token:
        raise PartnerLogError(
            f"{source.name} has no Ringba account id and API token: set them on the traffic "
            "source, or upload the call details report as CSV"
        )
    try:
        token = decrypt(source.ringba_token.ciphertext)
    except SecretUnreadable as exc:
        raise PartnerLogError(str(exc)) from None
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    offset = 0
    while True:
        url, body = ringba.call_log_request(
            base_url=settings.RINGBA_API_BASE_URL,
            account_id=source.ringba_account_id,
            start=start,
            end=end,
            offset=offset,
            size=page_size,
        )
        records, total = _page(url, body, headers, offset)
        for position, record in enumerate(records, start=offset + 1):
            where = f"Ringba's call log, call {position}"
            yield _their_call(_api_values(record, position), position, where=where)
        offset += len(records)
        if not records or len(records) < body["size"] or (total is not None and offset >= total):
            return


def _page(url: str, body: dict, headers: dict, offset: int) -> tuple[list, int | None]:
    try:
        status, data = postbacks.fetch(
            "POST", url, body=json.dumps(body).encode(), headers=headers, max_bytes=MAX_PAGE_BYTES
        )
    except postbacks.FetchFailed as exc:
        raise PartnerLogError(f"Ringba's call log (from call {offset + 1}): {exc}") from None
    if status != 200:
        message = data[:300].decode("utf-8", "replace")
        raise PartnerLogError(
            f"Ringba's call log answered {status} (from call {offset + 1}): {message}"
        )
    try:
        report = json.loads(data).get("report") or {}
        records = report.get("records")
    except (ValueError, AttributeError):
        records = None
    if not isinstance(records, list):
        raise PartnerLogError(
            f"Ringba's call log (from call {offset + 1}) is not a report with records"
        )
    total = report.get("totalCount")
    return records, total if isinstance(total, int) else None


def _api_values(record, position: int) -> dict:
    if not isinstance(record, dict):
        raise PartnerLogError(f"Ringba's call log, call {position}: not a record")
    values = {
        "ringba_call_id": str(record.get("inboundCallId") or ""),
        "called_at": record.get("callDt") or "",
        "caller_id": str(record.get("inboundPhoneNumber") or ""),
        "amount": record.get("conversionAmount") or "",
    }
    if "hasConverted" in record:
        values["converted"] = record["hasConverted"]
    return values
