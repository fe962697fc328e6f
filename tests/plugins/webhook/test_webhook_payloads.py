"""Message bodies per style. TradersPost payloads are checked against a schema
written by hand from its field list (INTEGRATIONS.md §4.1)."""

import json

import attrs
import pytest
from rsengine_webhook.payloads import DISCORD_LIMIT, Bodies, TradersPost, ticker
from webhook_helpers import T0, context_signals, entry, exit_of, halt

MIN = 60 * 10**9

# -- TradersPost's webhook fields (TradersPost/docs webhook-spec.json, as listed in §4.1) --
ENUMS = {
    "action": {"buy", "sell", "exit", "cancel", "add"},
    "sentiment": {"bullish", "bearish", "flat"},
    "orderType": {"market", "limit", "stop", "stop_limit", "trailing_stop"},
    "quantityType": {
        "fixed_quantity",
        "dollar_amount",
        "risk_dollar_amount",
        "percent_of_equity",
        "percent_of_position",
    },
    "timeInForce": {"day", "gtc", "opg", "cls", "ioc", "fok"},
}
NUMBERS = {"price", "signalPrice", "limitPrice", "stopPrice", "trailAmount", "trailPercent"}
TOP_LEVEL = {
    "ticker", "action", "sentiment", "price", "signalPrice", "orderType", "limitPrice",
    "stopPrice", "trailAmount", "trailPercent", "quantityType", "quantity", "takeProfit",
    "stopLoss", "timeInForce", "time", "ignoreTradingWindows", "cancel", "extendedHours",
    "extras",
}  # fmt: skip
TAKE_PROFIT = {"limitPrice", "percent", "amount"}
STOP_LOSS = {"type", "percent", "amount", "stopPrice", "limitPrice", "trailAmount", "trailPercent"}
STOP_TYPES = {"stop", "stop_limit", "trailing_stop"}


def schema_problems(payload: dict) -> list[str]:
    problems = [f"unknown field {k}" for k in payload if k not in TOP_LEVEL]
    problems += [f"missing {k}" for k in ("ticker", "action") if k not in payload]
    problems += [
        f"{k}: {payload[k]!r}" for k, ok in ENUMS.items() if k in payload and payload[k] not in ok
    ]
    problems += [
        f"{k} not a number"
        for k in NUMBERS & set(payload)
        if not isinstance(payload[k], (int, float))
    ]
    if "quantity" in payload and not (
        isinstance(payload["quantity"], int) and payload["quantity"] > 0
    ):
        problems.append("quantity must be a positive whole number of contracts")
    if "takeProfit" in payload:
        problems += [f"takeProfit.{k}" for k in payload["takeProfit"] if k not in TAKE_PROFIT]
    if "stopLoss" in payload:
        stop = payload["stopLoss"]
        problems += [f"stopLoss.{k}" for k in stop if k not in STOP_LOSS]
        if stop.get("type") not in STOP_TYPES:
            problems.append("stopLoss.type")
    if "extras" in payload and not isinstance(payload["extras"], dict):
        problems.append("extras must be an object")
    return problems  # fmt: skip


def traderspost(signals):
    book, out = TradersPost(), []
    for s in signals:
        bodies, _ = book.bodies(s)
        out += [(part, json.loads(body)) for part, body in bodies]
    return out


def test_a_long_entry_is_a_buy_with_its_contract_quantity_stop_and_target():
    [(_, payload)] = traderspost([entry()])
    extras = payload.pop("extras")
    assert payload == {
        "ticker": "NQH2025",
        "action": "buy",
        "sentiment": "bullish",
        "quantityType": "fixed_quantity",
        "quantity": 8,
        "orderType": "market",
        "price": 20516.75,
        "stopLoss": {"type": "stop", "stopPrice": 20504.75},
        "takeProfit": {"limitPrice": 20639.5},
        "time": "2025-03-05T15:05:00Z",
    }
    assert extras["signal_id"] == entry().id


def test_a_short_entry_is_a_sell_with_bearish_sentiment():
    [(_, payload)] = traderspost([entry(side="short")])
    assert (payload["action"], payload["sentiment"]) == ("sell", "bearish")
    assert payload["stopLoss"]["stopPrice"] == 20530.0


