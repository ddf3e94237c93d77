"""Postbacks to one host reuse their connections, however many are in flight at once."""

import threading

from integrations.devtools.ringba_stand_in import Behaviour, RingbaReceiver
from integrations.outbound import postbacks
from integrations.outbound.postbacks import Verdict

IN_FLIGHT = 16
ROUNDS = 3


def test_concurrent_postbacks_keep_one_connection_each_and_reuse_it(settings):
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True
    settings.POSTBACK_PER_HOST_CONCURRENCY = IN_FLIGHT
    receiver = RingbaReceiver(behaviour=Behaviour(delay=0.2)).start()
    peers, lock = set(), threading.Lock()
    record = receiver._record

    def record_peer(handler, *args):
        with lock:
            peers.add(handler.client_address)
        return record(handler, *args)

    receiver._record = record_peer
    start = threading.Barrier(IN_FLIGHT)
    verdicts = []

    def send_rounds(index: int):
        for round_ in range(ROUNDS):
            start.wait(30)  # every round has all IN_FLIGHT requests open at once
            outcome = postbacks.send("GET", f"{receiver.base_url}/hook/t{index}-{round_}")
            verdicts.append(outcome.verdict)

    threads = [threading.Thread(target=send_rounds, args=(i,)) for i in range(IN_FLIGHT)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        receiver.stop()
    assert verdicts == [Verdict.DELIVERED] * (IN_FLIGHT * ROUNDS)
    # requests' default pool keeps 10 per host: the other 6 were reopened every round.
    assert len(peers) <= IN_FLIGHT, len(peers)
