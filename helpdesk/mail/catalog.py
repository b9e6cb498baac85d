"""What notification emails say, in each language we write them in."""

from __future__ import annotations

from helpdesk.formats import LANGUAGES  # noqa: E402, F401  (one list of languages)

FALLBACK = "en"

# kind -> (subject, first line). Placeholders: {ref} {title} {actor} {agent} {status}.
MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "received": (
            "Ticket received: {title}",
            "We have received your ticket {ref} and will get back to you soon.",
        ),
        "new_ticket": ("New ticket: {title}", "{actor} submitted a new ticket {ref}."),
        "assigned": ("Ticket assigned: {title}", "{agent} is now handling ticket {ref}."),
        "reply": ("New reply: {title}", "{actor} replied to ticket {ref}:"),
        "status": ("Ticket {status}: {title}", "{actor} changed the status of {ref} to {status}."),
        "reopened": ("Ticket reopened: {title}", "{actor} reopened ticket {ref}:"),
        "shared": ("Ticket shared with you: {title}", "{actor} shared ticket {ref} with you."),
        "updated": ("Ticket updated: {title}", "{actor} changed ticket {ref}:"),
        "survey": (
            "How did we do? {title}",
            "Ticket {ref} is closed. Please tell us how satisfied you are, from 1 (poor) "
            "to 5 (excellent).",
        ),
        "sla_response_breached": (
            "SLA missed (first response): {title}",
            "Ticket {ref} missed its first-response target, due {due}.",
        ),
        "sla_resolution_breached": (
            "SLA missed (resolution): {title}",
            "Ticket {ref} missed its resolution target, due {due}.",
        ),
        "sla_response_due": (
            "SLA due soon (first response): {title}",
            "Ticket {ref} needs a first response by {due}.",
        ),
        "sla_resolution_due": (
            "SLA due soon (resolution): {title}",
            "Ticket {ref} must be resolved by {due}.",
        ),
    },
    "fr": {
        "received": (
            "Ticket reçu : {title}",
            "Nous avons bien reçu votre ticket {ref} et reviendrons vers vous rapidement.",
        ),
        "new_ticket": ("Nouveau ticket : {title}", "{actor} a soumis un nouveau ticket {ref}."),
        "assigned": (
            "Ticket assigné : {title}",
            "{agent} prend désormais en charge le ticket {ref}.",
        ),
        "reply": ("Nouvelle réponse : {title}", "{actor} a répondu au ticket {ref} :"),
        "status": (
            "Ticket {status} : {title}",
            "{actor} a changé le statut du ticket {ref} en « {status} ».",
        ),
        "reopened": ("Ticket rouvert : {title}", "{actor} a rouvert le ticket {ref} :"),
        "shared": (
            "Ticket partagé avec vous : {title}",
            "{actor} a partagé le ticket {ref} avec vous.",
        ),
        "updated": ("Ticket modifié : {title}", "{actor} a modifié le ticket {ref} :"),
        "survey": (
            "Votre avis nous intéresse : {title}",
            "Le ticket {ref} est clos. Dites-nous votre satisfaction, de 1 (mauvaise) "
            "à 5 (excellente).",
        ),
        "sla_response_breached": (
            "SLA non respecté (première réponse) : {title}",
            "Le ticket {ref} a dépassé son délai de première réponse, fixé au {due}.",
        ),
        "sla_resolution_breached": (
            "SLA non respecté (résolution) : {title}",
            "Le ticket {ref} a dépassé son délai de résolution, fixé au {due}.",
        ),
        "sla_response_due": (
            "Échéance SLA proche (première réponse) : {title}",
            "Le ticket {ref} attend une première réponse avant le {due}.",
        ),
        "sla_resolution_due": (
            "Échéance SLA proche (résolution) : {title}",
            "Le ticket {ref} doit être résolu avant le {due}.",
        ),
    },
    "it": {
        "received": (
            "Ticket ricevuto: {title}",
            "Abbiamo ricevuto il tuo ticket {ref} e ti risponderemo al più presto.",
        ),
        "new_ticket": ("Nuovo ticket: {title}", "{actor} ha inviato un nuovo ticket {ref}."),
        "assigned": ("Ticket assegnato: {title}", "{agent} ora si occupa del ticket {ref}."),
        "reply": ("Nuova risposta: {title}", "{actor} ha risposto al ticket {ref}:"),
        "status": (
            "Ticket {status}: {title}",
            "{actor} ha cambiato lo stato del ticket {ref} in «{status}».",
        ),
        "reopened": ("Ticket riaperto: {title}", "{actor} ha riaperto il ticket {ref}:"),
        "shared": (
            "Ticket condiviso con te: {title}",
            "{actor} ha condiviso con te il ticket {ref}.",
        ),
        "updated": ("Ticket modificato: {title}", "{actor} ha modificato il ticket {ref}:"),
        "survey": (
            "Com'è andata? {title}",
            "Il ticket {ref} è chiuso. Dicci quanto sei soddisfatto, da 1 (per niente) "
            "a 5 (moltissimo).",
        ),
        "sla_response_breached": (
            "SLA mancato (prima risposta): {title}",
            "Il ticket {ref} ha mancato l'obiettivo di prima risposta, in scadenza il {due}.",
        ),
        "sla_resolution_breached": (
            "SLA mancato (risoluzione): {title}",
            "Il ticket {ref} ha mancato l'obiettivo di risoluzione, in scadenza il {due}.",
        ),
        "sla_response_due": (
            "Scadenza SLA vicina (prima risposta): {title}",
            "Il ticket {ref} richiede una prima risposta entro il {due}.",
        ),
        "sla_resolution_due": (
            "Scadenza SLA vicina (risoluzione): {title}",
            "Il ticket {ref} deve essere risolto entro il {due}.",
        ),
    },
    "cs": {
        "received": (
            "Požadavek přijat: {title}",
            "Váš požadavek {ref} jsme přijali a brzy se vám ozveme.",
        ),
        "new_ticket": ("Nový požadavek: {title}", "{actor} založil(a) nový požadavek {ref}."),
        "assigned": ("Požadavek přidělen: {title}", "Požadavek {ref} nyní řeší {agent}."),
        "reply": ("Nová odpověď: {title}", "{actor} odpověděl(a) na požadavek {ref}:"),
        "status": (
            "Požadavek {status}: {title}",
            "{actor} změnil(a) stav požadavku {ref} na „{status}“.",
        ),
        "reopened": (
            "Požadavek znovu otevřen: {title}",
            "{actor} znovu otevřel(a) požadavek {ref}:",
        ),
        "shared": ("Požadavek sdílen s vámi: {title}", "{actor} s vámi sdílel(a) požadavek {ref}."),
        "updated": ("Požadavek upraven: {title}", "{actor} upravil(a) požadavek {ref}:"),
        "survey": (
            "Jak jsme si vedli? {title}",
            "Požadavek {ref} je uzavřen. Ohodnoťte prosím naši pomoc od 1 (špatná) do 5 (výborná).",
        ),
        "sla_response_breached": (
            "SLA nesplněna (první odpověď): {title}",
            "Požadavek {ref} nedodržel lhůtu pro první odpověď ({due}).",
        ),
        "sla_resolution_breached": (
            "SLA nesplněna (vyřešení): {title}",
            "Požadavek {ref} nedodržel lhůtu pro vyřešení ({due}).",
        ),
        "sla_response_due": (
            "Blíží se lhůta SLA (první odpověď): {title}",
            "Požadavek {ref} potřebuje první odpověď do {due}.",
        ),
        "sla_resolution_due": (
            "Blíží se lhůta SLA (vyřešení): {title}",
            "Požadavek {ref} musí být vyřešen do {due}.",
        ),
    },
}

