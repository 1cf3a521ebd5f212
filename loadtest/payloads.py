"""Request bodies shaped like the three use cases: notification fan-out, order intake and payments.

Each builder returns the JSON envelope of POST /api/v1/requests: {"type", "key", "payload"}.
Standard library only, so the unit tests import it without Locust.
"""

import random
import string
import uuid
from decimal import Decimal

# Share of each request type in the generated traffic, in percent.
TYPE_WEIGHTS = {"notification": 60, "order": 30, "payment": 10}

CHANNELS = ("push", "email", "sms")
TEMPLATES = {
    "new-follower": ("followerName",),
    "comment-reply": ("authorName", "postId", "excerpt"),
    "mention": ("authorName", "postId"),
}
SKUS = tuple(f"SKU-{number:05d}" for number in range(1, 200))
CURRENCIES = ("EUR", "EUR", "EUR", "USD", "GBP")


def notification(rng):
    """Build one notification for a recipient: channel, template and template variables."""
    recipient = f"user-{rng.randrange(1, 500_000)}"
    template = rng.choice(sorted(TEMPLATES))
    variables = {name: _variable_value(rng, name) for name in TEMPLATES[template]}
    payload = {
        "recipient": recipient,
        "channel": rng.choice(CHANNELS),
        "template": template,
        "locale": rng.choice(("en-GB", "de-DE", "fr-FR", "nl-NL")),
        "variables": variables,
    }
    return {"type": "notification", "key": recipient, "payload": payload}


def order(rng):
    """Build one order: order id as the key, customer, one to five lines and their total."""
    order_id = f"ord-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
    lines = []
    for sku in rng.sample(SKUS, rng.randint(1, 5)):
        unit_price = Decimal(rng.randrange(199, 25_000)) / 100
        lines.append({"sku": sku, "quantity": rng.randint(1, 4), "unitPrice": str(unit_price)})
    payload = {
        "orderId": order_id,
        "customerId": f"cust-{rng.randrange(1, 200_000)}",
        "currency": "EUR",
        "lines": lines,
        "total": str(order_total(lines)),
    }
    return {"type": "order", "key": order_id, "payload": payload}


def payment(rng):
    """Build one credit transfer from an account: amount, currency, creditor IBAN and reference."""
    account = f"acct-{rng.randrange(1, 20_000):06d}"
    payload = {
        "accountId": account,
        "amount": str(Decimal(rng.randrange(100, 500_000)) / 100),
        "currency": rng.choice(CURRENCIES),
        "creditorIban": german_iban(rng),
        "creditorName": rng.choice(("Stadtwerke Nord", "Acme Supplies", "J. Janssen", "Miller & Sons")),
        "reference": f"INV-2026-{rng.randrange(1, 1_000_000):06d}",
        "endToEndId": uuid.UUID(int=rng.getrandbits(128)).hex,
    }
    return {"type": "payment", "key": account, "payload": payload}


BUILDERS = {"notification": notification, "order": order, "payment": payment}


def random_request(rng):
    """Build one request whose type follows TYPE_WEIGHTS."""
    request_type = rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()))[0]
    return BUILDERS[request_type](rng)


def order_total(lines):
    return sum((Decimal(line["unitPrice"]) * line["quantity"] for line in lines), Decimal("0.00"))


def german_iban(rng):
    """Return a German IBAN (DE, check digits, 18-digit BBAN) with valid ISO 13616 check digits."""
    bban = "".join(rng.choice(string.digits) for _ in range(18))
    return f"DE{iban_check_digits('DE', bban)}{bban}"


def iban_check_digits(country, bban):
    """Compute the two ISO 13616 check digits: 98 minus the mod-97 remainder of BBAN, country, "00"."""
    rearranged = bban + country + "00"
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return f"{98 - int(numeric) % 97:02d}"


def is_valid_iban(iban):
    """Return whether the IBAN's mod-97 remainder is 1, as ISO 13616 requires."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _variable_value(rng, name):
    if name == "postId":
        return f"post-{rng.randrange(1, 10_000_000)}"
    if name == "excerpt":
        return rng.choice(("Great point!", "I disagree, because the queue absorbs the burst.", "Thanks"))
    return rng.choice(("Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara"))


def new_rng(seed=None):
    """Return a random generator, seeded for repeatable bodies when `seed` is given."""
    return random.Random(seed)