@pytest.mark.parametrize(
    "contract, expected", [("NQ 03-25", "NQH2025"), ("MNQ 09-25", "MNQU2025"), ("ESZ5", "ESZ2025")]
)
def test_the_ticker_is_the_explicit_contract_with_a_four_digit_year(contract, expected):
    assert ticker(contract) == expected


def test_an_exit_is_action_exit_on_its_entrys_contract():
    opened = entry(contract="MNQ 09-25", instrument="MNQ")
    [_, (_, payload)] = traderspost([opened, exit_of(opened, T0 + 5 * MIN, 20504.75)])
    assert payload["ticker"] == "MNQU2025"
    assert (payload["action"], payload["sentiment"], payload["price"]) == ("exit", "flat", 20504.75)
    assert payload["extras"]["entry_id"] == opened.id


def test_a_zero_contract_entry_and_its_exit_send_nothing():
    no_order = entry(contracts=0)
    bodies, why = TradersPost().bodies(no_order)
    assert bodies == [] and "0 contracts" in why
    assert traderspost([no_order, exit_of(no_order, T0 + MIN, 20500.0)]) == []


def test_a_halt_exits_every_position_still_open_and_only_those():
    nq, es = entry(), entry("ES", contract="ES 03-25", entry=5850.0, stop=5845.0, target=5870.0)
    closed = exit_of(nq, T0 + MIN, 20504.75)
    sent = traderspost([nq, es, closed, halt(T0 + 2 * MIN)])
    halts = [(part, p) for part, p in sent if p["extras"]["kind"] == "halt"]
    assert [(part, p["ticker"], p["action"]) for part, p in halts] == [
        ("ESH2025", "ESH2025", "exit")
    ]


def test_a_halt_with_nothing_open_sends_nothing():
    bodies, why = TradersPost().bodies(halt(T0))
    assert bodies == [] and why


def test_every_traderspost_payload_fits_the_spec_field_list():
    nq = entry()
    es = entry("ES", side="short", contract="ES 03-25", entry=5850.0, stop=5857.0, target=5830.75)
    sent = traderspost([nq, es, exit_of(nq, T0 + MIN, 20639.5, "target"), halt(T0 + 2 * MIN)])
    assert len(sent) == 4
    for _, payload in sent:
        assert schema_problems(payload) == []


def test_the_schema_check_itself_catches_a_missing_ticker_and_a_bad_action():
    assert schema_problems({"action": "short", "quantity": 0}) == [
        "missing ticker",
        "action: 'short'",
        "quantity must be a positive whole number of contracts",
    ]


# -- json, discord, slack -----------------------------------------------------------


def test_json_body_is_the_signal_record_sorted_and_compact():
    s = entry()
    [(part, body)] = Bodies("json", "America/New_York")(s)[0]
    assert part == "" and body == s.to_json().encode()
    assert body.startswith(b'{"confirmations":["rs","tick"],"contract":"NQ 03-25"')


def test_discord_content_is_the_log_line_with_the_data_source_in_eastern_time():
    [(_, body)] = Bodies("discord", "America/New_York")(entry())[0]
    data = json.loads(body)
    assert data["content"].startswith("[SIMULATED] 2025-03-05 10:05 EST  trade    strength_rider")
    assert "8 NQ 03-25 @ 20516.75 stop 20504.75 target 20639.5" in data["content"]
    assert data["allowed_mentions"] == {"parse": []}


def test_discord_content_is_cut_to_2000_characters():
    long = attrs.evolve(context_signals(1)[0], reason="x" * 3000)
    [(_, body)] = Bodies("discord", "America/New_York")(long)[0]
    content = json.loads(body)["content"]
    assert len(content) == DISCORD_LIMIT and content.endswith("…")


def test_slack_text_escapes_its_control_characters():
    odd = attrs.evolve(context_signals(1)[0], reason="ES > NQ & <!channel>")
    [(_, body)] = Bodies("slack", "America/New_York")(odd)[0]
    assert json.loads(body)["text"].endswith("ES &gt; NQ &amp; &lt;!channel&gt;")
