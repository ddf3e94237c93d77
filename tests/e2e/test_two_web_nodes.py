"""Two web nodes sharing PostgreSQL and Redis behave as one (docs/operations.md).

With CACHE_URL=redis://…, a configuration change made anywhere reaches every node at
once, and the capture throttle counts across nodes. Each node is a real gunicorn
process; the offer cache is given 300 s so that only invalidation (not expiry) can
explain a node seeing the change. Needs PostgreSQL and TEST_REDIS_URL (CI sets both).
"""

import json
import os
import time
import urllib.error
import urllib.request

import pytest

from integrations.services.offers import rotate_lead_token
from tests import factories
from tests.processes import (
    current_database_url,
    free_port,
    process_env,
    start_gunicorn,
    stop,
    wait_for_http,
)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("postgres_only"),
]


@pytest.fixture
def redis_url(settings):
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail("REQUIRE_REDIS is set but TEST_REDIS_URL is not")
        pytest.skip("set TEST_REDIS_URL=redis://127.0.0.1:6379/3 to run the two-node tests")
    # This test process writes configuration changes through the same shared cache.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    from django.core.cache import cache

    cache.clear()
    yield url
    cache.clear()


@pytest.fixture
def nodes(redis_url, tmp_path):
    env = process_env(
        current_database_url(),
        CACHE_URL=redis_url,
        CAPTURE_OFFER_CACHE_SECONDS="300",
        CAPTURE_THROTTLE_RATE="4/hour",
    )
    ports = [free_port(), free_port()]
    servers = [
        start_gunicorn(port, env=env, log=tmp_path / f"node{n}.log", workers=1)
        for n, port in enumerate(ports)
    ]
    try:
        for port in ports:
            wait_for_http(f"http://127.0.0.1:{port}/healthz")
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        stop(*servers)


def _pixel(node: str, body: dict) -> int:
    request = urllib.request.Request(
        f"{node}/api/v1/leads/capture",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _eventually(check, seconds: float = 1.0) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_a_rotated_token_is_refused_by_every_node_at_once(nodes, ringba_setup, base_pixel):
    node_a, node_b = nodes
    assert _pixel(node_a, {**base_pixel, "caller_id": "3125550201"}) == 201
    assert _pixel(node_b, {**base_pixel, "caller_id": "3125550202"}) == 201  # both cached it

    rotate_lead_token(ringba_setup["offer"])

    for n, node in enumerate(nodes):
        body = {**base_pixel, "caller_id": f"312555021{n}"}
        assert _eventually(lambda node=node, body=body: _pixel(node, body) == 401)


def test_a_source_disabled_elsewhere_is_refused_by_a_node_that_cached_it(
    nodes, ringba_setup, base_pixel
):
    node_b = nodes[1]
    assert _pixel(node_b, {**base_pixel, "caller_id": "3125550203"}) == 201  # cached on B
    # Disabled by an account manager (this process stands in for node A's admin).
    ringba_setup["offer"].traffic_sources.remove(ringba_setup["source"])
    body = {**base_pixel, "caller_id": "3125550204"}
    assert _eventually(lambda: _pixel(node_b, body) == 422)


def test_the_throttle_counts_across_nodes(nodes, ringba_setup, base_pixel):
    statuses = [
        _pixel(node, {**base_pixel, "caller_id": f"31255503{index:02d}"})
        for index, node in enumerate(nodes * 3)
    ]
    assert statuses == [201, 201, 201, 201, 429, 429]
    other = factories.TrafficSourceFactory()
    ringba_setup["offer"].traffic_sources.add(other)
    assert (
        _pixel(nodes[0], {**base_pixel, "traffic_source_id": other.traffic_source_id}) == 201
    )  # another partner on the same offer is not throttled
