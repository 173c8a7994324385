"""moto extensions for SES account-level calls moto 5.x lacks: the account sending flag, per configuration
set sending, and a settable 24-hour quota (moto fixes it at 200).

Importing this module installs them, in-process, for mock_aws and for a ThreadedMotoServer alike.
"""

from __future__ import annotations

from moto.core.responses import ActionResult, EmptyResult
from moto.ses.models import SESBackend, SESQuota, ses_backends
from moto.ses.responses import EmailResponse

DEFAULT_MAX_24_HOUR_SEND = 200.0


def _account_sending_enabled(backend: SESBackend) -> bool:
    return getattr(backend, "account_sending_enabled", True)


def _get_send_quota(self: SESBackend) -> SESQuota:
    quota = SESQuota(self.sent_message_count)
    quota.max24_hour_send = getattr(self, "max24_hour_send", DEFAULT_MAX_24_HOUR_SEND)
    return quota


def _update_configuration_set_sending_enabled(self: SESBackend, name: str, enabled: bool) -> None:
    from moto.ses.exceptions import ConfigurationSetDoesNotExist

    if name not in self.config_sets:
        raise ConfigurationSetDoesNotExist(f"Configuration set <{name}> does not exist")
    self.config_sets[name].sending_options = {"SendingEnabled": enabled}


def _response_get_account_sending_enabled(self: EmailResponse) -> ActionResult:
    return ActionResult({"Enabled": _account_sending_enabled(self.backend)})


def _response_update_account_sending_enabled(self: EmailResponse) -> ActionResult:
    self.backend.account_sending_enabled = self._get_bool_param("Enabled", False)
    return EmptyResult()


def _response_update_configuration_set_sending_enabled(self: EmailResponse) -> ActionResult:
    self.backend.update_configuration_set_sending_enabled(
        self._get_param("ConfigurationSetName"), self._get_bool_param("Enabled", False)
    )
    return EmptyResult()


def set_send_quota(max_24_hour_send: float, account_id: str = "123456789012", region: str = "us-east-1") -> None:
    """What AWS does when a quota increase is granted (or the account's quota is cut)."""
    ses_backends[account_id][region].max24_hour_send = float(max_24_hour_send)


def account_sending_enabled(account_id: str = "123456789012", region: str = "us-east-1") -> bool:
    return _account_sending_enabled(ses_backends[account_id][region])


SESBackend.get_send_quota = _get_send_quota
SESBackend.update_configuration_set_sending_enabled = _update_configuration_set_sending_enabled
EmailResponse.get_account_sending_enabled = _response_get_account_sending_enabled
EmailResponse.update_account_sending_enabled = _response_update_account_sending_enabled
EmailResponse.update_configuration_set_sending_enabled = _response_update_configuration_set_sending_enabled


def configuration_set_sending_enabled(name: str, account_id: str = "123456789012", region: str = "us-east-1") -> bool:
    options = ses_backends[account_id][region].config_sets[name].sending_options or {}
    return options.get("SendingEnabled", True)
