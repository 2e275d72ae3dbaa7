"""What the ledger audit checks of tax documents (``ops/audit.py``).

Every paid order has exactly one invoice; every refund recorded as returning money has exactly
one credit note (a refund that failed afterwards keeps the note it got, and gets no second);
each series has, in each financial year, the numbers 1 to n, each once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from shared.invoices.documents import TaxDocument, credit_note_key, invoice_key
from shared.purchases.orders import CreditOrder, OrderStatus


def document_violations(
    orders: Iterable[CreditOrder], documents: Iterable[TaxDocument]
) -> list[str]:
    documents = list(documents)
    issued = Counter(d.source_key for d in documents)
    problems = []
    for order in orders:
        if order.status is not OrderStatus.PAID:
            continue
        due = [invoice_key(order.id)]
        due += [
            credit_note_key(order.id, refund_id)
            for refund_id, record in order.refunds.items()
            if int((record or {}).get("amount") or 0) > 0
        ]
        for key in due:
            if issued[key] != 1:
                problems.append(f"{order.id}: {issued[key]} documents for {key!r}, not 1")
    series: dict[tuple[str, str], list[int]] = defaultdict(list)
    for document in documents:
        series[document.series, document.financial_year].append(document.seq)
    for (prefix, year), numbers in sorted(series.items()):
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            gaps = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
            twice = sorted(n for n, c in Counter(numbers).items() if c > 1)
            problems.append(f"series {prefix}/{year}: missing {gaps}, repeated {twice}")
    return problems
