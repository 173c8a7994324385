"""SESv2 calls moto 5.2.5 lacks, patched into its SESv2 response class.

* ``GetAccount``, with a settable ``EnforcementStatus``, ``ProductionAccessEnabled`` and review details;
  ``SendingEnabled`` is the account flag of :mod:`tests.support.moto_ses` (what SES v1's
  ``UpdateAccountSendingEnabled`` sets, as the breaker does), so both APIs agree as they do in AWS;
* the account suppression list: ``PutSuppressedDestination``, ``GetSuppressedDestination``,
  ``DeleteSuppressedDestination`` and ``ListSuppressedDestinations``, paged as AWS pages it (at most
  1,000 a page, ``NextToken``, ``Reason`` and date filters), fast enough to page through hundreds of
  thousands of entries.

Call :func:`apply` once before the backend is used. Set the account's status with
:func:`set_account_status` (in-process, or over HTTP for a moto server in another process through the
non-AWS ``PUT /v2/email/emulator/account-status``, SigV4-signed like any SESv2 call) and fill the list in
bulk with :func:`add_suppressed_destinations` (in-process).
"""

from __future__ import annotations

import bisect
import json
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Tuple

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sesv2 import urls
from moto.sesv2.models import SESV2Backend, sesv2_backends
from moto.sesv2.responses import SESV2Response

from tests.support import moto_ses

SET_ACCOUNT_STATUS_PATH = "/v2/email/emulator/account-status"
SET_ACCOUNT_STATUS_ACTION = "EmulatorSetAccountStatus"
MAX_PAGE_SIZE = 1000
REASONS = ("BOUNCE", "COMPLAINT")


@dataclass
class _AccountState:
    enforcement_status: str = "HEALTHY"
    production_access_enabled: bool = True
    review_details: Optional[Dict[str, str]] = None
    # Addresses kept sorted, so that a page resumes after the last address returned, in O(log n).
    suppressed_addresses: List[str] = field(default_factory=list)
    suppressed: Dict[str, Tuple[str, float]] = field(default_factory=dict)  # address -> (reason, updated)


def _state(backend: SESV2Backend) -> _AccountState:
    state = getattr(backend, "_ses_guard_state", None)
    if state is None:
        state = _AccountState()
        backend._ses_guard_state = state
    return state


def _put(state: _AccountState, address: str, reason: str, updated: float) -> None:
    if address not in state.suppressed:
        bisect.insort(state.suppressed_addresses, address)
    state.suppressed[address] = (reason, updated)


