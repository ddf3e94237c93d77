"""The OpenAPI schema documents both APIs and the docs page works offline."""

import pytest

pytestmark = pytest.mark.django_db


def test_schema_documents_capture_and_calls_endpoints(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in [
        "/api/v1/leads/capture",
        "/api/v1/leads",
        "/api/v1/calls",
        "/api/v1/calls/update_call/{call_uuid}",
        "/api/v1/calls/{call_id}",
        "/api/v1/calls/{call_id}/events",
    ]:
        assert path in paths, path
    capture = paths["/api/v1/leads/capture"]["post"]
    assert {"200", "201", "400", "401", "409", "413", "415", "422", "429"} <= set(
        capture["responses"]
    )
    components = schema["components"]["schemas"]
    assert "ringba_call_uuid" in components["PixelRequest"]["properties"]


def test_docs_page_uses_bundled_assets_not_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/" in html
