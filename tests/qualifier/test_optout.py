import pytest

from qualifier.optout import asks_to_resume, asks_to_stop


@pytest.mark.parametrize(
    "text",
    [
        "Стоп",
        "стоп!",
        "/stop",
        "/stop@salon_bot",
        "STOP",
        "Отписаться",
        "отпишите меня",
        "Не пишите мне больше",
        "не пишите, пожалуйста",
        "хватит писать",
        "Не присылайте",
        "больше не пишите",
    ],
)
def test_a_request_to_stop_is_one(text):
    assert asks_to_stop(text)


@pytest.mark.parametrize(
    "text",
    [
        "стоп, я перепутала день",
        "Хочу на маникюр",
        "не смогу прийти",
        "не пишите смс, лучше в телеграм звоните",
        "остановка у салона какая?",
        "подписаться",
    ],
)
def test_a_message_about_something_else_is_not_a_stop(text):
    assert not asks_to_stop(text)


@pytest.mark.parametrize("text", ["подписаться", "Подписаться!", "/subscribe", "возобновить пожалуйста"])
def test_a_request_to_resume_is_one(text):
    assert asks_to_resume(text)


def test_a_subscription_to_something_else_is_not_a_resume():
    assert not asks_to_resume("подписаться на маникюр")
    assert not asks_to_resume("стоп")
