"""The whole service on this machine: emulators, the gateway, and what later parts add.

``python -m devstack.stack`` (what ``make dev`` runs) starts everything on the default ports,
seeds the default credit packages, prints where each part listens, and stops it all on Ctrl-C.
Tests start the same stack on free ports through ``Stack``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import FrameType
from typing import Any

from devstack import firestore_emulator
from devstack.busy_ports import PortInUse, refuse_busy_ports
from devstack.firestore_emulator import EmulatorMissing, RulesRejected
from devstack.processes import Process, free_port, http_ok, port_open

ROOT = Path(__file__).resolve().parent.parent
EMULATORS = ROOT / "devstack" / "emulators"
NODE_BIN = EMULATORS / "node_modules" / ".bin"
DEFAULT_PROJECT = "demo-billing"
# Service accounts the local stack allows on service endpoints (usage, holds, the scheduler).
METERING_SERVICE_EMAIL = "metering@demo-billing.iam.gserviceaccount.com"
# A second metering account, reporting only as the service named after it ("reports").
REPORTS_SERVICE_EMAIL = "reports@demo-billing.iam.gserviceaccount.com"
SCHEDULER_SERVICE_EMAIL = "scheduler@demo-billing.iam.gserviceaccount.com"
# The `service` names the local metering account reports as (dev, tests, benchmarks).
METERING_SERVICES = ["ai", "chat", "search", "bench", "chaos", "faults"]
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Ports:
    firestore: int = 8080
    auth: int = 9099
    hub: int = 4400
    logging: int = 4500
    gateway: int = 5001
    stripe: int = 8420
    events: int = 5055
    service_certs: int = 8085
    razorpay: int = 9010

    @classmethod
    def free(cls) -> Ports:
        return cls(*(free_port() for _ in fields(cls)))


@dataclass
class Stack:
    """Start, describe and stop the local stack."""

    ports: Ports = field(default_factory=Ports)
    project: str = DEFAULT_PROJECT
    state_dir: Path = ROOT / ".stack"
    processes: dict[str, Process] = field(default_factory=dict)
    # Further settings for the service's processes (e.g. longer timeouts for a loaded test run).
    settings_env: dict[str, str] = field(default_factory=dict)
    razorpay_key_id: str = "rzp_test_local"
    razorpay_key_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    razorpay_webhook_secret: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def razorpay_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.razorpay}"

    # localstripe accepts any sk_ key; the secrets are made per run, never committed.
    stripe_secret_key: str = "sk_test_localstripe"  # noqa: S105 - a fake for localstripe
    stripe_webhook_secret: str = field(default_factory=lambda: f"whsec_{secrets.token_hex(16)}")
    event_service_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    # Cloud Scheduler's jobs (registry SCHEDULED_JOBS), on their cron schedules unless overridden
    # here (function name → seconds). Tests that call the jobs themselves turn them off.
    run_scheduled_jobs: bool = True
    schedule_seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], **settings: Any) -> Stack:
        """The stack ``make dev`` runs: the developer's Stripe webhook secret (e.g. the one
        ``stripe listen`` prints) and DEV_SCHEDULE_<FUNCTION>_SECONDS schedules are honoured."""
        from devstack.scheduler import interval_overrides

        if environ.get("STRIPE_WEBHOOK_SECRET"):
            settings.setdefault("stripe_webhook_secret", environ["STRIPE_WEBHOOK_SECRET"])
        settings.setdefault("schedule_seconds", interval_overrides(environ))
        return cls(**settings)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    @property
    def stripe_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.stripe}"

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.events}"

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.auth}"

    def client_env(self) -> dict[str, str]:
        """Environment that points our code and the SDKs at this stack."""
        return self.settings_env | {
            "FIREBASE_PROJECT_ID": self.project,
            "GOOGLE_CLOUD_PROJECT": self.project,
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{self.ports.firestore}",
            "FIREBASE_AUTH_EMULATOR_HOST": f"127.0.0.1:{self.ports.auth}",
            "RAZORPAY_KEY_ID": self.razorpay_key_id,
            "RAZORPAY_KEY_SECRET": self.razorpay_key_secret,
            "RAZORPAY_WEBHOOK_SECRET": self.razorpay_webhook_secret,
            "RAZORPAY_BASE_URL": self.razorpay_url,
            "STRIPE_SECRET_KEY": self.stripe_secret_key,
            "STRIPE_WEBHOOK_SECRET": self.stripe_webhook_secret,
            "STRIPE_API_BASE": self.stripe_url,
            "STRIPE_PUBLISHABLE_KEY": "pk_test_localstripe",
            # Credits sold in USD through Stripe at ₹83.25 per $1 (dev and tests only).
            "CREDIT_FX_RATES": '{"usd": "8325"}',  # credit units per US dollar
            # A made-up seller registered in Karnataka, for tax invoices (dev and tests only).
            "SELLER_LEGAL_NAME": "Devstack Billing Private Limited",
            "SELLER_ADDRESS": "1 Test Road, Bengaluru 560001",
            "SELLER_STATE": "29",
            "SELLER_GSTIN": "29AAACA1234A1ZG",
            "INVOICE_LUT_REFERENCE": "AD2900000000000",
            "EVENT_SERVICE_URL": self.events_url,
            "EVENT_SERVICE_SECRET": self.event_service_secret,
            "SERVICE_AUDIENCE": self.service_audience,
            # Least privilege: metering accounts report usage and hold credits as the services
            # SERVICE_NAMES lists (reports@ as "reports"); the scheduler expires and reconciles.
            "METERING_SERVICE_ACCOUNTS": f"{METERING_SERVICE_EMAIL},{REPORTS_SERVICE_EMAIL}",
            "SCHEDULER_SERVICE_ACCOUNTS": SCHEDULER_SERVICE_EMAIL,
            "SERVICE_NAMES": json.dumps({METERING_SERVICE_EMAIL: METERING_SERVICES}),
            "SERVICE_CERTS_URL": f"{self.service_certs_url}",
            "PUSH_SENDER": "log",  # no FCM from local runs: pushes are logged
        }

    @property
    def service_certs_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.service_certs}/oauth2/v1/certs"

    @property
    def service_audience(self) -> str:
        """Audience of service tokens: the service's URL, as Cloud Run ID tokens use."""
        return self.gateway_url

    @property
    def service_key_path(self) -> Path:
        """The locally generated key that signs dev service tokens (devstack.service_tokens)."""
        return self.state_dir / "service-identity-key.pem"

    def start(self) -> None:
        # Before anything starts: a taken port would otherwise look ready and fail much later.
        refuse_busy_ports(asdict(self.ports))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.write_provider_env()
        try:
            self.start_firestore()
            self.start_auth()
            self.start_razorpay()
            self.start_stripe()
            self.start_event_receiver()
            self.start_service_identity()
            self.start_gateway()
            self.register_stripe_webhook()
            self.start_relay()
            if self.run_scheduled_jobs:
                self.start_scheduler()
        except BaseException:
            self.stop()
            raise

    def start_firestore(self) -> None:
        """Google's Cloud Firestore emulator, judging client requests by ``firestore.rules``."""
        port = self.ports.firestore
        self._run(
            Process(
                "firestore",
                firestore_emulator.command(port),
                ready=lambda: firestore_emulator.serves_documents(port),
                cwd=self.state_dir,
            )
        )

    def start_auth(self) -> None:
        config = self.state_dir / "firebase.auth.json"
        config.write_text(
            json.dumps(
                {
                    "emulators": {
                        "auth": {"host": "127.0.0.1", "port": self.ports.auth},
                        "hub": {"host": "127.0.0.1", "port": self.ports.hub},
                        "logging": {"host": "127.0.0.1", "port": self.ports.logging},
                        "ui": {"enabled": False},
                    }
                }
            )
        )
        self._run(
            Process(
                "auth",
                [
                    str(NODE_BIN / "firebase"),
                    "emulators:start",
                    "--only",
                    "auth",
                    "--project",
                    self.project,
                    "--config",
                    str(config),
                    "--non-interactive",
                ],
                ready=lambda: http_ok(
                    f"{self.auth_url}/emulator/v1/projects/{self.project}/config"
                ),
                env={"NO_UPDATE_NOTIFIER": "1", "FIREBASE_CLI_DISABLE_UPDATE_CHECK": "true"},
                cwd=self.state_dir,
            ),
            timeout=120,
        )

    def start_razorpay(self) -> None:
        """The Razorpay sandbox, sending signed webhooks to the gateway's Razorpay endpoint."""
        port = self.ports.razorpay
        self._run(
            Process(
                "razorpay",
                [
                    sys.executable,
                    "-m",
                    "devstack.razorpay_sandbox",
                    "--port",
                    str(port),
                    "--key-id",
                    self.razorpay_key_id,
                    "--key-secret",
                    self.razorpay_key_secret,
                    "--webhook-url",
                    f"{self.gateway_url}/api/v1/webhooks/razorpay",
                    "--webhook-secret",
                    self.razorpay_webhook_secret,
                ],
                ready=lambda: port_open(port),
                cwd=ROOT,
            )
        )

    def start_stripe(self) -> None:
        """localstripe (fake Stripe), on 127.0.0.1 only, from an empty store."""
        port = self.ports.stripe
        self._run(
            Process(
                "localstripe",
                [sys.executable, "-m", "devstack.localstripe_server", "--port", str(port)],
                ready=lambda: port_open(port),
                cwd=ROOT,
            )
        )

    def register_stripe_webhook(self) -> None:
        """Make localstripe send its signed events to our webhook, as Stripe's dashboard would."""
        data = urllib.parse.urlencode(
            {"url": f"{self.gateway_url}/api/webhook", "secret": self.stripe_webhook_secret}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - a local http URL we build
            f"{self.stripe_url}/_config/webhooks/billing", data=data, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local URL
            response.read()

    def start_event_receiver(self) -> None:
        """A stand-in event service that prints the notifications it gets (seed 004)."""
        port = self.ports.events
        self._run(
            Process(
                "event-receiver",
                [sys.executable, "-m", "devstack.event_receiver", "--port", str(port)],
                ready=lambda: port_open(port),
                env={"EVENT_SERVICE_SECRET": self.event_service_secret},
                cwd=ROOT,
            )
        )

    def start_gateway(self) -> None:
        self._run(
            Process(
                "gateway",
                [sys.executable, "-m", "devstack.gateway", "--port", str(self.ports.gateway)],
                ready=lambda: http_ok(f"{self.gateway_url}/api/v1/health/live"),
                env=self.client_env(),
                cwd=ROOT,
            )
        )

    def start_service_identity(self) -> None:
        """Serve the certs of a local signing key, standing in for Google's oauth2 certs."""
        from devstack.service_tokens import generate_key

        generate_key(self.service_key_path)
        self._run(
            Process(
                "service-certs",
                [
                    sys.executable,
                    "-m",
                    "devstack.service_tokens",
                    "serve",
                    "--port",
                    str(self.ports.service_certs),
                    "--key",
                    str(self.service_key_path),
                ],
                ready=lambda: http_ok(self.service_certs_url),
                cwd=ROOT,
            )
        )

    def start_relay(self) -> None:
        """Deliver Firestore triggers (registry TRIGGER_FUNCTIONS) as production CloudEvents."""
        ready_file = self.state_dir / "relay.ready"
        ready_file.unlink(missing_ok=True)
        self._run(
            Process(
                "relay",
                [
                    sys.executable,
                    "-m",
                    "devstack.trigger_relay",
                    "--project",
                    self.project,
                    "--ready-file",
                    str(ready_file),
                ],
                ready=ready_file.exists,
                env=self.client_env(),
                cwd=ROOT,
            )
        )

    def start_scheduler(self) -> None:
        """Call the scheduled jobs as Cloud Scheduler does (devstack.scheduler, scheduler.log)."""
        ready_file = self.state_dir / "scheduler.ready"
        ready_file.unlink(missing_ok=True)
        every = [f"--every={name}={seconds}" for name, seconds in self.schedule_seconds.items()]
        self._run(
            Process(
                "scheduler",
                [
                    sys.executable,
                    "-m",
                    "devstack.scheduler",
                    "--gateway",
                    self.gateway_url,
                    "--audience",
                    self.service_audience,
                    "--key",
                    str(self.service_key_path),
                    "--email",
                    SCHEDULER_SERVICE_EMAIL,
                    "--ready-file",
                    str(ready_file),
                    *every,
                ],
                ready=ready_file.exists,
                cwd=ROOT,
            )
        )

    def write_provider_env(self) -> None:
        """Write each provider's local settings (razorpay.env, stripe.env) for use by hand:
        driving the sandbox's /v1 API, or signing events as the Stripe CLI does."""
        env = self.client_env()
        for provider in ("razorpay", "stripe"):
            prefix = f"{provider.upper()}_"
            (self.state_dir / f"{provider}.env").write_text(
                "".join(f"{k}={v}\n" for k, v in env.items() if k.startswith(prefix))
            )

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.processes.clear()

    def _run(self, process: Process, timeout: float = 90.0) -> None:
        process.log_path = self.state_dir / f"{process.name}.log"
        self.processes[process.name] = process
        process.start(timeout=timeout)

    def describe(self) -> str:
        rows = [
            ("billing portal (sign up on the page)", f"{self.gateway_url}/"),
            ("gateway (all HTTP functions)", self.gateway_url),
            ("Firestore emulator, with the rules", f"127.0.0.1:{self.ports.firestore}"),
            ("Firebase Auth emulator", self.auth_url),
            (f"Razorpay sandbox (key {self.razorpay_key_id})", self.razorpay_url),
            ("localstripe (fake Stripe API)", self.stripe_url),
            ("event receiver (EVENT_SERVICE_URL)", self.events_url),
            ("trigger relay (Firestore → triggers)", "logs in relay.log"),
            ("service identity certs", self.service_certs_url),
            ("scheduler (Cloud Scheduler jobs)", "runs in scheduler.log"),
        ]
        lines = [f"  {name:<34} {where}" for name, where in rows]
        return "\n".join(
            [
                "Local billing stack is up:",
                *lines,
                f"  logs in {self.state_dir}/",
                "Credentials, from another terminal in this folder:",
                "  TOKEN=$(make -s user-token)      # a new user (EMAIL=... to sign one in again)",
                "  ADMIN=$(make -s admin-token)     # a user with the admin claim",
                "  SERVICE=$(make -s service-token) # metering account: /api/v1/usage, holds",
                f"Stripe webhook secret (STRIPE_WEBHOOK_SECRET) in {self.state_dir}/stripe.env",
                "Ctrl-C stops everything.",
            ]
        )


def main() -> None:
    try:
        stack = Stack.from_environment(os.environ)
    except ValueError as error:
        sys.exit(f"make dev: {error}")
    serve(stack)


def serve(stack: Stack) -> None:
    """Start ``stack``, say where it listens, and run until interrupted or a part exits."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Ctrl-C, `kill -INT` and `kill` alike. Installed explicitly: a shell without job control (a
    # script, CI) starts a background job with SIGINT ignored, and Python then leaves it ignored.
    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    try:
        stack.start()
        from devstack.seed import seed_default_packages

        seed_default_packages(stack.client_env())
        print(stack.describe(), flush=True)
        while all(p.popen is not None and p.popen.poll() is None for p in stack.processes.values()):
            time.sleep(1)
        print("a part of the stack exited; stopping the rest", file=sys.stderr)
    except (PortInUse, EmulatorMissing, RulesRejected) as error:
        print(f"make dev: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        for signum in STOP_SIGNALS:  # a second Ctrl-C must not cut the stopping short
            signal.signal(signum, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    main()
