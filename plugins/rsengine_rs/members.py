"""The group members' columns of a batch as (member, row) arrays, for the
trade setups: numpy is quick along a row of a batch and slow across a few
members, and several setups read the same columns. One object per run
(``MemberRows.shared``); each array is worked out once per batch, read-only.
"""

from __future__ import annotations

import numpy as np

SHARED_KEY = "rsengine_rs.members"
BATCH_FIELDS = ("present", "open", "high", "low", "close", "volume")


def by_member(x, members: list) -> np.ndarray:
    """The members' columns of a (rows, instruments) array, as (member, row)."""
    x = np.asarray(x).T
    if members and members == list(range(members[0], members[0] + len(members))):
        return x[members[0] : members[0] + len(members)].copy()  # a run of columns: no gather
    return x[members]


class MemberRows:
    def __init__(self):
        self._batch = None
        self._values: dict = {}
        self.group: list = []
        self._rows: dict = {}

    @classmethod
    def shared(cls, context) -> MemberRows:
        return context.shared.setdefault(SHARED_KEY, cls())

    def of(self, batch, state) -> MemberRows:
        """This object for ``batch`` (forgetting the batch before)."""
        if batch is not self._batch or self._values is not state.values:
            self._batch, self._values, self._rows = batch, state.values, {}
            self.group = [int(c) for c in state.group]
        return self

    def __getitem__(self, name: str) -> np.ndarray:
        """A batch field (``BATCH_FIELDS``) or a column of the values, (member, row)."""
        rows = self._rows.get(name)
        if rows is None:
            source = getattr(self._batch, name) if name in BATCH_FIELDS else self._values[name]
            rows = by_member(source, self.group)
            if name == "present":
                rows = rows.astype(bool)
            rows.flags.writeable = False
            self._rows[name] = rows
        return rows
