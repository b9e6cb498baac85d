"""Fill a helpdesk database with realistic, deterministic data, fast: for benchmarks and demos.

    python scripts/seed_data.py --tickets 200000 --orgs 50 --users 2000 [--seed 1]
                                [--database sqlite:///path/helpdesk.db]

The same arguments write the same rows (one seeded random generator; dates counted back from a
fixed day, not from today). Tickets are written in batches with insert_many inside one
transaction a batch, search index included, so a million tickets take minutes. Organizations,
services and users are reused when they exist, so a second run adds tickets to the same desk.
Without --database: the desk `helpdesk` itself uses (HELPDESK_DATABASE_URL, or its default).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from peewee import SQL, chunked

from helpdesk import search
from helpdesk.db import database, init_database
from helpdesk.migrations import create_schema
from helpdesk.models import Comment, Membership, Organization, Service, Ticket, User
from helpdesk.vocabulary import Status, UserKind, Visibility

# Dates run back from this day: a fixed end keeps two runs identical whatever today is.
LAST_DAY = datetime(2026, 6, 30, 17, 0, tzinfo=UTC).replace(tzinfo=None)
HISTORY_DAYS = 730
BATCH = 500  # tickets a transaction: ~35 columns x 500 rows stays under SQLite's 32,766 variables

SERVICES = ["E-mail", "Network", "Printing", "Laptops", "Payroll", "Website", "Phones", "VPN"]
# (weight, status): most of a desk's history is closed; a working set is still open.
STATUSES = [(8, "new"), (14, "open"), (6, "pending"), (12, "resolved"), (60, "closed")]
PRIORITIES = [(25, "low"), (50, "medium"), (20, "high"), (5, "critical")]
TYPES = [(70, "incident"), (15, "feature"), (15, "question")]
LANGUAGES = [(55, "en"), (20, "fr"), (15, "it"), (10, "cs")]

# Per language: things that break, how they break, and sentences around them.
TEXT = {
    "en": {
        "things": "printer laptop monitor keyboard router mailbox calendar invoice webcam "
        "headset scanner projector badge licence spreadsheet intranet",
        "troubles": "crashes|freezes|times out|flickers|jams|is locked out|is slow|"
        "shows an error|disconnects|makes noise|stays blank",
        "titles": [
            "The {thing} {trouble}",
            "{thing}: {trouble} since this morning",
            "Our {thing} {trouble} again",
        ],
        "sentences": [
            "Since the update yesterday the {thing} {trouble}.",
            "We restarted it twice, nothing changed.",
            "Three colleagues on the second floor have the same problem.",
            "It happens every morning around nine.",
            "Could you please have a look before the monthly report is due?",
            "The error message is attached below.",
            "It worked fine last week.",
            "Thanks in advance for your help.",
        ],
        "replies": [
            "Thanks, we are looking into it.",
            "Could you send a screenshot?",
            "We replaced the cable; please try again.",
            "It works again, thank you!",
            "Still happening this morning.",
            "A technician will come by today.",
        ],
    },
    "fr": {
        "things": "imprimante ordinateur écran clavier routeur messagerie calendrier facture "
        "caméra casque scanner projecteur badge licence tableur intranet",
        "troubles": "plante|se fige|ne répond plus|clignote|bourre|est bloqué|est lent|"
        "affiche une erreur|se déconnecte|reste noir",
        "titles": [
            "L'{thing} {trouble}",
            "{thing} : {trouble} depuis ce matin",
            "Notre {thing} {trouble} encore",
        ],
        "sentences": [
            "Depuis la mise à jour d'hier, l'{thing} {trouble}.",
            "Nous avons redémarré deux fois, rien n'a changé.",
            "Trois collègues du deuxième étage ont le même problème.",
            "Cela arrive chaque matin vers neuf heures.",
            "Pourriez-vous regarder avant la clôture du mois ?",
            "Le message d'erreur est en pièce jointe.",
            "Tout fonctionnait la semaine dernière.",
            "Merci d'avance pour votre aide.",
        ],
        "replies": [
            "Merci, nous regardons.",
            "Pouvez-vous envoyer une capture d'écran ?",
            "Nous avons changé le câble ; pouvez-vous réessayer ?",
            "Ça remarche, merci !",
            "Toujours le même problème ce matin.",
            "Un technicien passera aujourd'hui.",
        ],
    },
    "it": {
        "things": "stampante portatile monitor tastiera router posta calendario fattura "
        "webcam cuffie scanner proiettore badge licenza foglio intranet",
        "troubles": "si blocca|va in crash|non risponde|sfarfalla|si inceppa|è lento|"
        "mostra un errore|si disconnette|resta nero",
        "titles": [
            "La {thing} {trouble}",
            "{thing}: {trouble} da stamattina",
            "Il nostro {thing} {trouble} di nuovo",
        ],
        "sentences": [
            "Dall'aggiornamento di ieri la {thing} {trouble}.",
            "Abbiamo riavviato due volte, niente da fare.",
            "Tre colleghi del secondo piano hanno lo stesso problema.",
            "Succede ogni mattina verso le nove.",
            "Potreste controllare prima della chiusura del mese?",
            "Il messaggio di errore è in allegato.",
            "La settimana scorsa funzionava.",
            "Grazie in anticipo.",
        ],
        "replies": [
            "Grazie, stiamo verificando.",
            "Può inviare uno screenshot?",
            "Abbiamo sostituito il cavo; può riprovare?",
            "Ora funziona, grazie!",
            "Succede ancora stamattina.",
            "Un tecnico passerà oggi.",
        ],
    },
    "cs": {
        "things": "tiskárna notebook monitor klávesnice router pošta kalendář faktura "
        "kamera sluchátka skener projektor karta licence tabulka intranet",
        "troubles": "padá|zamrzá|neodpovídá|bliká|se zasekává|je pomalý|hlásí chybu|"
        "se odpojuje|zůstává černý",
        "titles": ["{thing} {trouble}", "{thing}: {trouble} od rána", "Náš {thing} zase {trouble}"],
        "sentences": [
            "Od včerejší aktualizace {thing} {trouble}.",
            "Dvakrát jsme restartovali, nic se nezměnilo.",
            "Tři kolegové ve druhém patře mají stejný problém.",
            "Stává se to každé ráno kolem deváté.",
            "Můžete se na to podívat před měsíční uzávěrkou?",
            "Chybová hláška je v příloze.",
            "Minulý týden to fungovalo.",
            "Předem děkujeme za pomoc.",
        ],
        "replies": [
            "Děkujeme, díváme se na to.",
            "Můžete poslat snímek obrazovky?",
            "Vyměnili jsme kabel; zkuste to prosím znovu.",
            "Už to funguje, díky!",
            "Dnes ráno se to stalo znovu.",
            "Technik dnes přijde.",
        ],
    },
}
for _words in TEXT.values():
    _words["things"] = _words["things"].split()
    _words["troubles"] = _words["troubles"].split("|")


@dataclass
class Desk:
    """The rows tickets point at: who asks, who answers, where."""

    organizations: list[int]
    customers: list[tuple[int, int, str]]  # (user id, organization id, language)
    agents: list[int]
    services: list[int]


def weighted(rng: random.Random, table: list[tuple[int, str]]) -> str:
    return rng.choices([value for _, value in table], [weight for weight, _ in table])[0]


def _get_or_insert(model, key_field, rows: list[dict]) -> dict[str, int]:
    """Ids of rows by key, inserting those missing (one query each way per chunk)."""
    keys = [row[key_field.name] for row in rows]
    found = {}
    for keys_chunk in chunked(keys, 500):
        found.update(model.select(key_field, model.id).where(key_field.in_(keys_chunk)).tuples())
    missing = [row for row in rows if row[key_field.name] not in found]
    for rows_chunk in chunked(missing, 200):
        model.insert_many(rows_chunk).execute()
    for keys_chunk in chunked([r[key_field.name] for r in missing], 500):
        found.update(model.select(key_field, model.id).where(key_field.in_(keys_chunk)).tuples())
    return found


def build_desk(rng: random.Random, *, orgs: int, users: int) -> Desk:
    """Organizations, services, agents (one in 25 users, at least 2) and customers."""
    n_agents = max(2, users // 25)
    with database.atomic():
        org_ids = _get_or_insert(
            Organization,
            Organization.name,
            [{"name": f"Seeded Company {k:04d}"} for k in range(orgs)],
        )
        service_ids = _get_or_insert(Service, Service.name, [{"name": s} for s in SERVICES])
        people = []
        for u in range(users):
            agent = u < n_agents
            language = weighted(rng, LANGUAGES)
            people.append(
                {
                    "email": f"{'agent' if agent else 'customer'}{u:06d}@seeded.test",
                    "name": f"{'Agent' if agent else 'Customer'} {u:06d}",
                    "kind": (UserKind.agent if agent else UserKind.customer).value,
                    "language": language,
                }
            )
        user_ids = _get_or_insert(User, User.email, people)
        customers = []
        memberships = []
        org_list = [org_ids[f"Seeded Company {k:04d}"] for k in range(orgs)]
        for u, person in enumerate(people[n_agents:], start=n_agents):
            org = org_list[u % orgs]
            customers.append((user_ids[person["email"]], org, person["language"]))
            memberships.append({"user": user_ids[person["email"]], "organization": org})
        known = (
            set(
                Membership.select(Membership.user, Membership.organization)
                .where(Membership.user.in_([m["user"] for m in memberships]))
                .tuples()
            )
            if memberships
            else set()
        )
        new = [m for m in memberships if (m["user"], m["organization"]) not in known]
        for chunk in chunked(new, 200):
            Membership.insert_many(chunk).execute()
    return Desk(
        organizations=org_list,
        customers=customers,
        agents=[user_ids[p["email"]] for p in people[:n_agents]],
        services=[service_ids[s] for s in SERVICES],
    )


def _text(rng: random.Random, language: str) -> tuple[str, str]:
    words = TEXT[language]
    thing, trouble = rng.choice(words["things"]), rng.choice(words["troubles"])
    title = rng.choice(words["titles"]).format(thing=thing, trouble=trouble)
    sentences = [rng.choice(words["sentences"]) for _ in range(rng.randint(2, 6))]
    return title[:1].upper() + title[1:], " ".join(sentences).format(thing=thing, trouble=trouble)


def _ticket_and_comments(rng: random.Random, desk: Desk) -> tuple[dict, list[dict]]:
    requester, org, language = rng.choice(desk.customers)
    title, description = _text(rng, language)
    status = weighted(rng, STATUSES)
    created = LAST_DAY - timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400))
    worked = status != Status.new.value
    assignee = rng.choice(desk.agents) if worked or rng.random() < 0.2 else None
    updated = created + timedelta(minutes=rng.randrange(1, 14 * 24 * 60)) if worked else created
    updated = min(updated, LAST_DAY)
    done = status in (Status.resolved.value, Status.closed.value)
    ticket = {
        "type": weighted(rng, TYPES),
        "title": title[:200],
        "description": description,
        "priority": weighted(rng, PRIORITIES),
        "status": status,
        "requester": requester,
        "organization": org,
        "assignee": assignee,
        "service": rng.choice(desk.services) if rng.random() < 0.8 else None,
        "created_at": created,
        "updated_at": updated,
        "resolved_at": updated if done else None,
        "closed_at": updated if status == Status.closed.value else None,
    }
    comments = []
    n_comments = rng.choice((0, 0, 1, 1, 2, 3, 4)) if worked else rng.choice((0, 0, 1))
    for k in range(n_comments):
        by_agent = assignee is not None and k % 2 == 0
        internal = by_agent and rng.random() < 0.25
        comments.append(
            {
                "author": assignee if by_agent else requester,
                "body": rng.choice(TEXT[language]["replies"]),
                "visibility": (Visibility.internal if internal else Visibility.public).value,
                "created_at": created + (updated - created) * (k + 1) / (n_comments + 1),
            }
        )
    return ticket, comments


def seed(
    *,
    tickets: int,
    orgs: int,
    users: int,
    seed_value: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Write `tickets` tickets (and their comments) on the database the models point at."""
    rng = random.Random(seed_value)
    desk = build_desk(rng, orgs=orgs, users=users)
    written = comments_written = 0
    prefix = SQL("'HD-' || id")  # the reference submit gives: HD- and the ticket's id
    while written < tickets:
        size = min(BATCH, tickets - written)
        batch = [_ticket_and_comments(rng, desk) for _ in range(size)]
        with database.atomic():
            ids = [
                row[0]
                for row in Ticket.insert_many([t for t, _ in batch])
                .returning(Ticket.id)
                .tuples()
                .execute()
            ]
            Ticket.update(reference=prefix).where(Ticket.id.in_(ids)).execute()
            rows = [
                {**c, "ticket": tid} for tid, (_, cs) in zip(ids, batch, strict=True) for c in cs
            ]
            for chunk in chunked(rows, 1000):
                Comment.insert_many(chunk).execute()
            search.index_tickets(ids)
        written += size
        comments_written += len(rows)
        if progress:
            progress(written, tickets)
    return {
        "tickets": written,
        "comments": comments_written,
        "organizations": orgs,
        "users": users,
        "agents": len(desk.agents),
    }


