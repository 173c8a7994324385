"""SES behaviour moto 5.2.5 lacks, patched into its SES backend and response classes.

Terraform's aws provider and the ses_guard functions need these, and moto has none of them:

* ``SetIdentityHeadersInNotificationsEnabled`` (and the header flags in
  ``GetIdentityNotificationAttributes``, which also returns no topic ARNs in moto);
* ``DeleteConfigurationSetEventDestination`` (moto keeps one destination per set, forever);
* ``UpdateAccountSendingEnabled`` / ``GetAccountSendingEnabled`` - and sending really stops:
  ``SendEmail`` and friends fail with ``AccountSendingPausedException`` while it is off;
* ``UpdateConfigurationSetSendingEnabled``, ``PutConfigurationSetDeliveryOptions`` and the
  ``DeliveryOptions`` / ``ReputationOptions`` that ``DescribeConfigurationSet`` should return;
* a settable sending quota (moto fixes ``Max24HourSend`` at 200).

Call :func:`apply` once before the backend is used (in-process ``mock_aws`` or a moto server in
this process; :mod:`tests.support.moto_server` does it). Change the quota with
:func:`set_send_quota`: directly in-process, or over HTTP for a moto server in another process,
through the non-AWS query action ``EmulatorSetSendQuota`` (parameters ``Max24HourSend``, and
optionally ``MaxSendRate`` and ``SentLast24Hours``), SigV4-signed like any SES call so that moto
picks the account's region from the signature.
"""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult, EmptyResult
from moto.ses.exceptions import (
    ConfigurationSetDoesNotExist,
    EventDestinationAlreadyExists,
    SesError,
)
from moto.ses.models import SESBackend, SESQuota, ses_backends
from moto.ses.responses import EmailResponse

SET_SEND_QUOTA_ACTION = "EmulatorSetSendQuota"
NOTIFICATION_TYPES = ("Bounce", "Complaint", "Delivery")


class AccountSendingPausedException(SesError):
    code = "AccountSendingPausedException"


class EventDestinationDoesNotExist(SesError):
    code = "EventDestinationDoesNotExist"


@dataclass
class _GuardState:
    """What the extension adds to one account/region's SES backend."""

    account_sending_enabled: bool = True
    max_24_hour_send: float = 200.0
    max_send_rate: float = 1.0
    sent_last_24_hours: Optional[float] = None  # None: count what moto actually sent
    headers_in_notifications: Dict[tuple, bool] = field(default_factory=dict)
    event_destinations: Dict[str, Dict[str, dict]] = field(default_factory=dict)
    configuration_set_sending: Dict[str, bool] = field(default_factory=dict)


def _state(backend: SESBackend) -> _GuardState:
    state = getattr(backend, "_ses_guard_state", None)
    if state is None:
        state = _GuardState()
        backend._ses_guard_state = state
    return state


def _configuration_set(backend: SESBackend, name: str):
    if name not in backend.config_sets:
        raise ConfigurationSetDoesNotExist(f"Configuration set <{name}> does not exist.")
    return backend.config_sets[name]


# --- backend -----------------------------------------------------------------------------------


def update_account_sending_enabled(self: SESBackend, enabled: bool) -> None:
    _state(self).account_sending_enabled = enabled


def get_account_sending_enabled(self: SESBackend) -> bool:
    return _state(self).account_sending_enabled


def set_send_quota(
    self: SESBackend,
    max_24_hour_send: float,
    max_send_rate: Optional[float] = None,
    sent_last_24_hours: Optional[float] = None,
) -> None:
    state = _state(self)
    state.max_24_hour_send = float(max_24_hour_send)
    if max_send_rate is not None:
        state.max_send_rate = float(max_send_rate)
    state.sent_last_24_hours = None if sent_last_24_hours is None else float(sent_last_24_hours)


def get_send_quota(self: SESBackend) -> SESQuota:
    state = _state(self)
    sent = self.sent_message_count if state.sent_last_24_hours is None else state.sent_last_24_hours
    quota = SESQuota(sent)
    quota.max24_hour_send = state.max_24_hour_send
    quota.max_send_rate = state.max_send_rate
    return quota


def set_identity_headers_in_notifications_enabled(
    self: SESBackend, identity: str, notification_type: str, enabled: bool
) -> None:
    _state(self).headers_in_notifications[(identity, notification_type)] = enabled


def set_identity_notification_topic(
    self: SESBackend, identity: str, notification_type: str, sns_topic: Optional[str]
) -> None:
    topics = self.sns_topics.setdefault(identity, {})
    if sns_topic is None:
        topics.pop(notification_type, None)  # moto raises KeyError when none was set
    else:
        topics[notification_type] = sns_topic


