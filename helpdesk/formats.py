"""Display formats a user may choose; shared by the core (validation) and the CLI (printing)."""

DATE_FORMATS = {
    "iso": "%Y-%m-%d %H:%M",
    "eu": "%d/%m/%Y %H:%M",
    "us": "%m/%d/%Y %I:%M %p",
    "dot": "%d.%m.%Y %H:%M",
}
LANGUAGES = ("en", "fr", "it", "cs")


def format_datetime(value, date_format: str | None) -> str:
    """A datetime (UTC, naive or aware) in one of DATE_FORMATS by its name (else ISO)."""
    return value.strftime(DATE_FORMATS.get(date_format or "iso", DATE_FORMATS["iso"]))
