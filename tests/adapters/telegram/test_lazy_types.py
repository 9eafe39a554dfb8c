"""aiogram's models are built when used, not at import (resident memory, issue 6).

Each check runs in a fresh interpreter: in the test process aiogram is long imported.
"""

import json
import subprocess
import sys
import textwrap

SERVICE_MODULES = (
    "gateway.cli.main, gateway.http.app, gateway.jobs.worker, gateway.jobs.polling, gateway.cli.check,"
    " gateway.sandbox.telegram"
)


def run_fresh(body: str) -> dict[str, object]:
    script = f"import json\nimport {SERVICE_MODULES}\n" + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_service_import_builds_only_the_models_it_uses():
    state = run_fresh(
        """
        import aiogram.methods as methods
        import aiogram.types as types
        models = [getattr(types, n) for n in types.__all__] + [getattr(methods, n) for n in methods.__all__]
        models = [m for m in models if hasattr(m, "__pydantic_complete__")]
        print(json.dumps({
            "total": len(models),
            "unbuilt": sum(not m.__pydantic_complete__ for m in models),
            "built": sorted(m.__name__ for m in (types.Update, types.Message, methods.SendMessage)
                            if m.__pydantic_complete__),
            "sticker": types.Sticker.__pydantic_complete__,
        }))
        """
    )
    assert state["built"] == ["Message", "SendMessage", "Update"]
    assert state["sticker"] is False
    assert isinstance(state["unbuilt"], int) and isinstance(state["total"], int)
    assert state["unbuilt"] > state["total"] // 2


def test_a_model_left_unbuilt_still_validates_and_serialises_on_first_use():
    state = run_fresh(
        """
        import aiogram.types as types
        before = types.ChatMemberUpdated.__pydantic_complete__
        update = types.Update.model_validate({
            "update_id": 7,
            "my_chat_member": {
                "chat": {"id": 1, "type": "private"},
                "from": {"id": 1, "is_bot": False, "first_name": "A"},
                "date": 1700000000,
                "old_chat_member": {"status": "member", "user": {"id": 2, "is_bot": True, "first_name": "B"}},
                "new_chat_member": {"status": "kicked", "until_date": 0,
                                    "user": {"id": 2, "is_bot": True, "first_name": "B"}},
            },
        })
        direct = types.ChatMemberUpdated.model_validate(update.my_chat_member.model_dump(by_alias=True))
        markup = types.InlineKeyboardMarkup(
            inline_keyboard=[[types.InlineKeyboardButton(text="Маникюр", callback_data="svc:1")]])
        print(json.dumps({
            "before": before,
            "status": direct.new_chat_member.status,
            "after": types.ChatMemberUpdated.__pydantic_complete__,
            "markup": markup.model_dump(exclude_none=True),
        }))
        """
    )
    assert state["before"] is False and state["after"] is True
    assert state["status"] == "kicked"
    assert state["markup"] == {"inline_keyboard": [[{"text": "Маникюр", "callback_data": "svc:1"}]]}
