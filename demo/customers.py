"""Demo data shaped like the field case behind ValuePulse.

One retail service firm found 69% of its revenue came from 40 of its 5,000 customers
and 97% from 250. `seed` rebuilds that shape at any size, rounded to 1% of customers
bringing 69% of revenue and 5% bringing 97%. Everything it writes comes
from the random generator it is given, so one seed and one `today` always give the
same demo. The `seed_demo` command goes on with `demo.surveys.seed_surveys` for
deliveries, invitations and answers, then `demo.alerts.seed_alerts` for the alerts
those answers raised.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.utils.text import slugify

from customers.models import CX_LEADS_GROUP, Contact, Customer, Invoice, Language
from customers.services import recompute_value_metrics
from customers.value import trailing_year_start

STAFF_LOGIN = ("cx.lead", "Morgan", "Reyes")
ACCOUNT_MANAGER_LOGINS = (
    ("ana.garcia", "Ana", "García"),
    ("ben.okafor", "Ben", "Okafor"),
    ("chloe.martin", "Chloe", "Martin"),
    ("dev.patel", "Dev", "Patel"),
    ("eva.novak", "Eva", "Novak"),
)
USER_EMAIL_DOMAIN = "valuepulse.example"

# Sets the scale of every amount: 5,000 customers invoice about 190 million a year.
AVERAGE_ANNUAL_REVENUE = 38_000
HISTORY_YEARS = 2
INACTIVE_SHARE = 0.02
NO_COST_TO_SERVE_SHARE = 0.04
OPTED_OUT_SHARE = 0.02
BATCH_SIZE = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class PaymentHabit:
    on_time_chance: float
    days_late: tuple[int, int]
    # An overdue invoice that is never settled (disputed, forgotten).
    never_paid_chance: float


PROMPT = PaymentHabit(on_time_chance=0.95, days_late=(1, 5), never_paid_chance=0.0)
A_FEW_DAYS_LATE = PaymentHabit(on_time_chance=0.3, days_late=(1, 10), never_paid_chance=0.005)
CHRONICALLY_LATE = PaymentHabit(on_time_chance=0.1, days_late=(20, 60), never_paid_chance=0.04)


@dataclass(frozen=True, eq=False)
class Segment:
    """Customers of one size: their share of all customers and of all revenue.

    Weights are {choice: weight}. Large customers pay later and on longer terms than
    small ones: the field's "large customers pay cheaply and late".
    """

    customer_share: float
    revenue_share: float
    revenue_spread: float  # sigma of the lognormal revenue around the segment mean
    invoices_per_year: dict[int, int]
    payment_terms_days: dict[int, int]
    payment_habits: dict[PaymentHabit, int]
    contacts: dict[int, int]
    cost_ratio: tuple[float, float]
    # Small accounts that call support all the time: they cost more than they bring.
    demanding_share: float = 0.0
    without_manager_share: float = 0.0

    @property
    def mean_annual_revenue(self) -> float:
        return AVERAGE_ANNUAL_REVENUE * self.revenue_share / self.customer_share


LARGE = Segment(
    customer_share=0.01,
    revenue_share=0.69,
    revenue_spread=0.5,
    invoices_per_year={12: 1},
    payment_terms_days={30: 1, 60: 1},
    payment_habits={PROMPT: 4, A_FEW_DAYS_LATE: 3, CHRONICALLY_LATE: 3},
    contacts={2: 1, 3: 2},
    cost_ratio=(0.20, 0.45),
)
MID = Segment(
    customer_share=0.04,
    revenue_share=0.28,
    revenue_spread=0.6,
    invoices_per_year={12: 3, 4: 2},
    payment_terms_days={30: 4, 60: 1},
    payment_habits={PROMPT: 5, A_FEW_DAYS_LATE: 3, CHRONICALLY_LATE: 2},
    contacts={1: 1, 2: 2, 3: 1},
    cost_ratio=(0.15, 0.35),
)
SMALL = Segment(
    customer_share=0.95,
    revenue_share=0.03,
    revenue_spread=0.8,
    invoices_per_year={1: 2, 2: 3, 3: 2, 4: 3, 6: 1},
    payment_terms_days={30: 8, 14: 2},
    payment_habits={PROMPT: 7, A_FEW_DAYS_LATE: 2, CHRONICALLY_LATE: 1},
    contacts={1: 3, 2: 2, 3: 1},
    cost_ratio=(0.10, 0.40),
    demanding_share=0.12,
    without_manager_share=0.25,
)


@dataclass(frozen=True)
class Region:
    """Where a customer does business: how its name reads, who works there, which
    language its contacts answer surveys in."""

    language: str
    places: tuple[str, ...]
    trades: tuple[str, ...]
    suffixes: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    trade_first: bool = False


ENGLISH_SPEAKING = Region(
    language=Language.ENGLISH,
    places=(
        "Northwind", "Blue Harbor", "Silver Oak", "Red Rock", "Greenfield", "Summit",
        "Riverside", "Evergreen", "Lakeside", "Iron Bridge", "Cedar Point", "Maple Leaf",
        "Falcon", "Atlas", "Horizon", "Pinecrest", "Bright Path", "Harbor Light",
        "Stonegate", "Westbrook", "Eastgate", "Clearwater", "Sunrise", "Copper Hill",
        "Oakridge", "Highland", "Crescent", "Pioneer", "Beacon", "Keystone", "Redwood",
        "Granite", "Willow Creek", "Aspen", "Orchard", "Kingsway", "Fairview", "Bayside",
    ),
    trades=(
        "Logistics", "Dental", "Bakery", "Auto Repair", "Plumbing", "Printing",
        "Catering", "Cleaning Services", "Hardware", "Pharmacy", "Florists", "Opticians",
        "Veterinary Clinic", "Fitness", "Hotels", "Builders", "Electrical", "Interiors",
        "Travel", "Accounting", "Motors", "Foods", "Wholesale", "Property Management",
        "Engineering", "Packaging", "Furniture", "Salons", "Landscaping", "Couriers",
    ),
    suffixes=("Ltd", "Ltd", "Inc.", "Inc.", "LLC", "& Co.", "Group"),
    first_names=(
        "Olivia", "Liam", "Emma", "Noah", "Amelia", "James", "Sophia", "Oliver", "Grace",
        "Henry", "Isla", "Jack", "Thomas", "Mia", "Daniel", "Ruth", "Samuel", "Hannah",
        "Priya", "Arjun", "Kwame", "Aisha", "Wei", "Mei", "Fatima", "Connor", "Zoe", "Ethan",
    ),
    last_names=(
        "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clarke", "Walker", "Hughes",
        "Patel", "Khan", "Nguyen", "Murphy", "O'Brien", "Evans", "Roberts", "Hall",
        "Wright", "Green", "Baker", "Campbell", "Mensah", "Chen", "Kowalski", "Adeyemi",
    ),
)
SPANISH_SPEAKING = Region(
    language=Language.SPANISH,
    places=(
        "Costa Verde", "Sierra Azul", "Puerto Claro", "Los Olivos", "Río Claro",
        "Valle Alto", "Mar Menor", "La Alameda", "Monteverde", "Las Dunas", "El Faro",
        "San Telmo", "Nueva Ribera", "Peña Blanca", "Castellana", "Albufera",
    ),
    trades=(
        "Clínica Dental", "Panadería", "Talleres", "Construcciones", "Distribuciones",
        "Hostelería", "Farmacia", "Transportes", "Ópticas", "Limpiezas", "Gestoría",
        "Reformas", "Catering", "Viajes", "Climatización", "Imprenta",
    ),
    suffixes=("S.L.", "S.L.", "S.L.", "S.A."),
    first_names=(
        "Lucía", "Mateo", "Sofía", "Hugo", "Martina", "Pablo", "Carmen", "Javier",
        "Elena", "Diego", "Paula", "Álvaro", "Marta", "Sergio", "Laura", "Andrés",
    ),
    last_names=(
        "García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ruiz",
        "Díaz", "Moreno", "Álvarez", "Romero", "Navarro", "Torres", "Domínguez", "Vázquez",
    ),
    trade_first=True,
)
# Surveys come in English or Spanish only, so German-speaking contacts get English.
GERMAN_SPEAKING = Region(
    language=Language.ENGLISH,
    places=(
        "Nordwind", "Bergblick", "Rheintal", "Alpenland", "Hansa", "Elbufer", "Lindenhof",
        "Sonnenberg", "Schwarzwald", "Isartal", "Seeblick", "Mühlbach",
    ),
    trades=(
        "Logistik", "Zahnmedizin", "Bäckerei", "Autohaus", "Druckerei", "Reinigung",
        "Haustechnik", "Elektro", "Möbel", "Bau", "Optik", "Reisen",
    ),
    suffixes=("GmbH", "GmbH", "GmbH", "AG", "KG"),
    first_names=(
        "Anna", "Lukas", "Lena", "Felix", "Sophie", "Jonas", "Marie", "Leon", "Katrin",
        "Jürgen", "Paul", "Clara",
    ),
    last_names=(
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Hoffmann", "Schäfer", "Koch", "Richter",
    ),
)
REGIONS = {ENGLISH_SPEAKING: 68, SPANISH_SPEAKING: 22, GERMAN_SPEAKING: 10}
EMAIL_STYLES = ("first.last", "first.last", "flast", "first")


@dataclass(frozen=True)
class DemoLogins:
    staff: AbstractBaseUser
    account_managers: list[AbstractBaseUser]


@dataclass
class CustomerPlan:
    """A customer to create and what drives its invoices and contacts."""

    customer: Customer
    segment: Segment
    region: Region
    email_domain: str
    annual_revenue: float
    invoices_per_year: int
    payment_terms_days: int
    payment_habit: PaymentHabit
    # Inactive customers left some time ago and were not invoiced since.
    last_invoiced_on: date


@dataclass(frozen=True)
class SeedSummary:
    customers: int
    contacts: int
    invoices: int
    top_1_percent_share: float
    top_5_percent_share: float
    tiers: dict[int | None, int]


def seed(*, customers: int, rng: random.Random, today: date) -> SeedSummary:
    """Creates the demo logins and `customers` customers with contacts and two years of
    invoices up to `today`, then computes their value metrics and tiers."""
    with transaction.atomic():
        logins = create_users()
        plans = create_customers(count=customers, rng=rng, today=today, account_managers=logins.account_managers)
        contacts = create_contacts(plans=plans, rng=rng, today=today)
        invoices = create_invoices(plans=plans, rng=rng, today=today)
        recompute_value_metrics(as_of=today)
    return summarize(contacts=contacts, invoices=invoices)


def create_users() -> DemoLogins:
    """Ensures the demo logins exist and that settings.DEMO_PASSWORD opens each of them."""
    # Hashing is slow by design; the demo password is printed anyway, so one hash serves all.
    password = make_password(settings.DEMO_PASSWORD)
    staff = _ensure_user(STAFF_LOGIN, password=password, is_staff=True)
    group, _ = Group.objects.get_or_create(name=CX_LEADS_GROUP)
    staff.groups.add(group)
    managers = [_ensure_user(login, password=password, is_staff=False) for login in ACCOUNT_MANAGER_LOGINS]
    return DemoLogins(staff=staff, account_managers=managers)


def _ensure_user(login: tuple[str, str, str], *, password: str, is_staff: bool) -> AbstractBaseUser:
    username, first_name, last_name = login
    user, _ = get_user_model().objects.update_or_create(
        username=username,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "email": f"{username}@{USER_EMAIL_DOMAIN}",
            "is_staff": is_staff,
            "is_superuser": is_staff,
            "is_active": True,
            "password": password,
        },
    )
    return user


def create_customers(
    *, count: int, rng: random.Random, today: date, account_managers: list[AbstractBaseUser]
) -> list[CustomerPlan]:
    taken_domains: set[str] = set()
    plans = [
        _plan_customer(segment=segment, annual_revenue=revenue, rng=rng, today=today, taken_domains=taken_domains)
        for segment, size in segment_sizes(count).items()
        for revenue in _annual_revenues(segment=segment, size=size, rng=rng)
    ]
    # Shuffled so CRM ids say nothing about size, as in a real CRM.
    rng.shuffle(plans)
    for number, plan in enumerate(plans, start=1):
        plan.customer.external_id = f"CRM-{number:06d}"
    _assign_account_managers(plans, account_managers=account_managers, rng=rng)
    Customer.objects.bulk_create([plan.customer for plan in plans], batch_size=BATCH_SIZE)
    return plans


def segment_sizes(count: int) -> dict[Segment, int]:
    """How many of `count` customers are large, mid and small; at least one is large."""
    large = max(1, round(count * LARGE.customer_share))
    mid = min(count - large, max(0, round(count * (LARGE.customer_share + MID.customer_share)) - large))
    return {LARGE: large, MID: mid, SMALL: count - large - mid}


def _annual_revenues(*, segment: Segment, size: int, rng: random.Random) -> list[float]:
    """Lognormal revenues scaled so the segment adds up to exactly its share of revenue,
    whatever the draw: the Pareto shape holds for every seed."""
    draws = [rng.lognormvariate(0, segment.revenue_spread) for _ in range(size)]
    scale = size * segment.mean_annual_revenue / sum(draws) if draws else 0
    return [draw * scale for draw in draws]


def _plan_customer(
    *, segment: Segment, annual_revenue: float, rng: random.Random, today: date, taken_domains: set[str]
) -> CustomerPlan:
    region = _weighted(REGIONS, rng)
    name = _company_name(region, rng)
    # Only small customers leave, so the demo keeps the field's revenue shape.
    is_active = segment is not SMALL or rng.random() >= INACTIVE_SHARE / SMALL.customer_share
    customer = Customer(
        name=name,
        cost_to_serve=_cost_to_serve(segment=segment, annual_revenue=annual_revenue, rng=rng),
        is_active=is_active,
    )
    return CustomerPlan(
        customer=customer,
        segment=segment,
        region=region,
        email_domain=_unique_domain(name, taken_domains),
        annual_revenue=annual_revenue,
        invoices_per_year=_weighted(segment.invoices_per_year, rng),
        payment_terms_days=_weighted(segment.payment_terms_days, rng),
        payment_habit=_weighted(segment.payment_habits, rng),
        last_invoiced_on=today if is_active else today - timedelta(days=rng.randint(180, 540)),
    )


def _company_name(region: Region, rng: random.Random) -> str:
    place, trade = rng.choice(region.places), rng.choice(region.trades)
    core = f"{trade} {place}" if region.trade_first else f"{place} {trade}"
    return f"{core} {rng.choice(region.suffixes)}"


def _unique_domain(company_name: str, taken: set[str]) -> str:
    # .example is reserved (RFC 2606): demo surveys can never reach a real inbox.
    base = slugify(company_name)
    domain, number = f"{base}.example", 1
    while domain in taken:
        number += 1
        domain = f"{base}-{number}.example"
    taken.add(domain)
    return domain


def _cost_to_serve(*, segment: Segment, annual_revenue: float, rng: random.Random) -> Decimal | None:
    roll = rng.random()
    if roll < NO_COST_TO_SERVE_SHARE:
        return None
    if roll < NO_COST_TO_SERVE_SHARE + segment.demanding_share:
        return _money(rng.uniform(1_500, 9_000))
    fixed_overhead = rng.uniform(50, 200)
    return _money(fixed_overhead + annual_revenue * rng.uniform(*segment.cost_ratio))


def _assign_account_managers(
    plans: list[CustomerPlan], *, account_managers: list[AbstractBaseUser], rng: random.Random
) -> None:
    # Round robin down the revenue ranking, so every manager holds some of the largest accounts.
    largest_first = sorted(
        (plan for plan in plans if plan.segment is not SMALL), key=lambda plan: -plan.annual_revenue
    )
    for rank, plan in enumerate(largest_first):
        plan.customer.account_manager = account_managers[rank % len(account_managers)]
    for plan in plans:
        if plan.segment is SMALL and rng.random() >= SMALL.without_manager_share:
            plan.customer.account_manager = rng.choice(account_managers)


def create_contacts(*, plans: list[CustomerPlan], rng: random.Random, today: date) -> int:
    contacts = [
        contact
        for plan in plans
        for contact in _contacts_for(plan, count=_weighted(plan.segment.contacts, rng), rng=rng, today=today)
    ]
    Contact.objects.bulk_create(contacts, batch_size=BATCH_SIZE)
    return len(contacts)


def _contacts_for(plan: CustomerPlan, *, count: int, rng: random.Random, today: date) -> list[Contact]:
    style = rng.choice(EMAIL_STYLES)
    taken: set[str] = set()
    contacts = []
    for _ in range(count):
        first, last = rng.choice(plan.region.first_names), rng.choice(plan.region.last_names)
        opted_out = rng.random() < OPTED_OUT_SHARE
        opted_out_on = today - timedelta(days=rng.randint(1, 365)) if opted_out else None
        contacts.append(
            Contact(
                customer=plan.customer,
                email=_unique_email(first, last, style=style, domain=plan.email_domain, taken=taken),
                name=f"{first} {last}",
                language=plan.region.language,
                opted_out=opted_out,
                opted_out_at=datetime.combine(opted_out_on, time(9), tzinfo=UTC) if opted_out_on else None,
            )
        )
    return contacts


def _unique_email(first: str, last: str, *, style: str, domain: str, taken: set[str]) -> str:
    first_part, last_part = slugify(first).replace("-", ""), slugify(last).replace("-", "")
    local = {
        "first.last": f"{first_part}.{last_part}",
        "flast": f"{first_part[0]}{last_part}",
        "first": first_part,
    }[style]
    candidate, number = local, 1
    while candidate in taken:
        number += 1
        candidate = f"{local}{number}"
    taken.add(candidate)
    return f"{candidate}@{domain}"


def create_invoices(*, plans: list[CustomerPlan], rng: random.Random, today: date) -> int:
    invoices = [invoice for plan in plans for invoice in _invoices_for(plan, rng=rng, today=today)]
    _number_invoices(invoices)
    Invoice.objects.bulk_create(invoices, batch_size=BATCH_SIZE)
    return len(invoices)


def _invoices_for(plan: CustomerPlan, *, rng: random.Random, today: date) -> list[Invoice]:
    typical_amount = plan.annual_revenue / plan.invoices_per_year
    invoices = []
    for issued_on in _issue_dates(plan, rng=rng, today=today):
        due_on = issued_on + timedelta(days=plan.payment_terms_days)
        invoices.append(
            Invoice(
                customer=plan.customer,
                amount=_money(typical_amount * rng.lognormvariate(0, 0.15)),
                issued_on=issued_on,
                due_on=due_on,
                paid_on=_paid_on(issued_on=issued_on, due_on=due_on, habit=plan.payment_habit, rng=rng, today=today),
            )
        )
    return invoices


def _issue_dates(plan: CustomerPlan, *, rng: random.Random, today: date) -> list[date]:
    """Regular dates on one day of the month over the history window, so any twelve
    months hold the same number of invoices and revenue_12m tracks the annual revenue."""
    every_months = 12 // plan.invoices_per_year
    first_month_back = rng.randrange(every_months)
    day_of_month = rng.randint(1, 28)
    history_start = today
    for _ in range(HISTORY_YEARS):
        history_start = trailing_year_start(history_start)
    dates = (
        _months_before(today, months=months, day=day_of_month)
        for months in range(first_month_back, 12 * HISTORY_YEARS + 1, every_months)
    )
    return sorted(issued for issued in dates if history_start < issued <= plan.last_invoiced_on)


def _months_before(today: date, *, months: int, day: int) -> date:
    month_index = today.year * 12 + today.month - 1 - months
    return date(month_index // 12, month_index % 12 + 1, day)


def _paid_on(*, issued_on: date, due_on: date, habit: PaymentHabit, rng: random.Random, today: date) -> date | None:
    if due_on > today:
        return None
    if rng.random() < habit.on_time_chance:
        paid_on = due_on - timedelta(days=rng.randint(0, min(7, (due_on - issued_on).days)))
    elif rng.random() < habit.never_paid_chance:
        return None
    else:
        paid_on = due_on + timedelta(days=rng.randint(*habit.days_late))
    # A payment that would land after today has simply not arrived yet.
    return paid_on if paid_on <= today else None


def _number_invoices(invoices: list[Invoice]) -> None:
    """One numbering across the firm in date order, restarting each year (INV-2025-000123)."""
    per_year: Counter[int] = Counter()
    for invoice in sorted(invoices, key=lambda invoice: invoice.issued_on):
        per_year[invoice.issued_on.year] += 1
        invoice.number = f"INV-{invoice.issued_on.year}-{per_year[invoice.issued_on.year]:06d}"


def summarize(*, contacts: int, invoices: int) -> SeedSummary:
    revenues = list(
        Customer.objects.filter(is_active=True).order_by("-revenue_12m").values_list("revenue_12m", flat=True)
    )
    tiers = Counter(Customer.objects.values_list("tier", flat=True))
    return SeedSummary(
        customers=Customer.objects.count(),
        contacts=contacts,
        invoices=invoices,
        top_1_percent_share=revenue_share_of_top(revenues, fraction=0.01),
        top_5_percent_share=revenue_share_of_top(revenues, fraction=0.05),
        tiers=dict(sorted(tiers.items(), key=lambda item: (item[0] is None, item[0] or 0))),
    )


def revenue_share_of_top(revenues_largest_first: list[Decimal], *, fraction: float) -> float:
    """Share of all revenue held by the largest `fraction` of customers (at least one)."""
    total = sum(revenues_largest_first, Decimal("0"))
    if not total:
        return 0.0
    top = max(1, round(len(revenues_largest_first) * fraction))
    return float(sum(revenues_largest_first[:top], Decimal("0")) / total)


def _weighted(weights: dict[T, int], rng: random.Random) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _money(value: float) -> Decimal:
    return Decimal(max(1, round(value * 100))).scaleb(-2)
