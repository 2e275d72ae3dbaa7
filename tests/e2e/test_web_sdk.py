"""The web SDK (sdk/) against a real local stack: its vitest integration tests, run with the
Firebase JS SDK under Node signed in through the Auth emulator, listening to the Firestore emulator
over gRPC, paying through the Razorpay sandbox and localstripe (sdk/test/integration/)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devstack.stack import METERING_SERVICE_EMAIL, Stack
from tests.conftest import make_admin, sign_up

pytestmark = pytest.mark.stack

SDK = Path(__file__).resolve().parents[2] / "sdk"
PASSWORD = "correct-horse-9"  # what sign_up gives every test user


def test_the_web_sdk_works_against_the_local_stack(stack_env: Stack, service_tokens) -> None:
    npm = shutil.which("npm")
    assert npm, "npm is needed for the web SDK's tests (Node 20 and npm)"
    assert (SDK / "node_modules" / ".bin" / "vitest").exists(), "run `make sdk` (npm ci in sdk/)"
    user, other, admin = (
        sign_up(stack_env),
        sign_up(stack_env),
        make_admin(stack_env, sign_up(stack_env)),
    )
    env = os.environ | {
        "BILLING_GATEWAY_URL": stack_env.gateway_url,
        "FIREBASE_PROJECT_ID": stack_env.project,
        "FIREBASE_AUTH_EMULATOR_URL": stack_env.auth_url,
        "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{stack_env.ports.firestore}",
        "RAZORPAY_SANDBOX_URL": stack_env.razorpay_url,
        "STRIPE_API_URL": stack_env.stripe_url,
        "STRIPE_SECRET_KEY": stack_env.stripe_secret_key,
        "BILLING_TEST_PASSWORD": PASSWORD,
        "BILLING_USER_EMAIL": user.email,
        "BILLING_OTHER_USER_EMAIL": other.email,
        "BILLING_ADMIN_EMAIL": admin.email,
        "METERING_SERVICE_TOKEN": service_tokens.mint(
            METERING_SERVICE_EMAIL, stack_env.service_audience
        ),
    }
    vitest = subprocess.run(
        [npm, "run", "--silent", "test:integration", "--", "--reporter=verbose"],
        cwd=SDK,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    print(vitest.stdout)
    assert vitest.returncode == 0, vitest.stdout[-8000:] + vitest.stderr[-4000:]
