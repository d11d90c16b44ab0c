"""What start-up refuses: every settings rule, production's guardrails included, one line each."""

from __future__ import annotations

from collections.abc import Iterator

from apg.crypto import KEYGEN_COMMAND, SecretBox
from apg.processors.mpesa.mapping import forbidden_callback_word
from apg.security.sources import networks
from apg.settings import DefaultTenantSettings, Settings
from daraja_emulator.defaults import DEFAULTS as EMULATOR_DEFAULTS

# Development-only fallbacks, refused in production (DEV_ENCRYPTION_KEY is in apg.crypto).
DEV_SECRET_KEY = "apg-development-secret-key-not-for-production"

# Prints a new APG_SECRET_KEY; error messages quote it.
SECRET_KEYGEN_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
# Prints a new APG_OPS_TOKEN (43 characters); production refuses one shorter than the minimum.
OPS_TOKEN_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
OPS_TOKEN_MIN_LENGTH = 24

# A production secret key containing one of these (any case, punctuation ignored) was typed
# by a person; a random key of 32+ characters contains a given 6+ letter word ~never.
PLACEHOLDER_WORDS = ("secret", "password", "changeme", "replaceme", "placeholder", "example")

ENVIRONMENTS = ("emulator", "sandbox", "production")  # a tenant's Daraja: the base URL it uses

CHOICES = {
    "app.env": {"development", "production"},
    "default_tenant.environment": set(ENVIRONMENTS),
    "default_tenant.shortcode_kind": {"paybill", "till"},
    "monitoring.log_level": {"DEBUG", "INFO", "WARNING", "ERROR"},
    "monitoring.log_format": {"text", "json"},
}

# Published in this repository: the demo tenant's and the emulator's built-in credentials.
PUBLIC_CREDENTIALS = frozenset(
    {
        DefaultTenantSettings.consumer_key,
        DefaultTenantSettings.consumer_secret,
        DefaultTenantSettings.passkey,
        EMULATOR_DEFAULTS["consumer_key"],
        EMULATOR_DEFAULTS["consumer_secret"],
        *(merchant["passkey"] for merchant in EMULATOR_DEFAULTS["merchants"]),
    }
)

SECRET_KEY = "security.secret_key (APG_SECRET_KEY)"
ENCRYPTION_KEY = "security.encryption_key (APG_ENCRYPTION_KEY)"
OPS_TOKEN = "security.ops_token (APG_OPS_TOKEN)"
OPS_TOKEN_HINT = f"make one with: {OPS_TOKEN_COMMAND}"
DEMO_FIX = "configure the default tenant for real, or disable it (APG_DEFAULT_TENANT_ENABLED=false)"


def problems(s: Settings) -> Iterator[str]:
    """Every rule s breaks, one line each; production adds its own."""
    for key, allowed in CHOICES.items():
        section, name = key.split(".")
        if getattr(getattr(s, section), name) not in allowed:
            yield f"{key}: must be one of {', '.join(sorted(allowed))}"
    yield from _url_problems(s)
    if s.default_tenant.shortcode_kind == "till" and not s.default_tenant.store_number:
        yield "default_tenant.store_number: required for a till"
    if s.payments.currency != "KES":
        yield "payments.currency: only KES is supported"
    if not 0 < s.payments.min_amount <= s.payments.max_amount:
        yield "payments.min_amount: must be positive and <= payments.max_amount"
    yield from _positive_problems(s)
    yield from _security_problems(s)
    yield from _encryption_key_problems(s.security.encryption_key, s.is_production)
    if s.is_production:
        yield from _production_problems(s)


def _positive_problems(s: Settings) -> Iterator[str]:
    """Counts, delays and timeouts that only make sense above zero."""
    for section in ("circuit_breaker", "retry", "reconciliation", "retention"):
        for name, value in vars(getattr(s, section)).items():
            may_be_zero = section == "retry" and name.endswith("delay_seconds")  # no waiting
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if number and (value < 0 if may_be_zero else value <= 0):
                yield f"{section}.{name}: must be positive"


