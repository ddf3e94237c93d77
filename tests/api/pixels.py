"""Helpers that load the real pixel fixtures and send them through the test client."""

import json
from pathlib import Path
from urllib.parse import urlencode

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pixels"
CAPTURE_URL = "/api/v1/leads/capture"


def fixture_names() -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob("*.json"))


def _fill(value, values: dict):
    if isinstance(value, str):
        for key, replacement in values.items():
            value = value.replace("{{" + key + "}}", str(replacement))
        return value
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    return value


def load(name: str, *, lead_token: str, traffic_source_id: int) -> dict:
    raw = json.loads((FIXTURES / f"{name}.json").read_text())
    return _fill(raw, {"lead_token": lead_token, "traffic_source_id": traffic_source_id})


def send(client, pixel: dict, url: str = CAPTURE_URL):
    """Send a loaded fixture the way Ringba would and return the response."""
    query = pixel.get("query") or {}
    full_url = f"{url}?{urlencode(query)}" if query else url
    if pixel["method"] == "GET":
        return client.get(full_url)
    body = pixel.get("body", "")
    if not isinstance(body, str):
        body = json.dumps(body)
    return client.generic("POST", full_url, body.encode(), content_type=pixel["content_type"])


def post_json(client, body: dict, url: str = CAPTURE_URL, **extra):
    return client.generic(
        "POST", url, json.dumps(body).encode(), content_type="application/json", **extra
    )
