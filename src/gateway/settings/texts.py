"""The bot's phrases, per tenant, with the placeholders each may use."""

from __future__ import annotations

from dataclasses import dataclass

# Every placeholder a text may use; anything else fails at load, naming the text.
PLACEHOLDERS = (
    "name",
    "service",
    "when",
    "phone",
    "price",
    "reason",
    "percent",
    "until",
    "offer",
    "policy",
    "links",
    "link",
)


@dataclass(frozen=True)
class Texts:
    greeting: str = "Здравствуйте{name}! Спасибо, что написали."
    ask_service: str = "Подскажите, на какую услугу вас записать?"
    ask_time: str = "Когда вам удобно прийти?"
    ask_phone: str = "Оставьте, пожалуйста, номер телефона — администратор подтвердит запись."
    confirm: str = "Записываем: {service}, {when}. Телефон {phone}. Администратор подтвердит запись."
    handoff: str = "Спасибо! Администратор свяжется с вами и уточнит детали."
    question_handed_over: str = "На этот вопрос ответит администратор: я передал ему ваше сообщение."
    thanks: str = "Спасибо! Передали администратору, он ответит в ближайшее время."
    price: str = "{service}: {price} ₽."
    cancel: str = "Поняли, передали администратору — он отменит запись и напишет вам."
    reschedule: str = "Поняли, передали администратору — он подберёт новое время и напишет вам."
    share_phone_button: str = "📱 Отправить номер"
    time_unavailable: str = "На это время записаться не получится: {reason}. Выберите, пожалуйста, другое время."
    reason_past: str = "оно уже прошло"
    reason_closed: str = "в этот день мы не работаем"
    reason_outside_hours: str = "мы работаем с {when}"
    reason_too_far: str = "запись открыта на полгода вперёд"
    reason_no_such_date: str = "такой даты нет в календаре"
    # the appointment lifecycle (a tenant with `lifecycle:`)
    offer_slots: str = "{service}: выберите время — ближайшее свободное к {when}."
    no_slots: str = "Рядом с {when} свободного времени нет. Администратор подберёт время и напишет вам."
    slot_taken: str = "Это время только что заняли. Выберите, пожалуйста, другое:"
    booked: str = "Вы записаны: {service}, {when}. Мы напомним о визите заранее."
    moved: str = "Запись перенесена: {service}, {when}."
    booked_by_manager: str = "Вы записаны: {service}, {when}. Ждём вас!"
    moved_by_manager: str = "Ваша запись перенесена: {service}, {when}."
    cancelled_by_manager: str = "Ваша запись на {when} отменена. Напишите нам, если захотите записаться снова."
    reminder: str = "Напоминаем о записи: {service}, {when}. Подтвердите, пожалуйста, что придёте."
    confirmed: str = "Спасибо, ждём вас {when}!"
    cancelled: str = "Запись на {when} отменена. Будем рады видеть вас в другой раз."
    pick_new_time: str = "Выберите новое время:"
    visit_gone: str = "Эта запись уже неактуальна. Напишите, если хотите записаться."
    button_confirm: str = "Подтвердить"
    button_reschedule: str = "Перенести"
    button_cancel: str = "Отменить"
    # bringing clients back, and consent (a tenant with lifecycle.consent)
    consent_question: str = (
        "Можно мы будем иногда присылать вам напоминания о новом визите и персональные предложения со скидками? "
        "Это отдельное согласие, отказаться можно в любой момент, написав «стоп». Политика: {policy}"
    )
    consent_yes: str = "Спасибо! Будем писать только по делу. Отписаться — напишите «стоп»."
    consent_no: str = "Хорошо, предложений присылать не будем. Напоминания о записи придут как обычно."
    button_consent_yes: str = "Да, присылайте"
    button_consent_no: str = "Нет, спасибо"
    stopped: str = "Готово: больше не будем писать вам первыми. Если передумаете — напишите «подписаться»."
    no_show_offer: str = (
        "Жаль, что не получилось прийти на {service}. Запишитесь снова со скидкой {percent}% — "
        "предложение действует до {until}. Выберите время:"
    )
    no_show_booked: str = "Вы записаны: {service}, {when}. Скидка {percent}% сохранена за вами."
    retention_offer: str = "Пора снова на {service}? Выберите удобное время — или напишите своё:"
    # the same with the service such clients most often take next (recommendations): {offer}
    retention_offer_next: str = (
        "Пора снова на {service}? Многие наши клиенты после неё берут и {offer}. "
        "Выберите удобное время — или напишите своё:"
    )
    upsell_offer: str = "К вашей записи на {service} ({when}) можно добавить {offer}{price}. Добавить?"
    upsell_added: str = "Добавили {offer} к записи на {when}."
    upsell_no_room: str = "Не получится добавить {offer}: после вашей записи время уже занято."
    upsell_declined: str = "Хорошо, оставляем запись как есть."
    button_upsell_yes: str = "Добавить"
    button_upsell_no: str = "Нет, спасибо"
    form_question: str = "Нам пришла заявка с сайта ({service}) с вашими контактами. Это вы её оставили?"
    button_form_mine: str = "Да, это я"
    button_form_not_mine: str = "Нет, не я"
    form_not_mine: str = "Спасибо, что ответили! Эту заявку не учитываем, у вас ничего не меняется."
    form_has_visit: str = "У вас уже есть запись: {service}, {when}. Её не меняем — администратор свяжется с вами."
    form_question_gone: str = "Этот вопрос уже неактуален. Напишите, если хотите записаться."
    form_offer: str = "Получили вашу заявку с сайта: {service}. Выберите удобное время:"
    sms_reminder: str = "Напоминаем о записи: {service}, {when}."  # one SMS segment: 70 characters of Cyrillic
    # the waitlist (lifecycle.waitlist): {until} how long a freed slot is kept for them
    button_waitlist: str = "Хочу в лист ожидания"
    waitlist_joined: str = (
        "Записали вас в лист ожидания: {service}, {when} или рядом. Если такое время освободится, сразу "
        "напишем — оно будет ждать вас {until}."
    )
    waitlist_offer: str = (
        "Освободилось время: {service}, {when}. Записать вас? Время держим {until}, потом предложим другим."
    )
    # a deposit (lifecycle.deposit): {price} its amount, {until} the hold's end, {link} the payment page
    deposit_requested: str = (
        "Время {when} держим за вами до {until}. Чтобы закрепить запись ({service}), внесите предоплату "
        "{price} ₽ по ссылке:\n{link}\nБез оплаты бронь снимется."
    )
    deposit_paid: str = "Предоплата получена, спасибо! Вы записаны: {service}, {when}."
    deposit_released: str = "Предоплата не пришла, и бронь на {when} снята. Напишите, если захотите записаться снова."
    deposit_late: str = "Оплата пришла, но бронь на {when} уже снята. Администратор свяжется с вами и всё решит."
    # after a visit (lifecycle.review): a rating of 1 to 5, with nothing promised for it
    review_question: str = "Спасибо, что были у нас! Как вам визит ({service})? Оцените, пожалуйста, от 1 до 5."
    review_thanks_links: str = (
        "Спасибо за оценку! Если не трудно, расскажите о визите на картах — это нам очень поможет:\n{links}"
    )
    review_thanks: str = "Спасибо за оценку! Рады, что вам понравилось."
    review_what_went_wrong: str = "Нам очень жаль. Что пошло не так? Напишите, пожалуйста, — администратор разберётся."
    review_answer_passed: str = "Спасибо, что написали. Передали администратору, он свяжется с вами."
    review_rated_before: str = "Спасибо, ваша оценка уже у нас."


def check_texts(value: dict[str, str]) -> dict[str, str]:
    """Unknown names and bad placeholders fail at load, not when a client is waiting."""
    known = set(Texts.__dataclass_fields__)
    blank = dict.fromkeys(PLACEHOLDERS, "")
    for name, text in value.items():
        if name not in known:
            raise ValueError(f"{name}: unknown text; known: {', '.join(sorted(known))}")
        try:
            text.format(**blank)
        except (KeyError, IndexError, ValueError) as exc:
            hint = "use " + " ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ValueError(f"{name}: bad placeholder {exc}; {hint}") from None
    return value