def get_identity_notification_attributes(self: SESBackend, identities: list) -> Dict[str, Dict[str, Any]]:
    state = _state(self)
    response: Dict[str, Dict[str, Any]] = {}
    for identity in identities:
        config = self.sns_topics.get(identity, {})
        attributes: Dict[str, Any] = {"ForwardingEnabled": config.get("feedback_forwarding_enabled", True)}
        for notification_type in NOTIFICATION_TYPES:
            if config.get(notification_type):
                attributes[f"{notification_type}Topic"] = config[notification_type]
            attributes[f"HeadersIn{notification_type}NotificationsEnabled"] = state.headers_in_notifications.get(
                (identity, notification_type), False
            )
        response[identity] = attributes
    return response


def create_configuration_set_event_destination(
    self: SESBackend, configuration_set_name: str, event_destination: Dict[str, Any]
) -> None:
    _configuration_set(self, configuration_set_name)
    destinations = _state(self).event_destinations.setdefault(configuration_set_name, {})
    if event_destination["Name"] in destinations:
        raise EventDestinationAlreadyExists("Duplicate Event destination Name.")
    destinations[event_destination["Name"]] = event_destination


def delete_configuration_set_event_destination(
    self: SESBackend, configuration_set_name: str, event_destination_name: str
) -> None:
    _configuration_set(self, configuration_set_name)
    destinations = _state(self).event_destinations.get(configuration_set_name, {})
    if event_destination_name not in destinations:
        raise EventDestinationDoesNotExist(
            f"No EventDestination found for {event_destination_name} in {configuration_set_name}"
        )
    del destinations[event_destination_name]


def update_configuration_set_sending_enabled(self: SESBackend, configuration_set_name: str, enabled: bool) -> None:
    _configuration_set(self, configuration_set_name)
    _state(self).configuration_set_sending[configuration_set_name] = enabled


def put_configuration_set_delivery_options(
    self: SESBackend, configuration_set_name: str, delivery_options: Optional[Dict[str, Any]]
) -> None:
    _configuration_set(self, configuration_set_name).delivery_options = dict(delivery_options or {})


def _delete_configuration_set(original):
    def delete_configuration_set(self: SESBackend, configuration_set_name: str) -> None:
        original(self, configuration_set_name)
        state = _state(self)
        state.event_destinations.pop(configuration_set_name, None)
        state.configuration_set_sending.pop(configuration_set_name, None)

    return delete_configuration_set


def _refuse_while_paused(original):
    def send(self: SESBackend, *args: Any, **kwargs: Any) -> Any:
        if not _state(self).account_sending_enabled:
            raise AccountSendingPausedException("Email sending is disabled for this account.")
        return original(self, *args, **kwargs)

    send.__name__ = original.__name__
    return send


# --- responses ---------------------------------------------------------------------------------


def _update_account_sending_enabled(self: EmailResponse) -> ActionResult:
    self.backend.update_account_sending_enabled(self._get_bool_param("Enabled", False))
    return EmptyResult()


def _get_account_sending_enabled(self: EmailResponse) -> ActionResult:
    return ActionResult({"Enabled": self.backend.get_account_sending_enabled()})


def _set_identity_headers_in_notifications_enabled(self: EmailResponse) -> ActionResult:
    self.backend.set_identity_headers_in_notifications_enabled(
        self._get_param("Identity"), self._get_param("NotificationType"), self._get_bool_param("Enabled", False)
    )
    return EmptyResult()


def _delete_configuration_set_event_destination(self: EmailResponse) -> ActionResult:
    self.backend.delete_configuration_set_event_destination(
        self._get_param("ConfigurationSetName"), self._get_param("EventDestinationName")
    )
    return EmptyResult()


def _update_configuration_set_sending_enabled(self: EmailResponse) -> ActionResult:
    self.backend.update_configuration_set_sending_enabled(
        self._get_param("ConfigurationSetName"), self._get_bool_param("Enabled", False)
    )
    return EmptyResult()


def _put_configuration_set_delivery_options(self: EmailResponse) -> ActionResult:
    self.backend.put_configuration_set_delivery_options(
        self._get_param("ConfigurationSetName"), self._get_param("DeliveryOptions")
    )
    return EmptyResult()


def _describe_configuration_set(self: EmailResponse) -> ActionResult:
    name = self._get_param("ConfigurationSetName")
    config_set = _configuration_set(self.backend, name)
    attribute_names = self._get_param("ConfigurationSetAttributeNames", []) or []
    state = _state(self.backend)
    result: Dict[str, Any] = {"ConfigurationSet": {"Name": name}}
    if "eventDestinations" in attribute_names:
        result["EventDestinations"] = list(state.event_destinations.get(name, {}).values())
    if "deliveryOptions" in attribute_names and config_set.delivery_options:
        result["DeliveryOptions"] = config_set.delivery_options
    if "reputationOptions" in attribute_names:
        result["ReputationOptions"] = {
            "SendingEnabled": state.configuration_set_sending.get(name, True),
            "ReputationMetricsEnabled": bool(
                (config_set.reputation_options or {}).get("ReputationMetricsEnabled", False)
            ),
        }
    return ActionResult(result)


