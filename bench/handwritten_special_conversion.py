"""The special conversion, hand-written: read a scenario YAML, compute with Decimal, print JSON.

    python bench/handwritten_special_conversion.py examples/special_conversion/holder_converts.yaml

The yardstick for `clause eval`'s cold start (bench/bench_cold_start.py) and
for its evaluation (bench/bench_special_conversion.py): what a programmer
would write for this one contract, with the contract's dates, zones and
Business Day worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import ROUND_CEILING, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

EXACT = Context(prec=40, traps=[InvalidOperation, DivisionByZero, Overflow])
EST = dt.timezone(dt.timedelta(hours=-5))
PERIOD_START = dt.datetime(2003, 6, 18, 17, 0, tzinfo=EST)
PERIOD_END = dt.datetime(2003, 6, 19, 9, 15, tzinfo=EST)  # the next Business Day after June 18, 2003
PRICE = Decimal("2.83849")
THOUSAND = Decimal(1000)


def money(value: Any) -> Decimal:
    return Decimal(str(value).replace("$", "").replace(",", ""))


def percent(value: Any) -> Decimal:
    return Decimal(str(value).strip().rstrip("%")) / 100


def special_conversion(f: dict[str, Any]) -> dict[str, Any]:
    """The results, exact, from already-converted facts."""
    rate = EXACT.divide(THOUSAND, PRICE)
    to_convert, amount = f["principal_to_convert"], f["principal_amount"]
    shares = int(EXACT.multiply(EXACT.divide(to_convert, THOUSAND), rate).to_integral_value(rounding=ROUND_CEILING))
    remainder = EXACT.subtract(amount, to_convert)
    in_period = PERIOD_START <= f["notice_time"] <= PERIOD_END
    denomination = to_convert >= THOUSAND and EXACT.remainder(to_convert, THOUSAND) == 0 and to_convert <= amount
    remainder_ok = remainder == 0 or EXACT.remainder(remainder, THOUSAND) == 0
    threshold = Decimal("0.15") if f.get("owner_is_national_indemnity", False) else Decimal("0.20")
    representations = (not f["owners_are_group"] and not f["owner_is_affiliate"]
                       and f["owner_ownership_pct"] < threshold and f["owner_is_institutional_investor"]
                       and f["owner_voting_securities_pct"] <= Decimal("0.15"))
    permitted = (in_period and denomination and remainder_ok and f["owner_certificate_delivered"]
                 and representations)
    return {
        "period_start": PERIOD_START, "period_end": PERIOD_END, "in_period": in_period,
        "special_conversion_price": PRICE, "special_conversion_rate": rate, "shares_issuable": shares,
        "conversion_permitted": permitted, "unconverted_remainder": remainder,
        "share_issue_deadline": dt.date(2003, 6, 27),
    }


def convert_facts(raw: dict[str, Any]) -> dict[str, Any]:
    facts = dict(raw)
    notice = raw["notice_time"]
    facts["notice_time"] = notice if isinstance(notice, dt.datetime) else dt.datetime.fromisoformat(str(notice))
    for name in ("principal_amount", "principal_to_convert"):
        facts[name] = money(raw[name])
    for name in ("owner_ownership_pct", "owner_voting_securities_pct"):
        facts[name] = percent(raw[name])
    return facts


def encode(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def main() -> None:
    import yaml

    with open(sys.argv[1], encoding="utf-8") as handle:
        scenario = yaml.safe_load(handle)
    results = special_conversion(convert_facts(scenario["facts"]))
    print(json.dumps({"scenario": sys.argv[1], "results": {k: {"value": encode(v)} for k, v in results.items()}},
                     indent=2))


if __name__ == "__main__":
    main()
