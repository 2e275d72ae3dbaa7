"""Indian states and union territories by GST state code, and GSTIN validation.

A GSTIN is 15 characters: the 2-digit state code, the holder's PAN (5 letters, 4 digits, a
letter; the 4th letter is the holder type), the registration's entity code (1-9, A-Z), ``Z``, and
a check character. The check character is Luhn mod 36 over the first 14 (as GSTN's offline tool
computes it): each character's value (0-9, A-Z = 10-35) is multiplied by 1 and 2 alternately
from the left, each product contributes quotient plus remainder of division by 36, and the check
value is ``(36 - sum % 36) % 36``.
"""

from __future__ import annotations

import re

# GST state codes (current list: 25 Daman and Diu merged into 26 in 2020; 28 was Andhra Pradesh
# before 37; 97 is "other territory", 99 the Centre and not a place of supply of a buyer).
STATES: dict[str, str] = {
    "01": "Jammu and Kashmir",
    "02": "Himachal Pradesh",
    "03": "Punjab",
    "04": "Chandigarh",
    "05": "Uttarakhand",
    "06": "Haryana",
    "07": "Delhi",
    "08": "Rajasthan",
    "09": "Uttar Pradesh",
    "10": "Bihar",
    "11": "Sikkim",
    "12": "Arunachal Pradesh",
    "13": "Nagaland",
    "14": "Manipur",
    "15": "Mizoram",
    "16": "Tripura",
    "17": "Meghalaya",
    "18": "Assam",
    "19": "West Bengal",
    "20": "Jharkhand",
    "21": "Odisha",
    "22": "Chhattisgarh",
    "23": "Madhya Pradesh",
    "24": "Gujarat",
    "26": "Dadra and Nagar Haveli and Daman and Diu",
    "27": "Maharashtra",
    "29": "Karnataka",
    "30": "Goa",
    "31": "Lakshadweep",
    "32": "Kerala",
    "33": "Tamil Nadu",
    "34": "Puducherry",
    "35": "Andaman and Nicobar Islands",
    "36": "Telangana",
    "37": "Andhra Pradesh",
    "38": "Ladakh",
    "97": "Other Territory",
}

CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# State code, PAN (holder type as the 4th letter), entity code, "Z", check character.
GSTIN_SHAPE = re.compile(r"^[0-9]{2}[A-Z]{3}[ABCFGHLJPTK][A-Z][0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")


def state_name(code: str) -> str:
    return STATES.get(code, code)


def check_character(first_14: str) -> str:
    """The GSTIN check character of its first 14 characters (Luhn mod 36, see module)."""
    total = 0
    for position, character in enumerate(first_14):
        product = CHARACTERS.index(character) * (2 if position % 2 else 1)
        total += product // 36 + product % 36
    return CHARACTERS[(36 - total % 36) % 36]


def gstin_problem(gstin: str) -> str | None:
    """Why ``gstin`` is not a valid GSTIN (None when it is); expects it upper-case."""
    if len(gstin) != 15:
        return "must be 15 characters"
    if gstin[:2] not in STATES:
        return f"starts with {gstin[:2]!r}, not a GST state code"
    if not GSTIN_SHAPE.match(gstin):
        return "must be a state code, a PAN, an entity code, Z and a check character"
    if check_character(gstin[:14]) != gstin[14]:
        return "the check character does not match (a mistyped character?)"
    return None
