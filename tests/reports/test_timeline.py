"""The watch timeline: outages bounded by what was seen, gaps are not outages, changes with times."""

from __future__ import annotations

from clinicnet.reports import timeline as TL

U, D = TL.UP, TL.DOWN


def _rounds(*rows: dict[str, str | None], every: float = 10.0, t0: float = 1_000_000.0) -> list[TL.Round]:
    return [TL.Round(t0 + i * every, r) for i, r in enumerate(rows)]


def test_an_outage_is_bounded_by_the_rounds_around_it() -> None:
    tl = TL.build(_rounds({"ike4500@gw": U}, {"ike4500@gw": D}, {"ike4500@gw": D}, {"ike4500@gw": U}))
    (o,) = tl.outages
    assert (o.last_up, o.first_down, o.last_down, o.back_up) == (1_000_000.0, 1_000_010.0, 1_000_020.0, 1_000_030.0)
    assert o.at_least_s == 10.0 and o.at_most_s == 30.0


def test_a_gap_is_not_an_outage_and_does_not_end_one() -> None:
    tl = TL.build(_rounds({"dns": U}, {"dns": None}, {"dns": U}, {"dns": D}, {"dns": None}, {"dns": D}))
    (o,) = tl.outages
    assert o.first_down == 1_000_030.0 and o.last_down == 1_000_050.0 and o.back_up is None
    assert [s.value for s in tl.segments] == [U, None, U, D, None, D]


def test_down_from_the_start_and_still_down_say_so() -> None:
    tl = TL.build(_rounds({"internet": D}, {"internet": D}))
    (o,) = tl.outages
    assert o.last_up is None and o.back_up is None and o.at_most_s is None
    text = TL.outage_text(o, "en")
    assert "from the start" in text and "still down at the end" in text
    assert "監視開始時から" in TL.outage_text(o, "ja")


def test_value_signals_give_changes_not_outages() -> None:
    tl = TL.build(_rounds({"pc_addresses": "192.168.10.10"}, {"pc_addresses": None},
                          {"pc_addresses": "192.168.10.11"}, {"pc_addresses": "192.168.10.11"}))
    assert tl.outages == ()
    (c,) = tl.changes
    assert (c.before, c.after, c.at) == ("192.168.10.10", "192.168.10.11", 1_000_020.0)
    assert "192.168.10.10 → 192.168.10.11" in TL.render_text(tl, "en")[0]


def test_events_come_in_time_order_and_the_svg_has_a_row_per_signal() -> None:
    tl = TL.build(_rounds({"ike500@gw": U, "public_address": "a"}, {"ike500@gw": D, "public_address": "b"},
                          {"ike500@gw": U, "public_address": "b"}))
    lines = TL.render_text(tl, "en")
    assert len(lines) == 2
    svg = TL.render_svg(tl, "ja")
    assert svg.count('data-signal="ike500@gw"') == 3 and svg.count('data-signal="public_address"') == 2
    assert "IKE (UDP 500) gw" in TL.signal_title("ike500@gw", "en")


def test_no_rounds_is_an_empty_timeline() -> None:
    tl = TL.build([])
    assert tl.rounds == 0 and tl.outages == () and TL.render_text(tl, "ja") == []
