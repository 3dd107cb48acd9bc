#!/usr/bin/env python3
"""Checks what `template.yaml` deploys after the SAM transform, for the protections that
cfn-lint and checkov do not look at:

- no IAM role carries a managed policy (SAM's AWSLambdaBasicExecutionRole and
  AWSLambdaSQSQueueExecutionRole grant `Resource: "*"`), no action is a wildcard, and the only
  statements on `Resource: "*"` are X-Ray's writes (which support no resource-level permission);
- the webhook gateway's DynamoDB statements are all limited by `dynamodb:LeadingKeys` to its own
  key prefixes;
- every function has reserved concurrency (under the `ReservingConcurrency` condition), and the
  normaliser's SQS event source a maximum concurrency equal to the normaliser's reservation;
- the HTTP API stage throttles its default route and each webhook route, and writes an access log;
- every dead-letter queue has an alarm on ApproximateNumberOfMessagesVisible that notifies the
  alarm topic, and the outputs name the topic and the DLQs to redrive.

Run with the venv that has `aws-sam-translator` (tests/run.sh installs it):
`.venv/bin/python tests/template/check_template.py [template.yaml]`. Exits 1 naming each problem.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions.
WILDCARD_RESOURCE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# What the webhook gateway may read and write in the table, by partition key prefix
# (crates/aws/src/keys.rs): descriptors and instances; its own rate-limit counters and the
# delivery-id claims and records of replay protection (dedup keys `webhook-claim/...` and
# `webhook-delivery/...`), never the normaliser's signal dedup records (`DEDUP#{signal id}`).
GATEWAY_READ_PREFIXES = {"CONNECTOR#*", "PROJECT#*"}
GATEWAY_WRITE_PREFIXES = {"RATE#*", "DEDUP#webhook-claim/*", "DEDUP#webhook-delivery/*"}
DYNAMODB_READS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"}
WEBHOOK_ROUTES = {
    f"{method} /webhooks/{{connectorId}}/{{projectId}}" for method in ("POST", "GET", "HEAD")
}
# Placeholder values for the parameters without a default.
PARAMETERS = {"JwtIssuer": "https://issuer.example", "JwtAudience": ["dashboard"]}


class NoManagedPolicies:
    """The translator asks for managed policy ARNs by name; the template names none."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(path: Path) -> dict[str, Any]:
    """The template as CloudFormation receives it after the SAM transform."""
    template = yaml_parse(path.read_text())
    for resource in template.get("Resources", {}).values():
        # The translator wants an S3 location; `sam build` puts one there.
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/function.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, dict(PARAMETERS), NoManagedPolicies())


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for policy in role["Properties"].get("Policies", []):
        found.extend(as_list(policy["PolicyDocument"]["Statement"]))
    return found


def role_of(resources: dict[str, Any], function: str) -> tuple[str, dict[str, Any]] | None:
    role = resources[function]["Properties"].get("Role")
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        name = role["Fn::GetAtt"][0]
        return name, resources[name]
    return None


def check_roles(resources: dict[str, Any], problems: list[str]) -> None:
    for name, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        if resource["Properties"].get("ManagedPolicyArns"):
            problems.append(f"{name}: managed policies {resource['Properties']['ManagedPolicyArns']} (write scoped statements)")
        for statement in statements(resource):
            actions = as_list(statement.get("Action", []))
            for action in actions:
                if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                    problems.append(f"{name}: wildcard action {action}")
            if "*" in as_list(statement.get("Resource", [])):
                broad = sorted(set(actions) - WILDCARD_RESOURCE_ACTIONS)
                if broad:
                    problems.append(f"{name}: {broad} on Resource \"*\"")


def check_gateway_keys(resources: dict[str, Any], problems: list[str]) -> None:
    found = role_of(resources, "WebhookGatewayFunction")
    if found is None:
        problems.append("WebhookGatewayFunction: no explicit Role (SAM would generate one with managed policies)")
        return
    name, role = found
    for statement in statements(role):
        actions = {a for a in as_list(statement.get("Action", [])) if a.startswith("dynamodb:")}
        if not actions:
            continue
        condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
        prefixes = set(as_list(condition.get("dynamodb:LeadingKeys", [])))
        allowed = GATEWAY_READ_PREFIXES | GATEWAY_WRITE_PREFIXES if actions <= DYNAMODB_READS else GATEWAY_WRITE_PREFIXES
        if not prefixes:
            problems.append(f"{name}: {sorted(actions)} without a dynamodb:LeadingKeys condition")
        elif not prefixes <= allowed:
            problems.append(f"{name}: {sorted(actions)} on key prefixes {sorted(prefixes - allowed)} beyond {sorted(allowed)}")


