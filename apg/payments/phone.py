"""Normalise a Kenyan mobile number to Daraja's 12-digit 2547…/2541… form."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType


class InvalidPhoneNumber(ValueError):
    pass


def normalise_msisdn(raw: str) -> str:
    """Accept 07XX…, 01XX…, 7XX…, 1XX…, +254…, 254… (spaces/dashes allowed); return 2547…/2541…."""
    text = re.sub(r"[\s\-()]", "", str(raw))
    if not re.fullmatch(r"\+?\d{9,12}", text):
        raise InvalidPhoneNumber("must be a Kenyan mobile number such as 0712345678")
    if len(text) == 9:  # 7XXXXXXXX / 1XXXXXXXX without the trunk 0
        text = "0" + text
    elif text.startswith("254"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "KE")
    except NumberParseException as exc:
        raise InvalidPhoneNumber("must be a Kenyan mobile number such as 0712345678") from exc
    if number.country_code != 254 or not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("must be a valid Kenyan (+254) mobile number")
    if phonenumbers.number_type(number) != PhoneNumberType.MOBILE:
        raise InvalidPhoneNumber("must be a mobile number (M-Pesa cannot prompt a landline)")
    msisdn = f"254{number.national_number}"
    if not re.fullmatch(r"254[71]\d{8}", msisdn):
        raise InvalidPhoneNumber("must be a 2547… or 2541… mobile number")
    return msisdn