class ProgressBar:
    """A one-line bar on stderr, redrawn at most 5 times a second; silent off a terminal."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.started = time.monotonic()
        self.drawn = 0.0
        self.enabled = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.drawn < 0.2 and done < total):
            return
        self.drawn = now
        rate = done / max(now - self.started, 1e-9)
        filled = int(30 * done / total)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,} tickets "
            f"{rate:,.0f}/s" + ("\n" if done >= total else "")
        )
        self.stream.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, required=True, help="tickets to write")
    parser.add_argument("--orgs", type=int, default=20, help="customer organizations")
    parser.add_argument("--users", type=int, default=500, help="users (1 in 25 an agent)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same rows)")
    parser.add_argument("--database", help="database URL (default: the desk's own)")
    args = parser.parse_args(argv)
    if args.tickets < 0 or args.orgs < 1 or args.users < 3:
        parser.error("--tickets must be >= 0, --orgs >= 1 and --users >= 3")
    if args.database is None:
        from helpdesk.config import load_settings

        args.database = load_settings().database_url
    init_database(args.database)
    create_schema()
    started = time.monotonic()
    with database.connection_context():
        summary = seed(
            tickets=args.tickets,
            orgs=args.orgs,
            users=args.users,
            seed_value=args.seed,
            progress=ProgressBar(),
        )
    seconds = time.monotonic() - started
    print(
        f"Seeded {summary['tickets']:,} tickets ({summary['comments']:,} comments) for "
        f"{summary['users']:,} users in {summary['organizations']:,} organizations in "
        f"{seconds:.1f} s ({summary['tickets'] / max(seconds, 1e-9):,.0f} tickets/s)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