def check_concurrency(resources: dict[str, Any], problems: list[str]) -> None:
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        reserved = resource["Properties"].get("ReservedConcurrentExecutions")
        if not (isinstance(reserved, dict) and reserved.get("Fn::If", [None])[0] == "ReservingConcurrency"):
            problems.append(f"{name}: ReservedConcurrentExecutions is not set under the ReservingConcurrency condition")
    mappings = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    normaliser = [m for m in mappings if m["Properties"].get("FunctionName") == {"Ref": "NormaliserFunction"}]
    if not normaliser:
        problems.append("NormaliserFunction: no SQS event source mapping")
    for mapping in normaliser:
        maximum = mapping["Properties"].get("ScalingConfig", {}).get("MaximumConcurrency")
        if maximum != {"Ref": "NormaliserConcurrency"}:
            problems.append(f"normaliser event source: MaximumConcurrency is {maximum}, not NormaliserConcurrency")
    reserved = resources.get("NormaliserFunction", {}).get("Properties", {}).get("ReservedConcurrentExecutions")
    if isinstance(reserved, dict) and reserved.get("Fn::If", [None, None])[1] != {"Ref": "NormaliserConcurrency"}:
        problems.append("NormaliserFunction: reserved concurrency is not NormaliserConcurrency (the event source would be throttled)")


def check_api(resources: dict[str, Any], problems: list[str]) -> None:
    stages = {n: r for n, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Stage"}
    if not stages:
        problems.append("no HTTP API stage")
    for name, stage in stages.items():
        props = stage["Properties"]
        default = props.get("DefaultRouteSettings", {})
        if "ThrottlingBurstLimit" not in default or "ThrottlingRateLimit" not in default:
            problems.append(f"{name}: DefaultRouteSettings has no throttling")
        routes = props.get("RouteSettings", {})
        for route in sorted(WEBHOOK_ROUTES):
            settings = routes.get(route, {})
            if "ThrottlingBurstLimit" not in settings or "ThrottlingRateLimit" not in settings:
                problems.append(f"{name}: route {route!r} has no throttling of its own")
        if not props.get("AccessLogSettings", {}).get("DestinationArn"):
            problems.append(f"{name}: no access log")


def check_dead_letter_alarms(template: dict[str, Any], problems: list[str]) -> None:
    resources = template["Resources"]
    dead_letter_queues = set()
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in props:
            dead_letter_queues.add(props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])
        if resource["Type"] == "AWS::Lambda::Function" and "DeadLetterConfig" in props:
            dead_letter_queues.add(props["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0])
    topics = {n for n, r in resources.items() if r["Type"] == "AWS::SNS::Topic"}
    for queue in sorted(dead_letter_queues):
        alarmed = False
        for alarm in (r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"):
            props = alarm["Properties"]
            dimensions = props.get("Dimensions", [])
            on_queue = any(d.get("Value") == {"Fn::GetAtt": [queue, "QueueName"]} for d in dimensions)
            notifies = any(isinstance(a, dict) and a.get("Ref") in topics for a in props.get("AlarmActions", []))
            if (
                on_queue
                and notifies
                and props.get("MetricName") == "ApproximateNumberOfMessagesVisible"
                and props.get("ComparisonOperator") == "GreaterThanThreshold"
                and props.get("Threshold") == 0
            ):
                alarmed = True
        if not alarmed:
            problems.append(f"{queue}: no alarm on ApproximateNumberOfMessagesVisible > 0 notifying an SNS topic")
    outputs = template.get("Outputs", {})
    for output in ("AlarmTopicArn", "IngestDeadLetterQueueArn", "SignalsDeadLetterQueueArn"):
        if output not in outputs:
            problems.append(f"Outputs: {output} is missing")


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "template.yaml")
    template = transformed(path)
    resources = template["Resources"]
    problems: list[str] = []
    check_roles(resources, problems)
    check_gateway_keys(resources, problems)
    check_concurrency(resources, problems)
    check_api(resources, problems)
    check_dead_letter_alarms(template, problems)
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{path}: roles scoped, gateway keys limited, concurrency, throttling, access log and DLQ alarms in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
