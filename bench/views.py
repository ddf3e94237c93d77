"""Baselines measured in the same run as the capture API (SPEC §11).

- ``bare``: a Django view that returns a small JSON object (the server's ceiling).
- ``floor``: a plain Django view that parses the same JSON body and inserts one
  row keyed by a random UUIDv4 with the ORM, into its own table
  (``bench.models.UuidFloorLead``; it used to write into the product's lead table,
  which slowed the capture measured after it). Kept for comparison with earlier
  runs; its random keys make it a flattering floor.
- ``fair_floor``: the same view inserting into a bigint-keyed table with the
  indexes a pixel table needs (``bench.models.FairFloorLead``), behind the product's
  middleware minus sessions, auth, CSRF and messages (``bench.wsgi``). The capture
  API is judged as a ratio of this floor (SPEC §11).
"""

import json
import uuid
from functools import lru_cache

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from integrations.models import Offer

from .models import FairFloorLead, UuidFloorLead


@csrf_exempt
def bare(request):
    return JsonResponse({"ok": True})


@lru_cache(maxsize=1)
def _demo_ids() -> tuple[int, int]:
    offer = Offer.objects.order_by("pk").first()
    return offer.pk, offer.traffic_sources.order_by("pk").first().pk


@csrf_exempt
def floor(request):
    data = json.loads(request.body)
    offer_id, source_id = _demo_ids()
    lead = UuidFloorLead.objects.create(
        uuid=uuid.uuid4(),
        offer_id=offer_id,
        traffic_source_id=source_id,
        ringba_call_uuid=data["ringba_call_uuid"],
        received_at=timezone.now(),
        **_pixel_fields(request, data),
    )
    return JsonResponse({"success": True, "id": lead.pk}, status=201)


def _pixel_fields(request, data: dict) -> dict:
    return {
        "caller_id": data["caller_id"],
        "tokens": {
            key: value
            for key, value in data.items()
            if key not in ("lead_token", "traffic_source_id", "caller_id")
        },
        "raw_body": request.body.decode(),
        "content_type": request.content_type,
        "source_ip": request.META.get("REMOTE_ADDR"),
    }


@csrf_exempt
def fair_floor(request):
    data = json.loads(request.body)
    offer_id, source_id = _demo_ids()
    lead = FairFloorLead.objects.create(
        offer_id=offer_id,
        traffic_source_id=source_id,
        ringba_call_uuid=data["ringba_call_uuid"],
        received_at=timezone.now(),
        **_pixel_fields(request, data),
    )
    return JsonResponse({"success": True, "id": lead.pk}, status=201)
