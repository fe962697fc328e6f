"""In a paced run the sim source hands over each session bar by bar, so the
pacer (and a watcher such as the panel) follows the session; the trades are
those of a replay."""

import numpy as np

from rsengine.config import Config
from rsengine.host.runner import build_engine


def chunks(mode: str) -> list:
    config = Config.from_dict(
        {
            "run": {"mode": mode},
            "bars": {"primary": "5min"},
            "sources": {"sim": {"seed": 3, "days": 1}},
        }  # fmt: skip
    )
    (source,) = [s for _, _, s in build_engine(config).sources]
    return list(source.streams()["ES"])


def test_paced_chunks_hold_one_bar_each_and_together_the_replay_trades():
    replay, paced = chunks("replay"), chunks("paced")
    assert len(replay) == 1 and len(paced) > 200  # a Globex session of 5-minute bars
    bar = 5 * 60 * 10**9
    assert all(len(set(c.ts // bar)) == 1 for c in paced)
    for field in ("ts", "price", "size"):
        whole = np.concatenate([getattr(c, field) for c in paced])
        np.testing.assert_array_equal(whole, getattr(replay[0], field))
