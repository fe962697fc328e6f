"""IB's pacing rules for historical data, kept by waiting (never by dropping).

IB refuses (error 162, "pacing violation") a client that, for historical
data:

* makes more than 60 requests in any ten minutes;
* makes six or more requests for the same contract, exchange and data type
  within two seconds (so at most 5 here);
* repeats an identical request within 15 seconds.

:class:`Pacer` remembers when each request went out and, before the next,
sleeps until all three hold. ``clock`` (seconds, monotonic) and ``sleep`` are
injectable so the rules can be tested without waiting.
"""

from __future__ import annotations

import asyncio
import collections
import time


class Pacer:
    def __init__(
        self,
        clock=time.monotonic,
        sleep=asyncio.sleep,
        most=60,
        window_s=600.0,
        per_contract=5,
        contract_window_s=2.0,
        identical_s=15.0,
    ):
        self.clock, self.sleep = clock, sleep
        self.most, self.window_s = most, window_s
        self.per_contract, self.contract_window_s = per_contract, contract_window_s
        self.identical_s = identical_s
        self._sent: collections.deque = collections.deque()  # (time, contract key, request key)
        self.waited_s = 0.0  # how long requests were held back, in all

    def delay(self, contract_key, request_key) -> float:
        """Seconds to wait before this request may go out (0: now)."""
        now = self.clock()
        while self._sent and now - self._sent[0][0] >= self.window_s:
            self._sent.popleft()
        waits = [0.0]
        if len(self._sent) >= self.most:
            waits.append(self._sent[-self.most][0] + self.window_s - now)
        same_contract = [t for t, c, _ in self._sent if c == contract_key]
        if len(same_contract) >= self.per_contract:
            waits.append(same_contract[-self.per_contract] + self.contract_window_s - now)
        same = [t for t, _, r in self._sent if r == request_key]
        if same:
            waits.append(same[-1] + self.identical_s - now)
        return max(waits)

    async def wait(self, contract_key, request_key) -> None:
        """Sleeps until the request may go out, then counts it as sent."""
        while (delay := self.delay(contract_key, request_key)) > 0:
            self.waited_s += delay
            await self.sleep(delay)
        self._sent.append((self.clock(), contract_key, request_key))
