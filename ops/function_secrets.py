"""Write ``functions/function_secrets.json``: the secrets each deployed function reads, by name.

The SDK declarations (functions/declarations.py) mount exactly these Secret Manager secrets on
each function. Finding them reads the code (ops.settings_reach, ~1.5 s), too slow for a cold
start, so the result is generated once and committed; a test keeps it current.

    python -m ops.function_secrets
"""

from __future__ import annotations

import json

from functions.declarations import SECRETS_FILE
from functions.registry import HTTP_FUNCTIONS, SCHEDULED_JOBS, TRIGGER_FUNCTIONS
from ops.deploy_config import SECRET_FIELDS
from ops.settings_reach import settings_read_by_function, settings_read_by_http_function


def function_secrets() -> dict[str, list[str]]:
    """Function name -> the secret settings (environment variable names) its code reads."""
    read = {f.name: settings_read_by_http_function(f.module, f.name) for f in HTTP_FUNCTIONS}
    read |= {f.name: settings_read_by_function(f.module, f.name) for f in TRIGGER_FUNCTIONS}
    # A scheduled pass runs its HTTP endpoint's domain call: the same secrets.
    read |= {job.name: read[job.function] for job in SCHEDULED_JOBS}
    return {
        name: sorted(f.upper() for f in fields & SECRET_FIELDS) for name, fields in read.items()
    }


def render() -> str:
    return json.dumps(function_secrets(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    SECRETS_FILE.write_text(render())
    print(f"wrote {SECRETS_FILE}")


if __name__ == "__main__":
    main()
