"""The one-time setup of a fresh project, printed by ``make deploy-check`` as commands.

A new project has no APIs enabled, no Firestore database, and no account allowed to build, run or
trigger a function. ``firebase deploy`` enables the APIs its functions need, but it cannot create
the database, the scheduler's account, the secrets, or grant the build, runtime and Eventarc
trigger accounts their roles; these commands do, once. Accounts: functions run as (and Cloud Build
builds as) the default compute service account, ``PROJECT_NUMBER-compute@developer...``, which
is also the identity of Eventarc's triggers and of the scheduled passes' Cloud Scheduler jobs.

``placeholders`` refuses a configuration that still holds the example's values.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict

from ops.deploy import Step
from ops.deploy_config import SECRET_FIELDS, DeployConfig

APIS = (
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudfunctions.googleapis.com",
    "run.googleapis.com",
    "eventarc.googleapis.com",
    "pubsub.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "firebaserules.googleapis.com",
    "firebasehosting.googleapis.com",
    "secretmanager.googleapis.com",
    "identitytoolkit.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
)
# What each account does, and the roles it needs for it (least privilege we know to suffice).
RUNTIME_ROLES = (
    "roles/datastore.user",  # the ledger, orders, holds
    "roles/firebaseauth.viewer",  # revoked-session checks read the user
    "roles/firebasecloudmessaging.admin",  # low-balance pushes
    "roles/logging.logWriter",
    "roles/eventarc.eventReceiver",  # it is also the Firestore triggers' identity
    "roles/run.invoker",  # Eventarc and the scheduled passes' jobs invoke private functions
)
BUILD_ROLES = (
    "roles/cloudbuild.builds.builder",
    "roles/artifactregistry.writer",
    "roles/storage.objectViewer",
    "roles/logging.logWriter",
)
# Settings that name this environment (the example's can only be somebody else's).
IDENTITY_SETTINGS = frozenset(
    {"SERVICE_AUDIENCE", "RAZORPAY_KEY_ID", "STRIPE_PUBLISHABLE_KEY", "EVENT_SERVICE_URL"}
    | {"SERVICE_NAMES"}
)
PUBSUB_AGENT_ROLES = ("roles/iam.serviceAccountTokenCreator",)  # Eventarc's push tokens


def placeholders(config: DeployConfig, example: DeployConfig) -> list[str]:
    """Each value still equal to the example's (or full of XXX), by key."""
    problems = []
    mine, theirs = asdict(config), asdict(example)
    for key in ("project", "metering_accounts", "scheduler_account", "notification_channels"):
        if mine[key] == theirs[key]:
            problems.append(f"{key}: still the example's placeholder {mine[key]!r}")
    for key, value in config.settings.items():
        if "XXXX" in value or (key in IDENTITY_SETTINGS and example.settings.get(key) == value):
            problems.append(f"settings.{key}: still the example's placeholder {value!r}")
    return problems


def setup_commands(config: DeployConfig) -> list[Step]:
    project = f"--project={config.project}"
    number = f"$(gcloud projects describe {config.project} --format='value(projectNumber)')"
    compute = f"{number}-compute@developer.gserviceaccount.com"
    pubsub = f"service-{number}@gcp-sa-pubsub.iam.gserviceaccount.com"

    def grant(member: str, role: str) -> str:
        return (
            f"gcloud projects add-iam-policy-binding {config.project} "
            f'--member="serviceAccount:{member}" --role={role} --condition=None --quiet'
        )

    scheduler_id = config.scheduler_account.split("@", 1)[0]
    steps = [
        Step(
            "APIs the deploy and the service use",
            shlex.join(["gcloud", "services", "enable", *APIS, project]),
        ),
        Step(
            f"Firestore database {config.firestore_database} in {config.firestore_location}",
            shlex.join(
                [
                    "gcloud",
                    "firestore",
                    "databases",
                    "create",
                    f"--database={config.firestore_database}",
                    f"--location={config.firestore_location}",
                    "--type=firestore-native",
                    project,
                ]
            ),
        ),
        Step(
            f"Cloud Scheduler's account {config.scheduler_account} (calls the expiry endpoints)",
            shlex.join(["gcloud", "iam", "service-accounts", "create", scheduler_id, project]),
        ),
    ]
    steps += [Step(f"runtime and trigger account: {r}", grant(compute, r)) for r in RUNTIME_ROLES]
    steps += [Step(f"build account: {r}", grant(compute, r)) for r in BUILD_ROLES]
    steps += [Step(f"Pub/Sub agent: {r}", grant(pubsub, r)) for r in PUBSUB_AGENT_ROLES]
    for name in sorted(f.upper() for f in SECRET_FIELDS):
        line = (
            f'printf %s "${name}" | gcloud secrets create {name} --data-file=- '
            f"--replication-policy=automatic {project}"
        )
        steps.append(Step(f"secret {name} (the value from your shell's ${name})", line))
    return steps
