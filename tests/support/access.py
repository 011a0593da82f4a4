"""Who sees what: a small portfolio with every role, for the access matrix.

| customer | manager | what else |
|---|---|---|
| Xray Logistics (CRM-XRAY) | ana | an alert handed over to cid |
| Yankee Foods (CRM-YANKEE) | ben | |
| Zulu Unmanaged (CRM-ZULU) | — (the CX leads) | |

ana reads Xray; ben reads Yankee; cid manages nothing but reads Xray through the alert
handed to him; staff read everything; anonymous visitors nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser

from customers.models import Contact, Customer, Invoice
from insights.models import Alert
from surveys.models import Response
from tests.factories import (
    AlertFactory,
    ContactFactory,
    CustomerFactory,
    InvoiceFactory,
    ResponseFactory,
    StaffFactory,
    UserFactory,
)

ROLES = ("anonymous", "ana", "ben", "cid", "staff")


@dataclass
class Account:
    """One customer with one of everything, and the strings that give it away."""

    customer: Customer
    contact: Contact
    invoice: Invoice
    response: Response
    alert: Alert

    @property
    def secrets(self) -> list[str]:
        return [self.customer.name, self.customer.external_id, self.contact.email, self.response.comment,
                self.invoice.number]


@dataclass
class Portfolio:
    users: dict[str, AbstractBaseUser | None]
    accounts: dict[str, Account]
    # Which accounts each role may read.
    visible: dict[str, set[str]] = field(default_factory=dict)

    def hidden_secrets(self, role: str) -> list[str]:
        """What must never appear in a body `role` is shown."""
        return [secret for name, account in self.accounts.items() if name not in self.visible[role]
                for secret in account.secrets]


def _account(name: str, external_id: str, manager: AbstractBaseUser | None, slug: str) -> Account:
    customer = CustomerFactory(name=name, external_id=external_id, account_manager=manager, tier=1)
    contact = ContactFactory(customer=customer, email=f"buyer@{slug}.test", name=f"{slug.title()} Buyer")
    response = ResponseFactory(
        customer=customer, score=3, comment=f"The {slug} pallets came crushed.",
        invitation__delivery__contact=contact, invitation__delivery__reference=f"ORDER-{slug.upper()}",
    )
    alert = AlertFactory(customer=customer, response=response)
    invoice = InvoiceFactory(customer=customer, number=f"INV-{slug.upper()}")
    return Account(customer=customer, contact=contact, invoice=invoice, response=response, alert=alert)


def build_portfolio() -> Portfolio:
    ana = UserFactory(username="ana", first_name="Ana", last_name="Manager")
    ben = UserFactory(username="ben", first_name="Ben", last_name="Manager")
    cid = UserFactory(username="cid", first_name="Cid", last_name="Helper")
    staff = StaffFactory(username="lead", first_name="Lee", last_name="Lead", is_superuser=True)
    accounts = {
        "xray": _account("Xray Logistics", "CRM-XRAY", ana, "xray"),
        "yankee": _account("Yankee Foods", "CRM-YANKEE", ben, "yankee"),
        "zulu": _account("Zulu Unmanaged", "CRM-ZULU", None, "zulu"),
    }
    # A second alert of ana's customer, handed over to cid.
    AlertFactory(customer=accounts["xray"].customer, assignee=cid, score=4)
    return Portfolio(
        users={"anonymous": None, "ana": ana, "ben": ben, "cid": cid, "staff": staff},
        accounts=accounts,
        visible={"anonymous": set(), "ana": {"xray"}, "ben": {"yankee"}, "cid": {"xray"},
                 "staff": {"xray", "yankee", "zulu"}},
    )
