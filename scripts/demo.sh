#!/usr/bin/env bash
# The README's five-minute walkthrough, run for real on the embedded SQLite default.
# Uses a fresh data directory (HELPDESK_DATA_DIR, default: a new temporary one) so that it
# never touches your own help desk.
set -euo pipefail

export HELPDESK_DATA_DIR="${HELPDESK_DATA_DIR:-$(mktemp -d)}"
export HELPDESK_CONFIG="$HELPDESK_DATA_DIR/config.json"
unset HELPDESK_URL HELPDESK_TOKEN HELPDESK_DATABASE

# Print a command the way one would type it, then run it.
show() {
  local out="\n$" arg
  for arg in "$@"; do
    if [[ $arg =~ [[:space:]] ]]; then out+=" \"$arg\""; else out+=" $arg"; fi
  done
  printf '%b\n' "$out"
}
run() { show "$@"; "$@"; }
# Each person keeps their own login token: one config file each.
as() { local who=$1; shift; show "$@"; HELPDESK_CONFIG="$HELPDESK_DATA_DIR/$who.json" "$@"; }

echo "# data directory: $HELPDESK_DATA_DIR"
printf 'admin-password-42\n' | run helpdesk init --admin-email admin@example.test --password-stdin

# The admin provisions an organization, two customers and an agent.
run helpdesk org create "Acme Corp"
printf 'sam-password-42\n' | run helpdesk user register sam@acme.test --name "Sam Carter" --org "Acme Corp" --password-stdin
printf 'pat-password-42\n' | run helpdesk user register pat@acme.test --name "Pat Lee" --org "Acme Corp" --role power --password-stdin
printf 'ann-password-42\n' | run helpdesk user register ann@example.test --name "Ann Agent" --agent --password-stdin
run helpdesk user list

printf 'sam-password-42\n' | as sam helpdesk login sam@acme.test --password-stdin
printf 'ann-password-42\n' | as ann helpdesk login ann@example.test --password-stdin

# Sam submits an incident with a log file, and shares it with a colleague.
printf 'Printer on floor 3 prints blank pages since this morning.\n' > "$HELPDESK_DATA_DIR/printer.log"
as sam helpdesk ticket submit --type incident --title "Printer prints blank pages" \
  --description "Every job comes out blank." --impact high --urgency medium \
  --attach "$HELPDESK_DATA_DIR/printer.log"
as sam helpdesk ticket share HD-1 "Pat Lee"

# Ann takes it, writes an internal note, asks Sam a question.
as ann helpdesk ticket assign HD-1 me
as ann helpdesk ticket comment HD-1 --internal --message "Toner sensor fault on this model."
as ann helpdesk ticket comment HD-1 --message "Which tray do you print from?"
as ann helpdesk ticket status HD-1 pending

# Sam answers (the ticket goes back to open), Ann resolves, Sam closes with a rating.
as sam helpdesk ticket comment HD-1 --message "Tray 2."
as ann helpdesk ticket status HD-1 resolved --comment "Replaced the toner sensor."
as sam helpdesk ticket close HD-1 --rating 5 --comment "Quick and friendly."
as sam helpdesk ticket show HD-1

# Searching past tickets; a closed ticket cannot be reopened.
as sam helpdesk ticket search printer --status closed
as sam helpdesk ticket reopen HD-1 --comment "It happened again." || echo "(exit code $?)"
