"""Credit packages (seed 000): defaults at each bonus tier,
priced by ``shared.purchases.pricing``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from shared.errors import invalid_field
from shared.purchases.pricing import Quote, quote_purchase


@dataclass(frozen=True, slots=True)
class CreditPackage:
    id: str
    name: str
    amount: int  # paise, before tax

    @property
    def quote(self) -> Quote:
        return quote_purchase(self.amount)


DEFAULT_PACKAGES: tuple[CreditPackage, ...] = (
    CreditPackage("starter", "Starter", 100_00),
    CreditPackage("basic", "Basic", 500_00),
    CreditPackage("standard", "Standard", 1_000_00),
    CreditPackage("pro", "Pro", 2_000_00),
    CreditPackage("business", "Business", 5_000_00),
)


class PackageCatalog(ABC):
    """Port: the packages on sale, as stored (``credit_packages``)."""

    @abstractmethod
    def stored(self) -> list[CreditPackage]:
        """Return the active stored packages (empty when none are stored)."""


def packages_on_sale(catalog: PackageCatalog) -> list[CreditPackage]:
    """Return the stored packages, cheapest first, or the defaults when none are stored.

    Stored packages win so that operators can change the offer without a deploy; the defaults
    keep a fresh project (or one whose seed has not run) able to sell credits.
    """
    stored = catalog.stored()
    return sorted(stored, key=lambda p: p.amount) if stored else list(DEFAULT_PACKAGES)


def find_package(catalog: PackageCatalog, package_id: str) -> CreditPackage:
    """Return the package on sale called ``package_id``, or a 400 naming ``package_id``."""
    for package in packages_on_sale(catalog):
        if package.id == package_id:
            return package
    raise invalid_field("package_id", "no such package on sale")
