#!/usr/bin/env python3
"""Writes template.yaml, the SAM template of keiyaku's main stack, from what the code says.

    python3 infra/template.py            # writes template.yaml
    python3 infra/template.py --check    # fails if template.yaml is not what it would write

Forty-odd functions differ only in their route or task and in the ports their use case
takes, so the template is generated rather than kept by hand: the routes come from the route
table (shared/core/src/routes.rs), the task functions from statemachines/tasks.json, and
each function's IAM policy from infra/ports.json (the ports each route's and task's use
cases take) through PORT_POLICIES below. Edit those, never template.yaml. Standard library
only, so tests/run and an operator's laptop run it as is.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG_RETENTION_DAYS = 731  # the white paper keeps logs two years


class Tag:
    """A CloudFormation short-form intrinsic function (`!Ref X`, `!Sub "..."`, `!GetAtt A.B`)."""

    def __init__(self, tag: str, value):
        self.tag, self.value = tag, value


def ref(name: str) -> Tag:
    return Tag("Ref", name)


def sub(text: str) -> Tag:
    return Tag("Sub", text)


def getatt(name: str) -> Tag:
    return Tag("GetAtt", name)


# --- a small YAML writer (block style; flow style inside tagged collections) -------------

PLAIN = re.compile(r"^[A-Za-z_/$][A-Za-z0-9_ ./:${}@*,()+=<>-]*$")
RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Tag):
        return f"!{v.tag} {flow(v.value)}"
    s = str(v)
    if PLAIN.match(s) and s.lower() not in RESERVED and not s.endswith(" ") and ": " not in s and " #" not in s:
        return s
    return json.dumps(s, ensure_ascii=False)


def flow(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(x)}" for k, x in v.items()) + "}"
    return scalar(v)


def is_block(v) -> bool:
    return isinstance(v, (dict, list)) and len(v) > 0


def emit(v, indent: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(v, dict):
        for k, x in v.items():
            if is_block(x):
                lines.append(f"{pad}{scalar(k)}:")
                lines.extend(emit(x, indent + 2))
            else:
                lines.append(f"{pad}{scalar(k)}: {flow(x)}")
    elif isinstance(v, list):
        for x in v:
            if is_block(x):
                inner = emit(x, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines.extend(inner[1:])
            else:
                lines.append(f"{pad}- {flow(x)}")
    return lines


# --- what the code says ---------------------------------------------------------------------


def routes() -> list[tuple[str, str, str]]:
    """(name, method, path) of every route deployed to AWS."""
    text = (ROOT / "shared/core/src/routes.rs").read_text()
    found = re.findall(r'\n\s*(route|local)\(\s*"(\w+)",\s*"(\w+)",\s*"([^"]+)",?\s*\)', text)
    return [(name, method, path) for kind, name, method, path in found if kind == "route"]


def tasks() -> dict[str, str]:
    """Substitution key -> handler, from statemachines/tasks.json."""
    entries = json.loads((ROOT / "statemachines/tasks.json").read_text())
    return {key: entry["handler"] for key, entry in entries.items()}


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", name))


# --- IAM: what each port may do -------------------------------------------------------------

TABLE = [getatt("Table.Arn"), sub("${Table.Arn}/index/*")]
# CloudFront's managed policies (fixed ids, the same in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# Where browsers post uploads: on the client's own origin, passed to the staging bucket.
UPLOAD_PATH = "/upload"
STAGING_ROOT_FUNCTION = """function handler(event) {
  var request = event.request;
  request.uri = '/';
  return request;
}
"""
# The browser client's headers: the same table the local server sends (web/headers.json).
WEB_HEADERS: dict[str, str] = json.loads((ROOT / "web/headers.json").read_text())
# Paths whose last segment has no dot are the client's screens: CloudFront answers them with
# index.html, as the local server does (no distribution-wide error pages, which would turn
# the API's 404s into HTML 200s).
SCREENS_FUNCTION = """function handler(event) {
  var request = event.request;
  if (request.uri.split('/').pop().indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
"""
MACHINE = sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-contract")


def via(service: str) -> dict:
    return {"StringEquals": {"kms:ViaService": sub(f"{service}.${{AWS::Region}}.amazonaws.com")}}


PORT_POLICIES: dict[str, list[dict]] = {
    "Items": [
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
            ],
            "Resource": TABLE,
        }
    ],
    "Blobs": [
        {
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": sub("${DocumentsBucket.Arn}/documents/*"),
        },
        {
            # The bucket's SSE-KMS, used by S3 on the function's behalf only.
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": ref("StorageKeyArn"),
            "Condition": via("s3"),
        },
    ],
    "Stage": [
        {
            # PutObject: the presigned POST a browser sends is signed with this role.
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": sub("${StagingBucket.Arn}/uploads/*"),
        },
        {
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": ref("StorageKeyArn"),
            "Condition": via("s3"),
        },
    ],
    # Data keys: a new one to encrypt a file, unwrapping one to read a file in the clear —
    # only the file routes and the tasks that need plaintext do —, and link MACs.
    "Encrypt": [{"Effect": "Allow", "Action": ["kms:GenerateDataKey"], "Resource": ref("DataKeyArn")}],
    "Decrypt": [{"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ref("DataKeyArn")}],
    "LinkMacs": [{"Effect": "Allow", "Action": ["kms:GenerateMac"], "Resource": ref("MacKeyArn")}],
    # Sealing: the key signs; its chain and the TSA's roots are read at cold start, and the
    # chain checked against the key's public key.
    "SealingPorts": [
        {"Effect": "Allow", "Action": ["kms:GetPublicKey", "kms:Sign"], "Resource": ref("SealingKeyArn")},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [sub("${DocumentsBucket.Arn}/sealing/chain.pem"), sub("${DocumentsBucket.Arn}/tsa/trust.pem")]},
    ],
    # What verification trusts: the sealing chain's root and the TSA's roots (public).
    "Anchors": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [sub("${DocumentsBucket.Arn}/sealing/chain.pem"), sub("${DocumentsBucket.Arn}/tsa/trust.pem")]},
    ],
    "Mail": [
        {
            "Effect": "Allow",
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": [
                sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailDomain}"),
                sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${MailConfigurationSet}"),
            ],
        }
    ],
    # The machine by its ARN built from its name: it names the task functions, so their
    # policies cannot refer to it.
    "Workflows": [
        {"Effect": "Allow", "Action": ["states:ListExecutions", "states:SendTaskFailure", "states:SendTaskSuccess", "states:StartExecution"], "Resource": MACHINE},
        # Its executions, and the child executions of its Distributed Maps' runs (the ops
        # view lists a run's children: ListExecutions by mapRunArn).
        {
            "Effect": "Allow",
            "Action": ["states:DescribeExecution", "states:GetExecutionHistory"],
            "Resource": [
                sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${AWS::StackName}-contract:*"),
                sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${AWS::StackName}-contract/*"),
            ],
        },
        {
            "Effect": "Allow",
            "Action": ["states:ListExecutions"],
            "Resource": sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:mapRun:${AWS::StackName}-contract/*"),
        },
    ],
    "Schedule": [
        {
            "Effect": "Allow",
            "Action": ["scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:UpdateSchedule"],
            "Resource": sub(
                "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${JobSchedules}/*"
            ),
        },
        {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": getatt("SchedulerRole.Arn")},
    ],
}

TSA_SECRET = {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": ref("TsaSecretArn")}


# The routes that unwrap only second-factor secrets: their Decrypt is limited, by the
# encryption context KMS checks, to the data keys of those secrets (never a document's).
SECOND_FACTOR_ONLY = {"login_second_factor", "confirm_two_factor", "disable_two_factor"}
SECOND_FACTOR_CONTEXT = {"StringLike": {"kms:EncryptionContext:keiyaku:owner": "totp-*"}}


def policy(ports: list[str], binary: str = "") -> list[dict]:
    """A function's policies: what its ports may do (and, for the one that seals, reading the
    TSA's credentials when there are any). A function with no port has no policy of its own
    (its role still writes its logs and traces, as SAM gives every function)."""
    statements = [s for port in ports for s in PORT_POLICIES[port]]
    if binary.replace("-", "_") in SECOND_FACTOR_ONLY:
        statements = [
            {**s, "Condition": SECOND_FACTOR_CONTEXT} if s["Action"] == ["kms:Decrypt"] else s for s in statements
        ]
    if not statements:
        return []
    policies = [{"Statement": statements}]
    if "SealingPorts" in ports:
        policies.append({"Fn::If": ["HasTsaSecret", {"Statement": [TSA_SECRET]}, ref("AWS::NoValue")]})
    return policies


# --- the template ---------------------------------------------------------------------------


def retained(resource: dict) -> dict:
    return {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", **resource}


SSE_KMS = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": ref("StorageKeyArn")}


def private_bucket(encryption: dict) -> dict:
    """A bucket's properties that keep it private: encrypted by default (with a bucket key
    when under KMS), no public access, no ACLs."""
    rule: dict = {"ServerSideEncryptionByDefault": encryption}
    if encryption["SSEAlgorithm"] == "aws:kms":
        rule["BucketKeyEnabled"] = True
    return {
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [rule]},
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    }


def tls_only(bucket: str) -> dict:
    """The bucket-policy statement refusing any request to `bucket` made without TLS."""
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [getatt(f"{bucket}.Arn"), sub(f"${{{bucket}.Arn}}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": False}},
    }


def log_group(name) -> dict:
    return retained(
        {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name, "RetentionInDays": LOG_RETENTION_DAYS}}
    )


# The routes that draw pages as images: they carry the Japanese font layer, for PDFs whose
# Japanese font is not embedded (Lambda's image has no fonts).
DRAWS_PAGES = {"get_document_page", "recipient_page"}


def function(logical: str, binary: str, description: str, ports: list[str], timeout: int) -> dict:
    properties = {
        "Description": description,
        "CodeUri": ".",
        "LoggingConfig": {"LogFormat": "JSON", "LogGroup": ref(f"{logical}Logs")},
        "Timeout": timeout,
    }
    if policy(ports, binary):
        properties["Policies"] = policy(ports, binary)
    return {
        "Type": "AWS::Serverless::Function",
        "Metadata": {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": binary}},
        "Properties": properties,
    }


def viewer_function(name: str, comment: str, code: str) -> dict:
    """A CloudFront function (published with the stack) that a behaviour runs on viewer requests."""
    return {
        "Type": "AWS::CloudFront::Function",
        "Properties": {
            "Name": sub("${AWS::StackName}-" + name),
            "AutoPublish": True,
            "FunctionConfig": {"Comment": comment, "Runtime": "cloudfront-js-2.0"},
            "FunctionCode": code,
        },
    }


def template() -> dict:
    ports = json.loads((ROOT / "infra/ports.json").read_text())
    resources: dict = {}

    # Storage.
    resources["Table"] = retained(
        {
            "Type": "AWS::DynamoDB::GlobalTable",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "ipk", "isk")
                ],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "index",
                        "KeySchema": [
                            {"AttributeName": "ipk", "KeyType": "HASH"},
                            {"AttributeName": "isk", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
                "TimeToLiveSpecification": {"AttributeName": "exp", "Enabled": True},
                "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
                "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                "Replicas": [
                    {
                        "Region": ref("AWS::Region"),
                        "DeletionProtectionEnabled": True,
                        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                        "SSESpecification": {"KMSMasterKeyId": ref("StorageKeyArn")},
                    },
                    {
                        "Region": "ap-northeast-3",
                        "DeletionProtectionEnabled": True,
                        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                        "SSESpecification": {"KMSMasterKeyId": ref("OsakaStorageKeyArn")},
                    },
                ],
            },
        }
    )
    resources["DocumentsBucket"] = retained(
        {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                **private_bucket(SSE_KMS),
                "ReplicationConfiguration": {
                    "Role": getatt("ReplicationRole.Arn"),
                    "Rules": [
                        {
                            "Id": "osaka",
                            "Status": "Enabled",
                            "Priority": 1,
                            "Filter": {"Prefix": ""},
                            "DeleteMarkerReplication": {"Status": "Enabled"},
                            "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
                            "Destination": {
                                "Bucket": ref("OsakaBucketArn"),
                                "EncryptionConfiguration": {"ReplicaKmsKeyID": ref("OsakaStorageKeyArn")},
                                "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
                                "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
                            },
                        }
                    ],
                },
            },
        }
    )
    resources["StagingBucket"] = retained(
        {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                **private_bucket(SSE_KMS),
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "uploads-expire",
                            "Status": "Enabled",
                            "ExpirationInDays": 1,
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        }
                    ]
                },
                "CorsConfiguration": {
                    "CorsRules": [
                        {
                            "AllowedMethods": ["POST"],
                            "AllowedOrigins": [sub("https://${DomainName}")],
                            "AllowedHeaders": ["*"],
                            "MaxAge": 600,
                        }
                    ]
                },
            },
        }
    )
    for bucket in ("DocumentsBucket", "StagingBucket"):
        resources[f"{bucket}Policy"] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": ref(bucket),
                "PolicyDocument": {
                    "Statement": [
                        tls_only(bucket),
                        {
                            "Sid": "Tls12",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [getatt(f"{bucket}.Arn"), sub(f"${{{bucket}.Arn}}/*")],
                            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
                        },
                    ]
                },
            },
        }
    resources["ReplicationRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ]
            },
            "Policies": [
                {
                    "PolicyName": "replicate-to-osaka",
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                                "Resource": sub("arn:${AWS::Partition}:s3:::${AWS::StackName}-documents-*"),
                            },
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "s3:GetObjectVersionForReplication",
                                    "s3:GetObjectVersionAcl",
                                    "s3:GetObjectVersionTagging",
                                ],
                                "Resource": sub("arn:${AWS::Partition}:s3:::${AWS::StackName}-documents-*/*"),
                            },
                            {
                                "Effect": "Allow",
                                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                                "Resource": sub("${OsakaBucketArn}/*"),
                            },
                            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ref("StorageKeyArn")},
                            {"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": ref("OsakaStorageKeyArn")},
                        ]
                    },
                }
            ],
        },
    }

    # The API.
    resources["ApiAccessLogs"] = log_group(sub("/keiyaku/${AWS::StackName}/api-access"))
    resources["Api"] = {
        "Type": "AWS::Serverless::Api",
        "Properties": {
            "Name": sub("${AWS::StackName}"),
            "StageName": "api",
            "EndpointConfiguration": {"Type": "REGIONAL"},
            "DisableExecuteApiEndpoint": True,
            "BinaryMediaTypes": ["application/pdf", "image/png"],
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": getatt("ApiAccessLogs.Arn"),
                "Format": json.dumps(
                    {
                        "requestId": "$context.requestId",
                        "ip": "$context.identity.sourceIp",
                        "time": "$context.requestTime",
                        "method": "$context.httpMethod",
                        "resource": "$context.resourcePath",
                        "status": "$context.status",
                        "latency": "$context.responseLatency",
                        "integrationStatus": "$context.integration.status",
                    }
                ),
            },
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": 100,
                    "ThrottlingBurstLimit": 200,
                    "MetricsEnabled": True,
                    "LoggingLevel": "ERROR",
                }
            ],
            "Domain": {
                "DomainName": ref("ApiDomainName"),
                "CertificateArn": ref("ApiCertificateArn"),
                "EndpointConfiguration": "REGIONAL",
                "SecurityPolicy": "TLS_1_2",
            },
        },
    }
    # API Gateway writes its execution logs (LoggingLevel ERROR) to a group named after the
    # API and stage, which it would otherwise create without expiry.
    resources["ApiExecutionLogs"] = log_group(sub("API-Gateway-Execution-Logs_${Api}/api"))
    resources["ApiGatewayLoggingRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ]
            },
            "ManagedPolicyArns": [
                sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        },
    }
    resources["ApiGatewayAccount"] = {
        "Type": "AWS::ApiGateway::Account",
        "Properties": {"CloudWatchRoleArn": getatt("ApiGatewayLoggingRole.Arn")},
    }

    # Route functions, each the integration of its route: proxy integrations that stream
    # (`responseTransferMode: STREAM` over Lambda's InvokeWithResponseStream), which is how
    # every function answers (keiyaku-lambda serves streamed responses), so a document's
    # file is never held whole and a response may pass 10 MB.
    paths: dict = {}
    for name, method, path in routes():
        binary = name.replace("_", "-")
        logical = camel(name) + "Function"
        resources[f"{logical}Logs"] = log_group(sub(f"/aws/lambda/${{AWS::StackName}}-{binary}"))
        resources[logical] = function(logical, binary, f"{method} {path}", ports[name], 29)
        if name in DRAWS_PAGES:
            resources[logical]["Properties"]["Layers"] = [ref("JapaneseFont")]
        resources[f"{logical}Permission"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": ref(logical),
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": sub(
                    "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/"
                    + method
                    + re.sub(r"\{[^}]+\}", "*", path)
                ),
            },
        }
        paths.setdefault(path, {})[method.lower()] = {
            "x-amazon-apigateway-integration": {
                "type": "aws_proxy",
                "httpMethod": "POST",
                "uri": sub(
                    "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/"
                    f"${{{logical}.Arn}}/response-streaming-invocations"
                ),
                "responseTransferMode": "STREAM",
                "passthroughBehavior": "when_no_match",
            }
        }
    resources["Api"]["Properties"]["DefinitionBody"] = {
        "openapi": "3.0.1",
        "info": {"title": sub("${AWS::StackName}"), "version": "1"},
        "paths": paths,
    }

    # Task functions and the state machine.
    substitutions = {}
    for key, handler in tasks().items():
        binary = "task-" + handler.replace("_", "-")
        logical = camel(binary) + "Function"
        resources[f"{logical}Logs"] = log_group(sub(f"/aws/lambda/${{AWS::StackName}}-{binary}"))
        resources[logical] = function(
            logical, binary, f"workflow task {handler}", ports[f"task:{handler}"], 300
        )
        substitutions[key] = getatt(f"{logical}.Arn")
    resources["JobsFunctionLogs"] = log_group(sub("/aws/lambda/${AWS::StackName}-jobs"))
    resources["JobsFunction"] = function("JobsFunction", "jobs", "scheduled jobs", ports["jobs"], 300)
    resources["StateMachineLogs"] = log_group(sub("/aws/vendedlogs/states/${AWS::StackName}-contract"))
    resources["ContractStateMachine"] = {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {
            "Type": "STANDARD",
            "DefinitionUri": "statemachines/contract.asl.json",
            "DefinitionSubstitutions": substitutions,
            "Tracing": {"Enabled": True},
            "Logging": {
                "Level": "ALL",
                "IncludeExecutionData": False,
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": getatt("StateMachineLogs.Arn")}}],
            },
            "Policies": [
                {"LambdaInvokePolicy": {"FunctionName": ref(f"{camel('task-' + h.replace('_', '-'))}Function")}}
                for h in tasks().values()
            ],
        },
    }

    # Scheduled jobs.
    resources["JobSchedules"] = {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {}}
    resources["JobsDeadLetters"] = retained(
        {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True},
        }
    )
    resources["SchedulerRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "scheduler.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
                    }
                ]
            },
            "Policies": [
                {
                    "PolicyName": "invoke-jobs",
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": getatt("JobsFunction.Arn")},
                            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": getatt("JobsDeadLetters.Arn")},
                        ]
                    },
                }
            ],
        },
    }

    # The audit log's upkeep on fixed schedules: chaining waiting events every ten minutes,
    # expiring those past retention daily (locally the server schedules both itself).
    for logical, rate, job in [
        ("AuditChainSchedule", "rate(10 minutes)", {"job": "audit_upkeep"}),
        ("AuditRetentionSchedule", "rate(1 day)", {"job": "audit_upkeep", "expire": True}),
    ]:
        resources[logical] = {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "GroupName": ref("JobSchedules"),
                "ScheduleExpression": rate,
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {
                    "Arn": getatt("JobsFunction.Arn"),
                    "RoleArn": getatt("SchedulerRole.Arn"),
                    "Input": json.dumps(job),
                    "DeadLetterConfig": {"Arn": getatt("JobsDeadLetters.Arn")},
                    "RetryPolicy": {"MaximumRetryAttempts": 3},
                },
            },
        }

    # Mail.
    resources["MailIdentity"] = {
        "Type": "AWS::SES::EmailIdentity",
        "Properties": {
            "EmailIdentity": ref("MailDomain"),
            "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_2048_BIT"},
            "ConfigurationSetAttributes": {"ConfigurationSetName": ref("MailConfigurationSet")},
            "FeedbackAttributes": {"EmailForwardingEnabled": False},
        },
    }
    resources["MailConfigurationSet"] = {
        "Type": "AWS::SES::ConfigurationSet",
        "Properties": {
            "DeliveryOptions": {"TlsPolicy": "REQUIRE"},
            "ReputationOptions": {"ReputationMetricsEnabled": True},
            "SendingOptions": {"SendingEnabled": True},
            "SuppressionOptions": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
        },
    }
    resources["MailFeedback"] = {
        "Type": "AWS::SES::ConfigurationSetEventDestination",
        "Properties": {
            "ConfigurationSetName": ref("MailConfigurationSet"),
            "EventDestination": {
                "Name": "bounces-and-complaints",
                "Enabled": True,
                "MatchingEventTypes": ["bounce", "complaint", "reject"],
                "SnsDestination": {"TopicARN": ref("OperationsTopic")},
            },
        },
    }

    # Operations: alarms to one topic, backups.
    resources["OperationsTopic"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {
            "KmsMasterKeyId": "alias/aws/sns",
            "Subscription": [{"Protocol": "email", "Endpoint": ref("AlarmEmail")}],
        },
    }
    alarms = {
        "FailedExecutionsAlarm": ("AWS/States", "ExecutionsFailed", [{"Name": "StateMachineArn", "Value": ref("ContractStateMachine")}]),
        "TimedOutExecutionsAlarm": ("AWS/States", "ExecutionsTimedOut", [{"Name": "StateMachineArn", "Value": ref("ContractStateMachine")}]),
        "Api5xxAlarm": ("AWS/ApiGateway", "5XXError", [{"Name": "ApiName", "Value": sub("${AWS::StackName}")}]),
        "LambdaThrottlesAlarm": ("AWS/Lambda", "Throttles", []),
        "JobsDeadLettersAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", [{"Name": "QueueName", "Value": getatt("JobsDeadLetters.QueueName")}]),
    }
    for logical, (namespace, metric, dimensions) in alarms.items():
        properties = {
            "Namespace": namespace,
            "MetricName": metric,
            "Statistic": "Sum" if metric != "ApproximateNumberOfMessagesVisible" else "Maximum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref("OperationsTopic")],
        }
        if dimensions:
            properties["Dimensions"] = dimensions
        resources[logical] = {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}
    resources["BackupVault"] = retained(
        {"Type": "AWS::Backup::BackupVault", "Properties": {"BackupVaultName": sub("${AWS::StackName}-vault"), "EncryptionKeyArn": ref("StorageKeyArn")}}
    )
    resources["BackupPlan"] = {
        "Type": "AWS::Backup::BackupPlan",
        "Properties": {
            "BackupPlan": {
                "BackupPlanName": sub("${AWS::StackName}-daily"),
                "BackupPlanRule": [
                    {
                        "RuleName": "daily",
                        "TargetBackupVault": ref("BackupVault"),
                        "ScheduleExpression": "cron(0 18 * * ? *)",
                        "Lifecycle": {"DeleteAfterDays": 35},
                    }
                ],
            }
        },
    }
    resources["BackupRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ]
            },
            "ManagedPolicyArns": [
                sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"),
                sub("arn:${AWS::Partition}:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup"),
            ],
        },
    }
    resources["BackupSelection"] = {
        "Type": "AWS::Backup::BackupSelection",
        "Properties": {
            "BackupPlanId": ref("BackupPlan"),
            "BackupSelection": {
                "SelectionName": "table-and-documents",
                "IamRoleArn": getatt("BackupRole.Arn"),
                "Resources": [getatt("Table.Arn"), getatt("DocumentsBucket.Arn")],
            },
        },
    }

    resources["JapaneseFont"] = {
        "Type": "AWS::Serverless::LayerVersion",
        "Metadata": {"BuildMethod": "makefile"},
        "Properties": {
            "Description": "IPA Gothic under /opt/fonts, for pages whose Japanese font is not embedded",
            "ContentUri": "infra/layers/japanese-font",
            "LicenseInfo": "IPA Font License v1.0",
            "RetentionPolicy": "Delete",
        },
    }

    # The front door: CloudFront serves the browser client from the web bucket (origin
    # access control) and sends /api/* to the API's regional domain with the origin secret,
    # which the functions check; its certificate and web ACL come from the edge stack.
    resources["WebBucket"] = retained(
        {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                **private_bucket({"SSEAlgorithm": "AES256"}),
                "VersioningConfiguration": {"Status": "Enabled"},
            },
        }
    )
    resources["WebBucketPolicy"] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": ref("WebBucket"),
            "PolicyDocument": {
                "Statement": [
                    tls_only("WebBucket"),
                    {
                        "Sid": "CloudFrontReads",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudfront.amazonaws.com"},
                        "Action": "s3:GetObject",
                        "Resource": sub("${WebBucket.Arn}/*"),
                        "Condition": {
                            "StringEquals": {
                                "AWS:SourceArn": sub(
                                    "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
                                )
                            }
                        },
                    },
                ]
            },
        },
    }
    resources["WebOriginAccess"] = {
        "Type": "AWS::CloudFront::OriginAccessControl",
        "Properties": {
            "OriginAccessControlConfig": {
                "Name": sub("${AWS::StackName}-web"),
                "OriginAccessControlOriginType": "s3",
                "SigningBehavior": "always",
                "SigningProtocol": "sigv4",
            }
        },
    }
    # The headers of web/headers.json: the security headers CloudFront names, the others as
    # custom headers; HSTS as on the API.
    security = {
        "ContentSecurityPolicy": {"ContentSecurityPolicy": WEB_HEADERS["Content-Security-Policy"], "Override": True},
        "ContentTypeOptions": {"Override": True},
        "FrameOptions": {"FrameOption": WEB_HEADERS["X-Frame-Options"], "Override": True},
        "ReferrerPolicy": {"ReferrerPolicy": WEB_HEADERS["Referrer-Policy"], "Override": True},
        "StrictTransportSecurity": {"AccessControlMaxAgeSec": 63072000, "IncludeSubdomains": True, "Override": True},
    }
    named = {"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"}
    if WEB_HEADERS["X-Content-Type-Options"] != "nosniff":
        sys.exit("web/headers.json: CloudFront sends X-Content-Type-Options: nosniff only")
    resources["WebHeaders"] = {
        "Type": "AWS::CloudFront::ResponseHeadersPolicy",
        "Properties": {
            "ResponseHeadersPolicyConfig": {
                "Name": sub("${AWS::StackName}-web"),
                "Comment": "The browser client's headers (web/headers.json)",
                "SecurityHeadersConfig": security,
                "CustomHeadersConfig": {
                    "Items": [
                        {"Header": name, "Value": value, "Override": True}
                        for name, value in WEB_HEADERS.items()
                        if name not in named
                    ]
                },
            }
        },
    }
    resources["WebScreens"] = viewer_function("web-screens", "Screen paths answer with index.html", SCREENS_FUNCTION)
    resources["StagingRoot"] = viewer_function("staging-root", "Uploads go to the staging bucket's root", STAGING_ROOT_FUNCTION)
    resources["Distribution"] = {
        "Type": "AWS::CloudFront::Distribution",
        "Properties": {
            "DistributionConfig": {
                "Enabled": True,
                "Comment": sub("keiyaku ${AWS::StackName}"),
                "Aliases": [ref("DomainName")],
                "HttpVersion": "http2and3",
                "DefaultRootObject": "index.html",
                "WebACLId": ref("WebAclArn"),
                "ViewerCertificate": {
                    "AcmCertificateArn": ref("CloudFrontCertificateArn"),
                    "SslSupportMethod": "sni-only",
                    "MinimumProtocolVersion": "TLSv1.2_2021",
                },
                "Origins": [
                    {
                        "Id": "web",
                        "DomainName": getatt("WebBucket.RegionalDomainName"),
                        "OriginAccessControlId": getatt("WebOriginAccess.Id"),
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    },
                    {
                        "Id": "staging",
                        "DomainName": getatt("StagingBucket.RegionalDomainName"),
                        "CustomOriginConfig": {
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "https-only",
                            "OriginSSLProtocols": ["TLSv1.2"],
                        },
                    },
                    {
                        "Id": "api",
                        "DomainName": ref("ApiDomainName"),
                        "CustomOriginConfig": {
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "https-only",
                            "OriginSSLProtocols": ["TLSv1.2"],
                            "OriginReadTimeout": 30,
                        },
                        "OriginCustomHeaders": [{"HeaderName": "X-Keiyaku-Origin", "HeaderValue": ref("OriginSecret")}],
                    },
                ],
                "DefaultCacheBehavior": {
                    "TargetOriginId": "web",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "Compress": True,
                    "CachePolicyId": CACHING_OPTIMIZED,
                    "ResponseHeadersPolicyId": ref("WebHeaders"),
                    "FunctionAssociations": [
                        {"EventType": "viewer-request", "FunctionARN": getatt("WebScreens.FunctionMetadata.FunctionARN")}
                    ],
                },
                "CacheBehaviors": [
                    {
                        "PathPattern": "/api/*",
                        "TargetOriginId": "api",
                        "ViewerProtocolPolicy": "https-only",
                        "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                        "CachePolicyId": CACHING_DISABLED,
                        "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST,
                    },
                    {
                        # Uploads: the browser posts its presigned form here, on its own
                        # origin (the client's CSP allows no other), and CloudFront passes it
                        # to the staging bucket's root.
                        "PathPattern": UPLOAD_PATH,
                        "TargetOriginId": "staging",
                        "ViewerProtocolPolicy": "https-only",
                        "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                        "CachePolicyId": CACHING_DISABLED,
                        "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST,
                        "FunctionAssociations": [
                            {"EventType": "viewer-request", "FunctionARN": getatt("StagingRoot.FunctionMetadata.FunctionARN")}
                        ],
                    },
                ],
            }
        },
    }

    environment = {
        "KEIYAKU_PUBLIC_URL": sub("https://${DomainName}"),
        "KEIYAKU_MAIL_FROM": ref("MailFromAddress"),
        "KEIYAKU_TABLE": ref("Table"),
        "KEIYAKU_DOCUMENTS_BUCKET": ref("DocumentsBucket"),
        "KEIYAKU_STAGING_BUCKET": ref("StagingBucket"),
        "KEIYAKU_STAGING_URL": sub("https://${DomainName}" + UPLOAD_PATH),
        "KEIYAKU_DATA_KEY": ref("DataKeyArn"),
        "KEIYAKU_MAC_KEY": ref("MacKeyArn"),
        "KEIYAKU_SEALING_KEY": ref("SealingKeyArn"),
        "KEIYAKU_TSA_URL": ref("TsaUrl"),
        "KEIYAKU_TSA_SECRET": {"Fn::If": ["HasTsaSecret", ref("TsaSecretArn"), ref("AWS::NoValue")]},
        "KEIYAKU_SCHEDULE_GROUP": ref("JobSchedules"),
        "KEIYAKU_SCHEDULER_TARGET_ARN": sub(
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-jobs"
        ),
        "KEIYAKU_SCHEDULER_ROLE_ARN": getatt("SchedulerRole.Arn"),
        "KEIYAKU_SES_CONFIGURATION_SET": ref("MailConfigurationSet"),
        "KEIYAKU_ORIGIN_SECRET": ref("OriginSecret"),
    }
    # A function's environment cannot name the state machine, which names the functions
    # (a circle): its ARN is built from its name instead.
    environment["KEIYAKU_STATE_MACHINE_ARN"] = MACHINE
    resources["ContractStateMachine"]["Properties"]["Name"] = sub("${AWS::StackName}-contract")
    resources["JobsFunction"]["Properties"]["FunctionName"] = sub("${AWS::StackName}-jobs")
    for logical, resource in resources.items():
        if resource.get("Type") == "AWS::Serverless::Function":
            binary = resource["Metadata"]["BuildProperties"]["Binary"]
            resource["Properties"]["FunctionName"] = sub(f"${{AWS::StackName}}-{binary}")

    parameters = {
        "DomainName": {"Type": "String", "Description": "Where people reach keiyaku (CloudFront), e.g. keiyaku.example.jp"},
        "ApiDomainName": {"Type": "String", "Description": "The API's regional custom domain, CloudFront's origin"},
        "ApiCertificateArn": {"Type": "String", "Description": "ACM certificate of ApiDomainName in this region"},
        "StorageKeyArn": {"Type": "String", "Description": "Keys stack: the multi-Region key of the table's and buckets' SSE"},
        "OsakaStorageKeyArn": {"Type": "String", "Description": "Osaka stack: StorageKey's replica in ap-northeast-3"},
        "OsakaBucketArn": {"Type": "String", "Description": "Osaka stack: the documents' replica bucket"},
        "DataKeyArn": {"Type": "String", "Description": "Keys stack: the multi-Region key that wraps data keys"},
        "MacKeyArn": {"Type": "String", "Description": "Keys stack: the multi-Region HMAC key of link tokens"},
        "SealingKeyArn": {"Type": "String", "Description": "Keys stack: the multi-Region ECC_NIST_P256 sealing key"},
        "TsaUrl": {"Type": "String", "Description": "The RFC 3161 TSA (a certified Japanese TSA in production)"},
        "TsaSecretArn": {"Type": "String", "Default": "", "Description": "Secrets Manager secret {username, password} of the TSA, if it asks"},
        "MailDomain": {"Type": "String", "Description": "The SES-verified domain mail is sent from"},
        "MailFromAddress": {"Type": "String", "Description": "The sender, e.g. keiyaku <no-reply@keiyaku.example.jp>"},
        "AlarmEmail": {"Type": "String", "Description": "Where operations alarms are mailed"},
        "CloudFrontCertificateArn": {"Type": "String", "Description": "Edge stack (us-east-1): the certificate of DomainName"},
        "WebAclArn": {"Type": "String", "Description": "Edge stack (us-east-1): CloudFront's web ACL"},
        "OriginSecret": {
            "Type": "String",
            "NoEcho": True,
            "MinLength": 32,
            "Description": "What CloudFront sends the API in X-Keiyaku-Origin; requests without it are refused",
        },
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "keiyaku, the main stack (Tokyo). Generated by infra/template.py; deploy after the keys, Osaka and edge stacks (README).",
        "Parameters": parameters,
        "Conditions": {"HasTsaSecret": {"Fn::Not": [{"Fn::Equals": [ref("TsaSecretArn"), ""]}]}},
        "Globals": {
            "Function": {
                "Runtime": "provided.al2023",
                "Architectures": ["arm64"],
                "Handler": "bootstrap",
                "MemorySize": 1024,
                "Tracing": "Active",
                "Environment": {"Variables": environment},
            }
        },
        "Resources": resources,
        "Outputs": {
            "DistributionDomain": {"Description": "Point DomainName here", "Value": getatt("Distribution.DomainName")},
            "WebBucketName": {"Description": "Where the browser client's files go", "Value": ref("WebBucket")},
            "DocumentsBucketName": {"Value": ref("DocumentsBucket")},
            "StagingBucketName": {"Value": ref("StagingBucket")},
            "StateMachineArn": {"Value": ref("ContractStateMachine")},
        },
    }


def render() -> str:
    header = "# Generated by infra/template.py from the route table, statemachines/tasks.json and\n# infra/ports.json: edit those, then run `python3 infra/template.py`.\n"
    return header + "\n".join(emit(template())) + "\n"


def main() -> int:
    out = ROOT / "template.yaml"
    text = render()
    if sys.argv[1:] == ["--check"]:
        if not out.exists() or out.read_text() != text:
            print("template.yaml is not what infra/template.py writes: run python3 infra/template.py")
            return 1
        return 0
    out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
