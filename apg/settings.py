"""Typed settings: one frozen tree, built once at start-up by apg.config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AppSettings:
    env: str = "development"  # development | production
    # URLs may carry passwords: kept out of repr like every other secret.
    database_url: str = field(default="sqlite:///apg.db", repr=False)  # relative: in instance/
    redis_url: str | None = field(default=None, repr=False)  # set: tokens shared through Redis


@dataclass(frozen=True)
class EnvironmentSettings:
    """Daraja base URLs by tenant environment."""

    emulator: str = "http://127.0.0.1:8089"
    sandbox: str = "https://sandbox.safaricom.co.ke"
    production: str = "https://api.safaricom.co.ke"


@dataclass(frozen=True)
class DefaultTenantSettings:
    """The tenant `flask apg bootstrap` creates (MPESA_* variables fill it)."""

    # False: there is no default tenant to bootstrap. Production needs it configured for real
    # (own credentials, not the emulator) or disabled, e.g. when the CLI creates the tenants.
    enabled: bool = True
    name: str = "Demo Merchant"
    environment: str = "emulator"
    shortcode: str = "174379"
    shortcode_kind: str = "paybill"  # paybill | till
    store_number: str | None = None  # till only: the HO/store number that owns the passkey
    # Credentials stay out of repr(), hence out of logs and tracebacks.
    consumer_key: str = field(default="apg-emulator-key", repr=False)
    consumer_secret: str = field(default="apg-emulator-secret", repr=False)
    passkey: str = field(
        default="bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919", repr=False
    )
    base_url: str | None = None  # point at any Daraja-compatible server


@dataclass(frozen=True)
class CallbackSettings:
    public_base_url: str = "http://127.0.0.1:5000"


# Safaricom's callback egress addresses: the 14-address union of the published lists
# (API.md §15.5; .212.128 and .212.132 are missing from the 12-address list).
SAFARICOM_CALLBACK_IPS = (
    "196.201.214.200",
    "196.201.214.206",
    "196.201.214.207",
    "196.201.214.208",
    "196.201.213.114",
    "196.201.213.44",
    "196.201.212.69",
    "196.201.212.74",
    "196.201.212.127",
    "196.201.212.128",
    "196.201.212.129",
    "196.201.212.132",
    "196.201.212.136",
    "196.201.212.138",
)


@dataclass(frozen=True)
class SecuritySettings:
    # Secrets stay out of repr(). encryption_key: Fernet keys, comma-separated, newest first.
    secret_key: str | None = field(default=None, repr=False)
    encryption_key: str | None = field(default=None, repr=False)
    trusted_proxy_hops: int = 0  # X-Forwarded-For hops trusted for callback source IPs
    ops_token: str | None = field(default=None, repr=False)  # /stats, /ops/*, /metrics
    # Safaricom's published callback source addresses (API.md §15.5), IPs or CIDR networks.
    callback_allowlist: tuple[str, ...] = SAFARICOM_CALLBACK_IPS
    # Callbacks from outside the allowlist are refused (403): None = in production only.
    enforce_callback_allowlist: bool | None = None
    # Rate limits ("<n>/<second|minute|hour>"; empty = none): per API key on the merchant API,
    # per source IP on callbacks from outside the allowlist (never on allowlisted ones).
    api_rate_limit: str = "1200/minute"
    callback_rate_limit: str = "100/minute"
    # Failed authentications (401) per source address: past it, that address gets 429s.
    auth_failure_rate_limit: str = "60/minute"
    # A rotated callback URL token keeps working this long (open operations' callbacks).
    callback_token_grace_hours: int = 72
    # A successful STK callback completes the payment only once STK Query agrees.
    confirm_callbacks_by_query: bool = False


@dataclass(frozen=True)
class PerformanceSettings:
    connect_timeout_seconds: float = 3.05
    read_timeout_seconds: float = 15.0
    http_pool_maxsize: int = 128  # one kept-alive connection per gunicorn thread
    db_pool_size: int = 5


@dataclass(frozen=True)
class MonitoringSettings:
    log_level: str = "INFO"
    log_format: str = "text"  # text (LOG_FORMAT) | json: one object a line, with request,
    # tenant and operation ids
    # Each Daraja request body and answer at INFO (apg.daraja.traffic), credentials replaced
    # and phone numbers masked: for diagnosing an integration, off in normal running.
    log_daraja_traffic: bool = False


@dataclass(frozen=True)
class TokenSettings:
    refresh_buffer_seconds: int = 60


@dataclass(frozen=True)
class CircuitBreakerSettings:
    """One breaker per M-Pesa account and Daraja base URL; shared through Redis when set."""

    enabled: bool = True
    failure_threshold: int = 5  # consecutive transport failures (or 5xx without Daraja's body)
    reset_timeout_seconds: int = 30  # open this long, then one probe may go


@dataclass(frozen=True)
class RetrySettings:
    """Retries of Daraja calls that are safe to send again (apg.processors.mpesa.retry)."""

    attempts: int = 3  # tries in all, the first included: 1 = never retry
    base_delay_seconds: float = 0.25  # before the first retry; doubles each time
    max_delay_seconds: float = 2.0  # the cap; each wait is jittered between half and all of it


@dataclass(frozen=True)
class PaymentSettings:
    currency: str = "KES"
    min_amount: int = 100  # minor units: KES 1
    max_amount: int = 25_000_000  # minor units: KES 250,000 (Daraja's 2025 per-transaction cap)
    idempotency_ttl_hours: int = 24
    idempotency_lease_seconds: int = 60  # an in-flight claim's lease (longer than any request)


@dataclass(frozen=True)
class ReconciliationSettings:
    """`flask apg reconcile` and `flask apg worker` (apg.payments.reconciliation)."""

    after_seconds: int = 90  # no outcome this long after creation: ask M-Pesa (API.md §16)
    stk_give_up_after_seconds: int = 600  # an STK Push still undecided: review ("a few minutes")
    give_up_after_seconds: int = 86_400  # B2C, B2B, reversals still not found: review
    max_backoff_seconds: int = 3600  # asks back off from after_seconds, doubling, up to this
    interval_seconds: int = 30  # the worker's pause between passes
    batch_size: int = 100  # operations one pass looks at, at most
    c2b_pull_every_seconds: int = 900  # the worker asks Daraja's Pull API this often, at most
    c2b_pull_window_seconds: int = 7200  # …for this much history (Pull keeps 48 h)


@dataclass(frozen=True)
class WebhookSettings:
    """Merchant webhooks, delivered by `flask apg worker` (apg.notifications.delivery)."""

    timeout_seconds: float = 10.0  # a 2xx within this is delivered; anything else is retried
    # Seconds before each retry (each up to a tenth earlier, jittered): about three days, then
    # the delivery is failed. Its length is the number of retries.
    schedule_seconds: tuple[int, ...] = (60, 300, 1800, 7200, 21600, 43200, 86400, 86400)
    lease_seconds: int = 120  # a claimed delivery is another worker's again after this
    batch_size: int = 100  # events fanned out, and deliveries attempted, per pass at most


@dataclass(frozen=True)
class RetentionSettings:
    """What the worker purges (apg.housekeeping), in batches of batch_size rows."""

    callbacks_days: int = 90  # raw callbacks, once settled (received/unmatched ones stay)
    events_days: int = 30  # merchant events, once no delivery of theirs is pending
    batch_size: int = 500
    every_seconds: int = 3600  # the worker purges at most this often


@dataclass(frozen=True)
class Settings:
    app: AppSettings = field(default_factory=AppSettings)
    environments: EnvironmentSettings = field(default_factory=EnvironmentSettings)
    default_tenant: DefaultTenantSettings = field(default_factory=DefaultTenantSettings)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    performance: PerformanceSettings = field(default_factory=PerformanceSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    token: TokenSettings = field(default_factory=TokenSettings)
    circuit_breaker: CircuitBreakerSettings = field(default_factory=CircuitBreakerSettings)
    retry: RetrySettings = field(default_factory=RetrySettings)
    payments: PaymentSettings = field(default_factory=PaymentSettings)
    reconciliation: ReconciliationSettings = field(default_factory=ReconciliationSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    emulator: Any = None  # daraja_emulator.EmulatorConfig, validated by the emulator package

    @property
    def is_production(self) -> bool:
        return self.app.env == "production"

    def base_url_for(self, environment: str) -> str:
        return str(getattr(self.environments, environment))
