from domain import ConsentAnswer, Purpose, may_send, purpose_of, standing


def test_offers_are_advertising_and_visit_messages_are_not():
    assert [purpose_of(k) for k in ("no_show", "retention:30d", "upsell:mask:48h")] == [Purpose.MARKETING] * 3
    assert [purpose_of(k) for k in ("24h", "booked", "cancelled", "consent")] == [Purpose.TRANSACTIONAL] * 4


def test_standing_is_the_latest_answer_and_a_question_alone_is_no_answer():
    a = ConsentAnswer
    assert standing([a.ASKED]) is None
    assert standing([a.ASKED, a.YES, a.STOP, a.ASKED]) == a.STOP
    assert standing([a.STOP, a.ASKED, a.YES]) == a.YES


def test_an_offer_needs_a_yes_and_a_stop_ends_everything():
    a = ConsentAnswer
    assert may_send("retention:7d", a.YES) and not may_send("retention:7d", None) and not may_send("no_show", a.NO)
    assert may_send("24h", None) and may_send("24h", a.NO)
    assert not may_send("24h", a.STOP) and not may_send("consent", a.STOP) and not may_send("no_show", a.STOP)
