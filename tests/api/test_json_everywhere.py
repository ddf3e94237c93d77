"""Every /api/ answer is JSON, 404 and 405 included; cursor=0 is the end (issue 32, item 4)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/api/v2/calls", "/api/v1/calls/x/y/z", "/api/"]
)
def test_an_unknown_api_path_is_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False and path in body["errors"][0]


@pytest.mark.parametrize(
    ("method", "path"),
    [("delete", "/api/v1/calls"), ("patch", "/api/v1/leads/capture"), ("put", "/api/v1/stats")],
)
def test_an_unsupported_method_is_a_json_405(calls_client, method, path):
    response = getattr(calls_client, method)(path)
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["success"] is False


def test_cursor_zero_is_an_empty_last_page_not_the_first_again(calls_client, ringba_setup):
    from tests import factories

    factories.CallFactory(number=ringba_setup["number"])
    first = calls_client.get("/api/v1/calls", {"cursor": -1}).json()
    assert len(first["calls"]) == 1 and first["metadata"]["next_cursor"] == 0
    last = calls_client.get("/api/v1/calls", {"cursor": 0})
    assert last.status_code == 200
    assert last.json()["calls"] == [] and last.json()["metadata"]["next_cursor"] == 0
