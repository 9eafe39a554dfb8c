"""The discount of a visit booked through a no-show offer, on its deal's product rows when the deal has
any (a manager's or an automation's): each row gets the percentage, once."""

from __future__ import annotations

from typing import Any

from bitrix import methods
from bitrix.batcher import Batcher

PERCENT = 2  # discountTypeId: 1 an amount, 2 a percentage


def _discounted(row: dict[str, Any], percent: int) -> dict[str, Any]:
    """The row at `percent` off its price before any discount (priceNetto)."""
    base = float(row.get("priceNetto") or row.get("price") or 0)
    price = round(base * (100 - percent) / 100, 2)
    kept = ("productId", "productName", "quantity", "taxRate", "taxIncluded", "measureCode")
    return {
        **{key: row[key] for key in kept if row.get(key) is not None},
        "price": price,
        "discountTypeId": PERCENT,
        "discountRate": percent,
        "discountSum": round(base - price, 2),
    }


async def discount_rows(crm: Batcher, deal_id: int, percent: int) -> bool:
    """Put `percent` on every product row of the deal that lacks it; True when rows were rewritten."""
    found = await crm.call(methods.CRM_ITEM_PRODUCTROW_LIST, {"filter": {"=ownerType": "D", "=ownerId": deal_id}})
    rows = found.get("productRows", []) if isinstance(found, dict) else []
    if not rows or all(_has(row, percent) for row in rows):
        return False
    fields = [_discounted(row, percent) for row in rows]
    await crm.call(methods.CRM_ITEM_PRODUCTROW_SET, {"ownerType": "D", "ownerId": deal_id, "productRows": fields})
    return True


def _has(row: dict[str, Any], percent: int) -> bool:
    return int(row.get("discountTypeId") or 0) == PERCENT and float(row.get("discountRate") or 0) == percent
