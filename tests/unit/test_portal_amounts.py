"""The portal turns amounts into text and typed text into credit units with integers only."""

from __future__ import annotations

import json
import shutil
import subprocess

from devstack.portal_site import PORTAL
from tests.prerequisites import prerequisite_missing

CASES = {
    "credits": [[123450], [5], [0], [-2500], [100_000_000_00]],
    "signedCredits": [[2500], [-2500]],
    "money": [[59000, "inr"], [2000, "usd"], [-2000, "usd"], [150, "jpy"]],
    "parseCredits": [
        ["19.99"],
        ["0.29"],
        ["1,000.05"],
        ["50"],
        ["-25"],
        ["0.001"],
        ["abc"],
        [""],
        ["1e3"],
        ["4.35"],
    ],
    "parseCreditsSigned": [["-25"], ["+12.5"], ["-0.07"]],
}

EXPECTED = {
    "credits": ["1,234.50", "0.05", "0.00", "\u221225.00", "10,00,00,000.00"],
    "signedCredits": ["+25.00", "\u221225.00"],
    "money": ["₹590.00", "$20.00", "\u2212$20.00", "JPY 1.50"],
    # 19.99 * 100 and 4.35 * 100 are not whole numbers in floating point: parsing must not multiply.
    "parseCredits": [1999, 29, 100005, 5000, None, None, None, None, None, 435],
    "parseCreditsSigned": [-2500, 1250, -7],
}

SCRIPT = """
import * as f from '%s';
const cases = JSON.parse(process.argv[1]);
const out = {};
for (const [name, calls] of Object.entries(cases)) {
  out[name] = calls.map((args) => name === 'parseCreditsSigned'
    ? f.parseCredits(args[0], {signed: true}) : f[name](...args));
}
console.log(JSON.stringify(out));
"""


def test_amounts_are_written_and_read_without_floating_point() -> None:
    node = shutil.which("node")
    if node is None:
        prerequisite_missing(
            "node is not installed (make install brings Node 20 for the emulators)"
        )
    module = (PORTAL / "js" / "format.js").as_uri()
    result = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT % module, json.dumps(CASES)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == EXPECTED
