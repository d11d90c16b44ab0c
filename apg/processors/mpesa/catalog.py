"""Which M-Pesa products exist, what each carries and on which accounts: the one list a new
Daraja product is added to (its module in products/, its callback kinds, its lifecycle)."""

from __future__ import annotations

from apg.processors.mpesa import accounts
from apg.processors.mpesa.products import b2b, b2c, balance, c2b, reversal, status, stk
from apg.processors.mpesa.products.base import AsyncProduct

# Daraja's request/Result products. Each adds its transaction type, its callback kinds
# (<KIND>-result, <KIND>-timeout) and the kinds of account that can carry it.
ASYNC_PRODUCTS: tuple[AsyncProduct, ...] = (b2c, b2b, balance, status, reversal)
BY_TYPE = {product.TRANSACTION_TYPE: product for product in ASYNC_PRODUCTS}
LIFECYCLE_OF = {"balance_inquiry": "inquiry", "transaction_status": "inquiry"}  # no money
BY_KIND = {product.KIND: product for product in ASYNC_PRODUCTS}
ACCOUNT_KINDS = {
    "stk_push": accounts.STK_KINDS,
    "b2c_payment": ("b2c",),
    "b2b_payment": ("b2b", "paybill", "till"),
    "balance_inquiry": accounts.KINDS,
    "transaction_status": accounts.KINDS,
    "reversal": accounts.STK_KINDS,
    "c2b_payment": accounts.STK_KINDS,  # the paybills and tills customers pay into
}
# The API's payment_method_type -> the transaction_type it creates.
METHOD_TYPES = {
    "mpesa_stk": "stk_push",
    "mpesa_b2c": "b2c_payment",
    "mpesa_b2b": "b2b_payment",
    "mpesa_balance": "balance_inquiry",
    "mpesa_transaction_status": "transaction_status",
    "mpesa_reversal": "reversal",
}
# transaction_type -> the lifecycle it follows (apg.payments.lifecycle.NAMED).
LIFECYCLES = {
    "stk_push": "prompt",
    "c2b_payment": "reported",
    **{
        p.TRANSACTION_TYPE: LIFECYCLE_OF.get(p.TRANSACTION_TYPE, "request_result")
        for p in ASYNC_PRODUCTS
    },
}
# The <kind>s of /webhooks/daraja/<token>/<kind> M-Pesa posts to.
CALLBACK_KINDS = frozenset(
    {stk.CALLBACK_KIND}
    | c2b.KINDS
    | {f"{p.KIND}-{end}" for p in ASYNC_PRODUCTS for end in ("result", "timeout")}
)