def _emulator_set_send_quota(self: EmailResponse) -> str:
    def number(key: str) -> Optional[float]:
        value = self.querystring.get(key, [None])[0]
        return None if value in (None, "") else float(value)

    maximum = number("Max24HourSend")
    if maximum is None or maximum <= 0:
        return "", {"status": 400}  # type: ignore[return-value]
    self.backend.set_send_quota(maximum, number("MaxSendRate"), number("SentLast24Hours"))
    return "<EmulatorSetSendQuotaResponse/>"


def _parse_parameters(original):
    def parse_parameters(self: EmailResponse, request: Any) -> None:
        # Not in botocore's SES model, so moto's model-driven parser cannot read it.
        if self._get_action() == SET_SEND_QUOTA_ACTION:
            self.params = {}
            return
        original(self, request)

    return parse_parameters


_BACKEND_METHODS = {
    "update_account_sending_enabled": update_account_sending_enabled,
    "get_account_sending_enabled": get_account_sending_enabled,
    "set_send_quota": set_send_quota,
    "get_send_quota": get_send_quota,
    "set_identity_headers_in_notifications_enabled": set_identity_headers_in_notifications_enabled,
    "set_identity_notification_topic": set_identity_notification_topic,
    "get_identity_notification_attributes": get_identity_notification_attributes,
    "create_configuration_set_event_destination": create_configuration_set_event_destination,
    "delete_configuration_set_event_destination": delete_configuration_set_event_destination,
    "update_configuration_set_sending_enabled": update_configuration_set_sending_enabled,
    "put_configuration_set_delivery_options": put_configuration_set_delivery_options,
}

_RESPONSE_METHODS = {
    "update_account_sending_enabled": _update_account_sending_enabled,
    "get_account_sending_enabled": _get_account_sending_enabled,
    "set_identity_headers_in_notifications_enabled": _set_identity_headers_in_notifications_enabled,
    "delete_configuration_set_event_destination": _delete_configuration_set_event_destination,
    "update_configuration_set_sending_enabled": _update_configuration_set_sending_enabled,
    "put_configuration_set_delivery_options": _put_configuration_set_delivery_options,
    "describe_configuration_set": _describe_configuration_set,
    "emulator_set_send_quota": _emulator_set_send_quota,
}

_SEND_METHODS = ("send_email", "send_raw_email", "send_templated_email", "send_bulk_templated_email")


def apply() -> None:
    """Patch moto's SES backend and responses; calling it again changes nothing."""
    if getattr(SESBackend, "_ses_guard_extended", False):
        return
    for name, function in _BACKEND_METHODS.items():
        setattr(SESBackend, name, function)
    SESBackend.delete_configuration_set = _delete_configuration_set(SESBackend.delete_configuration_set)
    for name in _SEND_METHODS:
        setattr(SESBackend, name, _refuse_while_paused(getattr(SESBackend, name)))
    for name, function in _RESPONSE_METHODS.items():
        setattr(EmailResponse, name, function)
    EmailResponse.parse_parameters = _parse_parameters(EmailResponse.parse_parameters)
    SESBackend._ses_guard_extended = True


def set_send_quota(
    max_24_hour_send: float,
    max_send_rate: Optional[float] = None,
    sent_last_24_hours: Optional[float] = None,
    *,
    region: str = "us-east-1",
    account_id: str = DEFAULT_ACCOUNT_ID,
    endpoint_url: Optional[str] = None,
) -> None:
    """Set what GetSendQuota returns: in this process, or on the moto server at endpoint_url."""
    if endpoint_url is None:
        apply()
        ses_backends[account_id][region].set_send_quota(max_24_hour_send, max_send_rate, sent_last_24_hours)
        return

    params = {"Action": SET_SEND_QUOTA_ACTION, "Max24HourSend": str(max_24_hour_send)}
    if max_send_rate is not None:
        params["MaxSendRate"] = str(max_send_rate)
    if sent_last_24_hours is not None:
        params["SentLast24Hours"] = str(sent_last_24_hours)
    form = urllib.parse.urlencode(params)
    send_signed("POST", endpoint_url.rstrip("/") + "/", form, "application/x-www-form-urlencoded", region)


def send_signed(method: str, url: str, body: str, content_type: str, region: str) -> None:
    """An emulator-only request to a moto server, SigV4-signed for SES so that moto picks the account's region."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": content_type})
    credentials = Credentials(
        os.environ.get("AWS_ACCESS_KEY_ID", "testing"), os.environ.get("AWS_SECRET_ACCESS_KEY", "testing")
    )
    SigV4Auth(credentials, "ses", region).add_auth(request)
    http_request = urllib.request.Request(
        request.url, data=request.body, headers=dict(request.headers.items()), method=method
    )
    with urllib.request.urlopen(http_request, timeout=10) as response:
        response.read()
