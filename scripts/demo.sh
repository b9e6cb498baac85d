#!/usr/bin/env bash
# The README's five-minute walkthrough, run for real on the embedded SQLite default: the same
# commands in the same order (tests/cli/test_serve.py checks that they match).
# Uses a fresh data directory (HELPDESK_DATA_DIR, default: a new temporary one) so that it
# never touches your own help desk, and works inside it (printer.log, printer-copy.log).
set -euo pipefail

export HELPDESK_DATA_DIR="${HELPDESK_DATA_DIR:-$(mktemp -d)}"
unset HELPDESK_URL HELPDESK_TOKEN HELPDESK_DATABASE HELPDESK_CONFIG
cd "$HELPDESK_DATA_DIR"

# Print a command the way one would type it.
show() {
  local out="$" arg
  for arg in "$@"; do
    if [[ $arg =~ [[:space:]] ]]; then out+=" \"$arg\""; else out+=" $arg"; fi
  done
  printf '%s\n' "$out"
}
# Each person works in their own terminal with their own login: one config file each.
as() { local who=$1; shift; show "$@"; HELPDESK_CONFIG="$HELPDESK_DATA_DIR/$who.json" "$@"; }
# What happens next, as the README tells it.
say() { printf '\n# %s\n' "$*"; }

echo "# data directory: $HELPDESK_DATA_DIR"

say "The admin creates the help desk (init logs them in), an organization, two customers and an agent."
printf 'admin-password-42\n' | as admin helpdesk init --admin-email admin@example.test --password-stdin
as admin helpdesk org create "Acme Corp"
printf 'sam-password-42\n' | as admin helpdesk user register sam@acme.test --name "Sam Carter" --org "Acme Corp" --password-stdin
printf 'pat-password-42\n' | as admin helpdesk user register pat@acme.test --name "Pat Lee" --org "Acme Corp" --role power --password-stdin
printf 'ann-password-42\n' | as admin helpdesk user register ann@example.test --name "Ann Agent" --agent --password-stdin
as admin helpdesk user list

say "The admin sets up what Acme's contract covers: a service of the catalogue and its SLA."
as admin helpdesk sla calendar add Office --timezone Europe/Prague --days mon-fri --hours 09:00-17:00
as admin helpdesk sla policy add Standard --calendar Office \
  --target critical:1h:8h --target high:2h:16h --target medium:4h:3d --target low:1d:5d
as admin helpdesk catalog service add "Office IT" --types incident,question
as admin helpdesk catalog subcategory add "Office IT" Printing
as admin helpdesk contract add "Acme Corp" --service "Office IT" --sla Standard

say "Sam (a customer) logs in, looks at what Acme may ask for, submits an incident with a log file and shares it with Pat."
printf 'sam-password-42\n' | as sam helpdesk login sam@acme.test --password-stdin
as sam helpdesk catalog list
printf 'Printer on floor 3 prints blank pages since this morning.\n' > printer.log
as sam helpdesk ticket submit --type incident --service "Office IT" --subcategory Printing \
  --title "Printer prints blank pages" \
  --description "Every job comes out blank." --impact high --urgency medium --attach printer.log
as sam helpdesk ticket share HD-1 "Pat Lee"

say "Ann (an agent) logs in, takes it, writes an internal note and asks Sam a question."
printf 'ann-password-42\n' | as ann helpdesk login ann@example.test --password-stdin
as ann helpdesk ticket list --status new --status open
as ann helpdesk ticket assign HD-1 me
as ann helpdesk ticket comment HD-1 --internal --message "Toner sensor fault on this model."
as ann helpdesk ticket comment HD-1 --message "Which tray do you print from?"
as ann helpdesk ticket status HD-1 pending

say "Sam answers, which brings the ticket back to open; Ann resolves it."
as sam helpdesk ticket comment HD-1 --message "Tray 2."
as ann helpdesk ticket status HD-1 resolved --comment "Replaced the toner sensor."

say "Sam closes it with a rating, looks at it, downloads the attachment and searches past tickets."
as sam helpdesk ticket close HD-1 --rating 5 --comment "Quick and friendly."
as sam helpdesk ticket show HD-1
as sam helpdesk ticket attachment get HD-1 printer.log -o printer-copy.log
as sam helpdesk ticket search printer --status closed --requester sam@acme.test

say "The next command is meant to fail: a closed ticket can never be reopened."
if as sam helpdesk ticket reopen HD-1 --comment "It happened again."; then
  echo "# It did not fail: the walkthrough is broken." >&2
  exit 1
else
  echo "# (exit code $?, as expected)"
fi
as sam helpdesk logout

say "Ann checks how the team kept Acme's SLA."
as ann helpdesk report sla --org "Acme Corp"