def _security_problems(s: Settings) -> Iterator[str]:
    from limits import parse  # Flask-Limiter's own parser: what it accepts, we accept

    try:
        networks(s.security.callback_allowlist)
    except ValueError as exc:
        yield f"security.callback_allowlist: {exc}"
    for name in ("api_rate_limit", "callback_rate_limit", "auth_failure_rate_limit"):
        value = getattr(s.security, name)
        try:
            if value:
                parse(value)
        except ValueError:
            yield f"security.{name}: {value!r} is not a rate such as 100/minute (empty: no limit)"
    if s.security.callback_token_grace_hours < 0:
        yield "security.callback_token_grace_hours: must not be negative"


def _url_problems(s: Settings) -> Iterator[str]:
    urls = {f"environments.{name}": getattr(s.environments, name) for name in ENVIRONMENTS}
    urls["callbacks.public_base_url"] = s.callbacks.public_base_url
    for key, url in urls.items():
        if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
            yield f"{key}: must be an http(s) URL without spaces"
    word = forbidden_callback_word(s.callbacks.public_base_url)
    if word:
        yield f"callbacks.public_base_url: Daraja rejects URLs containing {word!r}"


def _encryption_key_problems(keys: str | None, production: bool) -> Iterator[str]:
    if not keys:
        if production:
            yield f"{ENCRYPTION_KEY}: required in production; make one with: {KEYGEN_COMMAND}"
        return
    try:
        box = SecretBox(keys)
    except ValueError as exc:  # its message names the key by position, never by value
        yield f"{ENCRYPTION_KEY}: {exc}"
        return
    if production and box.is_development_key:
        yield f"{ENCRYPTION_KEY}: the public development key; make one with: {KEYGEN_COMMAND}"


def _production_problems(s: Settings) -> Iterator[str]:
    weakness = secret_key_weakness(s.security.secret_key)
    if weakness:
        yield f"{SECRET_KEY}: {weakness}; make one with: {SECRET_KEYGEN_COMMAND}"
    if not s.security.ops_token:
        guarded = "/stats, /ops/* and /metrics"
        yield f"{OPS_TOKEN}: required in production (it guards {guarded}); {OPS_TOKEN_HINT}"
    elif len(s.security.ops_token) < OPS_TOKEN_MIN_LENGTH:
        yield f"{OPS_TOKEN}: shorter than {OPS_TOKEN_MIN_LENGTH} characters; {OPS_TOKEN_HINT}"
    if s.app.database_url.startswith("sqlite"):
        yield "app.database_url (DATABASE_URL): production needs PostgreSQL"
    if not s.callbacks.public_base_url.startswith("https://"):
        yield "callbacks.public_base_url (MPESA_CALLBACK_BASE_URL): must be https in production"
    if s.default_tenant.enabled:
        yield from _demo_tenant_problems(s.default_tenant)


def secret_key_weakness(key: str | None) -> str | None:
    """Why production refuses this APG_SECRET_KEY, or None if it will do."""
    if not key:
        return "required in production"
    if key == DEV_SECRET_KEY:
        return "the public development key"
    if len(key) < 32:
        return "shorter than 32 characters"
    letters = "".join(c for c in key.lower() if c.isalnum())
    if len(set(key)) < 8 or any(word in letters for word in PLACEHOLDER_WORDS):
        return "looks like a placeholder, not a random key"
    return None


def _demo_tenant_problems(tenant: DefaultTenantSettings) -> Iterator[str]:
    """An enabled default tenant in production must be a real one, not the emulator's demo."""
    demo = []
    if tenant.environment == "emulator":
        demo.append(("environment (MPESA_ENVIRONMENT)", "'emulator'"))
    if tenant.name == DefaultTenantSettings.name:
        demo.append(("name (APG_DEFAULT_TENANT_NAME)", f"the demo's {tenant.name!r}"))
    for name, var in (
        ("consumer_key", "MPESA_CONSUMER_KEY"),
        ("consumer_secret", "MPESA_CONSUMER_SECRET"),
        ("passkey", "MPESA_PASSKEY"),
    ):
        if getattr(tenant, name) in PUBLIC_CREDENTIALS:
            demo.append((f"{name} ({var})", "a public demo credential"))
    for key, what in demo:
        yield f"default_tenant.{key}: {what} in production; {DEMO_FIX}"