STATUS_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "new": "new",
        "open": "open",
        "pending": "waiting for you",
        "resolved": "resolved",
        "closed": "closed",
    },
    "fr": {
        "new": "nouveau",
        "open": "ouvert",
        "pending": "en attente de votre réponse",
        "resolved": "résolu",
        "closed": "clos",
    },
    "it": {
        "new": "nuovo",
        "open": "aperto",
        "pending": "in attesa di una tua risposta",
        "resolved": "risolto",
        "closed": "chiuso",
    },
    "cs": {
        "new": "nový",
        "open": "otevřený",
        "pending": "čeká na vás",
        "resolved": "vyřešený",
        "closed": "uzavřený",
    },
}

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "hello": "Hello {name},",
        "status": "Status",
        "priority": "Priority",
        "service": "Service",
        "view": "Ticket",
        "rate": "Rate",
        "reply_hint": "Reply to this email to add a comment.",
        "footer": "You receive this because you follow ticket {ref}. "
        "To stop: helpdesk ticket notify {ref} off",
    },
    "fr": {
        "hello": "Bonjour {name},",
        "status": "Statut",
        "priority": "Priorité",
        "service": "Service",
        "view": "Ticket",
        "rate": "Noter",
        "reply_hint": "Répondez à cet e-mail pour ajouter un commentaire.",
        "footer": "Vous recevez ce message car vous suivez le ticket {ref}. "
        "Pour ne plus le recevoir : helpdesk ticket notify {ref} off",
    },
    "it": {
        "hello": "Ciao {name},",
        "status": "Stato",
        "priority": "Priorità",
        "service": "Servizio",
        "view": "Ticket",
        "rate": "Valuta",
        "reply_hint": "Rispondi a questa email per aggiungere un commento.",
        "footer": "Ricevi questo messaggio perché segui il ticket {ref}. "
        "Per non riceverlo più: helpdesk ticket notify {ref} off",
    },
    "cs": {
        "hello": "Dobrý den, {name},",
        "status": "Stav",
        "priority": "Priorita",
        "service": "Služba",
        "view": "Požadavek",
        "rate": "Ohodnotit",
        "reply_hint": "Odpovědí na tento e-mail přidáte komentář.",
        "footer": "Tuto zprávu dostáváte, protože sledujete požadavek {ref}. "
        "Odhlášení: helpdesk ticket notify {ref} off",
    },
}


