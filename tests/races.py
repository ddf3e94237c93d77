"""Release competing requests together: the only honest way to test a race.

Each competitor runs in its own thread with its own database connection. For every
round, a barrier lets all of them go at the same instant; the round's results are
collected before the next round starts, so rounds do not overlap.
"""

import threading
from collections.abc import Callable


def run_rounds(rounds: int, competitors: list[Callable[[int], object]]) -> list[list[object]]:
    """Run ``rounds`` rounds; in each, call every competitor with the round number at once.

    Returns one list per round with each competitor's result (or the exception it raised).
    """
    barrier = threading.Barrier(len(competitors))
    results = [[None] * len(competitors) for _ in range(rounds)]

    def work(position: int, competitor: Callable[[int], object]) -> None:
        from django.db import connections

        try:
            for round_number in range(rounds):
                barrier.wait(timeout=30)
                try:
                    results[round_number][position] = competitor(round_number)
                except Exception as exc:  # reported to the test, which asserts on it
                    results[round_number][position] = exc
                barrier.wait(timeout=30)  # the round ends for everyone before the next
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=work, args=(position, competitor), daemon=True)
        for position, competitor in enumerate(competitors)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results
