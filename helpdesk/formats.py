"""Display formats a user may choose; shared by the core (validation) and the CLI (printing)."""

DATE_FORMATS = {
    "iso": "%Y-%m-%d %H:%M",
    "eu": "%d/%m/%Y %H:%M",
    "us": "%m/%d/%Y %I:%M %p",
    "dot": "%d.%m.%Y %H:%M",
}
LANGUAGES = ("en", "fr", "it", "cs")


def format_datetime(value, date_format: str | None, *, with_time: bool = True) -> str:
    """A datetime (UTC, naive or aware) in one of DATE_FORMATS by its name (else ISO); with
    `with_time=False`, its date only."""
    pattern = DATE_FORMATS.get(date_format or "iso", DATE_FORMATS["iso"])
    return value.strftime(pattern if with_time else pattern.split(" ")[0])