def language_of(code: str | None) -> str:
    return code if code in MESSAGES else FALLBACK


# Account emails: kind -> (subject, first line, what the command line does with the token).
ACCOUNT_MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "invite": (
            "Your help desk account",
            "{actor} created a help desk account for you ({email}). Choose your password "
            "to activate it.",
        ),
        "signup": (
            "Confirm your email address",
            "Please confirm your address ({email}) and choose your password.",
        ),
        "reset": (
            "Reset your password",
            "Someone, hopefully you, asked to reset the password of {email}. If it was not "
            "you, ignore this email: nothing changes.",
        ),
        "email_change": (
            "Confirm your new email address",
            "Please confirm that {email} is your new address for the help desk.",
        ),
        "open": "Open this link:",
        "command": "or run:",
        "expires": "This link works once, until {expires} (UTC).",
    },
    "fr": {
        "invite": (
            "Votre compte au service d'assistance",
            "{actor} vous a créé un compte ({email}). Choisissez votre mot de passe pour "
            "l'activer.",
        ),
        "signup": (
            "Confirmez votre adresse e-mail",
            "Merci de confirmer votre adresse ({email}) et de choisir votre mot de passe.",
        ),
        "reset": (
            "Réinitialisez votre mot de passe",
            "Quelqu'un, sans doute vous, a demandé à réinitialiser le mot de passe de "
            "{email}. Si ce n'est pas vous, ignorez ce message : rien ne change.",
        ),
        "email_change": (
            "Confirmez votre nouvelle adresse e-mail",
            "Merci de confirmer que {email} est votre nouvelle adresse.",
        ),
        "open": "Ouvrez ce lien :",
        "command": "ou lancez :",
        "expires": "Ce lien ne sert qu'une fois, jusqu'au {expires} (UTC).",
    },
    "it": {
        "invite": (
            "Il tuo account dell'help desk",
            "{actor} ha creato per te un account ({email}). Scegli la password per attivarlo.",
        ),
        "signup": (
            "Conferma il tuo indirizzo email",
            "Conferma il tuo indirizzo ({email}) e scegli la password.",
        ),
        "reset": (
            "Reimposta la password",
            "Qualcuno, speriamo tu, ha chiesto di reimpostare la password di {email}. Se "
            "non sei stato tu, ignora questa email: non cambia nulla.",
        ),
        "email_change": (
            "Conferma il nuovo indirizzo email",
            "Conferma che {email} è il tuo nuovo indirizzo.",
        ),
        "open": "Apri questo link:",
        "command": "oppure esegui:",
        "expires": "Il link vale una sola volta, fino al {expires} (UTC).",
    },
    "cs": {
        "invite": (
            "Váš účet v helpdesku",
            "{actor} vám založil(a) účet ({email}). Aktivujte jej zvolením hesla.",
        ),
        "signup": (
            "Potvrďte svou e-mailovou adresu",
            "Potvrďte prosím svou adresu ({email}) a zvolte si heslo.",
        ),
        "reset": (
            "Obnovení hesla",
            "Někdo, snad vy, požádal o obnovení hesla k účtu {email}. Pokud jste to nebyli "
            "vy, e-mail ignorujte: nic se nezmění.",
        ),
        "email_change": (
            "Potvrďte novou e-mailovou adresu",
            "Potvrďte prosím, že {email} je vaše nová adresa.",
        ),
        "open": "Otevřete tento odkaz:",
        "command": "nebo spusťte:",
        "expires": "Odkaz platí jednou, do {expires} (UTC).",
    },
}

# How each account token is used from the command line and the web.
ACCOUNT_ACTIONS = {
    "invite": ("activate", "helpdesk account activate {token}"),
    "signup": ("activate", "helpdesk account activate {token}"),
    "reset": ("reset", "helpdesk account reset {token}"),
    "email_change": ("confirm-email", "helpdesk account confirm-email {token}"),
}
