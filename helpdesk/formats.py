"""Display formats a user may choose; shared by the core (validation) and the CLI (printing)."""

DATE_FORMATS = {
    "iso": "%Y-%m-%d %H:%M",
    "eu": "%d/%m/%Y %H:%M",
    "us": "%m/%d/%Y %I:%M %p",
    "dot": "%d.%m.%Y %H:%M",
}
LANGUAGES = ("en", "fr", "it", "cs")
