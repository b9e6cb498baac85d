"""The /api/v1 blueprint; each resource registers its routes from its own module."""

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")

# Ids in URLs beyond a 64-bit integer cannot exist: the route does not match, 404.
MAX_ID = 2**63 - 1

from helpdesk.server.api import (  # noqa: E402, F401
    accounts,
    catalog,
    contract,
    contracts,
    dashboard,
    inputs,
    mail,
    openapi,
    organizations,
    priorities,
    provisioning,
    sla,
    tickets,
)

# Every endpoint of the app, pages included: text that cannot be stored is refused up front.
api.before_app_request(inputs.check_request_text)
api.before_request(inputs.authenticate)
api.before_request(contract.check_query_names)  # after authenticate: a 401 comes first