class _SESV2Error(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Tuple[str, Dict[str, Any]]:
        headers = {"status": self.status, "x-amzn-ErrorType": self.code, "content-type": "application/json"}
        return json.dumps({"message": self.message}), headers


def _not_found(address: str) -> _SESV2Error:
    return _SESV2Error(404, "NotFoundException", f"Email address {address} does not exist on your suppression list.")


# --- responses ---------------------------------------------------------------------------------


def _get_account(self: SESV2Response) -> str:
    state = _state(self.sesv2_backend)
    quota = ses_backends[self.current_account][self.region].get_send_quota()
    body: Dict[str, Any] = {
        "DedicatedIpAutoWarmupEnabled": False,
        "EnforcementStatus": state.enforcement_status,
        "ProductionAccessEnabled": state.production_access_enabled,
        "SendingEnabled": ses_backends[self.current_account][self.region].get_account_sending_enabled(),
        "SendQuota": {
            "Max24HourSend": quota.max24_hour_send,
            "MaxSendRate": quota.max_send_rate,
            "SentLast24Hours": quota.sent_last24_hours,
        },
        "SuppressionAttributes": {"SuppressedReasons": list(REASONS)},
    }
    if state.review_details is not None:
        body["Details"] = {"MailType": "TRANSACTIONAL", "ReviewDetails": state.review_details}
    return json.dumps(body)


def _put_suppressed_destination(self: SESV2Response):
    params = json.loads(self.body or "{}")
    reason = params.get("Reason")
    if reason not in REASONS:
        return _SESV2Error(400, "BadRequestException", f"Reason must be one of {', '.join(REASONS)}").response()
    _put(_state(self.sesv2_backend), params["EmailAddress"], reason, datetime.now(timezone.utc).timestamp())
    return json.dumps({})


def _address_in_path(self: SESV2Response) -> str:
    return urllib.parse.unquote(self.path.rstrip("/").rsplit("/", 1)[1])


def _get_suppressed_destination(self: SESV2Response):
    address = _address_in_path(self)
    found = _state(self.sesv2_backend).suppressed.get(address)
    if found is None:
        return _not_found(address).response()
    reason, updated = found
    return json.dumps({"SuppressedDestination": {"EmailAddress": address, "Reason": reason, "LastUpdateTime": updated}})


def _delete_suppressed_destination(self: SESV2Response):
    address = _address_in_path(self)
    state = _state(self.sesv2_backend)
    if address not in state.suppressed:
        return _not_found(address).response()
    del state.suppressed[address]
    del state.suppressed_addresses[bisect.bisect_left(state.suppressed_addresses, address)]
    return json.dumps({})


def _timestamp(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _list_suppressed_destinations(self: SESV2Response):
    query = self.querystring
    reasons = set(query.get("Reason", [])) or set(REASONS)
    start, end = _timestamp(query.get("StartDate", [None])[0]), _timestamp(query.get("EndDate", [None])[0])
    page_size = int(query.get("PageSize", [MAX_PAGE_SIZE])[0])
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        return _SESV2Error(400, "BadRequestException", f"PageSize must be 1-{MAX_PAGE_SIZE}").response()
    token = query.get("NextToken", [None])[0]
    state = _state(self.sesv2_backend)
    addresses = state.suppressed_addresses
    position = bisect.bisect_right(addresses, token) if token else 0
    summaries = []
    while position < len(addresses) and len(summaries) < page_size:
        address = addresses[position]
        reason, updated = state.suppressed[address]
        if reason in reasons and (start is None or updated >= start) and (end is None or updated <= end):
            summaries.append({"EmailAddress": address, "Reason": reason, "LastUpdateTime": updated})
        position += 1
    body: Dict[str, Any] = {"SuppressedDestinationSummaries": summaries}
    if position < len(addresses):
        body["NextToken"] = summaries[-1]["EmailAddress"] if summaries else addresses[position - 1]
    return json.dumps(body)


def _emulator_set_account_status(self: SESV2Response) -> str:
    params = json.loads(self.body or "{}")
    set_account_status(
        params["EnforcementStatus"],
        production_access_enabled=params.get("ProductionAccessEnabled"),
        review_details=params.get("ReviewDetails"),
        region=self.region,
        account_id=self.current_account,
    )
    return json.dumps({})


def _get_action(original):
    def get_action(self: SESV2Response) -> str:
        # Not in botocore's SESv2 model, so moto's router cannot find it.
        if self.path.rstrip("/").endswith(SET_ACCOUNT_STATUS_PATH):
            return SET_ACCOUNT_STATUS_ACTION
        return original(self)

    return get_action


# moto's catch-all "/v2/.*" matches in-process only; a moto server routes only the paths listed.
_SERVER_PATHS = (
    "{0}/v2/email/account$",
    "{0}/v2/email/suppression/addresses$",
    "{0}/v2/email/suppression/addresses/(?P<EmailAddress>[^/]+)$",
    "{0}" + SET_ACCOUNT_STATUS_PATH + "$",
)

_RESPONSE_METHODS = {
    "get_account": _get_account,
    "put_suppressed_destination": _put_suppressed_destination,
    "get_suppressed_destination": _get_suppressed_destination,
    "delete_suppressed_destination": _delete_suppressed_destination,
    "list_suppressed_destinations": _list_suppressed_destinations,
    "emulator_set_account_status": _emulator_set_account_status,
}


def apply() -> None:
    """Patch moto's SESv2 responses (and the SES extensions they read); calling it again changes nothing."""
    moto_ses.apply()
    if getattr(SESV2Response, "_ses_guard_extended", False):
        return
    for name, function in _RESPONSE_METHODS.items():
        setattr(SESV2Response, name, function)
    SESV2Response._get_action = _get_action(SESV2Response._get_action)
    for path in _SERVER_PATHS:
        urls.url_paths[path] = SESV2Response.dispatch
    SESV2Response._ses_guard_extended = True


def set_account_status(
    enforcement_status: str,
    *,
    production_access_enabled: Optional[bool] = None,
    review_details: Optional[Dict[str, str]] = None,
    region: str = "us-east-1",
    account_id: str = DEFAULT_ACCOUNT_ID,
    endpoint_url: Optional[str] = None,
) -> None:
    """Set what GetAccount returns (review_details: {"Status": ..., "CaseId": ...} or None for none):
    in this process, or on the moto server at endpoint_url."""
    if endpoint_url is None:
        apply()
        state = _state(sesv2_backends[account_id][region])
        state.enforcement_status = enforcement_status
        if production_access_enabled is not None:
            state.production_access_enabled = production_access_enabled
        state.review_details = review_details
        return

    body = {"EnforcementStatus": enforcement_status, "ReviewDetails": review_details}
    if production_access_enabled is not None:
        body["ProductionAccessEnabled"] = production_access_enabled
    moto_ses.send_signed(
        "PUT", endpoint_url.rstrip("/") + SET_ACCOUNT_STATUS_PATH, json.dumps(body), "application/json", region
    )


def add_suppressed_destinations(
    entries: Iterable[Tuple[str, str, datetime]], *, region: str = "us-east-1", account_id: str = DEFAULT_ACCOUNT_ID
) -> None:
    """Put (address, reason, last update time) entries on the suppression list at once (in-process)."""
    apply()
    state = _state(sesv2_backends[account_id][region])
    fresh = {address: (reason, when.timestamp()) for address, reason, when in entries}
    state.suppressed.update(fresh)
    state.suppressed_addresses = sorted(state.suppressed)
