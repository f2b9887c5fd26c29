"""Conformance with BrowserAct's OpenAPI spec (tests/data/browseract-openapi-v2.json).

``problems(server)`` checks every request a simulator received and every answer it gave:

- every answer to one of the twelve operations validates against the spec's response schema
  for that operation and status (the error envelope ``ResponseData`` for every non-200 JSON
  answer; no body for stop-task and resume-task), formats included (date-time, int32, int64);
- every request the CLI sent (User-Agent ``browseract/...``) uses the operation's method, only
  its documented query parameters, each valid for its schema, all required ones present, and a
  request body valid for its schema (a JSON body only where the spec has one).

Deliberate deviations, as real answers have them (browseract-api.md §4.1): the envelope's
``data`` is null and its ``time`` is ``YYYY-MM-DD HH:MM:SS``, where the spec says object and
date-time. Answers that a test scripted on purpose (scenario steps, faults, values outside the
enum) are left out: the simulator marks them ``scripted``.

The conftest fixtures ``sim`` and ``make_sim`` run this after every test that uses them.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from browseract_cli.endpoints import OPERATIONS, Operation
from browseract_cli.simulator import RequestRecord

SPEC_PATH = Path(__file__).resolve().parent / "data" / "browseract-openapi-v2.json"
ENVELOPE_TIME = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"


@cache
def spec() -> dict[str, Any]:
    doc = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    patched = copy.deepcopy(doc)
    props = patched["components"]["schemas"]["ResponseData"]["properties"]
    props["data"] = {"type": ["object", "null"]}  # deviation 1: real envelopes carry null
    props["time"] = {"type": "string", "pattern": ENVELOPE_TIME}  # deviation 2: not ISO 8601
    return patched


FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if "T" not in value:
        raise ValueError("not an RFC 3339 date-time")
    datetime.fromisoformat(value)  # raises ValueError
    return True


@FORMATS.checks("int32")
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    # The schema is resolved against the whole spec, so "#/components/..." references work.
    root = {**schema, "components": spec()["components"]}
    return Draft202012Validator(root, format_checker=FORMATS)


def _errors(schema: dict[str, Any], value: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in validator(schema).iter_errors(value)]


def operation_spec(op: Operation) -> dict[str, Any]:
    return spec()["paths"][op.path][op.method.lower()]


BY_PATH = {op.path: op for op in OPERATIONS}


def answer_problems(record: RequestRecord) -> list[str]:
    """What is wrong with the simulator's answer to this request (empty: conformant)."""
    op = BY_PATH.get(record.path)
    if op is None or record.scripted or record.answer_status is None or record.answer_body is None:
        return []
    where = f"{record.method} {record.path} -> {record.answer_status}"
    body = record.answer_body
    if record.answer_status != 200:
        if not body:
            return []
        return [f"{where}: {e}" for e in _errors({"$ref": "#/components/schemas/ResponseData"},
                                                  json.loads(body))]
    content = operation_spec(op)["responses"]["200"].get("content")
    if content is None:
        return [] if body == b"" else [f"{where}: a body where the spec has none"]
    schema = content["application/json"]["schema"]
    return [f"{where}: {e}" for e in _errors(schema, json.loads(body))]


def _coerce(schema: dict[str, Any], text: str) -> Any:
    resolved = schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        resolved = spec()["components"]["schemas"][name]
    if resolved.get("type") == "integer":
        try:
            return int(text)
        except ValueError:
            return text
    return text


def request_problems(record: RequestRecord) -> list[str]:
    """What is wrong with a request the CLI sent (only requests with browseract's User-Agent)."""
    op = BY_PATH.get(record.path)
    if op is None or not (record.user_agent or "").startswith("browseract/"):
        return []
    where = f"{record.method} {record.path}"
    if record.method != op.method:
        return [f"{where}: the spec's method is {op.method}"]
    operation = operation_spec(op)
    declared = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
    problems = [f"{where}: query parameter {name!r} is not in the spec"
                for name in record.query if name not in declared]
    for name, param in declared.items():
        values = record.query.get(name)
        if not values:
            if param.get("required"):
                problems.append(f"{where}: required query parameter {name!r} missing")
            continue
        if len(values) > 1:
            problems.append(f"{where}: query parameter {name!r} sent {len(values)} times")
        problems += [f"{where}: ?{name}: {e}" for e in _errors(param["schema"], _coerce(param["schema"], values[0]))]
    body = operation.get("requestBody")
    if body is None:
        if record.body:
            problems.append(f"{where}: a request body where the spec has none")
    else:
        schema = body["content"]["application/json"]["schema"]
        try:
            doc = json.loads(record.body)
        except ValueError:
            return [*problems, f"{where}: the request body is not JSON"]
        problems += [f"{where}: body: {e}" for e in _errors(schema, doc)]
    return problems


def problems(records: list[RequestRecord]) -> list[str]:
    found: list[str] = []
    for record in records:
        found += answer_problems(record) + request_problems(record)
    return found
